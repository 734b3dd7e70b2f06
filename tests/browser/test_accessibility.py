"""Accessibility in a real browser, on the demo region: axe-core (WCAG 2.1 A/AA) on the pages a
family, a provider and a coordinator use, at phone and desktop width; visible radio buttons, also
in forced-colours mode; where focus lands after a form; a keyboard path past the search map."""

from __future__ import annotations

import re
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from regional_loket.accounts import services as accounts
from regional_loket.applications import Application
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.months import add_months, month_start
from regional_loket.tenancy import services as tenancy
from regional_loket.tenancy import tenant_scope

from .steps import choosable, fill_family_address

pytestmark = pytest.mark.browser
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Outside the WCAG tags, but the issue found them and they confuse screen-reader users.
EXTRA_RULES = ["heading-order", "landmark-unique", "aria-allowed-role"]
WIDTHS = (360, 1280)
PASSWORD = "een lange zin als wachtwoord"
DEMO_PASSWORD = "kinderopvang-demo-2026"
TODAY = date.today()
START = add_months(month_start(TODAY), 4)
BORN = add_months(month_start(TODAY), -5).replace(day=3)
# One transparent pixel for every map tile: the test network has no tile server.
PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                      "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082")


@pytest.fixture
def axe_page(browser, browser_context_args):
    """A page that may take axe's script: Playwright injects it inline, which the site's CSP
    (rightly) refuses, so this context alone bypasses the CSP. Tiles are answered locally."""
    context = browser.new_context(**browser_context_args, bypass_csp=True)
    page = context.new_page()
    page.route(re.compile(r"https://tile\.openstreetmap\.org/.*"),
               lambda route: route.fulfill(status=200, content_type="image/png", body=PIXEL))
    yield page
    context.close()


def _violations(page) -> list[str]:
    if not page.evaluate("() => Boolean(window.axe)"):
        page.add_script_tag(path=str(AXE))
    # One run: the WCAG tags, and the extra rules switched on beside them (axe's `rules` option
    # adds rules outside `runOnly`'s tags), which halves the time of the page-by-page sweep.
    found = page.evaluate("""async ([tags, rules]) => {
        const extra = Object.fromEntries(rules.map(r => [r, {enabled: true}]));
        const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, rules: extra,
                                                resultTypes: ["violations"]});
        return result.violations.map(
            v => v.id + ": " + v.help + " -> " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
    }""", [WCAG_TAGS, EXTRA_RULES])
    return found


def _assert_accessible(page, label: str) -> None:
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_timeout(50)
        problems += [f"{label} @ {width}px: {v}" for v in _violations(page)]
    assert problems == [], "\n".join(problems)


def _person(live_region, *roles, tenant=None, locations=()) -> str:
    with live_region["app"].app_context():
        user, _ = accounts.register(db.session, email=f"a11y-{uuid.uuid4().hex[:8]}@example.be",
                                    password=PASSWORD, name="A11y Person")
        user.verified_at = utcnow()
        for role in roles:
            accounts.grant(db.session, user, role, tenant=tenancy.get_tenant(db.session, tenant) if tenant else None,
                           location_ids=list(locations))
        db.session.commit()
        return user.email


def _log_in(page, live_region, email, password=PASSWORD, slug=None, path="/"):
    """Log in on the regional host, then hand the session over to a municipal host if asked."""
    page.goto(live_region["portal"]() + "/aanmelden")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("link", name="Mijn account")).to_be_visible()
    # Let the landing page's script run: it takes the "just submitted" flag the login left, which
    # a page opened next would otherwise find (focus tests check where focus lands).
    page.wait_for_load_state("load")
    if slug:
        page.goto(live_region["portal"]() + f"/sessie/naar?to={live_region['portal'](slug)}{path}")


def _start_request(page, live_region, first_name=None):
    """The wizard's first two steps: a new child (or the first known one), then the plan."""
    page.goto(live_region["portal"]() + "/aanvragen/nieuw")
    if first_name:
        page.get_by_label("Een ander kind").check()
        page.fill("#first_name", first_name)
        page.fill("#last_name", "Toegankelijk")
        page.fill("#birth_date", BORN.isoformat())
    page.get_by_role("button", name="Verder").click()
    page.fill("#start_date", START.isoformat())
    page.get_by_role("button", name="Bewaren en verder").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bij welke locaties")


