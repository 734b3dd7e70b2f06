"""Assisted intake in a real browser (issue #12 item 3): Herent's coordinator opens a dossier
for a family with only a phone number, files its request with a choice in Leuven through the
shared wizard on the regional portal, and hands over the summary with a claim code; a parent's
account then takes the dossier over and sees the request."""

import re
import uuid
from datetime import date

import pytest
from playwright.sync_api import expect

from regional_loket.accounts import services as accounts
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.months import add_months, month_start

from .steps import choosable, fill_family_address, offer_place

pytestmark = pytest.mark.browser
DEMO_PASSWORD = "kinderopvang-demo-2026"  # README.md, "The demo region"
PASSWORD = "een lange zin als wachtwoord"
TODAY = date.today()
START = add_months(month_start(TODAY), 4)
BORN = add_months(month_start(TODAY), -5).replace(day=3)


def _parent(live_region) -> str:
    with live_region["app"].app_context():
        user, _ = accounts.register(db.session, email=f"claim-{uuid.uuid4().hex[:8]}@example.be", password=PASSWORD,
                                    name="Fatma Yilmaz")
        user.verified_at = utcnow()
        db.session.commit()
        return user.email


def test_the_desk_files_for_a_family_with_only_a_phone_and_the_family_claims_it(browser, browser_context_args,
                                                                             live_region):
    herent, region = live_region["portal"]("herent"), live_region["portal"]()
    months = (START.year - BORN.year) * 12 + START.month - BORN.month - (1 if START.day < BORN.day else 0)
    [(leuven_id, leuven_name)] = choosable(live_region, "leuven", 1, age_months=months)

    desk = browser.new_context(**browser_context_args, accept_downloads=True).new_page()
    desk.goto(herent + "/beheer/intake/nieuw")
    desk.fill("#email", "coordinator.herent@demo-loket.be")
    desk.fill("#password", DEMO_PASSWORD)
    desk.get_by_role("button", name="Aanmelden").click()
    expect(desk).to_have_url(herent + "/beheer/intake/nieuw")

    # Only a phone number; consent given by phone.
    desk.fill("#guardian_name", "Fatma Yilmaz")
    desk.fill("#phone", "0470 99 88 77")
    desk.check("#consent")
    desk.select_option("#consent_method", "phone")
    desk.get_by_role("button", name="Dossier openen").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Dossier van Fatma Yilmaz")
    expect(desk.locator("main")).to_contain_text("telefonisch")

    # The shared wizard, on the regional portal, for this family.
    desk.get_by_role("link", name="Een aanvraag indienen voor dit gezin").click()
    expect(desk).to_have_url(re.compile("^" + re.escape(region + "/aanvragen/nieuw?gezin=")))
    desk.get_by_label("Een ander kind").check()
    desk.fill("#first_name", "Elif")
    desk.fill("#last_name", "Yilmaz")
    desk.fill("#birth_date", BORN.isoformat())
    desk.get_by_role("button", name="Verder").click()
    desk.fill("#start_date", START.isoformat())
    desk.get_by_role("button", name="Bewaren en verder").click()
    request_id = desk.url.split("/aanvragen/", 1)[1].split("/", 1)[0]
    desk.goto(region + f"/aanvragen/kies?locatie={leuven_id}&aanvraag={request_id}")
    desk.get_by_role("button", name="Toevoegen").click()
    expect(desk.locator("main")).to_contain_text(leuven_name)
    desk.get_by_role("link", name="Verder").click()
    expect(desk.locator("#phone")).to_have_value("+32 470 99 88 77")  # from the intake
    fill_family_address(desk, street="Kerkstraat", number="2", postcode="3020", locality="Herent")
    desk.get_by_role("button", name="Aanvraag indienen").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("De aanvraag is verstuurd")

    # Back to the desk, on Herent's host: the summary with the claim code.
    desk.get_by_role("link", name=re.compile("Terug naar het loket")).click()
    expect(desk).to_have_url(re.compile("^" + re.escape(herent + "/beheer/intake/")))
    expect(desk.locator("main")).to_contain_text(f"{leuven_name} (Leuven)")
    desk.get_by_role("button", name="Overdrachtsblad met code maken").click()
    code = desk.get_by_test_id("claim-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", code), code
    expect(desk.locator("main")).to_contain_text("Wat gebeurt er nu?")
    expect(desk.locator("main")).to_contain_text(leuven_name)
    with desk.expect_download() as download:
        desk.get_by_role("button", name="Download als PDF").click()
    assert download.value.suggested_filename.endswith(".pdf")

    # Leuven offers the place. The family has no e-mail: the news waits on Herent's call list.
    offer_place(live_region, request_id)
    desk.on("dialog", lambda dialog: dialog.accept())  # the desk confirms what it does for the family
    desk.goto(herent + "/beheer/te-bellen")
    call = desk.locator("section.rl-card").filter(has_text="Fatma Yilmaz")
    expect(call).to_have_count(1)
    expect(call).to_contain_text("+32 470 99 88 77")
    expect(call).to_contain_text(leuven_name)

    # On the phone the family says yes: the desk accepts for it, with the consent on record.
    call.get_by_role("link", name="Fatma Yilmaz").click()
    accept = desk.locator("form").filter(has=desk.get_by_role("button", name="Plaats aanvaarden voor het gezin"))
    accept.locator("input[name=consent]").check()  # the family agreed on the phone
    accept.get_by_role("button", name="Plaats aanvaarden voor het gezin").click()
    expect(desk.locator(".rl-flash, .utrecht-alert").first).to_contain_text("aanvaard")
    desk.goto(herent + "/beheer/te-bellen")
    desk.get_by_label(re.compile("Notitie", re.I)).first.fill("Mama aanvaardde telefonisch.")
    desk.get_by_role("button", name="Gebeld").first.click()
    expect(desk.locator("main")).to_contain_text("Gemarkeerd als gebeld.")
    desk.goto(herent + "/beheer/te-bellen?status=called")
    expect(desk.locator("main")).to_contain_text("Mama aanvaardde telefonisch.")

    # Later, the family: a parent's account takes the dossier over with the code.
    family = browser.new_context(**browser_context_args, accept_downloads=True).new_page()
    family.goto(region + "/gezin/overnemen")
    family.fill("#email", _parent(live_region))
    family.fill("#password", PASSWORD)
    family.get_by_role("button", name="Aanmelden").click()
    expect(family).to_have_url(region + "/gezin/overnemen")
    family.fill("#code", "ABCDE-FGHJK")
    family.get_by_role("button", name="Dossier overnemen").click()
    expect(family.locator(".rl-field-error").first).to_contain_text("Deze code kennen we niet")
    family.fill("#code", code.lower())
    family.get_by_role("button", name="Dossier overnemen").click()
    expect(family).to_have_url(region + "/aanvragen/")
    expect(family.locator("main")).to_contain_text("Elif")
    family.goto(region + f"/aanvragen/{request_id}")
    expect(family.locator("main")).to_contain_text(leuven_name)
    # The history the family now owns: the offer, and the acceptance the desk recorded for it.
    expect(family.locator(".rl-application").filter(has_text="aanvaard")).to_have_count(1)
    expect(family.locator(".rl-application")).to_contain_text("loket")
