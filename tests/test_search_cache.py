"""The search cache (catalog/cache.py): anonymous search answers come from memory while the
catalog is unchanged, and never outlive a committed change, whoever made it."""

import uuid
from contextlib import contextmanager
from datetime import time

import pytest
import sqlalchemy as sa

from regional_loket.catalog.cache import AnswerCache, Entry, Generation
from regional_loket.catalog.models import Location
from regional_loket.extensions import db
from regional_loket.tenancy import tenant_scope
from regional_loket.tenancy.models import Tenant

from .conftest import host_url

CACHE = {"SEARCH_CACHE_BYTES": 4 * 1024 * 1024}


def _location(tenant, name: str, **fields) -> Location:
    with tenant_scope(db.session, tenant):
        location = Location(
            name=name, organiser="vzw Test", kind="group", street="Kerkstraat", number="1", postcode="3020",
            locality="Herent", lat=50.9085, lon=4.6715, licensed_places=18, min_age_months=0,
            max_age_months=36, opening_days=[1, 2, 3, 4, 5], opens_at=time(7, 0), closes_at=time(18, 0),
            closures=[], languages=["nl"], tariff="income", day_price=None, special_care=False,
            description={"nl": "Een test."}, accepts_online=True, active=True)
        for field, value in fields.items():
            setattr(location, field, value)
        db.session.add(location)
    return location


@pytest.fixture
def region(committed):
    """Two committed municipalities with a location each, the cache on and listening."""
    app, slugs = committed(2, **CACHE)
    with app.app_context():
        tenants = [db.session.scalar(sa.select(Tenant).where(Tenant.slug == s)) for s in slugs]
        for tenant in tenants:
            _location(tenant, f"Kinderdagverblijf {tenant.slug}")
        db.session.commit()
        for tenant in tenants:
            db.session.refresh(tenant)
            db.session.expunge(tenant)
    cache = app.extensions["search_cache"]
    assert cache.generation.wait_for_change(None, timeout=10) is not None, "the listener did not connect"
    return {"app": app, "tenants": tenants, "cache": cache}


@contextmanager
def statements(app):
    """The SQL statements the app runs while active."""
    seen = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def _rename(app, tenant, name: str) -> None:
    with app.app_context(), tenant_scope(db.session, tenant):
        db.session.scalar(sa.select(Location)).name = name
        db.session.commit()


def test_a_repeated_search_is_answered_without_the_database(region):
    app, (first, _) = region["app"], region["tenants"]
    client = app.test_client()
    url = f"/zoeken?gemeente={first.slug}"
    cold = client.get(url, base_url=host_url())
    assert cold.status_code == 200 and f"Kinderdagverblijf {first.slug}".encode() in cold.data
    with statements(app) as seen:
        warm = client.get(url, base_url=host_url())
    assert warm.status_code == 200 and warm.data == cold.data and seen == []
    # The after-request hooks still run on a cached answer.
    assert warm.headers["Content-Security-Policy"] == cold.headers["Content-Security-Policy"]


def test_a_committed_change_is_seen_at_once(region):
    app, cache, (first, _) = region["app"], region["cache"], region["tenants"]
    client = app.test_client()
    url = f"/api/v1/locations?gemeente={first.slug}"
    assert client.get(url, base_url=host_url()).json["items"][0]["name"] == f"Kinderdagverblijf {first.slug}"
    seen = cache.generation.current()
    _rename(app, first, "De Nieuwe Naam")
    assert cache.generation.wait_for_change(seen, timeout=10) != seen
    assert client.get(url, base_url=host_url()).json["items"][0]["name"] == "De Nieuwe Naam"


def test_a_rolled_back_change_leaves_the_answer_as_it_was(region):
    app, (first, _) = region["app"], region["tenants"]
    client = app.test_client()
    url = f"/api/v1/locations?gemeente={first.slug}"
    before = client.get(url, base_url=host_url()).json
    with app.app_context(), tenant_scope(db.session, first):
        db.session.scalar(sa.select(Location)).name = "Nooit Bewaard"
        db.session.flush()
        db.session.rollback()
    with statements(app) as seen:
        assert client.get(url, base_url=host_url()).json == before
    assert seen == []


def test_visitors_with_a_session_are_never_served_from_the_cache(region):
    app, (first, _) = region["app"], region["tenants"]
    client = app.test_client()
    url = f"/zoeken?gemeente={first.slug}"
    client.get(url, base_url=host_url())
    client.set_cookie("session", "whatever", domain="loket.test")
    with statements(app) as seen:
        assert client.get(url, base_url=host_url()).status_code == 200
    assert seen, "a visitor with a session cookie got the anonymous cached page"


def test_each_language_has_its_own_answer(region):
    app, (first, _) = region["app"], region["tenants"]
    client = app.test_client()
    url = f"/zoeken?gemeente={first.slug}"
    dutch = client.get(url, base_url=host_url()).data.decode()
    client.set_cookie("lang", "fr", domain="loket.test")
    french = client.get(url, base_url=host_url()).data.decode()
    assert "opvanglocatie gevonden" in dutch and "opvanglocatie gevonden" not in french
    assert 'lang="fr"' in french


def test_etags_are_honoured_on_a_cached_answer(region):
    app, (first, _) = region["app"], region["tenants"]
    client = app.test_client()
    url = f"/api/v1/locations/{_location_id(app, first)}"
    etag = client.get(url, base_url=host_url()).headers["ETag"]
    with statements(app) as seen:
        again = client.get(url, base_url=host_url(), headers={"If-None-Match": etag})
    assert again.status_code == 304 and seen == []


def test_bad_input_is_answered_freshly_not_cached(region):
    app = region["app"]
    client = app.test_client()
    client.get("/api/v1/locations?afstand=-4", base_url=host_url())
    with statements(app) as seen:
        assert client.get("/api/v1/locations?afstand=-4", base_url=host_url()).status_code == 400
    assert seen


def _location_id(app, tenant) -> uuid.UUID:
    with app.app_context(), tenant_scope(db.session, tenant):
        return db.session.scalar(sa.select(Location.id))


# --- the parts --------------------------------------------------------------------------------


def _entry(size: int) -> Entry:
    return Entry(b"x" * size, ())


def test_the_cache_keeps_the_most_recently_used_within_its_size():
    cache = AnswerCache(Generation("postgresql://nowhere.invalid/none"), max_bytes=8000)
    for name in "abcd":
        cache.put((name,), 1, _entry(1000))
    assert cache.get(("a",), 1) is not None  # a is now the most recently used
    for name in "efghi":
        cache.put((name,), 1, _entry(1000))
    assert cache.get(("a",), 1) is not None and cache.get(("b",), 1) is None and len(cache) == 8
    cache.put(("huge",), 1, _entry(5000))  # over an eighth of the cache: not kept
    assert cache.get(("huge",), 1) is None


def test_a_new_generation_empties_the_cache():
    cache = AnswerCache(Generation("postgresql://nowhere.invalid/none"), max_bytes=8000)
    cache.put(("a",), 1, _entry(10))
    assert cache.get(("a",), 2) is None and len(cache) == 0


def test_without_a_listener_the_cache_serves_nothing(committed):
    """A listener that cannot connect leaves the generation unknown: every request is answered
    from the database, correctly."""
    app, slugs = committed(1, **CACHE)
    cache = app.extensions["search_cache"]
    cache.generation = Generation("postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=1")
    client = app.test_client()
    for _ in range(2):
        with statements(app) as seen:
            assert client.get(f"/zoeken?gemeente={slugs[0]}", base_url=host_url()).status_code == 200
        assert seen
    assert cache.generation.current() is None and len(cache) == 0
