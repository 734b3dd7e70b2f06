"""The main journeys with the keyboard alone (issue #18, item 4), on the demo region: a parent
searches and files a request through the wizard; provider staff offers a place; the desk opens
a dossier for a family with only a phone number and files its request; an administrator creates
a municipality and watches it become ready.

Only ``page.keyboard`` acts (Tab, Shift+Tab, Enter, Space, arrow keys, typing): no click, no
fill. ``page.goto`` only opens where a person would start (a bookmark, a link from a mail).
Every control reached must show the site's focus ring (app.css, --rl-focus), so each page
shows it at least once."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from regional_loket import jobs
from regional_loket.applications import Application
from regional_loket.catalog.models import Availability
from regional_loket.extensions import db
from regional_loket.months import add_months, month_start
from regional_loket.tenancy import services as tenancy
from regional_loket.tenancy import tenant_scope

from ..conftest import work_burst
from .steps import choosable
from .test_accessibility import DEMO_PASSWORD, PASSWORD, _person

pytestmark = pytest.mark.browser
TODAY = date.today()
START = add_months(month_start(TODAY), 4)
BORN = add_months(month_start(TODAY), -5).replace(day=3)
# app.css: `:focus-visible { outline: 3px solid var(--rl-focus) }`, --rl-focus: #ffbf47.
SITE_RING = ["solid", "3px", "rgb(255, 191, 71)"]
RING = "e => { const s = getComputedStyle(e); return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
FOCUSED = "e => e.matches(':focus-within')"


class Keys:
    """The keyboard, and what it reached: every stop asked for must show the site's ring."""

    def __init__(self, page):
        self.page = page
        self.rings = []  # (url, what) of each control reached with the ring showing

    def tab_to(self, target, *, limit: int = 250, backwards: bool = False):
        target = target.first
        for _ in range(limit):
            self.page.keyboard.press("Shift+Tab" if backwards else "Tab")
            if target.evaluate(FOCUSED):
                ring = target.evaluate(RING)
                assert ring == SITE_RING, f"no visible focus ring on {target} at {self.page.url}: {ring}"
                self.rings.append((self.page.url, str(target)))
                return target
        raise AssertionError(f"the keyboard never reaches {target} on {self.page.url}")

    def press(self, target, key: str = "Enter"):
        self.tab_to(target)
        self.page.keyboard.press(key)

    def type(self, target, text: str):
        self.tab_to(target)
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(text)

    def date(self, target, day: date):
        """A date field: chromium's three segments, typed digit by digit in the order the browser
        shows them (its own locale's, not the page's): tried in turn, Shift+Tab back to the first."""
        self.tab_to(target)
        for order in ("%d%m%Y", "%m%d%Y", "%Y%m%d"):
            self.page.keyboard.type(day.strftime(order))
            if target.first.input_value() == day.isoformat():
                return
            self.page.keyboard.press("Shift+Tab")
            self.page.keyboard.press("Shift+Tab")
        raise AssertionError(f"typing never gives {day} in {target}")

    def select(self, target, value: str):
        """A closed select moves through its options with the arrow keys."""
        self.tab_to(target)
        for _ in range(40):
            if target.first.input_value() == value:
                return
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"no option {value!r} in {target}")

    def radio(self, group, target):
        """Into a radio group (the checked one takes focus), then the arrow keys to ``target``."""
        self.tab_to(group)
        for _ in range(10):
            if target.is_checked():
                return
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"the arrow keys never check {target}")

    def log_in(self, email: str, password: str):
        """The login form the page shows (asked for, or after a protected page)."""
        self.type(self.page.locator("#email"), email)
        self.type(self.page.locator("#password"), password)
        self.page.keyboard.press("Enter")

    def pages_with_ring(self) -> set[str]:
        return {url.split("?")[0] for url, _ in self.rings}


def _link(page, name):
    return page.get_by_role("link", name=name)


def _button(page, name):
    return page.get_by_role("button", name=name)


