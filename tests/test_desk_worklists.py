"""The desk's worklists (issue #12, item 4), each against a fixture whose members are computed by
hand: overdue applications at Herent's locations, Herent's families without an offer before
their start (across every municipality), confirmations due or missed, stale free places. The
counts on the desk's home equal the lists' totals; lists page, sort, filter and export; bad
filter input is said, never a 5xx; Herent's coordinator sees only Herent's."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from regional_loket.catalog.models import CatalogLocation, Location
from regional_loket.coordinator import worklists
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.months import add_months
from regional_loket.tenancy import Postcode, tenant_scope

from . import factories
from .conftest import hand_over, host_url, login
from .factories import START

LATER = add_months(START, 6)  # 9 months away: outside the 6-month window


@pytest.fixture
def region(make_tenant, make_location, make_user):
    """Three municipalities and seven families; the members of each list are written next to it."""
    now = utcnow()
    herent, tienen, leuven = (make_tenant("herent", name="Herent"), make_tenant("tienen", name="Tienen"),
                              make_tenant("leuven", name="Leuven"))
    herent.postcodes.append(Postcode(code="3020", locality="Herent", lat=50.9085, lon=4.6715))
    tienen.postcodes.append(Postcode(code="3300", locality="Tienen", lat=50.8073, lon=4.9378))
    leuven.postcodes.append(Postcode(code="3000", locality="Leuven", lat=50.8798, lon=4.7005))
    db.session.flush()
    free = {(START, "baby"): 2}
    places = {
        "h1": make_location(herent, "A Zonnebloem", free=free),
        "h2": make_location(herent, "B Onthaalouder Els", kind="family", free=free),
        "h3": make_location(herent, "C Vers", free_places_updated_at=now - timedelta(weeks=1)),
        "h4": make_location(herent, "D Oud", free_places_updated_at=now - timedelta(weeks=5)),
        "h5": make_location(herent, "E Gesloten", active=False),
        "t1": make_location(tienen, "Tienen KDV", postcode="3300", locality="Tienen", free=free,
                            free_places_updated_at=now - timedelta(weeks=10)),
        "l1": make_location(leuven, "Leuven KDV", postcode="3000", locality="Leuven", free=free),
    }

    def family(name, postcode, child, keys, *, days_ago=0, start=START, phone=None):
        _, fam = factories.make_family(db.session, name=name, postcode=postcode, phone=phone,
                                       locality={"3020": "Herent", "3300": "Tienen"}[postcode])
        kid = factories.make_child(db.session, fam, first_name=child)
        return factories.make_request(db.session, fam, kid, locations=[places[k] for k in keys], start_date=start,
                                      now=now - timedelta(days=days_ago))

    requests = {
        # Herent; overdue at h1 (30 - 21 = 9 days) and at t1; no offer; confirmation in ~60 days.
        "anna": family("Ann Aerts", "3020", "Anna", ["h1", "t1"], days_ago=30, phone="+32 470 11 11 11"),
        # Herent; offered at h2: on no list.
        "bram": family("Bert Bos", "3020", "Bram", ["h2"], days_ago=10),
        # Tienen; overdue at h1 (40 - 21 = 19 days); not Herent's family.
        "cas": family("Chris Claes", "3300", "Cas", ["h1"], days_ago=40),
        # Herent; starts in 9 months: not yet on the call list.
        "dirk": family("Dora Dams", "3020", "Dirk", ["l1"], start=LATER),
        # Herent; offered in Tienen: has an offer, so not on the call list.
        "eva": family("Els Eyck", "3020", "Eva", ["t1", "l1"]),
        # Herent; submitted (and confirmed) 100 days ago: the 3-monthly confirmation is missed.
        "fien": family("Frank Fox", "3020", "Fien", ["l1"], days_ago=100),
        # Herent; confirmed 85 days ago: due within 14 days.
        "gust": family("Greet Goos", "3020", "Gust", ["l1"], days_ago=85),
    }
    factories.make_offer(db.session, requests["bram"].choices[0])
    factories.make_offer(db.session, requests["eva"].choices[0])
    coordinators = {"herent": make_user("coordinator", tenant=herent),
                    "tienen": make_user("coordinator", tenant=tienen)}
    return {"tenants": {"herent": herent, "tienen": tienen, "leuven": leuven}, "places": places,
            "requests": requests, "coordinators": coordinators, "now": now}


def _desk(app, region, slug="herent"):
    client = app.test_client()
    login(client, region["coordinators"][slug])
    hand_over(client, region["tenants"][slug], "/beheer/")
    return client


def _get(client, region, path, slug="herent", **args):
    return client.get(path, query_string=args, base_url=host_url(region["tenants"][slug]))


def _page(client, region, list_slug, slug="herent", **args):
    answer = _get(client, region, f"/beheer/werklijsten/{list_slug}", slug, **args)
    return answer.status_code, html.unescape(answer.get_data(as_text=True))


def _rows(page: str) -> list[str]:
    """The text of each body row of the page's table."""
    body = page.split('<tbody class="utrecht-table__body">', 1)[1].split("</tbody>", 1)[0] if "<tbody" in page else ""
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("</tr>")[:-1]]


