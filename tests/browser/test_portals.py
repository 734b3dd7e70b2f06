"""The regional portal and a municipal portal, in a real browser, in two languages."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_regional_and_municipal_portals_in_dutch_and_french(page, live_region):
    page.goto(live_region["portal"]())
    expect(page).to_have_title(re.compile("Regionaal Loket Kinderopvang"))
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kinderopvang zoeken en aanvragen")
    herent = page.get_by_role("link", name="Herent", exact=True)
    expect(herent).to_have_attribute("href", live_region["portal"]("herent") + "/")

    herent.click()
    expect(page).to_have_url(live_region["portal"]("herent") + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kinderopvang in Herent")
    expect(page.get_by_role("contentinfo")).to_contain_text("kinderopvang@herent.be")

    page.get_by_role("link", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Accueil d'enfants à Herent")
    expect(page.get_by_role("link", name="Nederlands")).to_be_visible()

    # Each host keeps its own language choice: the regional portal is still in Dutch.
    page.goto(live_region["portal"]())
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    page.get_by_role("link", name="Français").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Trouver et demander un accueil")


def test_skip_link_moves_focus_to_the_content(page, live_region):
    page.goto(live_region["portal"]("leuven"))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Naar de inhoud")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
