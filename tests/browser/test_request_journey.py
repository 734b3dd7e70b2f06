"""The family's journey and the provider's day, in a real browser, on the demo region."""

import re
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from regional_loket.accounts import services as accounts
from regional_loket.catalog.models import Availability, CatalogLocation
from regional_loket.catalog.search import add_months, month_start
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.provider import services as provider
from regional_loket.requests import services as requests
from regional_loket.requests.models import CareRequest
from regional_loket.tenancy import services as tenancy
from regional_loket.tenancy import tenant_scope

pytestmark = pytest.mark.browser
PASSWORD = "een lange zin als wachtwoord"
TODAY = date.today()
START = add_months(month_start(TODAY), 4)
BORN = add_months(month_start(TODAY), -5).replace(day=3)


def _person(live_region, *roles, tenant=None, locations=()):
    with live_region["app"].app_context():
        user, _ = accounts.register(db.session, email=f"journey-{uuid.uuid4().hex[:8]}@example.be",
                                    password=PASSWORD, name="Journey Person")
        user.verified_at = utcnow()
        for role in roles:
            accounts.grant(db.session, user, role, tenant=tenancy.get_tenant(db.session, tenant) if tenant else None,
                           location_ids=list(locations))
        db.session.commit()
        return user.email


def _log_in(page, live_region, email):
    page.goto(live_region["portal"]() + "/aanmelden")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("link", name="Mijn account")).to_be_visible()


def _choosable(live_region, slug, count):
    months = (START.year - BORN.year) * 12 + START.month - BORN.month - (1 if START.day < BORN.day else 0)
    with live_region["app"].app_context():
        tenant = tenancy.get_tenant(db.session, slug)
        rows = db.session.execute(sa.select(CatalogLocation.location_id, CatalogLocation.name).where(
            CatalogLocation.tenant_id == tenant.id, CatalogLocation.active.is_(True),
            CatalogLocation.accepts_online.is_(True), CatalogLocation.kind != "out_of_school",
            CatalogLocation.min_age_months <= months, CatalogLocation.max_age_months >= months)
            .order_by(CatalogLocation.name).limit(count)).all()
        return [(row.location_id, row.name) for row in rows]


def test_search_choose_three_in_two_municipalities_submit_offer_accept(page, live_region):
    page.on("dialog", lambda dialog: dialog.accept())
    _log_in(page, live_region, _person(live_region, "parent"))
    herent, leuven = _choosable(live_region, "herent", 2), _choosable(live_region, "leuven", 1)

    page.goto(live_region["portal"]() + "/aanvragen/nieuw")
    page.get_by_label("Een ander kind").check()
    page.fill("#first_name", "Mona")
    page.fill("#last_name", "Journey")
    page.fill("#birth_date", BORN.isoformat())
    page.get_by_role("button", name="Verder").click()
    page.fill("#start_date", START.isoformat())
    page.select_option("#day_5", "none")
    page.get_by_role("button", name="Bewaren en verder").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bij welke locaties")

    # Search across borders and choose from the results, in Herent and in Leuven.
    for slug, picks in (("herent", herent), ("leuven", leuven)):
        for _location_id, name in picks:
            page.goto(live_region["portal"]() + f"/zoeken?gemeente={slug}&geboortedatum={BORN}&start={START}"
                      f"&online=1&q={name.split()[-1]}")
            page.get_by_role("link", name=re.compile(f"Kies deze locatie.*{re.escape(name)}")).first.click()
            page.get_by_role("button", name="Toevoegen").click()
            expect(page.locator(".rl-alert, .utrecht-alert").first).to_contain_text(name)
    for _, name in herent + leuven:
        expect(page.locator("main")).to_contain_text(name)

    page.get_by_role("link", name="Verder").click()
    page.fill("#street", "Journeystraat")
    page.fill("#number", "7")
    page.fill("#postcode", "3020")
    page.fill("#locality", "Herent")
    page.check("#consent")
    page.get_by_role("button", name="Bewaren en verder").click()
    page.get_by_role("button", name="Aanvraag indienen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw aanvraag is verstuurd")
    page.get_by_role("link", name="Volg uw aanvraag op").click()
    expect(page.locator(".rl-application")).to_have_count(3)
    expect(page.locator(".rl-application").filter(has_text="ingediend")).to_have_count(3)

    # The second choice's provider offers a place (a service call, as staff would).
    request_id = uuid.UUID(page.url.rstrip("/").split("/")[-1])
    with live_region["app"].app_context():
        care = db.session.get(CareRequest, request_id)
        loaded = requests.load_application(db.session, care.choices[1])
        with tenant_scope(db.session, loaded.tenant):
            slot = db.session.scalar(sa.select(Availability).where(
                Availability.location_id == loaded.application.location_id,
                Availability.month == loaded.application.start_month,
                Availability.age_group == loaded.application.age_group))
            if slot is None:
                db.session.add(Availability(location_id=loaded.application.location_id,
                                            month=loaded.application.start_month,
                                            age_group=loaded.application.age_group, free_places=1))
            elif slot.free_places < 1:
                slot.free_places = 1
        provider.offer(db.session, loaded.tenant, loaded.application, deadline=TODAY + timedelta(days=7),
                       actor_id=None, now=utcnow(), today=TODAY)
        db.session.commit()

    page.reload()
    page.get_by_role("button", name="Plaats aanvaarden").click()
    expect(page.locator(".utrecht-alert--ok")).to_contain_text("U aanvaardde de plaats")
    applications = page.locator(".rl-application")
    expect(applications.nth(1)).to_contain_text("aanvaard")
    expect(applications.nth(0)).to_contain_text("ingetrokken")
    expect(applications.nth(2)).to_contain_text("ingetrokken")


