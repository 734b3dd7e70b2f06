"""The search index (catalog/index.py) answers exactly what the SQL search (search.run) answers:
same rows in the same order, same totals, pages and facets, on random searches over every
filter, sort and page; also after a committed catalog change (a new snapshot) and, with the
listener down, by falling back to SQL."""

from __future__ import annotations

import difflib
import json
import random
import time as clock
from datetime import date, time, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from regional_loket import create_app
from regional_loket.catalog import index, search
from regional_loket.catalog.cache import Generation
from regional_loket.catalog.models import CatalogLocation, Location
from regional_loket.extensions import db
from regional_loket.months import add_months, month_start
from regional_loket.tenancy import services, tenant_scope
from regional_loket.tenancy.models import Postcode, Tenant

from . import factories
from .conftest import host_url, isolate, make_config

TODAY = date.today()
MONTHS = [add_months(month_start(TODAY), i) for i in range(-1, 20)]
NAMES = ["Kinderdagverblijf De Zonnebloem", "kinderdagverblijf de zonnebloem", "Crèche Les Petits Pas",
         "Onthaalouder Els Janssens", "IBO De Speelvogel", "Het Kabouterhuis", "Élan", "Zebra", "aap", "Aap",
         "De Rups", "Kinderopvang 't Nestje", "De Zonnebloem"]
WORDS = ["zonnebloem", "zonne", "kinder", "de", "les", "petits", "creche", "els", "speel", "nestje", "xyz",
         "kinderdagverblijven", "huis", "het"]
CODES = {0: ["3020", "3021"], 1: ["3000", "3001"], 2: ["3010"], 3: ["3020"]}
SLOW = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _fill(rng: random.Random, tenants: list[Tenant], count: int) -> None:
    for n in range(count):
        tenant = tenants[n % len(tenants)]
        base = (50.88 + 0.02 * (n % len(tenants)), 4.67 + 0.015 * (n % len(tenants)))
        same_place = n % 5 == 0  # several locations on one spot: equal distances
        low = rng.choice([0, 0, 6, 12, 30])
        free = {(rng.choice(MONTHS[1:]), rng.choice(["baby", "toddler", "school"])): rng.choice([0, 1, 3])
                for _ in range(rng.randint(0, 6))}
        factories.make_location(
            db.session, tenant, rng.choice(NAMES), free=free,
            kind=rng.choice(["group", "family", "out_of_school"]),
            lat=base[0] if same_place else round(base[0] + rng.uniform(-0.2, 0.2), 5),
            lon=base[1] if same_place else round(base[1] + rng.uniform(-0.3, 0.3), 5),
            min_age_months=low, max_age_months=rng.choice([36, 48, 144]) if low < 36 else 144,
            tariff=(tariff := rng.choice(["income", "free"])),
            day_price=None if tariff == "income" and rng.random() < 0.7 else Decimal(rng.randint(2000, 6000)) / 100,
            opens_at=time(rng.choice([6, 7, 8]), rng.choice([0, 30])),
            closes_at=time(rng.choice([16, 17, 18, 19]), rng.choice([0, 30])),
            languages=rng.sample(["nl", "fr", "en", "de"], k=rng.randint(1, 2)),
            special_care=rng.random() < 0.3, accepts_online=rng.random() < 0.8, active=rng.random() < 0.9,
            organiser=rng.choice(["vzw Test", "Crèches Petits Pas bv", "Gemeente"]))


@pytest.fixture(scope="module")
def catalog(committed_module):
    app, slugs = committed_module
    with app.app_context():
        tenants = [db.session.scalar(sa.select(Tenant).where(Tenant.slug == s)) for s in slugs]
        for i, tenant in enumerate(tenants):
            tenant.name = ["Herent", "Leuven", "Kortenberg", "Archief"][i]
            for k, code in enumerate(CODES[i]):
                tenant.postcodes.append(Postcode(code=code, locality=f"Plaats {i}-{k}",
                                                 lat=50.88 + 0.02 * i + 0.003 * k, lon=4.67 + 0.015 * i))
        _fill(random.Random(17), tenants, 45)
        tenants[3].status = "archived"  # its locations stay in the catalog, and out of every search
        db.session.commit()
    found = app.extensions["search_index"]
    assert found.generation.wait_for_change(None, timeout=10) is not None, "the listener did not connect"
    return {"app": app, "slugs": slugs}


