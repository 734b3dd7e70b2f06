"""Behind PgBouncer in transaction mode: tenants stay apart, prepared statements are handled,
and the search cache keeps listening on a direct connection (DATABASE_LISTEN_URL).

A transaction pooler hands each transaction whatever server connection is free, so anything a
connection remembers between transactions belongs to someone else next time: a session-level
``SET search_path`` (how django-tenants users behind PgBouncer and RDS Proxy wrote one tenant's
rows into another's), psycopg's prepared statements, a LISTEN. The isolation checks of
tests/test_pool.py, tests/test_isolation.py and tests/test_search_cache.py run again here
with the app's database URL pointing at a real pgbouncer (tests/pgbouncer.py): the fixtures
they use are overridden below, the test functions are theirs.
"""

import functools

import pytest
import sqlalchemy as sa

from regional_loket import create_app, settings
from regional_loket.catalog.cache import listen_dsn
from regional_loket.extensions import db
from regional_loket.settings import ConfigError
from regional_loket.tenancy.models import Tenant

from . import pgbouncer as pooler
from .conftest import isolate, make_config, require_pgbouncer

# Re-run through the pooler (collected here under this module's fixtures).
from .test_isolation import (  # noqa: F401
    test_a_cached_search_of_one_portal_is_never_served_on_another,
    test_bound_session_sees_only_its_tenant,
    test_cross_tenant_work_is_one_transaction,
    test_each_host_sees_only_its_own_rows,
    test_every_tenant_table_keeps_its_rows_to_its_tenant,
    test_tenant_scope_returns_to_the_previous_binding,
    two_tenants,
)
from .test_pool import (  # noqa: F401
    pooled,
    test_a_migration_leaves_no_search_path_on_the_pooled_connection,
    test_alternating_tenants_over_one_pooled_connection,
    test_concurrent_requests_from_threads_never_mix_tenants,
)
from .test_search_cache import (  # noqa: F401
    region,
    test_a_committed_change_is_seen_at_once,
    test_a_repeated_search_is_answered_without_the_database,
    test_a_rolled_back_change_leaves_the_answer_as_it_was,
)

# What an operator sets behind a transaction pooler (docs/OPERATIONS.md, "Connection pooling").
BEHIND_A_POOLER = {"DATABASE_PREPARE_THRESHOLD": None}


@pytest.fixture(scope="module")
def _app(_app, pgbouncer, database_url, redis_url):
    """The harness's app (one rolled-back transaction per test), through the pooler."""
    app = isolate(create_app(make_config(pgbouncer.url(database_url), redis_url, **BEHIND_A_POOLER)))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def committed(committed, pgbouncer, database_url):
    """Committed apps (tests/conftest.py) reaching the database through the pooler, the search
    cache's listener straight at PostgreSQL."""
    return functools.partial(committed, DATABASE_URL=pgbouncer.url(database_url), DATABASE_LISTEN_URL=database_url,
                             **BEHIND_A_POOLER)


def test_the_apps_here_really_go_through_the_pooler(app, committed, pgbouncer, database_url):
    assert db.engine.url.port == pgbouncer.port  # the harness's app (tests/test_isolation.py's)
    built, _ = committed(0)
    with built.app_context():
        assert db.engine.url.port == pgbouncer.port
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    assert sa.engine.make_url(database_url).database in pgbouncer.pools()


# --- prepared statements -----------------------------------------------------------------------


@pytest.fixture
def single_server(pgbouncer, database_url, redis_url, tmp_path):
    """An app whose two pooled connections share ONE server connection of their own pooler, so
    whatever one leaves on the server the other meets."""
    apps = []

    def build(**config):
        bouncer = pooler.PgBouncer(pgbouncer.server.render_as_string(hide_password=False), tmp_path / f"b{len(apps)}",
                                   pool_size=1, **config.pop("pooler", {})).start()
        app = create_app(make_config(bouncer.url(database_url), redis_url, SQLALCHEMY_ENGINE_OPTIONS={
            "pool_size": 2, "max_overflow": 0, "pool_pre_ping": False}, **config))
        apps.append((app, bouncer))
        return app

    yield build
    for app, bouncer in apps:
        with app.app_context():
            db.engine.dispose()
        bouncer.stop()


def _take_turns(app, rounds: int = 12) -> None:
    """The same query, more often than psycopg's threshold, on one connection and then on a
    second one, each in its own transactions: the pooler gives both the same server session."""
    query = sa.select(Tenant.id).where(Tenant.slug == sa.bindparam("slug")).limit(1)
    with app.app_context(), db.engine.connect() as first, db.engine.connect() as second:
        for connection in (first, second):
            for _ in range(rounds):
                connection.execute(query, {"slug": "nowhere"}).all()
                connection.commit()