def _names(rows, names) -> list[str]:
    """Which of ``names`` each row holds, in row order."""
    return [next(n for n in names if n in row) for row in rows]


CHILDREN = ("Anna", "Bram", "Cas", "Dirk", "Eva", "Fien", "Gust")


# --- exact membership ------------------------------------------------------------------------


def test_overdue_lists_herents_late_applications_oldest_first_with_days(app, region):
    client = _desk(app, region)
    status, page = _page(client, region, "te-laat")
    rows = _rows(page)
    assert status == 200 and _names(rows, CHILDREN) == ["Cas", "Anna"]
    assert all("A Zonnebloem" in row for row in rows)
    assert re.search(r"\b19\b", rows[0]) and re.search(r"\b9\b", rows[1])
    assert "2 op deze lijst." in page
    # Newest first on request.
    _, page = _page(client, region, "te-laat", sorteer="-submitted")
    assert _names(_rows(page), CHILDREN) == ["Anna", "Cas"]


def test_tienens_coordinator_sees_only_tienens_overdue_applications_and_locations(app, region):
    client = _desk(app, region, "tienen")
    _, page = _page(client, region, "te-laat", "tienen")
    rows = _rows(page)
    assert _names(rows, CHILDREN) == ["Anna"] and "Tienen KDV" in rows[0] and "Zonnebloem" not in page
    _, page = _page(client, region, "vrije-plaatsen", "tienen")
    assert [row.split(" ")[0] for row in _rows(page)] == ["Tienen"] and "Zonnebloem" not in page
    # Herent's coordinator is a stranger on Tienen's desk, and the other way round.
    stranger = _desk(app, region)
    hand_over(stranger, region["tenants"]["tienen"], "/beheer/werklijsten/te-laat")
    for slug in worklists.WORKLISTS:
        assert _get(stranger, region, f"/beheer/werklijsten/{slug}", "tienen").status_code == 403
        assert _get(stranger, region, f"/beheer/werklijsten/{slug}/export.csv", "tienen").status_code == 403


def test_without_offer_lists_herents_families_with_a_near_start_and_no_offer_anywhere(app, region):
    client = _desk(app, region)
    _, page = _page(client, region, "zonder-aanbod")
    rows = _rows(page)
    # Bram and Eva have an offer (Eva's in Tienen), Cas lives in Tienen, Dirk starts in 9 months.
    assert sorted(_names(rows, CHILDREN)) == ["Anna", "Fien", "Gust"]
    anna = next(row for row in rows if "Anna" in row)
    assert "+32 470 11 11 11" in anna and "Ann Aerts" in anna and "Herent, Tienen" in anna
    # Filter on a municipality of the choices.
    _, page = _page(client, region, "zonder-aanbod", gemeente="tienen")
    assert _names(_rows(page), CHILDREN) == ["Anna"]
    _, page = _page(client, region, "zonder-aanbod", gemeente="leuven", sorteer="child")
    assert _names(_rows(page), CHILDREN) == ["Fien", "Gust"]


