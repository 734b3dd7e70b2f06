"""Search across municipality borders, against a hand-built region with known answers."""

import html
from datetime import date, time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from regional_loket.catalog import mirror, search
from regional_loket.catalog.models import CatalogAvailability, CatalogLocation, Location
from regional_loket.extensions import db
from regional_loket.months import add_months, month_start
from regional_loket.tenancy import tenant_scope
from regional_loket.tenancy.models import Postcode

from .conftest import host_url, translated

TODAY = date.today()
THIS_MONTH = month_start(TODAY)
NEXT_MONTH = add_months(THIS_MONTH, 1)


@pytest.fixture
def region(make_tenant, make_location):
    herent, leuven, opwijk = make_tenant("herent", name="Herent"), make_tenant("leuven", name="Leuven"), make_tenant("opwijk", name="Opwijk")
    for tenant, code, locality, lat, lon in ((herent, "3020", "Herent", 50.9085, 4.6715),
                                             (leuven, "3000", "Leuven", 50.8798, 4.7005),
                                             (opwijk, "1745", "Opwijk", 50.9703, 4.1875)):
        tenant.postcodes.append(Postcode(code=code, locality=locality, lat=lat, lon=lon))
    L = {}  # noqa: N806
    L["H1"] = make_location(herent, "Kinderdagverblijf De Zonnebloem", languages=["nl", "fr"],
                            description={"nl": "Warm.", "fr": "Chaleureux.", "en": "Warm."},
                            free={(NEXT_MONTH, "baby"): 2})
    L["H2"] = make_location(herent, "Onthaalouder Els Janssens", kind="family", opens_at=time(7, 30),
                            tariff="free", day_price=Decimal("33.75"))
    L["H3"] = make_location(herent, "IBO De Speelvogel", kind="out_of_school", min_age_months=30,
                            max_age_months=144, closes_at=time(18, 30), free={(NEXT_MONTH, "school"): 10})
    L["H4"] = make_location(herent, "Kinderdagverblijf Gesloten", active=False)
    L["L1"] = make_location(leuven, "Crèche Les Petits Pas", postcode="3000", locality="Leuven", lat=50.8798,
                            lon=4.7005, opens_at=time(6, 30), closes_at=time(18, 30), tariff="free",
                            day_price=Decimal("42.00"), languages=["fr", "en"], special_care=True,
                            free={(NEXT_MONTH, "toddler"): 1})
    L["L2"] = make_location(leuven, "Kinderdagverblijf Het Nestje", postcode="3000", locality="Leuven",
                            lat=50.8790, lon=4.7010, accepts_online=False)
    L["O1"] = make_location(opwijk, "Kinderdagverblijf Madeliefje", postcode="1745", locality="Opwijk",
                            lat=50.9703, lon=4.1875)
    db.session.flush()
    return {"tenants": {"herent": herent, "leuven": leuven, "opwijk": opwijk}, "locations": L}


def find(region, **args):
    """Names (keys of the fixture) the search returns, in order."""
    from werkzeug.datastructures import MultiDict

    query, problems = search.parse(MultiDict(args), session=db.session, today=TODAY)
    result = search.run(db.session, query, today=TODAY)
    by_id = {loc.id: key for key, loc in region["locations"].items()}
    return [by_id[row["location_id"]] for row in result.rows], problems, result