def test_with_prepared_statements_off_connections_share_a_server_session(single_server):
    _take_turns(single_server(DATABASE_PREPARE_THRESHOLD=None))


def test_psycopgs_prepared_statements_are_what_breaks_behind_the_pooler(single_server):
    """Why DATABASE_PREPARE_THRESHOLD exists: with psycopg's default the second connection
    prepares a statement under a name the first one already used on the same server session."""
    if pooler.tracks_prepared_statements():
        pytest.skip("this pgbouncer would need max_prepared_statements = 0 to show the failure")
    with pytest.raises(sa.exc.DBAPIError, match="prepared statement"):
        _take_turns(single_server())


def test_pgbouncer_with_max_prepared_statements_keeps_psycopgs_default(single_server):
    """PgBouncer ≥ 1.21 tracks protocol-level prepared statements itself."""
    if not pooler.tracks_prepared_statements():
        pytest.skip(f"pgbouncer {'.'.join(map(str, pooler.version()))} has no max_prepared_statements (1.21+)")
    _take_turns(single_server(pooler={"max_prepared_statements": 100}))


# --- the settings (no pooler needed) ------------------------------------------------------------


def _loaded(tmp_path, environ=None, **overrides):
    from flask import Flask

    app = Flask("regional_loket", instance_path=str(tmp_path / "instance"))
    settings.load(app, overrides or None, environ=environ or {})
    return app.config


def test_the_prepare_threshold_reaches_psycopg(tmp_path):
    assert "connect_args" not in _loaded(tmp_path)["SQLALCHEMY_ENGINE_OPTIONS"]  # psycopg's own 5
    for environ, expected in (({"DATABASE_PREPARE_THRESHOLD": "none"}, None),
                              ({"LOKET_DATABASE_PREPARE_THRESHOLD": "None"}, None),
                              ({"LOKET_DATABASE_PREPARE_THRESHOLD": "0"}, 0)):
        config = _loaded(tmp_path, environ)
        assert config["DATABASE_PREPARE_THRESHOLD"] == expected
        assert config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"prepare_threshold": expected}
    # A test's (or a deployment's) own connect_args keep theirs.
    config = _loaded(tmp_path, DATABASE_PREPARE_THRESHOLD=None,
                     SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 3}})
    assert config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 3, "prepare_threshold": None}


@pytest.mark.parametrize("raw", ["-1", "twee", "off"])
def test_a_bad_prepare_threshold_is_refused_by_name(tmp_path, raw):
    with pytest.raises(ConfigError, match="LOKET_DATABASE_PREPARE_THRESHOLD"):
        _loaded(tmp_path, {"LOKET_DATABASE_PREPARE_THRESHOLD": raw})


def test_the_listener_uses_its_own_url_or_the_apps():
    direct = "postgresql://loket:secret@db.internal:5432/loket"
    pooled_url = "postgres://loket:secret@pgbouncer.internal:6432/loket"
    assert listen_dsn({"DATABASE_URL": pooled_url, "DATABASE_LISTEN_URL": direct}) == direct
    assert listen_dsn({"DATABASE_URL": pooled_url, "DATABASE_LISTEN_URL": None}) == (
        "postgresql://loket:secret@pgbouncer.internal:6432/loket")
    with pytest.raises(ConfigError, match="DATABASE_LISTEN_URL"):
        listen_dsn({"DATABASE_URL": pooled_url, "DATABASE_LISTEN_URL": "mysql://db.internal/loket"})


def test_the_listen_url_is_a_setting_with_its_password_masked(tmp_path):
    config = _loaded(tmp_path, {"DATABASE_LISTEN_URL": "postgresql://loket:secret@db.internal/loket"})
    assert config["DATABASE_LISTEN_URL"] == "postgresql://loket:secret@db.internal/loket"
    assert "secret" not in settings.mask("DATABASE_LISTEN_URL", config["DATABASE_LISTEN_URL"])


def test_pooler_tests_need_the_machines_postgresql(monkeypatch):
    """On the embedded PostgreSQL these tests skip, except in CI (REQUIRE_PGBOUNCER)."""
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    monkeypatch.setenv("REQUIRE_PGBOUNCER", "1")
    with pytest.raises(pytest.fail.Exception, match="TEST_DATABASE_URL"):
        require_pgbouncer()
