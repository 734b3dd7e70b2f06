"""Seeing into it (issue 16): JSON log lines with request id, host, tenant and user id but no
personal data; the request id echoed; /metrics for allowed networks only; /readyz failing
when Redis is down or a tenant is behind; /healthz touching nothing; the map without tiles."""

import json
import logging
import sys
import time

import pytest
import sqlalchemy as sa

from regional_loket import create_app, jobs
from regional_loket.extensions import db
from regional_loket.notifications.services import notify
from regional_loket.observability import errors, logs, metrics
from regional_loket.settings import ConfigError
from regional_loket.tenancy import migrate, versions

from .conftest import free_port, host_url, login, make_config

OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


@pytest.fixture
def make_app(database_url, redis_url):
    """An app of its own (settings of the test's choosing); its pool is closed afterwards."""
    built = []

    def build(**config):
        config = {"database_url": database_url, "redis_url": redis_url, **config}
        app = create_app(make_config(config.pop("database_url"), config.pop("redis_url"), **config))
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def json_logs(app):
    """The test app logging JSON lines; the text format is restored afterwards."""
    app.config.update(LOG_FORMAT="json", LOG_LEVEL="INFO")
    logs.init_app(app)
    yield app
    app.config.update(LOG_FORMAT=None, LOG_LEVEL="WARNING")
    logs.init_app(app)


def json_lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def access_lines(captured: str, path: str) -> list[dict]:
    return [line for line in json_lines(captured) if line["logger"] == logs.ACCESS_LOGGER and line["path"] == path]


# --- logs --------------------------------------------------------------------------------


def test_log_lines_are_json_with_request_context_and_no_personal_data(json_logs, client, make_tenant,
                                                                    make_user, capsys):
    tenant = make_tenant()
    email = "an.peeters@example.be"
    user = make_user("parent", email=email)
    login(client, user)
    capsys.readouterr()
    response = client.get(f"/zoeken?q={email}&postcode=3020", base_url=host_url(tenant))
    assert response.status_code == 200
    captured = capsys.readouterr().err
    assert email not in captured and "3020" not in captured  # the query string is never logged
    (line,) = access_lines(captured, "/zoeken")
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["host"] == f"{tenant.subdomain}.loket.test" and line["tenant"] == tenant.slug
    assert line["method"] == "GET" and line["endpoint"] == "catalog.search_page" and line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["level"] == "INFO"
    # The login's own lines (it was posted with the address in its form) name no address either.
    assert "example.be" not in captured


def test_the_user_id_is_logged_once_flask_login_has_loaded_the_user(json_logs, client, make_user, capsys):
    user = make_user("parent")
    login(client, user)
    capsys.readouterr()
    client.get("/", base_url=host_url())
    (line,) = access_lines(capsys.readouterr().err, "/")
    assert line["user_id"] == str(user.id) and line["tenant"] is None
    assert user.email not in json.dumps(line)


def test_an_application_log_line_carries_the_request_context(json_logs, capsys):
    with json_logs.test_request_context("/", base_url=host_url()):
        from flask import g

        g.request_id = "abcdef1234567890"
        logging.getLogger("regional_loket.test").warning("something for %s", "operators")
    (line,) = [line for line in json_lines(capsys.readouterr().err) if line["logger"] == "regional_loket.test"]
    assert line == {**line, "message": "something for operators", "level": "WARNING",
                    "request_id": "abcdef1234567890", "host": "loket.test", "tenant": None, "user_id": None}


def test_text_logs_outside_production_json_in_production():
    assert logs.log_format(_Config(ENV="development")) == "text"
    assert logs.log_format(_Config(ENV="production")) == "json"
    assert logs.log_format(_Config(ENV="production", LOG_FORMAT="text")) == "text"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        logs.log_format(_Config(ENV="development", LOG_FORMAT="xml"))


class _Config:
    def __init__(self, **config):
        self.config = config


# --- request id --------------------------------------------------------------------------


def test_a_request_id_is_made_and_echoed(client):
    first = client.get("/healthz", base_url=host_url()).headers["X-Request-ID"]
    second = client.get("/healthz", base_url=host_url()).headers["X-Request-ID"]
    assert logs.WELL_FORMED_ID.fullmatch(first) and first != second