def keys(region, **args):
    return sorted(find(region, **args)[0])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, ["H1", "H2", "H3", "L1", "L2", "O1"]),
        ({"q": "creche"}, ["L1"]),
        ({"q": "Crèche"}, ["L1"]),
        ({"q": "CRECHE petits"}, ["L1"]),
        ({"q": "zonnebl"}, ["H1"]),
        ({"q": "kinderdagverblijf"}, ["H1", "L2", "O1"]),
        ({"q": "speelvogel herent"}, ["H3"]),
        ({"gemeente": "herent"}, ["H1", "H2", "H3"]),
        ({"gemeente": ["herent", "leuven"]}, ["H1", "H2", "H3", "L1", "L2"]),
        ({"postcode": "3020", "afstand": "5"}, ["H1", "H2", "H3", "L1", "L2"]),
        ({"postcode": "1745", "afstand": "5"}, ["O1"]),
        ({"type": "family"}, ["H2"]),
        ({"type": ["group", "family"], "gemeente": "leuven"}, ["L1", "L2"]),
        ({"geboortedatum": add_months(THIS_MONTH, -6).isoformat()}, ["H1", "H2", "L1", "L2", "O1"]),
        ({"geboortedatum": add_months(THIS_MONTH, -40).isoformat()}, ["H3"]),
        ({"maand": NEXT_MONTH.strftime("%Y-%m")}, ["H1", "H3", "L1"]),
        ({"maand": NEXT_MONTH.strftime("%Y-%m"), "geboortedatum": add_months(THIS_MONTH, -6).isoformat()},
         ["H1"]),
        ({"maand": THIS_MONTH.strftime("%Y-%m")}, []),
        ({"ikt": "1"}, ["H1", "H3", "L2", "O1"]),
        ({"maxprijs": "35"}, ["H1", "H2", "H3", "L2", "O1"]),
        ({"open_voor": "07:00"}, ["H1", "H3", "L1", "L2", "O1"]),
        ({"open_na": "18:30"}, ["H3", "L1"]),
        ({"taal": "fr"}, ["H1", "L1"]),
        ({"taal": ["en", "nl"], "gemeente": "leuven"}, ["L1", "L2"]),
        ({"zorg": "1"}, ["L1"]),
        ({"online": "1", "gemeente": "leuven"}, ["L1"]),
        ({"q": "kinderdagverblijf", "gemeente": "herent", "ikt": "1", "open_voor": "07:00"}, ["H1"]),
    ],
)
def test_filters(region, args, expected):
    found, problems, _ = find(region, **args)
    assert problems == {}
    assert sorted(found) == expected


def test_inactive_locations_are_never_found(region):
    assert "H4" not in keys(region) and "H4" not in keys(region, q="gesloten")


def test_sort_by_distance_name_and_free_places(region):
    by_distance, _, result = find(region, postcode="3000", sorteer="distance")
    assert by_distance[:2] == ["L1", "L2"] and by_distance[-1] == "O1"
    assert result.rows[0]["distance_km"] < 0.2 and result.rows[-1]["distance_km"] > 30
    assert find(region, sorteer="name")[0] == ["L1", "H3", "H1", "L2", "O1", "H2"]
    by_free, _, _ = find(region, sorteer="free", maand=NEXT_MONTH.strftime("%Y-%m"))
    assert by_free == ["H3", "H1", "L1"]


def test_relevance_puts_the_best_match_first(region):
    found, _, _ = find(region, q="kinderdagverblijf zonnebloem")
    assert found == ["H1"]


def test_facets_count_per_municipality_and_type(region):
    _, _, result = find(region, type="group", gemeente="herent")
    assert {slug: n for slug, _, n in result.by_municipality} == {"herent": 1, "leuven": 2, "opwijk": 1}
    assert result.by_kind == {"group": 1, "family": 1, "out_of_school": 1}


def test_pagination(region):
    from werkzeug.datastructures import MultiDict

    query, _ = search.parse(MultiDict({"sorteer": "name", "pagina": "2"}), session=db.session, today=TODAY)
    page = search.run(db.session, query, today=TODAY, per_page=4)
    assert (page.total, page.pages, page.page, len(page.rows)) == (6, 2, 2, 2)
    query, _ = search.parse(MultiDict({"sorteer": "name", "pagina": "9"}), session=db.session, today=TODAY)
    assert search.run(db.session, query, today=TODAY, per_page=4).page == 2  # clamped to the last


@pytest.mark.parametrize(
    ("args", "field", "still"),
    [
        ({"gemeente": ["herent", "atlantis"]}, "gemeente", ["H1", "H2", "H3"]),
        ({"geboortedatum": "2026-02-30", "type": "family"}, "geboortedatum", ["H2"]),
        ({"start": "morgen", "type": "family"}, "start", ["H2"]),
        ({"postcode": "30a0", "type": "family"}, "postcode", ["H2"]),
        ({"postcode": "9999", "type": "family"}, "postcode", ["H2"]),
        ({"postcode": "3020", "afstand": "-3", "type": "family"}, "afstand", ["H2"]),
        ({"postcode": "3020", "afstand": "100000", "type": "family"}, "afstand", ["H2"]),
        ({"afstand": "5", "type": "family"}, "afstand", ["H2"]),
        ({"pagina": "-1", "type": "family"}, "pagina", ["H2"]),
        ({"pagina": "abc", "type": "family"}, "pagina", ["H2"]),
        ({"q": "x" * 500}, "q", []),
        ({"maand": "2020-01", "type": "family"}, "maand", ["H2"]),
        ({"maxprijs": "veel", "type": "family"}, "maxprijs", ["H2"]),
        ({"open_voor": "25:99", "type": "family"}, "open_voor", ["H2"]),
        ({"taal": "xx", "type": "family"}, "taal", ["H2"]),
        ({"type": "zwembad", "gemeente": "opwijk"}, "type", ["O1"]),
        ({"geboortedatum": add_months(TODAY, 14).isoformat(), "type": "family"}, "geboortedatum", ["H2"]),
        ({"geboortedatum": "2025-01-01", "start": "2024-06-01", "type": "family"}, "start", ["H2"]),
        ({"sorteer": "random", "type": "family"}, "sorteer", ["H2"]),
    ],
)
def test_bad_input_is_explained_and_the_rest_still_applies(region, args, field, still):
    found, problems, _ = find(region, **args)
    assert field in problems and str(problems[field])
    assert sorted(found) == still


