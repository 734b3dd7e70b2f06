"""An administrator creates a municipality in a real browser (issue #14 item 1): the form, the
provisioning job with its progress bar (polled by admin-provisioning.js), and the new portal
answering at its own subdomain."""

import re

import pytest
from playwright.sync_api import expect

from regional_loket import jobs

from ..conftest import work_burst

pytestmark = pytest.mark.browser
DEMO_PASSWORD = "kinderopvang-demo-2026"  # README.md, "The demo region"


def test_an_administrator_creates_a_municipality_and_it_becomes_reachable(page, live_region):
    region = live_region["url"]
    page.goto(region + "/aanmelden")
    page.fill("#email", "admin@demo-loket.be")
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("button", name="Afmelden")).to_be_visible()

    page.goto(region + "/beheer/regio/")
    page.get_by_role("link", name="Gemeente toevoegen").click()
    page.fill("#name", "Kortenberg")
    page.fill("#slug", "kortenberg")
    page.fill("#nis_code", "24055")
    page.fill("#colour", "#0b3d6e")
    page.fill("#coordinator_email", "coordinator@kortenberg.be")
    page.select_option("#coordinator_language", "nl")
    page.get_by_role("button", name="Gemeente aanmaken").click()

    expect(page).to_have_url(re.compile(r"/beheer/regio/gemeenten/aanmaak/[0-9a-f-]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Aanmaak van Kortenberg")
    expect(page.locator("#provisioning-bar")).to_be_visible()
    expect(page.locator("#provisioning-label")).to_contain_text("Stap 0 van 5")

    # The worker, in this process: the page keeps polling while it runs, and reloads when done.
    jobs.set_job_app(live_region["app"])
    try:
        work_burst(live_region["app"])
    finally:
        jobs.set_job_app(None)
    portal = page.locator("#provisioning-portal")
    expect(portal).to_be_visible(timeout=15_000)
    expect(page.locator("#provisioning-bar")).to_have_attribute("value", "5")

    portal.click()
    expect(page).to_have_url(live_region["portal"]("kortenberg") + "/")
    expect(page.locator(".rl-brand__name")).to_contain_text("Kortenberg")