@pytest.fixture(scope="module")
def committed_module(_app, database_url, redis_url):
    """``committed`` for a whole module: one app with four committed municipalities, the index on."""
    app = isolate(create_app(make_config(database_url, redis_url, SEARCH_INDEX=True)))
    suffix = f"ix{random.randrange(10**6):06d}"
    slugs = [f"{chr(97 + i)}{suffix}" for i in range(4)]
    with app.app_context():
        for n, slug in enumerate(slugs):
            services.create_tenant(db.session, slug=slug, name=slug, nis_code=f"8{n}{random.randrange(1000):03d}")
        db.session.commit()
    yield app, slugs
    with app.app_context():
        db.session.rollback()
        for tenant in db.session.scalars(sa.select(Tenant).where(Tenant.slug.endswith(suffix))):
            db.session.execute(sa.text(f'DROP SCHEMA IF EXISTS "{tenant.schema}" CASCADE'))
            db.session.delete(tenant)
        db.session.commit()
        db.engine.dispose()


def queries(slugs: list[str]):
    dates = st.dates(min_value=TODAY - timedelta(days=5 * 365), max_value=TODAY + timedelta(days=400))
    value = {
        "q": st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join),
        "gemeente": st.lists(st.sampled_from([*slugs, "Herent", "leuven", "onbekend"]), min_size=1, max_size=3)
        .map(",".join),
        "nabij": st.just("1"),
        "postcode": st.sampled_from(["3020", "3021", "3000", "3010", "9999", "12"]),
        "lat": st.floats(50.7, 51.1).map(lambda x: f"{x:.4f}"),
        "lon": st.floats(4.4, 5.0).map(lambda x: f"{x:.4f}"),
        "afstand": st.sampled_from(["1", "2.5", "5", "10", "25", "0"]),
        "type": st.lists(st.sampled_from(["group", "family", "out_of_school"]), min_size=1, max_size=2)
        .map(",".join),
        "geboortedatum": dates.map(date.isoformat),
        "start": dates.map(date.isoformat),
        "maand": st.sampled_from(MONTHS).map(lambda m: m.strftime("%Y-%m")),
        "ikt": st.just("1"), "zorg": st.just("1"), "online": st.just("1"),
        "maxprijs": st.sampled_from(["25", "40,5", "60", "0"]),
        "open_voor": st.sampled_from(["06:30", "07:00", "08:00"]),
        "open_na": st.sampled_from(["17:00", "18:00", "18:30"]),
        "taal": st.lists(st.sampled_from(["nl", "fr", "en", "de"]), min_size=1, max_size=2).map(",".join),
        "sorteer": st.sampled_from(search.SORTS),
        "pagina": st.sampled_from(["1", "2", "3", "9"]),
    }
    return st.builds(lambda chosen, values: MultiDict({k: values[k] for k in chosen}),
                     st.sets(st.sampled_from(sorted(value)), max_size=7),
                     st.fixed_dictionaries(value))


def _both(session, args: MultiDict, snapshot: index.Snapshot, per_page: int):
    """The search parsed and answered by SQL alone, and by the snapshot."""
    sql_query, sql_problems = search.parse(args, session=session, today=TODAY)
    query, problems = search.parse(args, session=session, today=TODAY, municipalities=snapshot.names,
                                   centroids=snapshot.centroids)
    assert (query, problems.keys()) == (sql_query, sql_problems.keys())
    return (search.run(session, sql_query, today=TODAY, per_page=per_page),
            index.run(session, query, today=TODAY, per_page=per_page, snapshot=snapshot))


