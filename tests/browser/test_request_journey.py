"""The family's journey and the provider's day, in a real browser, on the demo region."""

import re
import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from regional_loket.accounts import services as accounts
from regional_loket.care_requests import services as requests
from regional_loket.care_requests.models import CareRequest
from regional_loket.catalog.models import Availability
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.months import add_months, month_start
from regional_loket.tenancy import services as tenancy
from regional_loket.tenancy import tenant_scope

from .steps import choosable, fill_family_address, offer_place

pytestmark = pytest.mark.browser
PASSWORD = "een lange zin als wachtwoord"
TODAY = date.today()
START = add_months(month_start(TODAY), 4)
BORN = add_months(month_start(TODAY), -5).replace(day=3)


def _person(live_region, *roles, tenant=None, locations=(), organisation=None):
    with live_region["app"].app_context():
        user, _ = accounts.register(db.session, email=f"journey-{uuid.uuid4().hex[:8]}@example.be",
                                    password=PASSWORD, name="Journey Person")
        user.verified_at = utcnow()
        for role in roles:
            accounts.grant(db.session, user, role, tenant=tenancy.get_tenant(db.session, tenant) if tenant else None,
                           location_ids=list(locations), organisation=organisation)
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
    return choosable(live_region, slug, count, age_months=months)


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
    fill_family_address(page, street="Journeystraat", number="7", postcode="3020", locality="Herent")
    page.get_by_role("button", name="Aanvraag indienen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw aanvraag is verstuurd")
    page.get_by_role("link", name="Volg uw aanvraag op").click()
    expect(page.locator(".rl-application")).to_have_count(3)
    expect(page.locator(".rl-application").filter(has_text="ingediend")).to_have_count(3)

    # The second choice's provider offers a place (a service call, as staff would).
    request_id = uuid.UUID(page.url.rstrip("/").split("/")[-1])
    offer_place(live_region, request_id, rank=2)

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
        from regional_loket.applications import Application

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
        from regional_loket.applications import Application
        from regional_loket.care_requests.models import Choice
        from regional_loket.families.models import Guardian

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


def _month_label(day):
    """How a result card names the month of its free places (with the year when not this one)."""
    from babel.dates import format_date

    return format_date(day, "MMMM" if day.year == TODAY.year else "MMMM yyyy", locale="nl")


def _card(page, location_id):
    """The result card of one location (names repeat across the region)."""
    return page.locator("li.rl-result", has=page.locator(f'a[href^="/locatie/{location_id}?"]'))


def _fill_family_and_submit(page, postcode="3020", locality="Herent"):
    page.get_by_role("link", name="Verder").click()
    page.fill("#street", "Journeystraat")
    page.fill("#number", "7")
    page.fill("#postcode", postcode)
    page.fill("#locality", locality)
    page.check("#consent")
    page.get_by_role("button", name="Bewaren en verder").click()
    page.get_by_role("button", name="Aanvraag indienen").click()