def test_without_offer_follows_the_setting_and_an_offer(app, region):
    herent = region["tenants"]["herent"]
    herent.settings_data = {**herent.settings_data, "call_months_before_start": 12}
    db.session.flush()
    client = _desk(app, region)
    _, page = _page(client, region, "zonder-aanbod")
    assert sorted(_names(_rows(page), CHILDREN)) == ["Anna", "Dirk", "Fien", "Gust"]
    factories.make_offer(db.session, region["requests"]["anna"].choices[1])  # Tienen offers Anna a place
    _, page = _page(client, region, "zonder-aanbod")
    assert sorted(_names(_rows(page), CHILDREN)) == ["Dirk", "Fien", "Gust"]


def test_confirmation_lists_due_and_missed_for_herents_families(app, region):
    client = _desk(app, region)
    _, page = _page(client, region, "bevestiging")
    rows = _rows(page)
    assert _names(rows, CHILDREN) == ["Fien", "Gust"]  # the earliest due first
    assert "gemist" in rows[0] and "binnenkort" in rows[1]
    _, page = _page(client, region, "bevestiging", stand="gemist")
    assert _names(_rows(page), CHILDREN) == ["Fien"]
    _, page = _page(client, region, "bevestiging", stand="binnenkort")
    assert _names(_rows(page), CHILDREN) == ["Gust"]


def test_stale_free_places_and_saving_the_grid_refreshes_them_for_families_too(app, region):
    client = _desk(app, region)
    _, page = _page(client, region, "vrije-plaatsen")
    names = ("A Zonnebloem", "B Onthaalouder Els", "C Vers", "D Oud", "E Gesloten")
    # Never updated first (by name), then the oldest; fresh and inactive ones are not stale.
    assert _names(_rows(page), names) == ["A Zonnebloem", "B Onthaalouder Els", "D Oud"]
    assert "nooit" in _rows(page)[0]
    _, page = _page(client, region, "vrije-plaatsen", soort="family")
    assert _names(_rows(page), names) == ["B Onthaalouder Els"]
    h1 = region["places"]["h1"].id
    herent = region["tenants"]["herent"]
    saved = client.post(f"/opvang/{h1}/vrije-plaatsen", data={f"{START:%Y-%m}-baby": "3"}, base_url=host_url(herent))
    assert saved.status_code == 302
    _, page = _page(client, region, "vrije-plaatsen")
    assert _names(_rows(page), names) == ["B Onthaalouder Els", "D Oud"]
    catalog = db.session.get(CatalogLocation, h1)
    db.session.refresh(catalog)
    assert catalog.free_places_updated_at is not None
    with tenant_scope(db.session, herent):
        location = db.session.get(Location, h1)
        db.session.refresh(location)
        assert location.free_places_updated_at == catalog.free_places_updated_at
    # Families see when: on the location's page and on the search result's card.
    shown = catalog.free_places_updated_at
    location_page = app.test_client().get(f"/locaties/{h1}", base_url=host_url(herent)).get_data(as_text=True)
    assert "Bijgewerkt op" in location_page
    search = app.test_client().get("/zoeken", query_string={"q": "Zonnebloem"}, base_url=host_url())
    assert "Vrije plaatsen bijgewerkt op" in search.get_data(as_text=True), shown