def _same(expected: search.Result, got: search.Result) -> None:
    assert [r["location_id"] for r in got.rows] == [r["location_id"] for r in expected.rows]
    for mine, theirs in zip(got.rows, expected.rows, strict=True):
        # every shown value, free places and distance to the bit
        assert {k: v for k, v in mine.items() if theirs.get(k) != v} == {}, theirs
    for name in ("total", "page", "pages", "by_municipality", "by_kind", "scope", "months", "free_month"):
        assert getattr(got, name) == getattr(expected, name), name
    assert list(got.by_kind) == list(expected.by_kind)


def _snapshot(app) -> index.Snapshot:
    with app.app_context():
        return index.snapshot(db.session, TODAY)


@SLOW
@given(args=st.data())
def test_the_index_answers_as_sql(catalog, args):
    app = catalog["app"]
    args = args.draw(queries(catalog["slugs"]))
    per_page = 3
    with app.test_request_context():
        snapshot = index.snapshot(db.session, TODAY)
        assert snapshot is not None
        expected, got = _both(db.session, args, snapshot, per_page)
        _same(expected, got)
        db.session.rollback()


def test_landing_and_every_sort_over_every_page(catalog):
    app = catalog["app"]
    with app.test_request_context():
        snapshot = index.snapshot(db.session, TODAY)
        assert len(snapshot.entries) == db.session.scalar(
            sa.select(sa.func.count()).select_from(CatalogLocation).join(Tenant, Tenant.id == CatalogLocation.tenant_id)
            .where(CatalogLocation.active.is_(True), Tenant.status == "active"))
        for sort in search.SORTS:
            for page in range(1, 20):
                args = MultiDict({"sorteer": sort, "pagina": str(page), "postcode": "3020", "q": "kinder"})
                expected, got = _both(db.session, args, snapshot, 2)
                _same(expected, got)
        db.session.rollback()


def _change(app, slug: str) -> None:
    """A committed change of the kind providers make: a location renamed, free places, one closed."""
    with app.app_context():
        tenant = db.session.scalar(sa.select(Tenant).where(Tenant.slug == slug))
        with tenant_scope(db.session, tenant):
            places = db.session.scalars(sa.select(Location).order_by(Location.name, Location.id)).all()
            places[0].name = "Aardvarkje"
            places[1].active = not places[1].active
            for cell in places[2].availability:
                cell.free_places += 2
        db.session.commit()


def test_a_committed_change_makes_a_new_snapshot_that_still_agrees(catalog):
    app = catalog["app"]
    before = _snapshot(app)
    _change(app, catalog["slugs"][0])
    generation = app.extensions["search_index"].generation
    deadline = clock.monotonic() + 10
    while generation.current() == before.generation and clock.monotonic() < deadline:
        clock.sleep(0.02)
    after = _snapshot(app)
    assert after is not before and after.generation != before.generation
    assert any(e.shown["name"] == "Aardvarkje" for e in after.entries)
    rng = random.Random(5)
    with app.test_request_context():
        for _ in range(40):
            args = _random_args(rng, catalog["slugs"])
            expected, got = _both(db.session, args, after, 4)
            _same(expected, got)
        db.session.rollback()


def _random_args(rng: random.Random, slugs: list[str]) -> MultiDict:
    options = {"q": rng.choice(WORDS), "gemeente": rng.choice(slugs), "postcode": rng.choice(["3020", "3000"]),
               "afstand": rng.choice(["3", "10"]), "type": rng.choice(["group", "family"]),
               "geboortedatum": (TODAY - timedelta(days=rng.randint(0, 900))).isoformat(),
               "maand": rng.choice(MONTHS[1:18]).strftime("%Y-%m"), "sorteer": rng.choice(search.SORTS),
               "pagina": rng.choice(["1", "2"])}
    return MultiDict({k: v for k, v in options.items() if rng.random() < 0.4})