# --- axe ---------------------------------------------------------------------------------------


def test_public_pages_have_no_axe_violations(axe_page, live_region):
    page = axe_page
    page.goto(live_region["url"] + "/")
    _assert_accessible(page, "regional home")

    page.goto(live_region["url"] + "/zoeken")
    expect(page.locator("#map .leaflet-marker-icon").first).to_be_visible()
    _assert_accessible(page, "search results with map")

    location_id, _name = choosable(live_region, "herent", 1)[0]
    page.goto(live_region["portal"]("herent") + f"/locaties/{location_id}")
    _assert_accessible(page, "location page")


def test_request_wizard_and_overview_have_no_axe_violations(axe_page, live_region):
    page = axe_page
    _log_in(page, live_region, _person(live_region, "parent"))
    page.goto(live_region["url"] + "/aanvragen/nieuw")
    _assert_accessible(page, "wizard: child")
    page.get_by_label("Een ander kind").check()
    page.get_by_role("button", name="Verder").click()
    expect(page.locator("#error-summary")).to_be_visible()
    _assert_accessible(page, "wizard: child, with errors")
    page.fill("#first_name", "Axel")
    page.fill("#last_name", "Toegankelijk")
    page.fill("#birth_date", BORN.isoformat())
    page.get_by_role("button", name="Verder").click()
    _assert_accessible(page, "wizard: plan")
    page.fill("#start_date", START.isoformat())
    page.get_by_role("button", name="Bewaren en verder").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bij welke locaties")
    _assert_accessible(page, "wizard: choices, none yet")
    choices_url = page.url

    location_id, name = choosable(live_region, "herent", 1)[0]
    page.goto(live_region["url"] + f"/aanvragen/kies?locatie={location_id}")
    _assert_accessible(page, "pick a request")
    page.get_by_role("button", name="Toevoegen").click()
    expect(page.locator("main")).to_contain_text(name)
    _assert_accessible(page, "wizard: choices")
    page.goto(choices_url.replace("/keuzes", "/gezin"))
    _assert_accessible(page, "wizard: family")
    page.get_by_role("button", name="Bewaren en verder").click()
    _assert_accessible(page, "wizard: family, with errors")
    fill_family_address(page, street="Toegangstraat", number="1", postcode="3020", locality="Herent")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kijk uw aanvraag na")
    _assert_accessible(page, "wizard: review")

    # A second request for the same child: two cards on "Mijn aanvragen".
    _start_request(page, live_region)
    page.goto(live_region["url"] + "/aanvragen/")
    expect(page.locator("main section")).to_have_count(2)
    _assert_accessible(page, "Mijn aanvragen with two requests")


def test_demo_parent_request_detail_has_no_axe_violations(axe_page, live_region):
    page = axe_page
    _log_in(page, live_region, "ouder@demo-loket.be", DEMO_PASSWORD)
    page.goto(live_region["url"] + "/aanvragen/")
    _assert_accessible(page, "Mijn aanvragen (demo)")
    page.locator("main section h2 a").first.click()
    _assert_accessible(page, "request detail (demo)")


def _busiest_location(live_region, slug):
    """The location in ``slug`` with the most applications (the demo's waiting list)."""
    with live_region["app"].app_context():
        with tenant_scope(db.session, tenancy.get_tenant(db.session, slug)):
            return db.session.scalar(sa.select(Application.location_id).group_by(Application.location_id)
                                     .order_by(sa.func.count().desc()).limit(1))


def test_provider_inbox_and_coordinator_home_have_no_axe_violations(axe_page, live_region):
    page = axe_page
    location_id = _busiest_location(live_region, "herent")
    staff = _person(live_region, "provider_staff", tenant="herent", locations=[location_id])
    _log_in(page, live_region, staff, slug="herent", path="/opvang/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw opvanglocaties")
    _assert_accessible(page, "provider home")
    page.locator("main table a").first.click()
    expect(page.locator("main table")).to_be_visible()
    _assert_accessible(page, "provider inbox")

    page.context.clear_cookies()
    _log_in(page, live_region, "coordinator.herent@demo-loket.be", DEMO_PASSWORD, slug="herent", path="/beheer/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Beheer")
    _assert_accessible(page, "coordinator home")