def test_from_a_search_into_a_request_then_one_more_location_and_no_duplicate(page, live_region):
    page.on("dialog", lambda dialog: dialog.accept())
    _log_in(page, live_region, _person(live_region, "parent"))
    (first_id, first), (second_id, second) = _choosable(live_region, "leuven", 2)
    portal = live_region["portal"]()

    # The search knows the child and the start: free places are shown for the start's month.
    page.goto(portal + f"/zoeken?geboortedatum={BORN}&start={START}&online=1&q={first.split()[-1]}")
    card = _card(page, first_id)
    month = r"\s+".join(map(re.escape, _month_label(START).split()))
    expect(card).to_contain_text(re.compile(rf"vrije plaats(en)?\s+in\s+{month}", re.I))
    if month_start(START) != month_start(TODAY):
        expect(card).not_to_contain_text(f"in {_month_label(TODAY)}")
    card.get_by_role("link", name=re.compile("Kies deze locatie")).click()

    # A new request from that location: the child's birth date and the start are filled in, and
    # the location is the first choice as soon as the plan is saved (no page to confirm it).
    page.get_by_role("link", name="Een nieuwe aanvraag beginnen met deze locatie").click()
    expect(page.get_by_label("Een ander kind")).to_be_checked()
    expect(page.locator("#birth_date")).to_have_value(BORN.isoformat())
    page.fill("#first_name", "Noor")
    page.fill("#last_name", "Journey")
    page.get_by_role("button", name="Verder").click()
    expect(page.locator("#start_date")).to_have_value(START.isoformat())
    page.select_option("#day_5", "none")
    page.get_by_role("button", name="Bewaren en verder").click()
    expect(page).to_have_url(re.compile(r"/aanvragen/[0-9a-f-]+/keuzes$"))
    expect(page.locator(".rl-result-list")).to_contain_text(first)
    _fill_family_and_submit(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw aanvraag is verstuurd")
    page.get_by_role("link", name="Volg uw aanvraag op").click()
    request_url = page.url

    # Later, one more location: it joins the submitted request and reaches its provider.
    page.goto(portal + f"/zoeken?geboortedatum={BORN}&start={START}&online=1&q={second.split()[-1]}")
    _card(page, second_id).get_by_role("link", name=re.compile("Kies deze locatie")).click()
    expect(page.get_by_role("radio")).to_have_count(1)
    expect(page.get_by_role("radio")).to_be_checked()
    page.get_by_role("button", name="Toevoegen").click()
    expect(page).to_have_url(request_url)
    expect(page.locator(".utrecht-alert--ok")).to_contain_text(f"ging ook naar {second}")
    expect(page.locator(".rl-application")).to_have_count(2)
    expect(page.locator(".rl-application").filter(has_text="ingediend")).to_have_count(2)
    with live_region["app"].app_context():
        care = db.session.get(CareRequest, uuid.UUID(request_url.rstrip("/").split("/")[-1]))
        added = care.choices[1]
        assert added.location_id == second_id and added.status == "submitted"
        assert requests.load_application(db.session, added).application.status == "submitted"

    # The wizard's own search link keeps the family's postcode and the start month.
    page.goto(portal + "/aanvragen/nieuw")
    expect(page.get_by_label("Noor Journey")).to_be_checked()
    page.get_by_role("button", name="Verder").click()
    page.fill("#start_date", START.isoformat())
    page.get_by_role("button", name="Bewaren en verder").click()
    page.get_by_role("link", name="Zoek en kies een locatie").click()
    expect(page.locator("#f-postcode")).to_have_value("3020")
    expect(page.locator("#f-maand")).to_have_value(START.strftime("%Y-%m"))
    expect(page.locator("#f-start")).to_have_value(START.isoformat())

    # The same child again: refused as a duplicate, the draft is gone, the running request shown.
    page.goto(portal + f"/aanvragen/kies?locatie={first_id}")
    expect(page.locator("main")).to_contain_text(f"{first} staat al in de aanvraag voor Noor")
    page.goto(portal + f"/aanvragen/kies?locatie={_choosable(live_region, 'herent', 1)[0][0]}")
    page.get_by_label(re.compile("nog niet ingediend")).check()
    page.get_by_role("button", name="Toevoegen").click()
    _fill_family_and_submit(page)
    expect(page).to_have_url(request_url)
    expect(page.locator(".utrecht-alert--error, .rl-alert--error").first).to_contain_text(
        "Er loopt al een aanvraag voor Noor")
    page.goto(portal + "/aanvragen/")
    expect(page.locator("main section.rl-card")).to_have_count(1)


def test_back_from_a_location_elsewhere_to_the_search_the_family_made(page, live_region):
    (location_id, name), = _choosable(live_region, "leuven", 1)
    page.goto(live_region["portal"]("herent") + f"/zoeken?nabij=1&geboortedatum={BORN}&q={name.split()[-1]}")
    _card(page, location_id).get_by_role("link", name=name, exact=True).click()
    expect(page).to_have_url(re.compile(re.escape(f"{live_region['portal']('leuven')}/locaties/{location_id}")))
    page.get_by_role("link", name="Terug naar zoeken").click()
    expect(page).to_have_url(re.compile(re.escape(live_region["portal"]() + "/zoeken?")))
    expect(page.locator("#f-geboortedatum")).to_have_value(BORN.isoformat())
    expect(page.locator("#f-q")).to_have_value(name.split()[-1])
    expect(page.locator("#g-herent")).to_be_checked()
    expect(_card(page, location_id)).to_be_visible()


def test_a_referrer_files_for_a_family_without_e_mail(page, live_region):
    (location_id, name), = _choosable(live_region, "leuven", 1)
    _log_in(page, live_region, _person(live_region, "referrer", organisation="OCMW Leuven"))
    page.goto(live_region["portal"]() + "/toeleider/gezin")
    page.fill("#guardian_name", "Sara Diallo")
    page.check("#consent")
    page.get_by_role("button", name="Verder").click()
    expect(page.locator("main")).to_contain_text("voor het kind van het gezin")
    expect(page.locator("main")).not_to_contain_text(re.compile("uw kind|mijn kind", re.I))
    page.fill("#first_name", "Awa")
    page.fill("#last_name", "Diallo")
    page.fill("#birth_date", BORN.isoformat())
    page.get_by_role("button", name="Verder").click()
    page.fill("#start_date", START.isoformat())
    page.get_by_role("button", name="Bewaren en verder").click()
    page.goto(live_region["portal"]() + f"/aanvragen/kies?locatie={location_id}")
    page.get_by_role("button", name="Toevoegen").click()
    page.get_by_role("link", name="Verder").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Het gezin")
    expect(page.get_by_label("De ouder is alleenstaand")).to_be_visible()
    fill_family_address(page, street="Diestsestraat", number="9", postcode="3000", locality="Leuven")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kijk de aanvraag na")
    page.get_by_role("button", name="Aanvraag indienen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("De aanvraag is verstuurd")
    expect(page.locator("main")).to_contain_text("gaf geen e-mailadres")
    expect(page.locator("main")).not_to_contain_text("per e-mail en bericht")
