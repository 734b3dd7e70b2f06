"""Test harness: a real PostgreSQL and Redis (TEST_DATABASE_URL / TEST_REDIS_URL, or embedded
servers), one database per test session, a rollback per test."""

from __future__ import annotations

import contextvars
import functools
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
from regional_loket.tenancy import Hosts, migrate, only_on, services
from regional_loket.tenancy.models import AuditEntry, Tenant

from . import factories

REGION = "loket.test"
TEST_QUEUE = f"test-{uuid.uuid4().hex[:8]}"


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
    if not url:
        from regional_loket.dev import embedded

        url = embedded.redis_url(tmp_path_factory.mktemp("redis"))
    yield url
    import redis

    connection = redis.Redis.from_url(url)
    connection.delete(f"rq:queue:{TEST_QUEUE}")
    connection.close()


# argon2's minimum cost (one pass, 8 KiB, one lane): at production cost hashing was more than
# half of the suite's time. Verification reads the cost from each hash, so nothing else changes;
# tests/test_app.py checks the production defaults.
TEST_PASSWORD_HASH = {"PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 8, "PASSWORD_HASH_PARALLELISM": 1}


def make_config(database_url: str, redis_url: str, **extra) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REGION_SERVER_NAME": REGION,
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        # Rate limits count per IP, and every test client is 127.0.0.1: tests that are about
        # limits turn them on with a key prefix of their own (tests/test_protection.py).
        "RATELIMIT_ENABLED": False,
        # A queue of this test session's own: delivery jobs enqueued after commits land here.
        "JOBS_QUEUE": TEST_QUEUE,
        # Tests roll back instead of committing, so the catalog never announces a change: the
        # search cache would answer from another test's data. Its own tests turn it on.
        "SEARCH_CACHE_BYTES": 0,
        "SEARCH_INDEX": False,  # reads committed data only; tests/test_search_index.py turns it on
        # Warnings and errors only: info lines (the access log) would fill every CLI test's
        # output. tests/test_observability.py turns them on where it reads them.
        "LOG_LEVEL": "WARNING",
        **TEST_PASSWORD_HASH,
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
    app.add_url_rule(PROBE, "probe", only_on(Hosts.ALL)(_probe))  # every route declares its hosts
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


@pytest.fixture
def make_tenant(app):
    """Build a tenant (row and schema) in one call; rolled back with the test."""
    return functools.partial(factories.make_tenant, db.session)


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


def require_pgbouncer() -> None:
    """Skip without a pooler to run (Debian's pgbouncer, and the machine's PostgreSQL rather
    than the embedded one); CI sets REQUIRE_PGBOUNCER, and fails instead."""
    from . import pgbouncer

    missing = ("pgbouncer is not installed (apt-get install pgbouncer)" if not pgbouncer.available()
               else None if os.environ.get("TEST_DATABASE_URL")
               else "TEST_DATABASE_URL is not set (the embedded PostgreSQL is not put behind a pooler)")
    if missing:
        if os.environ.get("REQUIRE_PGBOUNCER"):
            pytest.fail(missing)
        pytest.skip(missing)


@pytest.fixture(scope="session")
def pgbouncer(database_url, tmp_path_factory):
    """PgBouncer in transaction mode in front of the test PostgreSQL, for this session
    (tests/pgbouncer.py); ``pgbouncer.url(database_url)`` is the test database through it."""
    from .pgbouncer import PgBouncer

    require_pgbouncer()
    with PgBouncer(_admin_url(tmp_path_factory), tmp_path_factory.mktemp("pgbouncer")) as pooler:
        yield pooler


# --- statements --------------------------------------------------------------------------

# Savepoints are the harness's (every session joins the test's transaction through them);
# production runs none of them, so they are not counted.
_HARNESS_STATEMENT = ("SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ")


class StatementCount:
    """What ``count_queries`` saw: call it for the number, read ``statements`` to see which."""

    def __init__(self):
        self.statements: list[str] = []

    def __call__(self) -> int:
        return len(self.statements)

    def __str__(self) -> str:
        return "\n".join(f"{n}. {s}" for n, s in enumerate(self.statements, 1))


@pytest.fixture
def count_queries(app):
    """Count the SQL statements sent through the engine inside a ``with`` block (any session,
    any thread): ``with count_queries() as count: client.get(...)`` then ``assert count() <= 9``.
    Print ``count`` to see them."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        seen = StatementCount()

        def record(connection, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(_HARNESS_STATEMENT):
                seen.statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield seen
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)

    return counting


# --- locations ---------------------------------------------------------------------------


@pytest.fixture
def make_location(app):
    """Build a location (in its tenant's schema, mirrored into the catalog) in one call.
    ``free={(month, "baby"): 2}`` adds free places."""
    return functools.partial(factories.make_location, db.session)

# --- people ------------------------------------------------------------------------------

PASSWORD = factories.PASSWORD


@pytest.fixture
def make_user(app):
    """Build a verified user with roles in one call, e.g. ``make_user("coordinator", tenant=herent)``
    or ``make_user("provider_staff", tenant=herent, locations=[location.id])``."""
    return functools.partial(factories.make_user, db.session)


def login(client, user_or_email, password=PASSWORD, host=None, **extra):
    """Log in through the form on the regional host (or ``host``)."""
    email = getattr(user_or_email, "email", user_or_email)
    return client.post("/aanmelden", data={"email": email, "password": password, **extra},
                       base_url=host or host_url())


def follow_across_hosts(client, url: str, limit: int = 10):
    """GET ``url`` and follow its redirects from host to host, as a browser does (the test
    client follows only same-host ones): ``(last URL, its answer)``."""
    from urllib.parse import urljoin, urlsplit

    for _ in range(limit):
        parts = urlsplit(url)
        response = client.get(parts.path, query_string=parts.query, base_url=f"{parts.scheme}://{parts.netloc}")
        if response.status_code not in (301, 302, 303, 307, 308):
            return url, response
        url = urljoin(url, response.headers["Location"])
    raise AssertionError(f"more than {limit} redirects, last {url}")


def hand_over(client, tenant, path: str = "/"):
    """Take a client's regional login to ``tenant``'s host through every hop of the hand-over
    and open ``path`` there; returns that answer."""
    from urllib.parse import urlencode

    url, response = follow_across_hosts(client, host_url() + "/sessie/naar?" + urlencode({"to": host_url(tenant) + path}))
    assert url == host_url(tenant) + path, url
    return response

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
    # The browser tests answer every tile request themselves (no tile server on the test network).
    app = create_app(make_config(url, redis_url, REGION_SERVER_NAME=f"localhost:{port}", TESTING=False,
                                 MAP_TILE_URL="https://tile.openstreetmap.org/{z}/{x}/{y}.png"))
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


# =========================================================================================
# --- notifications and background work: a real SMTP server, an app with an outbox --------
# (fixtures for tests/test_notifications.py and tests/test_worker.py)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free port that records what it accepts.

    Behaviours: ``stop()`` refuses connections until ``start()``; ``delay_first_rcpt()`` holds
    the reply to the first RCPT TO (``rcpt_reached`` is set meanwhile) until ``release`` is set.
    """

    def __init__(self):
        import threading

        self.port = free_port()
        self.messages: list = []  # parsed email.message.EmailMessage, in order of arrival
        self.envelopes: list[tuple[str, list[str]]] = []
        self.rcpt_count = 0
        self.rcpt_reached = threading.Event()
        self.release = threading.Event()
        self._delay: float | None = None
        self._controller = None

    def start(self):
        from aiosmtpd.controller import Controller

        self._controller = Controller(_RecordingHandler(self), hostname="127.0.0.1", port=self.port,
                                      server_hostname="sink.test")
        self._controller.start()

    def stop(self):
        if self._controller is not None:
            self.release.set()
            self._controller.stop()
            self._controller = None

    def delay_first_rcpt(self, seconds: float = 30.0):
        self._delay = seconds

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in str(m["To"])]

    def wait_for(self, count: int, timeout: float = 5.0) -> list:
        import time

        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


class _RecordingHandler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        import asyncio

        sink = self.sink
        sink.rcpt_count += 1
        if sink._delay is not None and sink.rcpt_count == 1:
            sink.rcpt_reached.set()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + sink._delay
            while not sink.release.is_set() and loop.time() < deadline:
                await asyncio.sleep(0.02)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import email
        from email.policy import default

        self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.sink.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                           policy=default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def make_outbox_app(committed, smtp_server):
    """Committed apps that mail through ``smtp_server`` and enqueue on a queue of their own
    (``tenants`` committed municipalities, slugs in ``app.extensions["test.tenant_slugs"]``).
    Jobs run on the last app built; its notification rows and queue are removed afterwards."""
    from regional_loket import jobs
    from regional_loket.database import utcnow
    from regional_loket.notifications.models import Notification

    built = []

    def build(tenants=0, **config):
        settings = {
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port,
            "MAIL_FROM": "Regionaal Loket <noreply@loket.test>",
            "JOBS_QUEUE": f"test-{uuid.uuid4().hex[:10]}",
            **config,
        }
        started = utcnow()
        app, slugs = committed(tenants, **settings)
        app.extensions["test.tenant_slugs"] = slugs
        jobs.set_job_app(app)
        built.append((app, started))
        return app

    yield build
    jobs.set_job_app(None)
    for app, started in built:
        with app.app_context():
            db.session.rollback()
            db.session.execute(sa.delete(Notification).where(Notification.created_at >= started))
            db.session.commit()
        connection = jobs.redis_connection(app)
        try:
            jobs.queue(app).delete(delete_jobs=True)
        except jobs.REDIS_DOWN:
            pass
        finally:
            connection.close()


@pytest.fixture
def outbox_app(make_outbox_app):
    return make_outbox_app()


def work_burst(app) -> bool:
    """Work the app's queue until it is empty, in this process (``flask worker --burst``)."""
    import signal

    import redis
    from rq import Queue, SimpleWorker

    connection = redis.Redis.from_url(app.config["REDIS_URL"])
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        worker = SimpleWorker([Queue(app.config["JOBS_QUEUE"], connection=connection)], connection=connection)
        return worker.work(burst=True)
    finally:
        for sig, handler in handlers.items():  # the worker installs its own; give pytest its back
            signal.signal(sig, handler)
        connection.close()


def region_audit(action: str) -> list:
    """The entries of ``action`` in the region's own log (changes that belong to no municipality)."""
    from regional_loket.tenancy.models import RegionAuditEntry

    return db.session.scalars(sa.select(RegionAuditEntry).where(RegionAuditEntry.action == action)).all()


def municipal_audit_count(tenants, action: str) -> int:
    """How many entries of ``action`` the municipalities' own logs hold."""
    from regional_loket.tenancy import tenant_scope

    count = 0
    for tenant in tenants:
        with tenant_scope(db.session, tenant):
            count += db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                       .where(AuditEntry.action == action))
    return count


def translated(app, language: str, msgid: str, **values) -> str:
    """``msgid`` as the ``language`` catalog renders it; it must really be translated."""
    from flask_babel import force_locale, gettext

    with app.app_context(), force_locale(language):
        text = gettext(msgid, **values)
    assert text != msgid % values if values else text != msgid, f"not translated to {language}: {msgid}"
    return text
