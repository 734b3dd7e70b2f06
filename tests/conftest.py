"""Test harness: a real PostgreSQL and Redis (TEST_DATABASE_URL / TEST_REDIS_URL, or embedded
servers), one database per test session, a rollback per test."""

from __future__ import annotations

import contextvars
import itertools
import os
import uuid

import pytest
import sqlalchemy as sa
from flask import g, jsonify
from flask.testing import FlaskClient, FlaskCliRunner
from flask_sqlalchemy.session import Session as FlaskSession

from regional_loket import create_app
from regional_loket.database import sqlalchemy_url
from regional_loket.extensions import db
from regional_loket.tenancy import migrate, services
from regional_loket.tenancy.models import AuditEntry, Tenant

REGION = "loket.test"


def _admin_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    from regional_loket.dev import embedded

    return embedded.postgres_url(tmp_path_factory.mktemp("pg"), database="postgres")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A fresh database for this test session, dropped at the end."""
    admin = sa.create_engine(sqlalchemy_url(_admin_url(tmp_path_factory)), isolation_level="AUTOCOMMIT")
    name = f"rl_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        return url
    from regional_loket.dev import embedded

    return embedded.redis_url(tmp_path_factory.mktemp("redis"))


def make_config(database_url: str, redis_url: str, **extra) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REGION_SERVER_NAME": REGION,
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        **extra,
    }


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as in production: its own app context, ``g`` and
    ORM session, even though the test itself holds an app context open."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


class IsolatedRunner(FlaskCliRunner):
    """Each command runs in its own app context and session, as from a shell."""

    def invoke(self, *args, **kwargs):
        return contextvars.Context().run(self._invoke_fresh, *args, **kwargs)

    def _invoke_fresh(self, *args, **kwargs):
        with self.app.app_context():
            return super().invoke(*args, **kwargs)


PROBE = "/_probe"


def _probe():
    """What any tenant page would read: the bound tenant's own audit actions."""
    actions = sorted(db.session.scalars(sa.select(AuditEntry.action)))
    return jsonify(tenant=g.tenant.slug if g.tenant else None, actions=actions)


def isolate(app):
    app.test_client_class = IsolatedClient
    app.test_cli_runner_class = IsolatedRunner
    app.add_url_rule(PROBE, "probe", _probe)
    return app


@pytest.fixture(scope="session")
def _app(database_url, redis_url):
    app = isolate(create_app(make_config(database_url, redis_url)))
    with app.app_context():
        migrate.upgrade_shared(db.engine)
    yield app
    with app.app_context():
        db.engine.dispose()


class _JoinedSession(FlaskSession):
    """Every session of a test joins the test's outer transaction through savepoints."""

    def get_bind(self, *args, **kwargs):
        return self.bind


@pytest.fixture
def app(_app):
    with _app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": _JoinedSession}
        )
        try:
            yield _app
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_counter = itertools.count(1)


@pytest.fixture
def make_tenant(app):
    """Build a tenant (row and schema) in one call; rolled back with the test."""

    def build(slug: str | None = None, **fields):
        n = next(_counter)
        slug = slug or f"gem{n}{uuid.uuid4().hex[:6]}"
        tenant = services.create_tenant(
            db.session,
            slug=slug,
            name=fields.pop("name", slug.title()),
            nis_code=fields.pop("nis_code", f"{90000 + (n * 7919 + os.getpid()) % 10000:05d}"),
            **fields,
        )
        db.session.flush()
        return tenant

    return build


def host_url(tenant=None) -> str:
    """Base URL of a portal on the test region (None: the regional portal)."""
    return f"http://{tenant.subdomain}.{REGION}" if tenant is not None else f"http://{REGION}"


@pytest.fixture
def committed(_app, database_url, redis_url):
    """Apps whose tenants are really committed (for threads, pools and migrations), with
    ``count`` tenants each; everything they created is dropped afterwards."""
    built = []

    def build(count=2, **config):
        app = isolate(create_app(make_config(database_url, redis_url, **config)))
        suffix = uuid.uuid4().hex[:6]
        slugs = [f"c{chr(97 + i)}{suffix}" for i in range(count)]
        with app.app_context():
            for slug in slugs:
                services.create_tenant(db.session, slug=slug, name=slug,
                                       nis_code=f"7{uuid.uuid4().int % 10000:04d}")
            db.session.commit()
        built.append((app, suffix))
        return app, slugs

    yield build
    for app, suffix in built:
        with app.app_context():
            db.session.rollback()
            for tenant in db.session.scalars(sa.select(Tenant).where(Tenant.slug.endswith(suffix))):
                db.session.execute(sa.text(f'DROP SCHEMA IF EXISTS "{tenant.schema}" CASCADE'))
                db.session.delete(tenant)
            db.session.commit()
            db.engine.dispose()


# --- the browser -------------------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium: Playwright cannot download a browser on this network."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            # *.localhost is loopback; pin it so no resolver is ever asked.
            "--host-resolver-rules=MAP *.localhost 127.0.0.1, MAP localhost 127.0.0.1",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A Flemish visitor: the browser asks for Dutch first."""
    return {**browser_context_args, "locale": "nl-BE"}


@pytest.fixture(scope="session")
def live_region(database_url, redis_url, tmp_path_factory):
    """The demo region (tenants/) in a database of its own, served on a real port."""
    import socket
    import threading

    from werkzeug.serving import make_server

    admin = sa.create_engine(sqlalchemy_url(database_url), isolation_level="AUTOCOMMIT")
    name = admin.url.database + "_live"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin.url.set(database=name).render_as_string(hide_password=False)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(make_config(url, redis_url, REGION_SERVER_NAME=f"localhost:{port}", TESTING=False))
    with app.app_context():
        migrate.upgrade_shared(db.engine)
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output

    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"app": app, "url": f"http://localhost:{port}", "host": f"localhost:{port}",
           "portal": lambda slug=None: f"http://{slug + '.' if slug else ''}localhost:{port}"}
    server.shutdown()
    with app.app_context():
        db.engine.dispose()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()