def test_the_confirmation_list_is_the_rule_exactly_for_every_municipality(app, region):
    """The list keeps a request when the municipality times it (``confirming_tenant_id``: the
    home postcode's municipality, the one with the smallest id when several share the code; for
    a family from outside the region, that of its first choice by rank, then id), found as
    sets, not per request. Compared with the rule itself on the cases where a narrowing could
    go wrong."""
    from regional_loket.care_requests import CareRequest, queries
    from regional_loket.care_requests.models import Choice

    herent, tienen = region["tenants"]["herent"], region["tenants"]["tienen"]
    places, now = region["places"], region["now"]
    # 3021 is Herent's and Tienen's: the one with the smaller id times its families.
    herent.postcodes.append(Postcode(code="3021", locality="Winksele", lat=50.89, lon=4.64))
    tienen.postcodes.append(Postcode(code="3021", locality="Winksele-Delle", lat=50.89, lon=4.65))
    db.session.flush()

    def overdue(name, postcode, child, keys):
        _, fam = factories.make_family(db.session, name=name, postcode=postcode, locality="Elders")
        kid = factories.make_child(db.session, fam, first_name=child)
        return factories.make_request(db.session, fam, kid, locations=[places[k] for k in keys],
                                      now=now - timedelta(days=100))

    shared = overdue("Hilde Hoes", "3021", "Hanne", ["l1"])
    uma = overdue("Ubbo Uyt", "3500", "Uma", ["t1", "h1"])  # from outside the region: first choice Tienen
    olaf = overdue("Otto Oms", "3500", "Olaf", ["h1", "t1"])  # first choice Herent
    tied = overdue("Tom Tas", "3500", "Tijs", ["t1", "h2"])  # two choices ranked the same: the smaller id first
    db.session.execute(sa.update(Choice).where(Choice.request_id == tied.id).values(rank=1))
    db.session.flush()
    first_of_tied = db.session.scalar(sa.select(Choice.tenant_id).where(Choice.request_id == tied.id)
                                      .order_by(Choice.id).limit(1))

    def listed(tenant, moment):
        return {row.id: row.due_at for row in db.session.execute(
            queries.confirmation_due(tenant_id=tenant.id, now=moment))}

    due_at = queries.confirmation_due_at()
    rule = db.session.execute(sa.select(CareRequest.id, due_at, queries.confirming_tenant_id(), CareRequest.status)
                              .where(CareRequest.status.in_(("open", "inactive")))).all()
    for moment in (now, now + timedelta(days=60)):
        for tenant in region["tenants"].values():
            expected = {rid: due for rid, due, timed_by, status in rule
                        if timed_by == tenant.id and (due < moment + queries.CONFIRMATION_SOON or status == "inactive")}
            assert listed(tenant, moment) == expected, (tenant.slug, moment)
    smaller, larger = sorted((herent, tienen), key=lambda t: t.id)
    assert shared.id in listed(smaller, now) and shared.id not in listed(larger, now)
    assert uma.id in listed(tienen, now) and uma.id not in listed(herent, now)
    assert olaf.id in listed(herent, now) and olaf.id not in listed(tienen, now)
    first, second = (herent, tienen) if first_of_tied == herent.id else (tienen, herent)
    assert tied.id in listed(first, now) and tied.id not in listed(second, now)


def test_the_home_shows_the_municipalitys_numbers(app, region):
    """Every figure of the desk's home, counted by hand from the fixture: the offer, the
    per-location table (open, late), the worklists (test above), the share for vulnerable
    families. Tienen's and last year's placements are not Herent's this year."""
    client = _desk(app, region)
    home = html.unescape(_get(client, region, "/beheer/").get_data(as_text=True))
    assert "5 locaties (1 niet actief)" in home
    rows = {row.rsplit(" ", 2)[0].removesuffix(" niet actief"): row.rsplit(" ", 2)[1:] for row in _rows(home)}
    # Anna (30 days) and Cas (40 days) wait at h1 past the 21 days; Bram was offered a place at h2.
    assert rows == {"A Zonnebloem": ["2", "2"], "B Onthaalouder Els": ["1", "0"], "C Vers": ["0", "0"],
                    "D Oud": ["0", "0"], "E Gesloten": ["0", "0"]}
    for key in ("h1", "h2", "h3", "h4", "h5"):  # each name links to its location's inbox
        place = region["places"][key]
        assert f'href="/opvang/{place.id}/">{place.name}</a>' in home
    assert "Dit jaar nog geen plaatsen toegekend." in home


