"""Faults (issue 18, item 7), each against a real server of the kind that fails: a Redis that
accepts connections and never answers, a PostgreSQL that is not there, an SMTP server that was
down, a delivery that happened twice, a scheduler that stopped."""

import logging
import socket
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from regional_loket import create_app, jobs
from regional_loket.extensions import db
from regional_loket.notifications import jobs as delivery
from regional_loket.notifications.models import Notification
from regional_loket.notifications.services import notify

from .conftest import PASSWORD, free_port, host_url, make_config, translated

# A page answered within this many seconds counts as "not frozen" (a hung Redis costs one
# socket timeout per process, then the clients treat it as down).
PROMPT = 6.0


class HungServer:
    """A TCP server that accepts every connection and never answers, as a Redis whose process is
    stopped (SIGSTOP), swapping, or behind a black-holing firewall that completed the handshake."""

    def __init__(self):
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self):
        self._listener.settimeout(0.1)
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(connection)  # held open, never read, never written

    def close(self):
        self._stopped.set()
        self._thread.join(2)
        for connection in self.accepted:
            connection.close()
        self._listener.close()


@pytest.fixture
def hung_redis():
    server = HungServer()
    yield server
    server.close()


@pytest.fixture
def make_app(_app, database_url, redis_url):
    """An app of its own with the test's settings (on the migrated test database); its pool
    is closed afterwards."""
    built = []

    def build(database=None, redis=None, **config):
        app = create_app(make_config(database or database_url, redis or redis_url, **config))
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.engine.dispose()


def within(seconds: float, call):
    """``call()``'s result, failing (instead of hanging the suite) when it takes longer."""
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as error:  # noqa: BLE001 — re-raised in the test's thread
            outcome["error"] = error

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s: frozen"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"], time.monotonic() - started


# --- a hung Redis ------------------------------------------------------------------------------


def test_a_hung_redis_does_not_freeze_logins_or_pages(make_app, hung_redis):
    """Rate limiting on (its storage is the hung server): the login POSTs and pages are served,
    the first within one short socket timeout, the next ones at once (the limiter counts in
    memory until Redis answers again)."""
    app = make_app(redis=hung_redis.url, RATELIMIT_ENABLED=True)
    assert app.config["RATELIMIT_STORAGE_URI"] == hung_redis.url
    client = app.test_client()
    form = {"email": f"niemand-{uuid.uuid4().hex[:8]}@example.be", "password": PASSWORD}

    response, first = within(PROMPT, lambda: client.post("/aanmelden", data=form, base_url=host_url()))
    assert response.status_code == 422 and "aanmelden" in response.get_data(as_text=True).lower()  # wrong password
    assert hung_redis.accepted, "the limiter did talk to the hung server"
    response, second = within(PROMPT, lambda: client.post("/aanmelden", data=form, base_url=host_url()))
    assert response.status_code == 422 and second < 1.0
    response, _ = within(PROMPT, lambda: client.get("/", base_url=host_url()))
    assert response.status_code == 200


def test_a_hung_redis_keeps_mail_in_the_outbox_without_holding_requests(make_app, hung_redis):
    """A request that commits a mail enqueues its delivery after the commit: the first waits out
    one socket timeout, the next ones do not ask the hung Redis again; the rows wait for the
    relay."""
    app = make_app(redis=hung_redis.url)
    keys = [f"test:{uuid.uuid4()}" for _ in range(2)]

    def commit_a_mail(key):
        with app.test_request_context(base_url=host_url()):
            notify(db.session, recipient_email="ouder@example.be", language="nl", template="notice",
                   data={"subject": "S", "heading": "H", "paragraphs": ["P"], "name": "An"},
                   idempotency_key=key)
            db.session.commit()  # then the delivery is enqueued: the hung Redis times out

    try:
        _, first = within(PROMPT, lambda: commit_a_mail(keys[0]))
        _, second = within(PROMPT, lambda: commit_a_mail(keys[1]))
        assert second < 0.5, "a Redis that just failed is not waited for again by the next request"
        with app.app_context():
            states = db.session.scalars(sa.select(Notification.state)
                                        .where(Notification.idempotency_key.in_(keys))).all()
            assert states == ["pending", "pending"]  # the relay sends them once Redis answers
    finally:
        with app.app_context():
            db.session.execute(sa.delete(Notification).where(Notification.idempotency_key.in_(keys)))
            db.session.commit()