def test_municipal_portal_starts_in_its_municipality_and_offers_the_neighbours(client, region):
    herent = region["tenants"]["herent"]
    page = client.get("/zoeken", base_url=host_url(herent)).get_data(as_text=True)
    assert "3 opvanglocaties gevonden" in page
    assert "Onthaalouder Els Janssens" in page and "Crèche Les Petits Pas" not in page
    nearby = client.get("/zoeken?nabij=1", base_url=host_url(herent)).get_data(as_text=True)
    assert "5 opvanglocaties gevonden" in nearby  # Leuven is near, Opwijk is not
    assert "Madeliefje" not in nearby
    everything = client.get("/zoeken?gemeente=", base_url=host_url(herent)).get_data(as_text=True)
    assert "6 opvanglocaties gevonden" in everything


def test_search_page_shows_messages_next_to_fields_and_keeps_results(client, region):
    page = client.get("/zoeken", query_string={"postcode": "30a0", "type": "family"}, base_url=host_url())
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'id="postcode-error"' in body and "Een postcode heeft 4 cijfers" in body
    assert 'aria-invalid="true" aria-describedby="postcode-error"' in body
    assert "1 opvanglocatie gevonden" in body


def test_search_page_is_translated(app, client, region):
    client.get("/lang/fr", base_url=host_url())
    body = client.get("/zoeken", query_string={"postcode": "30a0"}, base_url=host_url()).get_data(as_text=True)
    assert translated(app, "fr", "Een postcode heeft 4 cijfers, bv. 3000.") in html.unescape(body)


def test_location_page_lives_on_its_own_municipal_portal(client, region):
    herent, leuven = region["tenants"]["herent"], region["tenants"]["leuven"]
    l1 = region["locations"]["L1"]
    page = client.get(f"/locaties/{l1.id}", base_url=host_url(leuven))
    assert page.status_code == 200 and "Crèche Les Petits Pas" in page.get_data(as_text=True)
    assert client.get(f"/locaties/{l1.id}", base_url=host_url(herent)).status_code == 404  # not Herent's
    moved = client.get(f"/locatie/{l1.id}", base_url=host_url())
    assert moved.status_code == 302 and moved.headers["Location"] == f"http://leuven.loket.test/locaties/{l1.id}"
    h4 = region["locations"]["H4"]
    assert client.get(f"/locaties/{h4.id}", base_url=host_url(herent)).status_code == 404  # inactive


def test_location_page_shows_free_places_and_desk(client, region):
    herent = region["tenants"]["herent"]
    herent.desk = {"name": "Loket Herent", "email": "kinderopvang@herent.be"}
    db.session.flush()
    body = client.get(f"/locaties/{region['locations']['H1'].id}", base_url=host_url(herent)).get_data(as_text=True)
    assert "Vrije plaatsen" in body and "kinderopvang@herent.be" in body
    assert "Vraag hier een plaats aan" in body


def test_a_municipal_page_never_lists_another_municipalitys_inactive_locations(client, region, make_location):
    leuven = region["tenants"]["leuven"]
    make_location(leuven, "Verborgen Crèche", postcode="3000", locality="Leuven", lat=50.88, lon=4.70, active=False)
    db.session.flush()
    herent = region["tenants"]["herent"]
    for path in ("/zoeken?nabij=1", "/zoeken?gemeente=", "/zoeken?q=verborgen&gemeente=leuven"):
        assert "Verborgen" not in client.get(path, base_url=host_url(herent)).get_data(as_text=True)