def test_the_figures_of_the_desk_and_the_region_have_no_axe_violations(axe_page, live_region):
    """Issue #15: the dashboards, with their charts drawn (today's snapshot taken first), in the
    three languages at both widths."""
    from regional_loket.statistics import jobs as snapshots

    app = live_region["app"]
    with app.app_context():
        slugs = [t.slug for t in tenancy.list_tenants(db.session, include_archived=False)]
    for slug in slugs:
        snapshots.snapshot_now(app, slug, TODAY.isoformat())
    page = axe_page
    _log_in(page, live_region, "coordinator.herent@demo-loket.be", DEMO_PASSWORD, slug="herent", path="/beheer/cijfers")
    expect(page.locator("svg.rl-chart").first).to_be_visible()
    headings = {"nl": "Vraag en aanbod", "fr": "Offre et demande", "en": "Supply and demand"}
    for language in ("nl", "fr", "en"):
        page.goto(live_region["portal"]("herent") + f"/lang/{language}?next=/beheer/cijfers")
        page.goto(live_region["portal"]("herent") + "/beheer/cijfers")
        expect(page.get_by_role("heading", level=1)).to_contain_text(headings[language])
        expect(page.locator("svg.rl-chart").first).to_be_visible()
        _assert_accessible(page, f"desk figures ({language})")
    page.goto(live_region["portal"]("herent") + "/beheer/cijfers?van=2026-13")  # a field's error, shown
    _assert_accessible(page, "desk figures with an error")

    page.context.clear_cookies()
    _log_in(page, live_region, "admin@demo-loket.be", DEMO_PASSWORD)
    for language in ("nl", "fr", "en"):
        page.goto(live_region["portal"]() + f"/lang/{language}?next=/beheer/regio/cijfers")
        page.goto(live_region["portal"]() + "/beheer/regio/cijfers")
        expect(page.get_by_role("heading", level=1)).to_contain_text(headings[language])
        expect(page.locator("#chart-matrix")).to_be_visible()
        _assert_accessible(page, f"region figures ({language})")


# --- item 2: radio buttons show their state -----------------------------------------------------


def _looks(page, selector: str) -> tuple[str, bytes]:
    element = page.locator(selector)
    style = element.evaluate("e => { const s = getComputedStyle(e); return s.backgroundImage + ' ' + s.borderColor; }")
    return style, element.screenshot()


@pytest.mark.parametrize("forced_colors", ["none", "active"])
def test_a_checked_radio_looks_different_from_an_unchecked_one(page, live_region, forced_colors):
    _log_in(page, live_region, _person(live_region, "parent"))
    _start_request(page, live_region, first_name="Radia")
    page.emulate_media(forced_colors=forced_colors)
    page.goto(live_region["url"] + "/aanvragen/nieuw")
    radios = page.locator("input[type=radio][name=child]")
    expect(radios).to_have_count(2)
    expect(radios.nth(0)).to_be_checked()
    checked, unchecked = _looks(page, "input[name=child] >> nth=0"), _looks(page, "input[name=child] >> nth=1")
    assert checked[0] != unchecked[0]
    assert checked[1] != unchecked[1], "the checked radio is drawn exactly like the unchecked one"

    # The other way round after a click: the state follows the choice.
    radios.nth(1).check()
    page.mouse.move(0, 0)
    page.evaluate("() => document.activeElement.blur()")
    assert _looks(page, "input[name=child] >> nth=1")[0] == checked[0]
    assert _looks(page, "input[name=child] >> nth=0")[0] == unchecked[0]


@pytest.mark.parametrize("forced_colors", ["none", "active"])
def test_a_checked_checkbox_looks_different_from_an_unchecked_one(page, live_region, forced_colors):
    page.emulate_media(forced_colors=forced_colors)
    page.goto(live_region["url"] + "/zoeken")
    boxes = page.locator("#f-type input[type=checkbox]")
    boxes.nth(0).check()
    page.mouse.move(0, 0)
    page.evaluate("() => document.activeElement.blur()")
    expect(boxes.nth(1)).not_to_be_checked()
    assert boxes.nth(0).screenshot() != boxes.nth(1).screenshot()


