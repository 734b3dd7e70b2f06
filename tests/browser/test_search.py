"""A family in Herent searches across the border, in a real browser, on the demo region: nearby
municipalities, the child's age, free places in a month, a location in Leuven, in French."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask_babel import force_locale, format_date, gettext
from playwright.sync_api import expect
from werkzeug.datastructures import MultiDict

from regional_loket.catalog import search
from regional_loket.extensions import db
from regional_loket.months import add_months, month_start

pytestmark = pytest.mark.browser
TODAY = date.today()
# A child of about eight months today.
BORN = add_months(month_start(TODAY), -8).replace(day=min(TODAY.day, 28))


def _plan(live_region):
    """A month whose search from Herent (with its neighbours, for this child) finds a location in
    Leuven on the first page: the demo data are random (though deterministic), so ask the search
    itself, with the arguments the form will send."""
    app = live_region["app"]
    with app.app_context():
        for offset in range(10):  # the child stays a baby (up to 17 months) in these months
            month = add_months(month_start(TODAY), offset)
            args = MultiDict([("gemeente", "herent"), ("nabij", "1"), ("geboortedatum", BORN.isoformat()),
                              ("maand", month.strftime("%Y-%m")), ("sorteer", "name")])
            query, problems = search.parse(args, session=db.session, today=TODAY, default_municipalities=("herent",))
            assert problems == {}
            result = search.run(db.session, query, today=TODAY)
            in_leuven = [row for row in result.rows if row["tenant_slug"] == "leuven" and row["free_places"]]
            if in_leuven:
                with app.test_request_context():
                    with force_locale("nl"):
                        label_nl = format_date(month, "MMMM yyyy")
                    with force_locale("fr"):
                        label_fr, free_places_fr = format_date(month, "MMMM yyyy"), gettext("Vrije plaatsen")
                return {"month": month, "total": result.total, "row": in_leuven[0], "label_nl": label_nl,
                        "label_fr": label_fr, "free_places_fr": free_places_fr}
    pytest.fail("no month in the demo data has free places in Leuven for a baby searching from Herent")


def test_search_from_herent_across_the_border_and_read_a_leuven_location_in_french(page, live_region):
    plan = _plan(live_region)
    row, location_id = plan["row"], plan["row"]["location_id"]

    page.goto(live_region["portal"]("herent") + "/zoeken")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("heading", level=1)).to_have_text("Opvang zoeken in Herent en omgeving")
    only_herent = page.locator("#results-heading").inner_text()

    # Also in the municipalities nearby: Leuven joins the results.
    page.get_by_label("Ook in gemeenten in de buurt").check()
    page.get_by_role("button", name="Zoeken").click()
    expect(page).to_have_url(re.compile(r"/zoeken\?.*nabij=1"))
    expect(page.get_by_label("Ook in gemeenten in de buurt")).to_be_checked()
    expect(page.locator(".rl-facets")).to_contain_text("Leuven (")
    assert page.locator("#results-heading").inner_text() != only_herent

    # A child of eight months, with a free place in the chosen month.
    page.get_by_label("Geboortedatum of verwachte geboortedatum").fill(BORN.isoformat())
    page.get_by_label("Met vrije plaatsen in").select_option(plan["month"].strftime("%Y-%m"))
    page.get_by_role("button", name="Zoeken").click()
    expect(page.get_by_role("alert")).to_have_count(0)  # nothing we typed was a problem
    expect(page.locator("#results-heading")).to_have_text(
        f"{plan['total']} opvanglocatie{'' if plan['total'] == 1 else 's'} gevonden")
    expect(page.get_by_label("Met vrije plaatsen in")).to_have_value(plan["month"].strftime("%Y-%m"))

    card = page.locator("li.rl-result", has=page.locator(f'a[href^="/locatie/{location_id}?"]'))
    expect(card).to_contain_text("(Leuven)")
    expect(card).to_contain_text(f"in {plan['label_nl'].split()[0]}")  # free places in that month
    card.get_by_role("link", name=row["name"], exact=True).click()

    # The location lives on Leuven's own portal (the search it came from travels along).
    expect(page).to_have_url(re.compile(re.escape(f"{live_region['portal']('leuven')}/locaties/{location_id}?zoek=")))
    expect(page.get_by_role("heading", level=1)).to_have_text(row["name"])
    expect(page.get_by_role("heading", name="Vrije plaatsen", exact=True)).to_be_visible()
    table = page.get_by_role("table")
    expect(table).to_contain_text("Vrije plaatsen per maand en leeftijdsgroep")
    month_row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=plan["label_nl"], exact=True))
    expect(month_row.locator("td.rl-free").first).to_be_visible()  # the free place that was found

    # In French: the same page, Leuven's portal remembers the choice.
    page.get_by_role("link", name="Français").click()
    expect(page).to_have_url(re.compile(re.escape(f"{live_region['portal']('leuven')}/locaties/{location_id}")))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator(".rl-brand__name")).to_contain_text("Guichet accueil d'enfants")
    expect(page.get_by_role("heading", level=1)).to_have_text(row["name"])
    expect(page.get_by_role("main")).to_contain_text(row["description"]["fr"])
    # Whatever the French catalog says for the heading (it falls back to Dutch while untranslated).
    expect(page.get_by_role("heading", name=plan["free_places_fr"], exact=True)).to_be_visible()
    expect(page.get_by_role("rowheader", name=plan["label_fr"], exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Nederlands")).to_be_visible()