# --- the catalog follows the tenant rows, in the same transaction ----------------------------


def _catalog_row(location_id):
    return db.session.get(CatalogLocation, location_id, populate_existing=True)


def test_editing_a_location_updates_the_catalog_in_the_same_transaction(region):
    herent = region["tenants"]["herent"]
    h1 = region["locations"]["H1"]
    with tenant_scope(db.session, herent):
        h1.name = "Kinderdagverblijf De Zonnebloem (nieuw)"
        h1.opens_at = time(6, 45)
    db.session.flush()
    row = _catalog_row(h1.id)
    assert row.name.endswith("(nieuw)") and row.opens_at == time(6, 45) and "nieuw" in row.search_text


def test_rollback_undoes_both_the_location_and_its_catalog_row(region):
    herent = region["tenants"]["herent"]
    h2 = region["locations"]["H2"]
    h2_id = h2.id  # after the rollback h2 is expired, and reloading it needs Herent bound
    savepoint = db.session.begin_nested()
    with tenant_scope(db.session, herent):
        h2.name = "Tijdelijk"
    db.session.flush()
    assert _catalog_row(h2_id).name == "Tijdelijk"
    savepoint.rollback()
    assert _catalog_row(h2_id).name == "Onthaalouder Els Janssens"
    with tenant_scope(db.session, herent):
        assert db.session.get(Location, h2_id, populate_existing=True).name == "Onthaalouder Els Janssens"


def test_free_places_and_deletion_follow(region):
    herent = region["tenants"]["herent"]
    h1 = region["locations"]["H1"]
    with tenant_scope(db.session, herent):
        h1.availability[0].free_places = 5
    db.session.flush()
    assert db.session.scalar(sa.select(CatalogAvailability.free_places).where(
        CatalogAvailability.location_id == h1.id)) == 5
    with tenant_scope(db.session, herent):
        db.session.delete(h1)
    db.session.flush()
    assert _catalog_row(h1.id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CatalogAvailability).where(
        CatalogAvailability.location_id == h1.id)) == 0


def test_rebuild_reports_no_drift_then_finds_and_fixes_drift(region):
    tenants = list(region["tenants"].values())
    assert all(d.clean for d in mirror.rebuild(db.session, tenants, fix=False))
    h1, l1 = region["locations"]["H1"], region["locations"]["L1"]
    db.session.execute(sa.update(CatalogLocation).where(CatalogLocation.location_id == h1.id).values(name="Stale"))
    db.session.execute(sa.delete(CatalogLocation).where(CatalogLocation.location_id == l1.id))
    report = {d.tenant: d for d in mirror.rebuild(db.session, tenants, fix=True)}
    assert report["herent"].different == [h1.id] and report["leuven"].missing == [l1.id]
    assert report["leuven"].availability == 1
    assert all(d.clean for d in mirror.rebuild(db.session, tenants, fix=False))
    assert _catalog_row(h1.id).name == "Kinderdagverblijf De Zonnebloem"


def test_more_free_places_in_one_flush_than_one_statement_can_carry(make_tenant, make_location):
    """PostgreSQL takes at most 65,535 parameters per statement: a large municipality's free
    places written in one flush (an import; 18 months × age groups at ~450 locations) or put
    back by a rebuild are more rows than one upsert of 4 columns carries. All reach the catalog."""
    from regional_loket.catalog.models import Availability

    antwerpen = make_tenant("antwerpen", name="Antwerpen")
    places = [make_location(antwerpen, f"Kinderdagverblijf {n}") for n in range(12)]
    months = [add_months(THIS_MONTH, k) for k in range(700)]
    with tenant_scope(db.session, antwerpen):
        for place in places:
            db.session.add_all(Availability(location_id=place.id, month=month, age_group=group, free_places=1)
                               for month in months for group in ("baby", "toddler"))
        db.session.flush()  # 16,800 rows × 4 parameters in one flush
    ids = [p.id for p in places]

    def mirrored():
        return db.session.scalar(sa.select(sa.func.count()).select_from(CatalogAvailability).where(
            CatalogAvailability.location_id.in_(ids)))

    assert mirrored() == 12 * 700 * 2
    db.session.execute(sa.delete(CatalogAvailability).where(CatalogAvailability.location_id.in_(ids)))
    [drift] = mirror.rebuild(db.session, [antwerpen], fix=True)
    assert drift.availability == 12 * 700 * 2
    assert mirrored() == 12 * 700 * 2
    assert all(d.clean for d in mirror.rebuild(db.session, [antwerpen], fix=False))