def test_the_share_for_vulnerable_families_counts_the_declarations_as_python_reads_them(app, region):
    """Placements accepted this year at Herent's locations, vulnerable when a declaration in
    the application's snapshot is true (low income, single parent, foster child); counted in
    SQL, so every JSON value a snapshot might hold is read as ``bool`` reads it."""
    from regional_loket.applications import queries

    now, year = region["now"], region["now"].year
    values = [{"low_income": True}, {"single_parent": True, "low_income": False}, {"foster_child": True},
              {"low_income": False, "single_parent": False, "foster_child": False}, {"low_income": None},
              {"low_income": "ja"}, {"low_income": ""}, {"single_parent": 1}, {"single_parent": 0},
              {"foster_child": []}, {"foster_child": ["x"]}, {"foster_child": {}}, {}]
    herent, tienen = region["tenants"]["herent"], region["tenants"]["tienen"]
    places = [region["places"]["h1"], region["places"]["h2"]]
    accepted = []
    for n, declarations in enumerate([*values, {"low_income": True}, {"low_income": True}]):
        _, fam = factories.make_family(db.session, name=f"Plaats {n}", email=f"plaats{n}@example.be")
        kid = factories.make_child(db.session, fam, first_name=f"Kind{n}")
        where = region["places"]["t1"] if n == len(values) else places[n % 2]  # the first extra: Tienen's
        care = factories.make_request(db.session, fam, kid, locations=[where])
        tenant, application = factories.application_of(db.session, care.choices[0])
        with tenant_scope(db.session, tenant):
            application.status = "accepted"
            # The second extra was accepted last year.
            application.answered_at = now.replace(year=year - 1) if n == len(values) + 1 else now
            application.snapshot = {**application.snapshot, "declarations": declarations}
            db.session.flush()
        accepted.append(declarations)
    db.session.expire_all()
    mine = accepted[:len(values)]
    expected = sum(1 for d in mine if any(d.get(k) for k in queries.VULNERABLE))
    assert expected == 6 and len(mine) == 13
    fetched = []

    def rows_fetched(connection, cursor, statement, parameters, context, executemany):
        fetched.append(cursor.rowcount)

    with tenant_scope(db.session, herent):
        sa.event.listen(db.engine, "after_cursor_execute", rows_fetched)
        try:
            assert queries.vulnerable_share(db.session, None, year=year) == (expected, len(mine))
        finally:
            sa.event.remove(db.engine, "after_cursor_execute", rows_fetched)
        # One statement, one row: the placements are counted in the database, not loaded (a
        # large municipality's home read a thousand snapshots per visit).
        assert fetched == [1]
        assert queries.vulnerable_share(db.session, [places[0].id], year=year) == (
            sum(1 for d in mine[::2] if any(d.get(k) for k in queries.VULNERABLE)), len(mine[::2]))
    with tenant_scope(db.session, tienen):
        assert queries.vulnerable_share(db.session, None, year=year) == (1, 1)
    client = _desk(app, region)
    home = html.unescape(_get(client, region, "/beheer/").get_data(as_text=True))
    assert "Dit jaar 6 van 13 plaatsen (46 %)" in home


# --- the home, paging, sorting, exports ---------------------------------------------------------


def test_counts_on_the_home_equal_the_lists_totals(app, region):
    client = _desk(app, region)
    home = html.unescape(_get(client, region, "/beheer/").get_data(as_text=True))
    expected = {"te-laat": 2, "zonder-aanbod": 3, "bevestiging": 2, "vrije-plaatsen": 3}
    for slug, count in expected.items():
        shown = re.search(rf'href="/beheer/werklijsten/{slug}">[^<]+</a>: (?:<strong>)?(\d+)', home)
        assert shown and int(shown.group(1)) == count, slug
        _, page = _page(client, region, slug)
        assert f"{count} op deze lijst." in page and len(_rows(page)) == count