def test_listener_down_means_sql(catalog):
    """No listener, no generation: the snapshot is not used (it could be stale), SQL answers."""
    app = catalog["app"]
    found = app.extensions["search_index"]
    kept = found.generation
    found.generation = Generation("postgresql://postgres@127.0.0.1:1/nowhere")  # never connects
    try:
        with app.test_request_context():
            assert index.snapshot(db.session, TODAY) is None
        client = app.test_client()
        down = client.get("/api/v1/locations?sorteer=name&per_page=5", base_url=host_url())
    finally:
        found.generation = kept
    up = app.test_client().get("/api/v1/locations?sorteer=name&per_page=5", base_url=host_url())
    assert down.status_code == up.status_code == 200
    assert down.get_data() == up.get_data()


def test_the_listener_losing_its_connection_turns_the_index_off(catalog):
    app = catalog["app"]
    generation = app.extensions["search_index"].generation
    assert generation.current() is not None
    with app.app_context():
        db.session.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE application_name = 'catalog-listener' AND datname = current_database()"))
        db.session.commit()
    deadline = clock.monotonic() + 5
    while generation.current() is not None and clock.monotonic() < deadline:
        clock.sleep(0.005)
    assert generation.current() is None, "the listener did not notice"
    with app.test_request_context():
        # Unless it reconnected in between (it retries after 2 s), no snapshot is used.
        assert index.snapshot(db.session, TODAY) is None or generation.current() is not None
    assert generation.wait_for_change(None, timeout=10) is not None  # and back after the retry


def test_api_answers_are_byte_identical_with_and_without_the_index(catalog):
    app = catalog["app"]
    client = app.test_client()
    rng = random.Random(9)
    urls = ["/api/v1/locations", "/api/v1/locations?postcode=3020&afstand=10&sorteer=distance",
            *(f"/api/v1/locations?{_random_query(rng, catalog['slugs'])}" for _ in range(15))]
    with_index = [client.get(url, base_url=host_url()) for url in urls]
    assert app.extensions["search_index"]._snapshot is not None
    index_config = app.extensions.pop("search_index")
    try:
        without = [client.get(url, base_url=host_url()) for url in urls]
    finally:
        app.extensions["search_index"] = index_config
    for url, a, b in zip(urls, with_index, without, strict=True):
        assert (a.status_code, a.get_data()) == (b.status_code, b.get_data()), url
        if a.status_code == 200:
            json.loads(a.get_data())


def _random_query(rng: random.Random, slugs: list[str]) -> str:
    return urlencode(list(_random_args(rng, slugs).items(multi=True)))


def test_search_pages_are_identical_with_and_without_the_index(catalog):
    app = catalog["app"]
    client = app.test_client()
    urls = ["/zoeken", "/zoeken?postcode=3020&afstand=10", "/zoeken?q=zonnebloem&sorteer=free",
            "/zoeken?gemeente=herent&geboortedatum=" + (TODAY - timedelta(days=200)).isoformat()]
    with_index = [client.get(url, base_url=host_url()).get_data() for url in urls]
    index_config = app.extensions.pop("search_index")
    try:
        without = [client.get(url, base_url=host_url()).get_data() for url in urls]
    finally:
        app.extensions["search_index"] = index_config
    for a, b in zip(with_index, without, strict=True):
        assert a == b, "".join(list(difflib.unified_diff(b.decode().splitlines(True), a.decode().splitlines(True)))[:40])


# --- the search page's fragments (views.result_cards): per location, language and snapshot ----------


def _pages(app, requests: list[tuple[str, str, str]], *, with_index: bool) -> list[bytes]:
    client = app.test_client()
    index_config = None if with_index else app.extensions.pop("search_index")
    try:
        return [client.get(url, base_url=base, headers={"Accept-Language": lang}).get_data()
                for base, url, lang in requests]
    finally:
        if index_config is not None:
            app.extensions["search_index"] = index_config