def test_a_hung_redis_fails_readyz_quickly(make_app, hung_redis):
    app = make_app(redis=hung_redis.url)
    response, elapsed = within(PROMPT, lambda: app.test_client().get("/readyz", base_url=host_url()))
    assert response.status_code == 503
    assert response.json["checks"]["redis"] == {**response.json["checks"]["redis"], "ok": False, "error": "TimeoutError"}
    assert elapsed < 3.0


# --- PostgreSQL not there ----------------------------------------------------------------------


class Proxy:
    """A TCP relay in front of the test PostgreSQL that the test can stop (connections refused,
    open ones cut) and start again on the same port: a database restart, as the app sees it."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self):
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it (close alone may not)
            except OSError:
                pass
            listener.close()
        with self._lock:
            for connection in self._open:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                connection.close()
            self._open.clear()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source, target):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def database_proxy(database_url):
    url = sa.engine.make_url(database_url)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    yield proxy, url.set(port=proxy.port).render_as_string(hide_password=False)
    proxy.stop()


def _outage_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


PAGES = [  # (method, path, host, form): a regional page, a municipal page, a form post, the API
    ("GET", "/", host_url(), None),
    ("GET", "/", "http://herent.loket.test", None),
    ("POST", "/aanmelden", host_url(), {"email": "an@example.be", "password": PASSWORD}),
    ("GET", "/api/v1/locations", host_url(), None),
]


def test_without_postgresql_every_page_is_a_503_with_retry_after_and_one_log_line(make_app, caplog):
    app = make_app(database=f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    client = app.test_client()
    client.set_cookie("session", "a-session-of-before-the-outage", domain="loket.test")  # loaded first
    for method, path, base, form in PAGES:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = client.open(path, method=method, data=form, base_url=base,
                                   headers={"Accept-Language": "fr"})
        assert response.status_code == 503, (path, response.status_code)
        assert response.headers["Retry-After"] == "10"
        [record] = _outage_records(caplog)  # one line, and no traceback in it
        assert record.exc_info is None and "database unavailable" in record.getMessage()
        assert "Traceback" not in caplog.text
        if path.startswith("/api/"):
            assert response.mimetype == "application/problem+json" and response.json["status"] == 503
        else:
            page = response.get_data(as_text=True)
            assert '<html lang="fr"' in page
            assert translated(app, "fr", "Het loket is even niet bereikbaar") in page


def test_a_database_restart_is_answered_with_503_and_recovers_without_a_restart(make_app, database_proxy,
                                                                               caplog):
    proxy, url = database_proxy
    app = make_app(database=url)
    client = app.test_client()
    assert client.get("/", base_url=host_url()).status_code == 200  # the pool holds a connection
    proxy.stop()
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            response = client.get("/", base_url=host_url())
            assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    assert len(_outage_records(caplog)) == 5 and "Traceback" not in caplog.text
    proxy.start()
    assert client.get("/", base_url=host_url()).status_code == 200  # pre-ping replaced the dead one


# --- the mail server was down ------------------------------------------------------------------


def _mail(app, key: str, email: str) -> uuid.UUID:
    with app.app_context():
        notification = notify(db.session, recipient_email=email, language="nl", template="notice",
                              data={"subject": "Nieuws", "heading": "H", "paragraphs": ["P"], "name": "An"},
                              idempotency_key=key)
        db.session.commit()
        return notification.id


def _row(app, notification_id) -> tuple:
    with app.app_context():
        row = db.session.get(Notification, notification_id)
        return row.state, row.attempts, row.next_attempt_at


def test_a_short_mail_server_outage_costs_seconds_not_minutes():
    """The first retries come within a minute and a half of the first failure (the relay runs
    every 30 s): a 74 s outage is bridged by the 4th try, ~90 s after the first failure, not
    by one 150 s after it (30 + 120 before); the back-off still grows and gives up after a day
    or so."""
    waits = [delivery.backoff(n).total_seconds() for n in range(1, delivery.MAX_ATTEMPTS)]
    tries = [sum(waits[:n]) for n in range(1, len(waits) + 1)]  # seconds after the first failure
    assert next(t for t in tries if t >= 74) <= 90
    assert waits == sorted(waits) and 20 * 3600 <= sum(waits) <= 36 * 3600
    # Each row's own stretch: fixed per row, within the jitter, different between rows.
    ids = [uuid.uuid4() for _ in range(20)]
    stretched = [delivery.backoff(3, key).total_seconds() for key in ids]
    assert all(30 <= s <= 30 * (1 + delivery.JITTER) for s in stretched) and len(set(stretched)) > 10
    assert delivery.backoff(3, ids[0]) == delivery.backoff(3, ids[0])


def test_send_pending_sends_what_waits_for_a_retry_now(make_outbox_app, smtp_server):
    app = make_outbox_app()
    email = f"ouder-{uuid.uuid4().hex[:8]}@example.be"
    retried = _mail(app, f"test:{uuid.uuid4()}", email)
    later = _mail(app, f"test:{uuid.uuid4()}", email)
    with app.app_context():  # a mail scheduled for tomorrow, never tried
        db.session.execute(sa.update(Notification).where(Notification.id == later)
                           .values(next_attempt_at=sa.func.now() + sa.text("interval '1 day'")))
        db.session.commit()
    smtp_server.stop()
    assert delivery.deliver(str(retried)) == "retry"
    state, attempts, _ = _row(app, retried)
    assert (state, attempts) == ("pending", 1)
    assert delivery.relay(app) == 0  # the back-off holds it
    smtp_server.start()

    result = app.test_cli_runner().invoke(args=["notifications", "send-pending"])
    assert result.exit_code == 0, result.output
    assert "made due: 1" in result.output and "sent: 1" in result.output
    assert [m["Subject"] for m in smtp_server.to(email)] == ["Nieuws"]
    assert _row(app, retried)[:2] == ("sent", 1)
    assert _row(app, later)[:2] == ("pending", 0)  # scheduled mail keeps its time without --all

    result = app.test_cli_runner().invoke(args=["notifications", "send-pending", "--all"])
    assert result.exit_code == 0 and "sent: 1" in result.output, result.output
    assert len(smtp_server.to(email)) == 2 and _row(app, later)[0] == "sent"
    result = app.test_cli_runner().invoke(args=["notifications", "send-pending", "--all"])
    assert "made due: 0" in result.output and "sent: 0" in result.output  # nothing twice


# --- sent twice: the same Message-ID -------------------------------------------------------


def test_a_row_delivered_again_carries_the_same_message_id(make_outbox_app, smtp_server):
    """The at-least-once gap (docs/OPERATIONS.md): the mail server stored the message, the worker
    died before its commit, the row is still pending and is delivered again. Both copies carry
    one Message-ID, so mail clients and servers can fold them into one."""
    app = make_outbox_app()
    email = f"ouder-{uuid.uuid4().hex[:8]}@example.be"
    notification_id = _mail(app, f"test:{uuid.uuid4()}", email)
    assert delivery.deliver(str(notification_id)) == "sent"
    with app.app_context():  # as if the commit after the SMTP conversation never happened
        db.session.execute(sa.update(Notification).where(Notification.id == notification_id)
                           .values(state="pending", sent_at=None))
        db.session.commit()
    assert delivery.deliver(str(notification_id)) == "sent"
    first, second = smtp_server.to(email)
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].endswith("@loket.test>")


# --- a dead scheduler ---------------------------------------------------------------------------


def test_a_dead_scheduler_shows_in_readyz_and_in_the_metrics(app, client):
    """The scheduler's heartbeat is older than SCHEDULER_HEARTBEAT_MAX_AGE: /readyz names it, and
    /metrics exposes the heartbeat's time, which an alert compares with now."""
    stale = time.time() - 3600
    jobs.record_heartbeat(app, now=stale)
    try:
        response = client.get("/readyz", base_url=host_url())
        assert response.status_code == 503
        scheduler = response.json["checks"]["scheduler"]
        assert scheduler["ok"] is False and scheduler["age_seconds"] >= 3600
        metrics = client.get("/metrics", base_url=host_url()).get_data(as_text=True)
        [line] = [line for line in metrics.splitlines()
                  if line.startswith("loket_scheduler_heartbeat_timestamp_seconds ")]
        assert float(line.split()[1]) == pytest.approx(stale)
    finally:
        jobs.redis_connection(app).delete(jobs._key(app.config["JOBS_QUEUE"], "scheduler-heartbeat"))