def test_lists_page_and_keep_their_filters_and_sort(app, region, monkeypatch):
    monkeypatch.setattr(worklists, "PER_PAGE", 2)
    client = _desk(app, region)
    _, first = _page(client, region, "zonder-aanbod", sorteer="child")
    assert _names(_rows(first), CHILDREN) == ["Anna", "Fien"] and "Pagina 1 van 2" in first
    assert 'href="/beheer/werklijsten/zonder-aanbod?sorteer=child&pagina=2"' in first
    _, second = _page(client, region, "zonder-aanbod", sorteer="child", pagina="2")
    assert _names(_rows(second), CHILDREN) == ["Gust"] and "Pagina 2 van 2" in second
    # Descending, and a header link that turns the order round.
    _, backwards = _page(client, region, "zonder-aanbod", sorteer="-child")
    assert _names(_rows(backwards), CHILDREN) == ["Gust", "Fien"]
    assert 'aria-sort="descending"' in backwards


def test_exports_hold_every_row_with_the_filters_in_the_file_name(app, region, monkeypatch):
    monkeypatch.setattr(worklists, "PER_PAGE", 1)  # the export is not paged
    client = _desk(app, region)
    h1 = region["places"]["h1"].id
    answer = _get(client, region, "/beheer/werklijsten/te-laat/export.csv", locatie=str(h1))
    assert answer.status_code == 200
    assert 'filename="te-laat-herent-a-zonnebloem-' in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:2] == ["locatie", "voornaam"]
    assert [(r[1], r[4]) for r in rows[1:]] == [("Cas", "19"), ("Anna", "9")]
    answer = _get(client, region, "/beheer/werklijsten/bevestiging/export.xlsx", stand="gemist")
    assert answer.status_code == 200 and "bevestiging-herent-bevestiging-gemist-" in answer.headers[
        "Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(answer.data)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][0] == "te bevestigen tegen" and [row[2] for row in cells[1:]] == ["Fien"]
    answer = _get(client, region, "/beheer/werklijsten/zonder-aanbod/export.csv")
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert sorted(r[1] for r in rows[1:]) == ["Anna", "Fien", "Gust"]
    # A phone number starts with "+": the export keeps it text (web.exports against formulas).
    assert next(r for r in rows if r[1] == "Anna")[3] == "'+32 470 11 11 11"
    answer = _get(client, region, "/beheer/werklijsten/vrije-plaatsen/export.xlsx", soort="group")
    sheet = openpyxl.load_workbook(io.BytesIO(answer.data)).active
    assert [row[0].value for row in sheet.iter_rows()][1:] == ["A Zonnebloem", "D Oud"]


# --- bad input ---------------------------------------------------------------------------------


def test_bad_filters_are_said_next_to_the_field_and_list_nothing(app, region):
    client = _desk(app, region)
    for value in (str(region["places"]["t1"].id), str(uuid.uuid4()), "niet-een-id", "' OR 1=1 --"):
        status, page = _page(client, region, "te-laat", locatie=value)
        assert status == 422 and "Deze locatie bestaat niet in deze gemeente" in page
        assert 'aria-invalid="true"' in page and _rows(page) == [] and "Tienen KDV" not in page
        export = _get(client, region, "/beheer/werklijsten/te-laat/export.csv", locatie=value)
        assert export.status_code == 422 and "attachment" not in export.headers.get("Content-Disposition", "")
    for slug, arg in (("zonder-aanbod", "gemeente"), ("bevestiging", "stand"), ("vrije-plaatsen", "soort")):
        status, page = _page(client, region, slug, **{arg: "onbekend"})
        assert status == 422 and "rl-field-error" in page and _rows(page) == []


def test_a_bad_page_or_sort_falls_back_never_a_5xx(app, region, monkeypatch):
    monkeypatch.setattr(worklists, "PER_PAGE", 1)
    client = _desk(app, region)
    for page_arg, expected in (("abc", "Cas"), ("-3", "Cas"), ("0", "Cas"), ("99", "Anna"), ("٣", "Cas"),
                               ("9" * 40, "Anna")):
        status, page = _page(client, region, "te-laat", pagina=page_arg)
        assert status == 200 and _names(_rows(page), CHILDREN) == [expected], page_arg
    status, page = _page(client, region, "te-laat", sorteer="; DROP TABLE")
    assert status == 200 and _names(_rows(page), CHILDREN) == ["Cas"]
    assert _get(client, region, "/beheer/werklijsten/onbekend").status_code == 404
    assert _get(client, region, "/beheer/werklijsten/te-laat/export.pdf").status_code == 404


def test_empty_lists_say_so(app, make_tenant, make_user):
    herent = make_tenant("herent", name="Herent")
    coordinator = make_user("coordinator", tenant=herent)
    client = app.test_client()
    login(client, coordinator)
    hand_over(client, herent, "/beheer/")
    for slug in worklists.WORKLISTS:
        answer = client.get(f"/beheer/werklijsten/{slug}", base_url=host_url(herent))
        page = answer.get_data(as_text=True)
        assert answer.status_code == 200 and "rl-empty" in page and "0 op deze lijst." in page, slug


def test_the_settings_are_typed_with_their_defaults(app, make_tenant):
    settings = make_tenant().settings
    assert settings.call_months_before_start == 6 and settings.stale_free_places_weeks == 4


def test_the_statements_use_no_loop_over_schemas(app, region, count_queries):
    """The call list and the confirmations are one statement each, whatever the municipalities."""
    client = _desk(app, region)
    for slug in ("zonder-aanbod", "bevestiging"):
        with count_queries() as count:
            _page(client, region, slug)
        shared_reads = [s for s in count.statements if "shared.requests" in s]
        assert len(shared_reads) == 2, (slug, str(count))  # the total and the page
        assert not any("gem_" in s for s in count.statements if "requests" in s)



def _subplan_loops(plan: dict) -> int:
    """The most times any correlated subplan of an EXPLAIN ANALYZE (FORMAT JSON) plan ran."""
    own = plan.get("Actual Loops", 0) if plan.get("Parent Relationship") == "SubPlan" else 0
    return max([own, *(_subplan_loops(child) for child in plan.get("Plans", []))])


def test_the_confirmation_rule_runs_over_the_municipalitys_requests_not_the_regions(app, region):
    """Which municipality times a request (and so its interval) is a correlated subquery per
    request. The desk's list narrows to its own families' and choices' requests first: 40 open
    requests of Tienen's families, overdue and choosing only Tienen, never go through the rule
    on Herent's list — at 285 municipalities the region's open requests are tens of thousands."""
    from sqlalchemy.dialects import postgresql

    from regional_loket.care_requests import queries

    def select_count(statement):
        return sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())

    now = region["now"]
    for n in range(40):
        _, fam = factories.make_family(db.session, name=f"Tiens {n}", postcode="3300", locality="Tienen")
        kid = factories.make_child(db.session, fam, first_name=f"Tienenaar {n}")
        factories.make_request(db.session, fam, kid, locations=[region["places"]["t1"]],
                               now=now - timedelta(days=100))
    db.session.flush()
    statement = queries.confirmation_due(tenant_id=region["tenants"]["herent"].id, now=now)
    compiled = statement.compile(dialect=postgresql.dialect(), compile_kwargs={"render_postcompile": True})
    connection = db.session.connection().connection.driver_connection
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE shared.requests, shared.families, shared.choices")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}", compiled.params)
        [(plan,)] = cursor.fetchall()
    assert _subplan_loops(plan[0]["Plan"]) < 40
    assert sorted(row.child_first_name for row in db.session.execute(statement)) == ["Fien", "Gust"]
    # Nor over Herent's own candidates: which municipality times a request is found as sets
    # (joins), so the only per-row subqueries left are the listed rows' contact columns.
    count = select_count(statement)
    compiled = count.compile(dialect=postgresql.dialect(), compile_kwargs={"render_postcompile": True})
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}", compiled.params)
        [(plan,)] = cursor.fetchall()
    assert _subplan_loops(plan[0]["Plan"]) == 0  # the desk home's count: no per-request rule at all
