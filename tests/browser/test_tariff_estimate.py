"""A family reads a location with an income-related tariff in a real browser and asks for an
estimate of its price: the calculator opens, refuses a typo next to the field, and then gives
the day price and the month cost with the year's parameters, saying it is an estimate."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from regional_loket.catalog import CatalogLocation
from regional_loket.extensions import db
from regional_loket.tenancy import Tenant

pytestmark = pytest.mark.browser


def _income_location(live_region):
    with live_region["app"].app_context():
        row = db.session.execute(
            sa.select(CatalogLocation.location_id, Tenant.slug).join(Tenant, Tenant.id == CatalogLocation.tenant_id)
            .where(CatalogLocation.tariff == "income", CatalogLocation.active.is_(True), Tenant.slug == "herent")
            .order_by(CatalogLocation.name).limit(1)).first()
    assert row is not None, "the demo region has a location with an income-related tariff in Herent"
    return row


def test_a_family_estimates_its_price_on_a_location_page(page, live_region):
    location_id, slug = _income_location(live_region)
    page.goto(f"{live_region['portal'](slug)}/locaties/{location_id}")
    page.get_by_text("Schat uw dagprijs (inkomenstarief)").click()
    page.get_by_label("Gezamenlijk belastbaar inkomen per jaar (euro)").fill("-100")
    page.get_by_label("Volle dagen per week").fill("5")
    page.get_by_role("button", name="Bereken een schatting").click()
    expect(page.locator("#inkomen-error")).to_have_text("Vul een inkomen in tussen 0 en 10 000 000 euro.")
    assert "inkomen=" in page.url and "/locaties/" in page.url  # a GET form: nothing was posted or stored

    page.get_by_label("Gezamenlijk belastbaar inkomen per jaar (euro)").fill("52500")
    page.get_by_role("button", name="Bereken een schatting").click()
    result = page.locator(".rl-estimate__result")
    expect(result).to_contain_text("Schatting met de parameters van 2024")
    expect(result).to_contain_text("20,44")  # 6.24 + 22 500 × 28.40 / 45 000
    expect(page.locator(".rl-estimate__month")).to_contain_text("442,87")  # 5 × 20.44 × 52 / 12
    expect(result).to_contain_text("Dit is een schatting, geen prijsafspraak.")