def test_a_trusted_well_formed_request_id_is_kept_a_malformed_one_replaced(app, client):
    sent = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    # Not trusted by default: any client could choose the id its log lines carry.
    assert client.get("/healthz", base_url=host_url(), headers={"X-Request-ID": sent}).headers["X-Request-ID"] != sent
    app.config["TRUST_REQUEST_ID"] = True
    try:
        assert client.get("/healthz", base_url=host_url(),
                          headers={"X-Request-ID": sent}).headers["X-Request-ID"] == sent
        for bad in ("short", "x" * 200, 'evil" level="ERROR', "ab cd ef gh ij"):
            echoed = client.get("/", base_url=host_url(), headers={"X-Request-ID": bad}).headers["X-Request-ID"]
            assert echoed != bad and logs.WELL_FORMED_ID.fullmatch(echoed)
    finally:
        app.config["TRUST_REQUEST_ID"] = False


# --- metrics -----------------------------------------------------------------------------

METRIC_NAMES = (
    "loket_http_request_duration_seconds_bucket", "loket_http_requests_total", "loket_jobs_queue_depth",
    "loket_outbox_pending", "loket_outbox_failed", "loket_job_last_success_timestamp_seconds",
    "loket_scheduler_heartbeat_timestamp_seconds", "loket_redis_up", "loket_database_up",
)


def _sample(text: str, name: str, **labels) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} " if labels else f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{labels} not in\n{text}")


def test_metrics_are_scraped_from_localhost(app, client):
    notify(db.session, recipient_email="an@example.be", language="nl", template="notice",
           data={"subject": "Nieuws", "paragraphs": ["Er is nieuws."]}, idempotency_key="test:metrics")
    db.session.flush()
    client.get("/zoeken", base_url=host_url())
    response = client.get("/metrics", base_url=host_url())
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    for name in METRIC_NAMES:
        assert name in text, name
    assert _sample(text, "loket_http_requests_total", endpoint="catalog.search_page", method="GET",
                   status="200") >= 1
    assert _sample(text, "loket_outbox_pending") >= 1
    assert _sample(text, "loket_job_last_success_timestamp_seconds", job="periodic-relay_outbox") >= 0
    assert "an@example.be" not in text