def _wizard(keys: Keys, page, *, first_name: str):
    """The wizard's child and plan steps, a new child."""
    keys.radio(page.locator("input[name=child]:checked, input[name=child]"), page.get_by_label("Een ander kind"))
    keys.type(page.locator("#first_name"), first_name)
    keys.type(page.locator("#last_name"), "Toetsenbord")
    keys.date(page.locator("#birth_date"), BORN)
    keys.press(_button(page, "Verder"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("wanneer en hoeveel")
    keys.date(page.locator("#start_date"), START)
    keys.press(_button(page, "Bewaren en verder"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bij welke locaties")


def _search_and_pick(keys: Keys, page, location_id, name: str):
    """On the search page: the location's name, Enter, then its "choose" link (names repeat
    across the region: the link of this location)."""
    keys.type(page.locator("#f-q"), name)
    page.keyboard.press("Enter")
    expect(page.locator("#results-heading")).to_be_visible()
    keys.press(page.locator(f'a[href*="{location_id}"]').filter(has_text="Kies deze locatie"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)


def _pick_first_result(keys: Keys, page) -> str:
    """The search the wizard opens (the child's age and start filled in, free places in that
    month): the first result's "choose" link. Returns the location's name."""
    expect(page.locator("#results-heading")).to_be_visible()
    link = page.locator(".rl-result").first.get_by_role("link", name=re.compile("^Kies deze locatie"))
    name = link.locator(".rl-visually-hidden").inner_text().strip().strip("()")
    keys.press(link)
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    return name


def _family_step(keys: Keys, page, *, street: str):
    keys.type(page.locator("#street"), street)
    keys.type(page.locator("#number"), "4")
    keys.type(page.locator("#postcode"), "3020")
    keys.type(page.locator("#locality"), "Herent")
    keys.press(page.locator("#consent"), "Space")
    expect(page.locator("#consent")).to_be_checked()
    keys.press(_button(page, "Bewaren en verder"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Kijk (uw|de) aanvraag na$"))


def _months(start, born):
    return (start.year - born.year) * 12 + start.month - born.month - (1 if start.day < born.day else 0)


def test_a_parent_searches_and_files_a_request_with_the_keyboard(page, live_region):
    keys = Keys(page)
    [(location_id, name)] = choosable(live_region, "herent", 1, age_months=_months(START, BORN))
    page.goto(live_region["portal"]() + "/aanmelden")
    keys.log_in(_person(live_region, "parent"), PASSWORD)
    expect(_link(page, "Mijn account")).to_be_visible()

    keys.press(_link(page, "Opvang zoeken").first)
    expect(page).to_have_url(re.compile(r"/zoeken"))
    _search_and_pick(keys, page, location_id, name)
    keys.press(_link(page, "Een nieuwe aanvraag beginnen met deze locatie"))
    _wizard(keys, page, first_name="Toets")
    expect(page.locator("main")).to_contain_text(name)  # the location searched for is the first choice
    keys.press(_link(page, "Verder"))
    _family_step(keys, page, street="Toetsstraat")
    keys.press(_button(page, "Aanvraag indienen"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw aanvraag is verstuurd")
    keys.press(_link(page, "Volg uw aanvraag op"))
    expect(page.locator(".rl-application")).to_have_count(1)
    expect(page.locator(".rl-application")).to_contain_text("ingediend")
    expect(page.locator(".rl-application")).to_contain_text(name)
    assert len(keys.pages_with_ring()) >= 6


def test_provider_staff_offers_a_place_with_the_keyboard(page, live_region):
    with live_region["app"].app_context():
        herent = tenancy.get_tenant(db.session, "herent")
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
    keys = Keys(page)
    page.on("dialog", lambda dialog: dialog.accept())  # the browser's own "are you sure?": Enter
    staff = _person(live_region, "provider_staff", tenant="herent", locations=[location_id])
    page.goto(live_region["portal"]("herent") + "/opvang/")  # the bookmark: the login comes first
    keys.log_in(staff, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw opvanglocaties")
    keys.press(page.locator(f'main a[href*="{location_id}"]'))
    expect(page.get_by_role("heading", level=2, name="Wachtlijst")).to_be_visible()
    first_row = page.locator("table tbody tr").first
    expect(first_row).to_contain_text("Plaats 1.")
    child = first_row.locator("a").inner_text()
    keys.press(first_row.locator("a"))
    expect(page.locator("main")).to_contain_text(child)
    keys.press(_button(page, "Plaats aanbieden"))
    expect(page.locator(".utrecht-alert--ok")).to_contain_text("Bewaard")
    expect(page.locator("main")).to_contain_text("plaats aangeboden")
    keys.tab_to(page.locator("main a, main button"))  # the ring on the page after the offer too
    assert len(keys.pages_with_ring()) >= 4


def test_the_desk_opens_a_dossier_and_files_its_request_with_the_keyboard(page, live_region):
    keys = Keys(page)
    herent = live_region["portal"]("herent")
    page.goto(herent + "/beheer/intake/nieuw")
    keys.log_in("coordinator.herent@demo-loket.be", DEMO_PASSWORD)
    expect(page).to_have_url(herent + "/beheer/intake/nieuw")

    guardian = f"Toets {uuid.uuid4().hex[:6]}"
    keys.type(page.locator("#guardian_name"), guardian)
    keys.type(page.locator("#phone"), "0470 12 34 56")
    keys.press(page.locator("#consent"), "Space")
    keys.select(page.locator("#consent_method"), "phone")
    keys.press(_button(page, "Dossier openen"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Dossier van {guardian}")

    keys.press(_link(page, "Een aanvraag indienen voor dit gezin"))
    _wizard(keys, page, first_name="Bel")
    keys.press(_link(page, "Zoek en kies een locatie"))
    name = _pick_first_result(keys, page)
    keys.press(_button(page, "Toevoegen"))
    expect(page.locator("main")).to_contain_text(name)
    keys.press(_link(page, "Verder"))
    expect(page.locator("#phone")).to_have_value("+32 470 12 34 56")  # from the intake
    _family_step(keys, page, street="Beltoetsstraat")
    keys.press(_button(page, "Aanvraag indienen"))
    expect(page.get_by_role("heading", level=1)).to_have_text("De aanvraag is verstuurd")
    keys.press(_link(page, re.compile("Terug naar het loket")))
    expect(page).to_have_url(re.compile("^" + re.escape(herent + "/beheer/intake/")))
    expect(page.locator("main")).to_contain_text(f"{name} (")  # the choice, with its municipality
    keys.tab_to(page.locator("main a, main button"))
    assert len(keys.pages_with_ring()) >= 7


def test_an_administrator_creates_a_municipality_with_the_keyboard(page, live_region):
    keys = Keys(page)
    region = live_region["portal"]()
    page.goto(region + "/beheer/regio/")
    keys.log_in("admin@demo-loket.be", DEMO_PASSWORD)
    expect(page).to_have_url(region + "/beheer/regio/")
    keys.press(_link(page, "Gemeente toevoegen"))
    keys.type(page.locator("#name"), "Zemst")
    keys.type(page.locator("#slug"), "zemst")
    keys.type(page.locator("#nis_code"), "23096")
    keys.type(page.locator("#coordinator_email"), "coordinator@zemst.be")
    keys.select(page.locator("#coordinator_language"), "fr")
    keys.press(_button(page, "Gemeente aanmaken"))
    expect(page).to_have_url(re.compile(r"/beheer/regio/gemeenten/aanmaak/[0-9a-f-]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Aanmaak van Zemst")

    jobs.set_job_app(live_region["app"])
    try:
        work_burst(live_region["app"])
    finally:
        jobs.set_job_app(None)
    portal = page.locator("#provisioning-portal")
    expect(portal).to_be_visible(timeout=15_000)
    keys.press(portal)
    expect(page).to_have_url(live_region["portal"]("zemst") + "/")
    expect(page.locator(".rl-brand__name")).to_contain_text("Zemst")
    keys.tab_to(page.locator("a"))
    assert len(keys.pages_with_ring()) >= 4