def test_staff_ranks_offers_and_the_family_accepts(browser, live_region):
    with live_region["app"].app_context():
        herent = tenancy.get_tenant(db.session, "herent")
        # The demo waiting list lives at the first choosable Herent location of the demo families.
        from regional_loket.requests.models import Application

        with tenant_scope(db.session, herent):
            location_id, start_month, group = db.session.execute(
                sa.select(Application.location_id, Application.start_month, Application.age_group)
                .where(Application.status == "submitted").group_by(
                    Application.location_id, Application.start_month, Application.age_group)
                .order_by(sa.func.count().desc()).limit(1)).one()
            slot = db.session.scalar(sa.select(Availability).where(
                Availability.location_id == location_id, Availability.month == start_month,
                Availability.age_group == group))
            if slot is None:
                db.session.add(Availability(location_id=location_id, month=start_month, age_group=group,
                                            free_places=2))
            else:
                slot.free_places = max(slot.free_places, 2)
        db.session.commit()
    staff_email = _person(live_region, "provider_staff", tenant="herent", locations=[location_id])

    staff = browser.new_page(locale="nl-BE")
    staff.on("dialog", lambda dialog: dialog.accept())
    _log_in(staff, live_region, staff_email)
    staff.goto(live_region["portal"]() + f"/sessie/naar?to={live_region['portal']('herent')}/opvang/{location_id}/")
    expect(staff.get_by_role("heading", level=2, name="Wachtlijst")).to_be_visible()
    cell = f"#fp-{start_month:%Y-%m}-{group}"
    staff.get_by_role("link", name="Vrije plaatsen").click()
    places_before = int(staff.locator(cell).input_value())
    staff.go_back()
    first_row = staff.locator("table tbody tr").first
    expect(first_row).to_contain_text("Plaats 1.")
    child = first_row.locator("a").inner_text()
    before = staff.locator("table tbody tr").count()
    first_row.locator("a").click()
    staff.get_by_role("button", name="Plaats aanbieden").click()
    expect(staff.locator(".utrecht-alert--ok")).to_contain_text("Bewaard")
    expect(staff.locator("main")).to_contain_text("plaats aangeboden")

    # The family of that child accepts.
    with live_region["app"].app_context():
        from regional_loket.families.models import Guardian
        from regional_loket.requests.models import Application, Choice

        with tenant_scope(db.session, tenancy.get_tenant(db.session, "herent")):
            offered = db.session.scalar(sa.select(Application).where(
                Application.location_id == location_id, Application.status == "offered")
                .order_by(Application.updated_at.desc()).limit(1))
            request_id = offered.request_id
        care = db.session.get(CareRequest, request_id)
        guardian = db.session.scalar(sa.select(Guardian).where(Guardian.family_id == care.family_id))
        choice_id = db.session.scalar(sa.select(Choice.id).where(Choice.application_id == offered.id))
        from regional_loket.accounts.models import User

        user = db.session.get(User, guardian.user_id)
        user.password_hash = accounts.passwords.hash_password(PASSWORD)
        db.session.commit()
        family_email = user.email
    family = browser.new_page(locale="nl-BE")
    family.on("dialog", lambda dialog: dialog.accept())
    _log_in(family, live_region, family_email)
    family.goto(live_region["portal"]() + f"/aanvragen/{request_id}")
    family.get_by_role("button", name="Plaats aanvaarden").click()
    expect(family.locator(f"#c-{choice_id}").locator("xpath=..")).to_contain_text("aanvaard")

    # The list no longer holds that child, and the grid shows the place as taken.
    staff.goto(live_region["portal"]("herent") + f"/opvang/{location_id}/")
    expect(staff.locator("table tbody")).not_to_contain_text(child)
    assert staff.locator("table tbody tr").count() == before - 1
    # The grid counts free and offered places: the accepted place is gone from it.
    staff.goto(live_region["portal"]("herent") + f"/opvang/{location_id}/vrije-plaatsen")
    expect(staff.locator(cell)).to_have_value(str(places_before - 1))