def test_rebuild_command(runner, region):
    result = runner.invoke(args=["catalog", "rebuild", "--check"])
    assert result.exit_code == 0, result.output
    assert "herent: no drift" in result.output
    db.session.execute(sa.update(CatalogLocation).values(name="Stale"))
    db.session.flush()
    drift = runner.invoke(args=["catalog", "rebuild", "--check"])
    assert drift.exit_code == 1 and "different" in drift.output
    assert runner.invoke(args=["catalog", "rebuild"]).exit_code == 0
    assert runner.invoke(args=["catalog", "rebuild", "--check"]).exit_code == 0
    assert runner.invoke(args=["catalog", "rebuild", "--tenant", "atlantis"]).exit_code == 2


def test_nearby_municipalities(region):
    assert search.nearby_municipalities(db.session, "herent") == ("herent", "leuven")
    assert search.nearby_municipalities(db.session, "opwijk") == ("opwijk",)



def test_the_text_query_ors_only_distinct_configurations(app):
    """Three copies of one prefix make the planner skip the GIN index; each distinct stem once."""
    def parts(text):
        query = search._ts_query(db.session, text)
        return None if query is None else db.session.scalar(sa.select(sa.cast(query, sa.Text)))

    assert parts("Zonnebloem") == "'zonnebloem':*"
    assert parts("kinderen") == "'kinderen':* | 'kinder':*"  # simple, then Dutch; French adds nothing new
    assert parts("  !! ") is None


def test_a_municipality_is_found_by_its_name_as_typed(region):
    found, problems, _ = find(region, gemeente=["  opWIJK "])
    assert found == ["O1"] and not problems
    found, problems, _ = find(region, gemeente=["Herent", "herent", "Nergensland"])
    assert set(found) == {"H1", "H2", "H3"}
    assert "Nergensland" in str(problems["gemeente"])


def test_a_large_region_offers_a_name_field_and_names_the_busiest_municipalities(client, region, monkeypatch):
    """Hundreds of municipalities: no box per municipality, a facet of the busiest only."""
    from regional_loket.catalog import views

    small = client.get("/zoeken", base_url=host_url()).get_data(as_text=True)
    assert 'id="g-opwijk"' in small and 'list="gemeenten"' not in small and "andere gemeente" not in small

    monkeypatch.setattr(views, "CHECKLIST_MUNICIPALITIES", 2)
    monkeypatch.setattr(views, "FACET_MUNICIPALITIES", 1)
    page = client.get("/zoeken?gemeente=opwijk", base_url=host_url()).get_data(as_text=True)
    assert 'id="g-opwijk"' in page and "checked" in page.split('id="g-opwijk"')[1].split(">")[0]
    assert 'id="g-herent"' not in page  # not chosen: typed into the field instead
    assert '<datalist id="gemeenten">' in page and '<option value="Leuven">' in page
    facet = page.split('class="rl-facets"')[1].split("</div>")[0]
    # Herent has the most (3 active locations); the other two are counted, not named.
    assert "Herent (3)" in facet and "Leuven (2)" not in facet and "en 2 andere gemeenten" in facet

    typed = client.get("/zoeken", query_string=[("gemeente", ""), ("gemeente", "Leuven")], base_url=host_url())
    assert "Het Nestje" in typed.get_data(as_text=True) and "De Zonnebloem" not in typed.get_data(as_text=True)


def test_a_folded_filter_group_opens_when_it_holds_a_message(client, region):
    """A message inside a closed <details> would go unseen."""
    def opened(html):
        return [part.split(">")[0].endswith(" open") for part in html.split('<details class="rl-details"')[1:]]

    assert opened(client.get("/zoeken", base_url=host_url(region["tenants"]["herent"])).get_data(as_text=True)) == [False, False]
    bad = client.get("/zoeken", query_string={"gemeente": "Nergensland", "open_voor": "25u"},
                     base_url=host_url(region["tenants"]["herent"])).get_data(as_text=True)
    assert opened(bad) == [True, True] and "Nergensland" in bad


# --- free places for the wanted start, the search carried to a location and back (issue 10) ---


