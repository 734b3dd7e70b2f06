"""Steps several browser journeys share: finding locations a child can be asked for, and
filling the family's address step of the request wizard."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import sqlalchemy as sa

from regional_loket.applications import services as application_services
from regional_loket.care_requests import services as requests
from regional_loket.care_requests.models import CareRequest
from regional_loket.catalog.models import Availability, CatalogLocation
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.tenancy import services as tenancy
from regional_loket.tenancy import tenant_scope


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


def offer_place(live_region, request_id, rank: int = 1) -> None:
    """The provider of the request's choice ``rank`` offers a place, making one free for the
    wanted month and age group first (a service call, as staff would; their pages have tests
    of their own)."""
    with live_region["app"].app_context():
        care = db.session.get(CareRequest, uuid.UUID(str(request_id)))
        loaded = requests.load_application(db.session, care.choices[rank - 1])
        application = loaded.application
        with tenant_scope(db.session, loaded.tenant):
            slot = db.session.scalar(sa.select(Availability).where(
                Availability.location_id == application.location_id, Availability.month == application.start_month,
                Availability.age_group == application.age_group))
            if slot is None:
                db.session.add(Availability(location_id=application.location_id, month=application.start_month,
                                            age_group=application.age_group, free_places=1))
            elif slot.free_places < 1:
                slot.free_places = 1
        application_services.offer(db.session, loaded.tenant, application, deadline=date.today() + timedelta(days=7),
                                   actor_id=None, now=utcnow(), today=date.today())
        db.session.commit()