def test_result_cards_are_never_served_across_languages_or_portals(catalog):
    """Cards made in one language or on one portal, then asked in another: each page equals the
    one rendered from scratch (index off), and each language's page is in that language."""
    app = catalog["app"]
    with app.app_context():
        tenant = db.session.scalar(sa.select(Tenant).where(Tenant.slug == catalog["slugs"][1]))
    urls = ["/zoeken?gemeente=&sorteer=name", "/zoeken?gemeente=&postcode=3020&afstand=25&sorteer=distance"]
    requests = [(base, url, lang) for lang in ("nl", "fr", "en") for base in (host_url(), host_url(tenant))
                for url in urls]
    with_index = _pages(app, requests, with_index=True)
    again = _pages(app, requests, with_index=True)  # now every card from the fragments
    without = _pages(app, requests, with_index=False)
    assert with_index == again
    for (base, url, lang), a, b in zip(requests, with_index, without, strict=True):
        assert a == b, f"{base}{url} [{lang}]:\n" + "".join(list(difflib.unified_diff(
            b.decode().splitlines(True), a.decode().splitlines(True)))[:40])
    memo = _snapshot(app)._memo
    cards = {key[3] for key in memo if key[0] == index.PER_LOCATION and key[2] == "card"}
    assert cards == {"nl", "fr", "en"}
    nl, fr, en = (with_index[i * 4] for i in range(3))
    assert b"maanden" in nl and b"maanden" not in fr and b"maanden" not in en
    assert b"mois" in fr and b"months" in en
    # The same location links to its own portal's page there, elsewhere through the region.
    region_page, own_page = with_index[0].decode(), with_index[2].decode()
    own = db_location_ids(app, tenant)
    assert any(f'href="/locaties/{i}' in own_page for i in own)
    assert not any(f'href="/locaties/{i}' in region_page for i in own)
    assert any(f'href="/locatie/{i}' in region_page for i in own)


def db_location_ids(app, tenant) -> list[str]:
    with app.app_context():
        return [str(i) for i in db.session.scalars(sa.select(CatalogLocation.location_id).where(
            CatalogLocation.tenant_id == tenant.id, CatalogLocation.active.is_(True)))]


def test_a_changed_location_gets_a_new_card_and_the_others_keep_theirs(catalog):
    """A committed change (the ORM, the catalog mirror, the trigger's catalog_changed): the page
    shows it at once; only the changed location's card is rendered again."""
    app = catalog["app"]
    slug = catalog["slugs"][1]
    url = f"/zoeken?gemeente={slug}&sorteer=name"
    client = app.test_client()
    first = client.get(url, base_url=host_url()).get_data(as_text=True)
    before = _snapshot(app)
    cards = {key: value for key, value in before._memo.items() if key[0] == index.PER_LOCATION}
    with app.app_context():
        tenant = db.session.scalar(sa.select(Tenant).where(Tenant.slug == slug))
        with tenant_scope(db.session, tenant):
            place = db.session.scalars(sa.select(Location).where(Location.active.is_(True))
                                       .order_by(Location.name, Location.id)).first()
            changed, old_name = place.id, place.name
            place.name = "Aaa Nieuwe Naam"
            place.opens_at = time(5, 45)
        db.session.commit()
    assert old_name in first and "Aaa Nieuwe Naam" not in first
    generation = app.extensions["search_index"].generation
    deadline = clock.monotonic() + 10
    while generation.current() == before.generation and clock.monotonic() < deadline:
        clock.sleep(0.02)
    page = client.get(url, base_url=host_url()).get_data(as_text=True)
    assert "Aaa Nieuwe Naam" in page and "05:45" in page
    assert page.encode() == _pages(app, [(host_url(), url, "nl")], with_index=False)[0]
    after = _snapshot(app)
    assert after is not before
    kept = [key for key in cards if key[1] != changed and after._memo.get(key) is cards[key]]
    assert kept, "the unchanged locations' cards were made again"
    assert all(after._memo.get(key) is not cards[key] for key in cards if key[1] == changed)
    assert any(key[1] == changed for key in cards)