def test_free_places_are_shown_for_the_wanted_start(client, region):
    mid_next = NEXT_MONTH.replace(day=15)
    _, _, plain = find(region, q="Zonnebloem")
    _, _, started = find(region, q="Zonnebloem", start=mid_next.isoformat())
    assert plain.free_month == THIS_MONTH and plain.rows[0]["free_places"] == 0
    assert started.free_month == NEXT_MONTH and started.rows[0]["free_places"] == 2
    # A month picked explicitly still wins; a start in the past counts from this month.
    _, _, picked = find(region, q="Zonnebloem", start=mid_next.isoformat(), maand=THIS_MONTH.strftime("%Y-%m"))
    assert picked.free_month == THIS_MONTH and picked.rows == []  # no free place this month
    assert search.Search(start=add_months(THIS_MONTH, -2)).free_month(TODAY) == THIS_MONTH

    from flask_babel import format_date

    page = client.get("/zoeken", query_string={"q": "Zonnebloem", "start": mid_next.isoformat()},
                      base_url=host_url()).get_data(as_text=True)
    with client.application.test_request_context():
        month = format_date(NEXT_MONTH, "MMMM" if NEXT_MONTH.year == TODAY.year else "MMMM yyyy")
    assert f"2 vrije plaatsen</strong> in {month}" in page and "Geen vrije plaatsen" not in page
    api = client.get("/api/v1/locations", query_string={"q": "Zonnebloem", "start": mid_next.isoformat()},
                     base_url=host_url()).json
    assert api["items"][0]["free_places_this_month"] == 2


def _links(page, text):
    import re

    return [html.unescape(href) for href, label in re.findall(r'<a[^>]*href="([^"]*)"[^>]*>(.*?)</a>', page, re.S)
            if text in label]


def test_a_location_page_leads_back_to_the_search_the_family_came_from(client, region):
    from urllib.parse import parse_qs, urlsplit

    herent, leuven = region["tenants"]["herent"], region["tenants"]["leuven"]
    born, start = add_months(THIS_MONTH, -8).isoformat(), NEXT_MONTH.isoformat()
    # Herent's portal searches Herent by default; the link to Leuven's location writes that out.
    results = client.get("/zoeken", query_string={"nabij": "1", "geboortedatum": born, "start": start,
                                                   "q": "Petits"}, base_url=host_url(herent)).get_data(as_text=True)
    link = _links(results, "Crèche Les Petits Pas")[0]
    carried = parse_qs(parse_qs(urlsplit(link).query)["zoek"][0])
    assert carried["gemeente"] == ["herent"] and carried["nabij"] == ["1"] and carried["start"] == [start]
    moved = client.get(link, base_url=host_url(herent))
    assert moved.status_code == 302 and urlsplit(moved.headers["Location"]).netloc == "leuven.loket.test"
    page = client.get(moved.headers["Location"], base_url=host_url(leuven)).get_data(as_text=True)
    back = urlsplit(_links(page, "Terug naar zoeken")[0])
    assert back.netloc == "loket.test" and back.path == "/zoeken"
    assert parse_qs(back.query) == {"nabij": ["1"], "geboortedatum": [born], "start": [start], "q": ["Petits"],
                                    "gemeente": ["herent"]}
    ask = parse_qs(urlsplit(_links(page, "Vraag hier een plaats aan")[0]).query)
    assert ask["geboortedatum"] == [born] and ask["start"] == [start]


def test_a_carried_search_keeps_only_search_arguments(client, region):
    from urllib.parse import parse_qs, urlencode, urlsplit

    leuven = region["tenants"]["leuven"]
    l1 = region["locations"]["L1"]
    zoek = urlencode({"q": "zon", "next": "//evil.example", "_external": "1", "start": "2026-02-30",
                      "geboortedatum": "javascript:alert(1)", "taal": "x" * 5000})
    page = client.get(f"/locaties/{l1.id}", query_string={"zoek": zoek}, base_url=host_url(leuven))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    back_link = _links(body, "Terug naar zoeken")[0]
    back = parse_qs(urlsplit(back_link).query)
    assert set(back) == {"q", "start", "geboortedatum"} and "evil" not in back_link
    ask = parse_qs(urlsplit(_links(body, "Vraag hier een plaats aan")[0]).query)
    assert set(ask) == {"locatie"}  # dates that are no dates are not handed on
    plain = client.get(f"/locaties/{l1.id}", base_url=host_url(leuven)).get_data(as_text=True)
    assert _links(plain, "Terug naar zoeken") == ["/zoeken"]