# --- item 7: focus ---------------------------------------------------------------------------------


def _focused(page) -> str:
    return page.evaluate("() => { const e = document.activeElement; return e.tagName.toLowerCase() + '#' + e.id; }")


def test_focus_goes_to_the_error_summary_on_error_and_to_the_heading_after_a_step(page, live_region):
    _log_in(page, live_region, _person(live_region, "parent"))
    page.goto(live_region["url"] + "/aanvragen/nieuw")
    assert _focused(page) == "body#", "a page reached by a link keeps the browser's own focus"
    page.get_by_label("Een ander kind").check()
    page.get_by_role("button", name="Verder").click()
    expect(page.locator("#error-summary")).to_be_focused()

    page.fill("#first_name", "Focus")
    page.fill("#last_name", "Toegankelijk")
    page.fill("#birth_date", BORN.isoformat())
    page.get_by_role("button", name="Verder").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("wanneer en hoeveel")
    expect(page.locator("main h1")).to_be_focused()

    page.fill("#start_date", START.isoformat())
    page.get_by_role("button", name="Bewaren en verder").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bij welke locaties")
    expect(page.locator("main h1")).to_be_focused()

    # Two choices, then a reorder: focus lands on the heading again, not at the top of the page.
    for location_id, name in choosable(live_region, "herent", 2):
        page.goto(live_region["url"] + f"/aanvragen/kies?locatie={location_id}")
        page.get_by_role("button", name="Toevoegen").click()
        expect(page.locator("main")).to_contain_text(name)
        expect(page.locator("main h1")).to_be_focused()
    page.get_by_role("button", name=re.compile("^Lager")).first.click()
    expect(page.locator("main h1")).to_be_focused()


def test_map_markers_carry_the_location_name_and_a_skip_link_passes_the_map(page, live_region):
    page.route(re.compile(r"https://tile\.openstreetmap\.org/.*"),
               lambda route: route.fulfill(status=200, content_type="image/png", body=PIXEL))
    page.goto(live_region["url"] + "/zoeken")
    markers = page.locator("#map .leaflet-marker-icon")
    expect(markers.first).to_be_visible()
    names = [point["name"] for point in page.locator("#map").evaluate("e => JSON.parse(e.dataset.points)")]
    assert markers.count() == len(names)
    for index in range(markers.count()):
        marker = markers.nth(index)
        expect(marker).to_have_attribute("tabindex", "0")
        expect(marker).to_have_attribute("alt", names[index])
    # The name is what assistive technology announces (computed by the browser, not a guess).
    expect(page.get_by_role("button", name=names[0], exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Marker")).to_have_count(0)

    # The attribution link looks like a link.
    decoration = page.locator(".leaflet-control-attribution a").first.evaluate(
        "e => getComputedStyle(e).textDecorationLine")
    assert "underline" in decoration

    # Before the map: a link that takes the keyboard past every marker to the first result.
    skip = page.get_by_role("link", name="Sla de kaart over")
    expect(skip).to_be_visible()
    skip.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#results-list")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator(".rl-result__name a").first).to_be_focused()


SITE_RING = [True, "solid", "3px", "rgb(255, 191, 71)"]  # app.css --rl-focus
RING = "e => { const s = getComputedStyle(e); return [e.matches(':focus-within'), s.outlineStyle, s.outlineWidth, s.outlineColor]; }"


def test_date_inputs_and_other_fields_show_the_sites_focus_ring(page, live_region):
    page.goto(live_region["url"] + "/zoeken")
    page.focus("#f-q")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    assert page.locator("#f-q").evaluate(RING) == SITE_RING
    page.keyboard.press("Tab")
    assert page.locator("#f-geboortedatum").evaluate(RING) == SITE_RING
    for _ in range(6):  # through the date's segments (day, month, year) to the next field
        page.keyboard.press("Tab")
        if page.locator("#f-start").evaluate("e => e.matches(':focus-within')"):
            break
    assert page.locator("#f-start").evaluate(RING) == SITE_RING