def test_nearby_municipalities_from_the_snapshot_are_those_of_sql(catalog):
    app = catalog["app"]
    with app.test_request_context():
        snapshot = index.snapshot(db.session, TODAY)
        for slug in catalog["slugs"]:
            assert snapshot.nearby(slug) == search.nearby_municipalities(db.session, slug), slug
            assert snapshot.nearby(slug), slug  # each has neighbours in the test region
        db.session.rollback()


# --- the search page's filter form (views.filter_form): made once, filled per search --------------


@SLOW
@given(args=st.data())
def test_the_filled_in_filter_form_is_the_one_rendered_for_the_search(catalog, args, monkeypatch):
    """Random searches, in every language, on the region's and a municipality's portal, with a box
    per municipality and with the name field of a big region: the form made once per language,
    portal and snapshot and filled in is, byte for byte, the form rendered for that search."""
    from regional_loket.catalog import views

    app = catalog["app"]
    data = args
    args = data.draw(queries(catalog["slugs"]))
    language = data.draw(st.sampled_from(["nl", "fr", "en"]))
    portal = data.draw(st.sampled_from([None, catalog["slugs"][1]]))
    monkeypatch.setattr(views, "CHECKLIST_MUNICIPALITIES", data.draw(st.sampled_from([30, 1])))
    with app.app_context():
        tenant = db.session.scalar(sa.select(Tenant).where(Tenant.slug == portal)) if portal else None
        base = host_url(tenant) if tenant else host_url()
    with app.test_request_context("/zoeken", base_url=base, query_string=args,
                                  headers={"Accept-Language": language}):
        app.preprocess_request()
        snapshot = index.snapshot(db.session, TODAY)
        query, problems = search.parse(args, session=db.session, today=TODAY, municipalities=snapshot.names,
                                       centroids=snapshot.centroids)
        result = index.run(db.session, query, today=TODAY, snapshot=snapshot)
        made = [str(views.filter_form(query, problems, tenant, snapshot.names, result.months, snapshot))
                for _ in range(2)]  # the second from the snapshot's fragments
        alone = str(views.filter_form(query, problems, tenant, snapshot.names, result.months, snapshot,
                                      made_once=False))
        db.session.rollback()
    assert made[0] == made[1] == alone, "".join(list(difflib.unified_diff(
        alone.splitlines(True), made[1].splitlines(True)))[:40])
    assert "\x00" not in alone
    assert alone.count(" checked") == (bool(query.nearby and tenant) + bool(query.income_only)
                                       + bool(query.special_care) + bool(query.online_only) + len(set(query.kinds))
                                       + len(set(query.languages)) + len(set(query.municipalities)
                                                                          & {t.slug for t in snapshot.names}))


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(st.sampled_from(["q", "gemeente", "type", "pagina", "x", "_external", "endpoint"]),
                                st.text(max_size=6)), max_size=8),
       changes=st.dictionaries(st.sampled_from(["gemeente", "pagina", "nabij", "type", "endpoint"]),
                               st.one_of(st.none(), st.text(max_size=5), st.lists(st.text(max_size=4), max_size=3)),
                               max_size=3))
def test_search_links_keep_the_search_and_change_only_what_they_say(app, pairs, changes):
    """``search_url`` (the facets' and pages' links, the unchanged part encoded once per request)
    is this search with ``changes``: what a MultiDict with those keys replaced encodes to."""
    from urllib.parse import parse_qsl, urlsplit

    from regional_loket.catalog import views

    expected = MultiDict(pairs)
    for key, value in changes.items():
        expected.poplist(key)
        for item in [] if value is None else value if isinstance(value, list) else [value]:
            expected.add(key, item)
    # An app context of its own, as each request has: ``g`` (where the part is kept) is its.
    with app.app_context(), app.test_request_context("/zoeken", query_string=urlencode(pairs)):
        twice = [views.search_url(**changes) for _ in range(2)]
    assert twice[0] == twice[1]
    url = urlsplit(twice[0])
    assert url.path == "/zoeken"
    assert parse_qsl(url.query, keep_blank_values=True) == list(expected.items(multi=True))
