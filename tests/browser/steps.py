"""Steps several browser journeys share: finding locations a child can be asked for, and
filling the family's address step of the request wizard."""

from __future__ import annotations

import sqlalchemy as sa

from regional_loket.catalog.models import CatalogLocation
from regional_loket.extensions import db
from regional_loket.tenancy import services as tenancy


def choosable(live_region, slug: str, count: int, *, age_months: int = 9) -> list[tuple]:
    """``count`` (location id, name) pairs in ``slug`` that take online requests for a child of
    ``age_months`` at the start, by name."""
    with live_region["app"].app_context():
        tenant = tenancy.get_tenant(db.session, slug)
        rows = db.session.execute(sa.select(CatalogLocation.location_id, CatalogLocation.name).where(
            CatalogLocation.tenant_id == tenant.id, CatalogLocation.active.is_(True),
            CatalogLocation.accepts_online.is_(True), CatalogLocation.kind != "out_of_school",
            CatalogLocation.min_age_months <= age_months, CatalogLocation.max_age_months >= age_months)
            .order_by(CatalogLocation.name).limit(count)).all()
        return [(row.location_id, row.name) for row in rows]


def fill_family_address(page, *, street: str, number: str, postcode: str, locality: str) -> None:
    """The wizard's family step: address and consent, then on to the review."""
    page.fill("#street", street)
    page.fill("#number", number)
    page.fill("#postcode", postcode)
    page.fill("#locality", locality)
    page.check("#consent")
    page.get_by_role("button", name="Bewaren en verder").click()
