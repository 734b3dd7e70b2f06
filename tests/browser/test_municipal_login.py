"""Logging in from a municipality's site: the login lives on the regional host, the answer hands
the session over to the municipal host and lands on the page asked for (issue #10, item 1)."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
DEMO_PASSWORD = "kinderopvang-demo-2026"  # README.md, "The demo region"


@pytest.mark.parametrize(("email", "path", "heading"), [
    ("opvang.herent@demo-loket.be", "/opvang/", None),
    ("coordinator.herent@demo-loket.be", "/beheer/", None),
    ("ouder@demo-loket.be", "/account", "Mijn account"),
], ids=["provider-staff", "coordinator", "parent"])
def test_login_from_a_municipal_host_lands_on_the_page_asked_for(page, live_region, email, path, heading):
    herent = live_region["portal"]("herent")
    page.goto(herent + path)
    # Sent to the one login page of the region, which remembers where to come back to.
    expect(page).to_have_url(re.compile("^" + re.escape(live_region["portal"]() + "/aanmelden?next=")))
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()

    expect(page).to_have_url(herent + path)
    expect(page.get_by_role("button", name="Afmelden")).to_be_visible()
    if heading:
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    # Logged in on this host for real: a reload keeps the page, it does not ask for a login.
    page.reload()
    expect(page).to_have_url(herent + path)
    expect(page.get_by_role("button", name="Afmelden")).to_be_visible()


def test_a_parent_on_a_municipal_site_finds_their_requests_in_the_menu(page, live_region):
    """Issue #10 item 6: the family's own pages live on the region; the menu of a municipal
    site leads there, logged in."""
    herent = live_region["portal"]("herent")
    page.goto(herent + "/account")
    page.fill("#email", "ouder@demo-loket.be")
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    expect(page).to_have_url(herent + "/account")

    expect(page.get_by_role("link", name="Mijn gezin")).to_be_visible()
    page.get_by_role("link", name="Mijn aanvragen").click()
    expect(page).to_have_url(live_region["portal"]() + "/aanvragen/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mijn aanvragen")
    expect(page.get_by_role("button", name="Afmelden")).to_be_visible()