def test_metrics_are_refused_outside_the_allowed_networks(app, client):
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", base_url=host_url(), environ_base=outside).status_code == 403
    assert client.get("/metrics", base_url=host_url(), environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_metrics_follow_the_client_address_behind_proxies(make_app):
    app = make_app(PROXY_HOPS=1, METRICS_ALLOW="10.1.0.0/16")
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    allowed = app.test_client().get("/metrics", base_url=host_url(), environ_base=proxy,
                                    headers={"X-Forwarded-For": "10.1.2.3"})
    assert allowed.status_code == 200
    # The proxy itself (127.0.0.1) is not in the list: a visitor it forwards is refused.
    refused = app.test_client().get("/metrics", base_url=host_url(), environ_base=proxy,
                                    headers={"X-Forwarded-For": "198.51.100.7"})
    assert refused.status_code == 403


def test_a_malformed_metrics_network_stops_the_app(make_app):
    with pytest.raises(ConfigError, match="METRICS_ALLOW"):
        make_app(METRICS_ALLOW="127.0.0.1/32,intranet")


def test_dual_stack_addresses_count_as_ipv4():
    networks = metrics.allowed_networks("127.0.0.1/32")
    assert metrics.is_allowed("::ffff:127.0.0.1", networks)
    assert not metrics.is_allowed("unknown", networks) and not metrics.is_allowed("10.0.0.1", networks)


def test_metrics_report_redis_down_instead_of_failing(make_app):
    app = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = app.test_client().get("/metrics", base_url=host_url())
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert _sample(text, "loket_redis_up") == 0 and _sample(text, "loket_database_up") == 1


_PROCESS = """
import sys
from regional_loket import create_app
app = create_app({"TESTING": True, "DATABASE_URL": sys.argv[1], "REDIS_URL": sys.argv[2], "SECRET_KEY": "x",
                  "REGION_SERVER_NAME": "loket.test", "LOG_LEVEL": "WARNING", "SEARCH_CACHE_BYTES": 0})
client = app.test_client()
for _ in range(int(sys.argv[3])):
    client.get("/healthz", base_url="http://loket.test")
print(client.get("/metrics", base_url="http://loket.test").get_data(as_text=True))
"""


def test_gunicorn_workers_share_their_counts_in_multiprocess_mode(_app, database_url, redis_url, tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR, whichever worker a scrape reaches answers for all of them."""
    import os
    import subprocess

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def worker(requests: int) -> str:
        done = subprocess.run([sys.executable, "-c", _PROCESS, database_url, redis_url, str(requests)],
                              env=env, capture_output=True, text=True, timeout=60, check=True)
        return done.stdout

    worker(3)
    text = worker(2)  # another process: it counts the first one's requests too
    assert _sample(text, "loket_http_requests_total", endpoint="observability.healthz", method="GET",
                   status="200") == 5
    assert _sample(text, "loket_database_up") == 1 and _sample(text, "loket_outbox_pending") >= 0  # read at scrape time


# --- the scheduler's heartbeat and each periodic job's last success ------------------------


def test_the_scheduler_beats_and_periodic_jobs_record_their_success(make_outbox_app):
    from .conftest import work_burst

    app = make_outbox_app()
    before = time.time()
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert jobs.scheduler_heartbeat(app) >= before
    assert jobs.last_successes(app) == {}
    work_burst(app)
    successes = jobs.last_successes(app)
    assert set(successes) == set(jobs.periodic_job_ids(app))
    assert all(stamp >= before for stamp in successes.values())
    redis = jobs.redis_connection(app)
    redis.delete(jobs._key(app.config["JOBS_QUEUE"], "scheduler-heartbeat"),
                 jobs._key(app.config["JOBS_QUEUE"], "periodic-last-success"))


# --- probes ------------------------------------------------------------------------------


def test_healthz_never_touches_the_database(app, client, make_tenant, count_queries):
    tenant = make_tenant()
    with count_queries() as count:
        for base in (host_url(), host_url(tenant), "http://10.0.0.5:8000"):
            response = client.get("/healthz", base_url=base)
            assert response.status_code == 200 and response.json == {"status": "ok"}
            assert response.headers["Cache-Control"] == "no-store"
    assert count() == 0, str(count)


def test_healthz_answers_without_a_database_or_redis(make_app):
    app = make_app(database_url="postgresql://nobody@127.0.0.1:1/none",
                   redis_url=f"redis://127.0.0.1:{free_port()}/0")
    for base in (host_url(), "http://herent.loket.test", "http://192.0.2.1"):
        assert app.test_client().get("/healthz", base_url=base).status_code == 200


@pytest.fixture
def beating(app):
    """A fresh scheduler heartbeat, as a running scheduler leaves it."""
    jobs.record_heartbeat(app)
    yield app
    jobs.redis_connection(app).delete(jobs._key(app.config["JOBS_QUEUE"], "scheduler-heartbeat"))


def test_readyz_is_ready_with_database_redis_migrations_and_scheduler(beating, client):
    response = client.get("/readyz", base_url=host_url())
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "migrations", "redis", "scheduler"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["migrations"]["shared_at_head"] is True


def test_readyz_is_cheap(beating, client, count_queries):
    with count_queries() as count:
        started = time.perf_counter()
        assert client.get("/readyz", base_url=host_url()).status_code == 200
        elapsed = time.perf_counter() - started
    # SET LOCAL, shared's version, the tenants, which version tables exist, every version.
    assert count() <= 5, str(count)
    assert elapsed < 1.0


def test_readyz_fails_when_redis_is_unreachable(make_app):
    app = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = app.test_client().get("/readyz", base_url=host_url())
    assert response.status_code == 503 and response.json["status"] == "unavailable"
    checks = response.json["checks"]
    assert checks["redis"]["ok"] is False and checks["redis"]["error"] == "ConnectionError"
    assert checks["database"]["ok"] is True and checks["scheduler"]["ok"] is False


def test_readyz_fails_when_a_tenant_is_behind(committed, redis_url):
    app, (slug, other) = committed(2)
    jobs.record_heartbeat(app)
    schema = f"gem_{slug}"
    older = migrate.script_directory(migrate.TENANT_TRACK).get_revision(migrate.head()).down_revision
    with app.app_context():
        db.session.execute(sa.text(f'UPDATE "{schema}".alembic_version SET version_num = :v'), {"v": older})
        db.session.commit()
    response = app.test_client().get("/readyz", base_url=host_url())
    assert response.status_code == 503
    migrations = response.json["checks"]["migrations"]
    assert migrations["ok"] is False and migrations["behind"] == [schema] and migrations["tenants_behind"] == 1
    assert response.json["checks"]["database"]["ok"] is True


def test_readyz_stays_ready_when_a_newer_release_migrated_first(committed):
    """A rolling upgrade: migrations ran for the next release; this node (older code) serves on."""
    app, (slug,) = committed(1)
    jobs.record_heartbeat(app)
    with app.app_context():
        db.session.execute(sa.text(f'UPDATE "gem_{slug}".alembic_version SET version_num = :v'),
                           {"v": "tenant_9999_next_release"})
        db.session.commit()
    response = app.test_client().get("/readyz", base_url=host_url())
    assert response.status_code == 200, response.json
    assert response.json["checks"]["migrations"]["tenants_behind"] == 0


class FakeClock:
    """Monotonic seconds that move only when told to."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ready_app(committed):
    """A committed app with two tenants, a fresh heartbeat, a tenant-version cache of 5 s on a
    clock of the test's, and ``probe()``: /readyz with the statements it sent."""
    app, slugs = committed(2, TENANT_VERSIONS_CACHE_SECONDS=5)
    jobs.record_heartbeat(app)
    clock = FakeClock()
    versions.version_cache(app).clock = clock
    with app.app_context():
        engine = db.engine

    def probe():
        sent = []

        def record(connection, cursor, statement, *args):
            sent.append(statement)

        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            response = app.test_client().get("/readyz", base_url=host_url())
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        return response, sent

    return app, slugs, clock, probe


def _scanned(statements: list[str]) -> bool:
    """Whether the tenants' version tables were read (``migrate.read_versions``)."""
    return any('"gem_' in s and "alembic_version" in s for s in statements)


def _set_version(app, slug: str, version: str) -> None:
    with app.app_context():
        db.session.execute(sa.text(f'UPDATE "gem_{slug}".alembic_version SET version_num = :v'), {"v": version})
        db.session.commit()


def test_readyz_keeps_a_good_answer_about_the_tenants_for_a_few_seconds(ready_app):
    app, slugs, clock, probe = ready_app
    first, sent = probe()
    assert first.status_code == 200 and _scanned(sent), sent
    clock.now += 4.9
    again, sent = probe()
    assert again.status_code == 200 and not _scanned(sent), sent
    # The database is still asked on every call: shared's version and the list of tenants.
    assert any("shared.alembic_version" in s for s in sent) and any("FROM shared.tenants" in s for s in sent)
    assert again.json["checks"]["migrations"] == first.json["checks"]["migrations"]
    clock.now += 0.2  # 5.1 s after the first read: read again
    later, sent = probe()
    assert later.status_code == 200 and _scanned(sent)


def test_readyz_never_keeps_a_tenant_behind(ready_app):
    app, (slug, _other), clock, probe = ready_app
    older = migrate.script_directory(migrate.TENANT_TRACK).get_revision(migrate.head()).down_revision
    _set_version(app, slug, older)
    for _ in range(2):
        response, sent = probe()
        assert response.status_code == 503 and _scanned(sent)
        assert response.json["checks"]["migrations"]["behind"] == [f"gem_{slug}"]
    _set_version(app, slug, migrate.head())  # migrated: ready at the next call, the clock unmoved
    response, sent = probe()
    assert response.status_code == 200 and _scanned(sent)


def test_readyz_reads_a_tenant_added_since_the_kept_answer(ready_app, committed):
    app, _slugs, clock, probe = ready_app
    assert probe()[0].status_code == 200
    _other_app, (added,) = committed(1)  # another node creates a municipality …
    older = migrate.script_directory(migrate.TENANT_TRACK).get_revision(migrate.head()).down_revision
    _set_version(app, added, older)  # … at an older head
    response, sent = probe()
    assert response.status_code == 503 and _scanned(sent)
    assert response.json["checks"]["migrations"]["behind"] == [f"gem_{added}"]


def test_readyz_checks_the_database_while_a_good_answer_is_kept(ready_app, monkeypatch):
    app, _slugs, clock, probe = ready_app
    assert probe()[0].status_code == 200
    with app.app_context():
        engine = db.engine

    def unreachable(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, OSError("connection refused"))

    monkeypatch.setattr(engine, "connect", unreachable)
    response, _sent = probe()
    assert response.status_code == 503
    checks = response.json["checks"]
    assert checks["database"] == {"ok": False, "error": "OperationalError"}
    assert checks["migrations"]["ok"] is False


def test_the_tenant_version_cache_can_be_turned_off(committed):
    app, _slugs = committed(1, TENANT_VERSIONS_CACHE_SECONDS=0)
    jobs.record_heartbeat(app)
    with app.app_context():
        engine = db.engine
    scans = []
    sa.event.listen(engine, "before_cursor_execute", lambda c, cur, statement, *a: scans.append(_scanned([statement])))
    for _ in range(2):
        assert app.test_client().get("/readyz", base_url=host_url()).status_code == 200
    assert scans.count(True) == 2


def test_a_stale_scheduler_fails_readyz_unless_told_to_only_report_it(beating, client):
    jobs.record_heartbeat(beating, now=time.time() - 3600)
    response = client.get("/readyz", base_url=host_url())
    assert response.status_code == 503 and response.json["checks"]["scheduler"]["ok"] is False
    beating.config["READY_CHECK_SCHEDULER"] = False
    try:
        response = client.get("/readyz", base_url=host_url())
        assert response.status_code == 200 and response.json["checks"]["scheduler"]["ok"] is False
    finally:
        beating.config["READY_CHECK_SCHEDULER"] = True


# --- error reporting ---------------------------------------------------------------------


def test_a_dsn_without_sentry_sdk_is_a_warning_not_a_failure(app, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "sentry_sdk", None)  # import fails, as when not installed
    monkeypatch.setitem(app.config, "SENTRY_DSN", "https://key@sentry.example/1")
    with caplog.at_level(logging.WARNING):
        assert errors.init_app(app) is False
    assert "sentry-sdk is not installed" in caplog.text


def test_error_reports_lose_query_strings_bodies_and_cookies():
    event = {"request": {"url": "https://loket.test/zoeken?q=an@example.be", "query_string": "q=an@example.be",
                         "data": {"email": "an@example.be"}, "cookies": {"__Host-session": "x"},
                         "headers": {"Host": "loket.test", "Cookie": "x", "X-Request-ID": "abc12345"}}}
    scrubbed = errors.scrub(event)
    assert "an@example.be" not in json.dumps(scrubbed)
    assert scrubbed["request"]["headers"] == {"Host": "loket.test", "X-Request-ID": "abc12345"}


# --- the map -----------------------------------------------------------------------------


def test_without_a_tile_server_the_search_shows_the_list_and_says_why(app, client, make_tenant, make_location):
    assert app.config["MAP_TILE_URL"] is None  # the default: no public tile server
    tenant = make_tenant()
    make_location(tenant, "Kinderdagverblijf Zonder Kaart")
    db.session.flush()
    body = client.get("/zoeken", base_url=host_url()).get_data(as_text=True)
    assert "Kinderdagverblijf Zonder Kaart" in body
    assert "De kaart is niet beschikbaar" in body
    assert 'id="map"' not in body and "leaflet.js" not in body


def test_with_a_tile_server_search_and_location_page_have_the_map(app, client, make_tenant, make_location,
                                                                  monkeypatch):
    monkeypatch.setitem(app.config, "MAP_TILE_URL", OSM)
    tenant = make_tenant()
    place = make_location(tenant, "Kinderdagverblijf Met Kaart")
    db.session.flush()
    search = client.get("/zoeken", base_url=host_url())
    assert 'id="map"' in search.get_data(as_text=True) and "De kaart is niet beschikbaar" not in search.get_data(as_text=True)
    page = client.get(f"/locaties/{place.id}", base_url=host_url(tenant))
    body = page.get_data(as_text=True)
    assert 'id="map"' in body and "leaflet.js" in body and f'data-tiles="{OSM}"' in body
    assert '"name": "Kinderdagverblijf Met Kaart"' in body.replace("&#34;", '"')
    assert "https://tile.openstreetmap.org" in page.headers["Content-Security-Policy"]


def test_without_a_tile_server_the_location_page_has_no_map(client, make_tenant, make_location):
    tenant = make_tenant()
    place = make_location(tenant, "Kinderdagverblijf Zonder Kaart")
    db.session.flush()
    body = client.get(f"/locaties/{place.id}", base_url=host_url(tenant)).get_data(as_text=True)
    assert 'id="map"' not in body and "Kinderdagverblijf Zonder Kaart" in body
