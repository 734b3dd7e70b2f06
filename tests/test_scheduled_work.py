"""Scheduled work (issue #13): one scheduler (a Redis lock; daily and weekly slots in the
region's time, kept across restarts), rq retries for every job, offer deadlines per
municipality (a reminder two days before, expiry after the deadline day), the catalog drift
check, the purges, every run recorded and ``flask jobs runs``. With the controllable clock
(``CLOCK_NOW``) and real PostgreSQL and Redis."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from regional_loket import clock, jobs
from regional_loket.applications import Application, ApplicationEvent, EventKind, Status
from regional_loket.applications import jobs as offer_jobs
from regional_loket.catalog import CatalogLocation
from regional_loket.catalog import jobs as catalog_jobs
from regional_loket.coordinator.call_list import CallEntry
from regional_loket.extensions import db
from regional_loket.jobs import Schedule, SchedulerLock, runs
from regional_loket.jobs.cli import purge_job_runs_now
from regional_loket.jobs.models import JobRun
from regional_loket.notifications.models import Notification
from regional_loket.settings import PROJECT_ROOT
from regional_loket.tenancy import TenantStatus, tenant_scope

from . import factories as f
from .conftest import work_burst
from .test_desk_calls import _filed_request, _phone_family
from .test_worker import _worker_env, wait_until

BRUSSELS = ZoneInfo("Europe/Brussels")
DEADLINE = f.TODAY + timedelta(days=10)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BRUSSELS)


@pytest.fixture
def at(app):
    """``at(datetime)`` moves the app's clock; put back afterwards."""
    def move(moment):
        app.config["CLOCK_NOW"] = moment
    yield move
    app.config["CLOCK_NOW"] = None


@pytest.fixture
def own_queue(app):
    before = app.config["JOBS_QUEUE"]
    app.config["JOBS_QUEUE"] = f"test-{uuid.uuid4().hex[:10]}"
    jobs.set_job_app(app)
    yield app
    jobs.set_job_app(None)
    connection = jobs.redis_connection(app)
    for key in connection.scan_iter(f"*{app.config['JOBS_QUEUE']}*"):
        connection.delete(key)
    app.config["JOBS_QUEUE"] = before


@pytest.fixture
def offer(app, make_tenant, make_location):
    """Herent, a location with one free place, a family with e-mail, and an offer to it with
    its deadline ``DEADLINE``, made now (real time: days before the clock is moved)."""
    herent = make_tenant("herent", name="Herent")
    location = make_location(herent, "De Zonnebloem", free={(f.START, "baby"): 1})
    _, family = f.make_family(db.session, email=f"ouder-{uuid.uuid4().hex[:8]}@example.be")
    child = f.make_child(db.session, family)
    care = f.make_request(db.session, family, child, locations=[location])
    tenant, application = f.make_offer(db.session, care.choices[0], deadline=DEADLINE)
    return {"tenant": tenant, "application_id": application.id, "family": family, "care": care}


def events(tenant, application_id, kind=None):
    with tenant_scope(db.session, tenant):
        query = sa.select(ApplicationEvent).where(ApplicationEvent.application_id == application_id)
        if kind is not None:
            query = query.where(ApplicationEvent.kind == kind)
        return list(db.session.scalars(query.order_by(ApplicationEvent.at)))


def status(tenant, application_id):
    db.session.expire_all()
    with tenant_scope(db.session, tenant):
        return db.session.scalar(sa.select(Application.status).where(Application.id == application_id))


def mails(template, email=None):
    query = sa.select(Notification).where(Notification.template == template)
    if email:
        query = query.where(Notification.recipient_email == email)
    return list(db.session.scalars(query))


def last_run(job, tenant_slug=None):
    rows, _ = runs.list_runs(db.session, job=job, tenant_slug=tenant_slug, limit=1)
    return rows[0] if rows else None


# --- schedules: the region's wall clock, across midnight and daylight saving time -------------


def ts(moment: datetime) -> float:
    return moment.timestamp()


def test_a_daily_slot_is_the_regions_time_across_midnight():
    daily = Schedule.parse(daily_at="00:05")
    day = date(2027, 1, 14)
    # 23:59 in Brussels is 22:59 UTC: the slot is still yesterday's 00:05.
    assert daily.latest_slot(ts(local(day, 23, 59)), BRUSSELS) == ts(local(day, 0, 5))
    assert daily.latest_slot(ts(local(day, 0, 4)), BRUSSELS) == ts(local(day - timedelta(days=1), 0, 5))
    assert daily.latest_slot(ts(local(day, 0, 5)), BRUSSELS) == ts(local(day, 0, 5))
    assert daily.next_slot(ts(local(day, 0, 5)), BRUSSELS) == ts(local(day + timedelta(days=1), 0, 5))
    # Ran at 00:05: not due again at 23:59, due at 00:05 the next day (in UTC: 23:05).
    ran = ts(local(day, 0, 5))
    assert not daily.due(ran, ts(local(day, 23, 59)), BRUSSELS)
    assert daily.due(ran, ts(datetime(2027, 1, 14, 23, 5, tzinfo=UTC)), BRUSSELS)
    assert daily.due(None, ts(local(day, 12)), BRUSSELS)  # never ran: at once


def test_a_daily_slot_keeps_its_local_time_across_daylight_saving_time():
    six = Schedule.parse(daily_at="06:00")
    # Spring forward (Sunday 28 March 2027): 06:00 is 05:00 UTC the day before, 04:00 UTC after.
    assert six.latest_slot(ts(datetime(2027, 3, 27, 12, tzinfo=UTC)), BRUSSELS) == \
        ts(datetime(2027, 3, 27, 5, tzinfo=UTC))
    assert six.latest_slot(ts(datetime(2027, 3, 28, 12, tzinfo=UTC)), BRUSSELS) == \
        ts(datetime(2027, 3, 28, 4, tzinfo=UTC))
    # 02:30 does not exist that night: the job runs once, when the clocks have jumped past it.
    night = Schedule.parse(daily_at="02:30")
    before = ts(datetime(2027, 3, 27, 1, 30, tzinfo=UTC))  # Saturday 02:30 CET
    assert not night.due(before, ts(datetime(2027, 3, 28, 0, 59, tzinfo=UTC)), BRUSSELS)  # 01:59 CET
    assert night.due(before, ts(datetime(2027, 3, 28, 1, 30, tzinfo=UTC)), BRUSSELS)  # 03:30 CEST
    # Fall back (Sunday 31 October 2027): 02:30 happens twice; the job runs the first time only.
    first, second = datetime(2027, 10, 31, 0, 30, tzinfo=UTC), datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    assert first.astimezone(BRUSSELS).strftime("%H:%M") == second.astimezone(BRUSSELS).strftime("%H:%M") == "02:30"
    assert night.latest_slot(ts(second), BRUSSELS) == ts(first)
    assert night.due(ts(datetime(2027, 10, 30, 0, 30, tzinfo=UTC)), ts(first), BRUSSELS)
    assert not night.due(ts(first), ts(second), BRUSSELS)
    # A 25-hour day: 06:00 on both sides, 05:00 UTC then 05:00 UTC + 25 h.
    assert six.next_slot(ts(datetime(2027, 10, 30, 5, tzinfo=UTC)), BRUSSELS) == \
        ts(datetime(2027, 10, 31, 5, tzinfo=UTC)) == ts(datetime(2027, 10, 30, 4, tzinfo=UTC)) + 25 * 3600


def test_a_weekly_slot_and_bad_schedules():
    monday = Schedule.parse(weekly_on=(0, "07:00"))
    assert monday.latest_slot(ts(local(date(2027, 1, 18), 6, 59)), BRUSSELS) == ts(local(date(2027, 1, 11), 7))
    assert monday.latest_slot(ts(local(date(2027, 1, 18), 7)), BRUSSELS) == ts(local(date(2027, 1, 18), 7))
    assert monday.latest_slot(ts(local(date(2027, 1, 21), 12)), BRUSSELS) == ts(local(date(2027, 1, 18), 7))
    assert monday.describe() == "weekly on Monday at 07:00"
    assert Schedule.parse(every=3600).due(1000.0, 4599.0, BRUSSELS) is False
    for bad in ({"daily_at": "25:00"}, {"daily_at": "6 uur"}, {"weekly_on": (7, "07:00")},
                {"every": 60, "daily_at": "06:00"}, {"every": -1}):
        with pytest.raises(ValueError):
            Schedule.parse(**bad)


def test_register_periodic_keeps_every_and_adds_daily_and_weekly(own_queue):
    app = own_queue
    registered = {job.job_id: job for job in jobs.periodic_jobs(app)}
    assert registered["periodic-expire_offers_everywhere"].schedule == Schedule(at=datetime.min.time().replace(minute=5))
    assert registered["periodic-expire_offers_everywhere"].name == "offer-expiry"
    assert registered["periodic-remind_offers_everywhere"].schedule.at.strftime("%H:%M") == "08:00"
    assert registered["periodic-check_catalog_drift"].name == "catalog-drift"
    assert registered["periodic-purge_old_notifications"].schedule.every == 3600  # every= unchanged
    assert registered["periodic-relay_outbox"].schedule.every == 0


# --- the one scheduler ------------------------------------------------------------------------


def test_a_second_scheduler_waits_and_does_no_harm(own_queue, at):
    app = own_queue
    at(local(date(2027, 1, 14), 9))
    first, second = SchedulerLock(app, ttl=60), SchedulerLock(app, ttl=60)
    outcome, kept = jobs.scheduler_round(app, first, None)
    assert outcome == "enqueued"
    enqueued = set(jobs.queue(app).job_ids)
    assert enqueued == set(jobs.periodic_job_ids(app))  # a new deployment: every job once
    assert jobs.scheduler_round(app, second, None) == ("waiting", None)
    assert first.acquire()  # renewed, still the first's
    assert second.holder() == first.token
    assert set(jobs.queue(app).job_ids) == enqueued  # the second enqueued nothing

    # The command says so and leaves.
    result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "another scheduler is running" in result.output
    assert first.token in result.output

    first.release()
    assert second.holder() is None
    assert jobs.scheduler_round(app, second, None)[0] == "enqueued"  # takes over
    second.release()


def test_a_restarted_scheduler_does_not_run_a_daily_job_twice_that_day(own_queue, at):
    app = own_queue
    at(local(date(2027, 1, 14), 9))
    lock = SchedulerLock(app, ttl=60)
    jobs.scheduler_round(app, lock, None)
    lock.release()  # the scheduler stops
    jobs.queue(app).empty()  # and a worker ran everything

    at(local(date(2027, 1, 14), 9, 1))  # restarted a minute later: it reads its memory from Redis
    restarted = SchedulerLock(app, ttl=60)
    assert jobs.scheduler_round(app, restarted, None)[0] == "enqueued"
    assert jobs.queue(app).job_ids == ["periodic-relay_outbox"]  # every round; nothing daily, nothing hourly
    jobs.queue(app).empty()

    at(local(date(2027, 1, 15), 0, 6))  # past midnight: the expiry of the new day
    _, kept = jobs.scheduler_round(app, restarted, None)
    due = set(jobs.queue(app).job_ids)
    assert "periodic-expire_offers_everywhere" in due and "periodic-remind_offers_everywhere" not in due
    restarted.release()
    assert jobs.last_enqueued(app)["periodic-expire_offers_everywhere"] == ts(local(date(2027, 1, 15), 0, 6))


@pytest.mark.slow
def test_two_scheduler_processes_one_enqueues_the_other_waits_then_takes_over(make_outbox_app, smtp_server,
                                                                           database_url, tmp_path):
    app = make_outbox_app()
    env = {**_worker_env(app, database_url, smtp_server, tmp_path), "LOKET_JOBS_QUEUE": app.config["JOBS_QUEUE"]}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "--interval", "0.5"]
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    processes, outputs = [], []
    try:
        for path in logs:
            outputs.append(path.open("wb"))
            processes.append(subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=outputs[-1],
                                              stderr=subprocess.STDOUT))
            if len(processes) == 1:  # the first one holds the lock before the second starts
                assert wait_until(lambda: jobs.scheduler_heartbeat(app) is not None, timeout=30), logs[0].read_text()
        first, second = processes
        assert wait_until(lambda: "another scheduler is running" in logs[1].read_text(), timeout=30), \
            logs[1].read_text()
        enqueued = sorted(jobs.queue(app).job_ids)
        assert enqueued == sorted(jobs.periodic_job_ids(app))  # once, by the first: no duplicates
        first.send_signal(signal.SIGTERM)  # stopped: it gives its lock back at once
        first.wait(10)
        assert wait_until(lambda: "now enqueues" in logs[1].read_text(), timeout=30), logs[1].read_text()
        assert sorted(jobs.queue(app).job_ids) == enqueued  # the jobs still waiting are not doubled
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
            process.wait(10)
        for output in outputs:
            output.close()
        connection = jobs.redis_connection(app)
        for key in connection.scan_iter(f"loket:{app.config['JOBS_QUEUE']}:*"):
            connection.delete(key)


def test_a_killed_schedulers_lock_expires_and_the_next_one_takes_over(own_queue):
    app = own_queue
    dead = SchedulerLock(app, ttl=1)  # never released, as after SIGKILL
    assert dead.acquire()
    other = SchedulerLock(app, ttl=60)
    assert not other.acquire()
    assert wait_until(other.acquire, timeout=5, step=0.1)
    assert not dead.acquire()  # its renewal fails: it is not the holder any more
    other.release()


# --- retries ----------------------------------------------------------------------------------


def failing(slug):
    raise RuntimeError(f"stuk: {slug}")


def test_every_job_is_enqueued_with_retries_and_a_failure_waits_for_its_next_attempt(own_queue, make_tenant):
    app = own_queue
    make_tenant("herent")
    assert jobs.enqueue(app, failing, "herent", job_id="test-failing")
    job = Job.fetch("test-failing", connection=jobs.redis_connection(app))
    assert job.retries_left == len(jobs.RETRY_INTERVALS)
    assert job.retry_intervals == list(jobs.RETRY_INTERVALS)
    work_burst(app)
    q = jobs.queue(app)
    scheduled = ScheduledJobRegistry(queue=q)
    assert scheduled.get_job_ids(cleanup=False) == ["test-failing"]
    assert 20 < scheduled.get_scheduled_time("test-failing").timestamp() - time.time() <= 30  # back in 30 s
    assert FailedJobRegistry(queue=q).count == 0
    # The fan-out's jobs too: enqueued through the same function.
    offer_jobs.expire_offers_everywhere()
    fanned = [Job.fetch(i, connection=q.connection) for i in q.job_ids]
    assert "expire-offers-herent" in [j.id for j in fanned]
    assert fanned and all(j.retries_left == len(jobs.RETRY_INTERVALS) for j in fanned)


# --- offer deadlines ----------------------------------------------------------------------------


def test_the_family_is_reminded_two_days_before_the_deadline_once(offer, at, app):
    tenant, application_id = offer["tenant"], offer["application_id"]
    email = offer["family"].guardians[0].email
    at(local(DEADLINE - timedelta(days=3), 8))
    assert offer_jobs.remind_offers_now(app, "herent") == 0
    at(local(DEADLINE - timedelta(days=2), 8))
    assert offer_jobs.remind_offers_now(app, "herent") == 1
    [reminder] = events(tenant, application_id, EventKind.REMINDER)
    [mail] = mails("offer_reminder", email)
    assert mail.idempotency_key.startswith(f"reminder:{reminder.id}:")
    assert mail.data["location"] == "De Zonnebloem" and mail.data["child"] == "Lien"
    assert str(DEADLINE.year) in mail.data["deadline"]
    run = last_run("offer-reminders", "herent")
    assert (run.outcome, run.counts) == ("ok", {"reminded": 1})

    # Again the same day, the next day, the deadline day: nothing more.
    for days in (2, 1, 0):
        at(local(DEADLINE - timedelta(days=days), 8))
        assert offer_jobs.remind_offers_now(app, "herent") == 0
    assert len(events(tenant, application_id, EventKind.REMINDER)) == 1
    assert len(mails("offer_reminder", email)) == 1
    assert last_run("offer-reminders", "herent").counts == {"reminded": 0}


def test_a_family_without_email_is_reminded_on_the_desks_call_list(app, at, make_tenant, make_location, make_user):
    herent = make_tenant("herent", name="Herent")
    location = make_location(herent, "De Zonnebloem", free={(f.START, "baby"): 1})
    family = _phone_family(herent)
    care = _filed_request(family, [location], by=make_user("coordinator", tenant=herent))
    f.make_offer(db.session, care.choices[0], deadline=DEADLINE)
    at(local(DEADLINE - timedelta(days=2), 8))
    assert offer_jobs.remind_offers_now(app, "herent") == 1
    assert offer_jobs.remind_offers_now(app, "herent") == 0
    with tenant_scope(db.session, herent):
        reminders = list(db.session.scalars(sa.select(CallEntry).where(CallEntry.template == "offer_reminder")))
    assert len(reminders) == 1 and reminders[0].family_id == family.id
    assert "2" in reminders[0].data["deadline"]  # in the family's language (French), a date
    assert mails("offer_reminder") == []


def test_an_offer_expires_just_after_its_deadline_day_once(offer, at, app):
    tenant, application_id = offer["tenant"], offer["application_id"]
    at(local(DEADLINE, 23, 59))
    assert offer_jobs.expire_offers_now(app, "herent") == 0  # the deadline day itself still counts
    assert status(tenant, application_id) == Status.OFFERED
    at(local(DEADLINE + timedelta(days=1), 0, 5))  # the scheduler's slot
    assert offer_jobs.expire_offers_now(app, "herent") == 1
    assert status(tenant, application_id) == Status.EXPIRED
    [expiry] = [e for e in events(tenant, application_id, EventKind.STATUS) if e.to_status == Status.EXPIRED]
    assert expiry.at == clock.now(app)
    told = [m for m in mails("application_update") if m.data.get("news") == "expire"]
    assert len(told) == 1
    assert last_run("offer-expiry", "herent").counts == {"expired": 1}

    assert offer_jobs.expire_offers_now(app, "herent") == 0  # twice: nothing more
    assert len([e for e in events(tenant, application_id, EventKind.STATUS) if e.to_status == Status.EXPIRED]) == 1
    assert len([m for m in mails("application_update") if m.data.get("news") == "expire"]) == 1


def test_the_everywhere_job_enqueues_one_job_per_active_municipality(own_queue, make_tenant):
    app = own_queue
    make_tenant("herent")
    make_tenant("tienen").status = TenantStatus.ARCHIVED
    db.session.flush()
    count = offer_jobs.expire_offers_everywhere()
    ids = jobs.queue(app).job_ids
    assert "expire-offers-herent" in ids and "expire-offers-tienen" not in ids
    assert len(ids) == count
    offer_jobs.expire_offers_everywhere()  # again while they wait: no duplicates
    assert sorted(jobs.queue(app).job_ids) == sorted(ids)
    fan = runs.list_runs(db.session, job="offer-expiry", limit=1)[0][0]
    assert fan.tenant_slug is None and fan.counts == {"tenants": count, "enqueued": count}


def test_a_tenant_archived_between_enqueue_and_run_is_skipped_cleanly(offer, own_queue, at):
    app = own_queue
    tenant, application_id = offer["tenant"], offer["application_id"]
    at(local(DEADLINE + timedelta(days=1), 0, 5))
    assert jobs.enqueue(app, offer_jobs.expire_offers, "herent", job_id="expire-offers-herent")
    tenant.status = TenantStatus.ARCHIVED
    db.session.flush()
    work_burst(app)
    run = last_run("offer-expiry", "herent")
    assert (run.outcome, run.error) == ("skipped", "archived")
    assert status(tenant, application_id) == Status.OFFERED  # nothing done
    assert FailedJobRegistry(queue=jobs.queue(app)).count == 0  # ended cleanly: no failure, no retry


@pytest.mark.parametrize("argument", [42, None, "../gem_herent", "Herent; DROP", "x" * 200, "no-such-town"])
def test_a_malformed_argument_ends_cleanly_as_a_skipped_run(app, offer, at, argument, caplog):
    at(local(DEADLINE + timedelta(days=1), 0, 5))
    before = db.session.scalar(sa.select(sa.func.count()).select_from(JobRun))
    with caplog.at_level("WARNING", logger="regional_loket.jobs.tenants"):
        assert offer_jobs.expire_offers_now(app, argument) == 0
        assert offer_jobs.remind_offers_now(app, argument) == 0
    assert ("is gone, nothing done" if argument == "no-such-town" else "not a municipality's slug") in caplog.text
    rows = runs.list_runs(db.session, limit=2)[0]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == before + 2
    assert {row.outcome for row in rows} == {"skipped"}
    assert {row.error for row in rows} == {"no-such-tenant" if argument == "no-such-town" else "bad-argument"}
    assert status(offer["tenant"], offer["application_id"]) == Status.OFFERED


def test_a_failing_run_rolls_back_and_is_recorded(app, offer, at, monkeypatch):
    from regional_loket.applications import services

    tenant, application_id = offer["tenant"], offer["application_id"]
    at(local(DEADLINE + timedelta(days=1), 0, 5))

    def expire_then_fail(session, tenant_, **kwargs):
        real(session, tenant_, **kwargs)
        session.flush()
        raise RuntimeError("half-way")

    real = services.expire_offers
    monkeypatch.setattr(services, "expire_offers", expire_then_fail)
    with pytest.raises(RuntimeError):
        offer_jobs.expire_offers_now(app, "herent")
    run = last_run("offer-expiry", "herent")
    assert run.outcome == "failed" and "half-way" in run.error
    assert status(tenant, application_id) == Status.OFFERED  # nothing half-done
    assert [m for m in mails("application_update") if m.data.get("news") == "expire"] == []


# --- a worker killed mid-job --------------------------------------------------------------------


@pytest.fixture
def forget_committed():
    """Shared rows a committed test made (a family, its account, their mails) are deleted
    afterwards: other tests scan every column of every table for a fixture's names."""
    made = []
    yield made  # (app, family id, e-mail address)
    from regional_loket.accounts import User
    from regional_loket.families import Family

    for app, family_id, email in made:
        with app.app_context():
            db.session.rollback()
            db.session.execute(sa.delete(Family).where(Family.id == family_id))
            db.session.execute(sa.delete(User).where(User.email == email))
            db.session.execute(sa.delete(Notification).where(Notification.recipient_email == email))
            db.session.commit()


@pytest.mark.slow
def test_a_worker_killed_mid_job_runs_it_again_and_the_offer_expires_once(make_outbox_app, smtp_server,
                                                                         database_url, tmp_path, forget_committed):
    from regional_loket.catalog.models import Availability

    app = make_outbox_app(tenants=1)
    [slug] = app.extensions["test.tenant_slugs"]
    email = f"ouder-{uuid.uuid4().hex[:8]}@example.be"
    with app.app_context():
        from regional_loket.tenancy import services as tenancy_services

        tenant = tenancy_services.get_tenant(db.session, slug)
        location = f.make_location(db.session, tenant, "De Zonnebloem", free={(f.START, "baby"): 1})
        _, family = f.make_family(db.session, email=email)
        child = f.make_child(db.session, family)
        care = f.make_request(db.session, family, child, locations=[location])
        yesterday = f.TODAY - timedelta(days=1)
        _, application = f.make_offer(db.session, care.choices[0], deadline=yesterday, today=yesterday)
        application_id, schema = application.id, tenant.schema
        forget_committed.append((app, family.id, email))
        db.session.commit()
        # The offer's own mail is not this test's business.
        db.session.execute(sa.delete(Notification).where(Notification.recipient_email == email))
        db.session.commit()
    q = jobs.queue(app)
    assert jobs.enqueue(app, offer_jobs.expire_offers, slug, job_id=f"expire-offers-{slug}")

    with app.app_context(), db.engine.connect() as blocker:
        # Hold the application's row: the job reads its offers, then waits to write the expiry.
        blocker.execute(sa.text(f'SELECT 1 FROM "{schema}".applications WHERE id = :id FOR UPDATE'),
                        {"id": application_id})
        log_path = tmp_path / "worker.log"
        with log_path.open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst", "--queue", q.name],
                env=_worker_env(app, database_url, smtp_server, tmp_path), cwd=PROJECT_ROOT,
                stdout=log, stderr=subprocess.STDOUT)
            try:
                waiting = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND wait_event_type = 'Lock'")

                def blocked():
                    with db.engine.connect() as look:  # a fresh snapshot of the statistics each time
                        return look.execute(waiting).scalar() > 0

                assert wait_until(blocked, timeout=30, step=0.1), log_path.read_text()
                worker.send_signal(signal.SIGKILL)  # mid-job: its transaction dies with it
            finally:
                if worker.poll() is None:
                    worker.kill()
                worker.wait(10)
        blocker.rollback()

    with app.app_context():
        assert db.session.scalar(sa.text(f'SELECT status FROM "{schema}".applications WHERE id = :id'),
                                 {"id": application_id}) == "offered"
        [killed] = runs.list_runs(db.session, job="offer-expiry", tenant_slug=slug)[0]
        assert killed.outcome == "running"  # the dead run's record stays, as it was
        db.session.rollback()

    # rq's abandoned-job handling (a worker does it every few minutes; here: now): the job has
    # retries left, so it is scheduled again; rq's scheduler puts it back when it is due.
    StartedJobRegistry(queue=q).cleanup(timestamp=time.time() + 3600)
    scheduled = ScheduledJobRegistry(queue=q)
    assert scheduled.get_job_ids(cleanup=False) == [f"expire-offers-{slug}"]
    for job_id in scheduled.get_job_ids(cleanup=False):
        job = Job.fetch(job_id, connection=q.connection)
        scheduled.remove(job)
        q.enqueue_job(job)
    work_burst(app)

    with app.app_context():
        tenant = tenancy_services.get_tenant(db.session, slug)
        with tenant_scope(db.session, tenant):
            assert db.session.scalar(sa.select(Application.status).where(Application.id == application_id)) == \
                Status.EXPIRED
            expiries = db.session.scalar(sa.select(sa.func.count()).select_from(ApplicationEvent).where(
                ApplicationEvent.application_id == application_id, ApplicationEvent.to_status == Status.EXPIRED))
            assert expiries == 1
            assert db.session.scalar(sa.select(Availability.free_places)) == 1  # the place is back, once
        assert len([m for m in db.session.scalars(sa.select(Notification).where(Notification.recipient_email == email))
                    if m.data.get("news") == "expire"]) == 1
        outcomes = sorted(r.outcome for r in runs.list_runs(db.session, job="offer-expiry", tenant_slug=slug)[0])
        assert outcomes == ["ok", "running"]
        db.session.execute(sa.delete(JobRun).where(JobRun.tenant_slug == slug))
        db.session.commit()


# --- catalog drift, purges, the record ----------------------------------------------------------


def test_the_catalog_drift_check_counts_and_changes_nothing(app, make_tenant, make_location):
    herent = make_tenant("herent")
    location = make_location(herent, "De Zonnebloem")
    clean = catalog_jobs.check_catalog_drift_now(app)
    db.session.execute(sa.update(CatalogLocation).where(CatalogLocation.location_id == location.id)
                       .values(name="Iets anders"))
    db.session.flush()
    assert catalog_jobs.check_catalog_drift_now(app) == clean + 1
    run = last_run("catalog-drift")
    assert run.outcome == "ok" and run.counts["drifted"] == clean + 1 and run.counts["different"] >= 1
    assert catalog_jobs.check_catalog_drift_now(app) == clean + 1  # a check: still there
    assert db.session.scalar(sa.select(CatalogLocation.name).where(
        CatalogLocation.location_id == location.id)) == "Iets anders"


def test_old_runs_are_purged_and_the_purge_is_recorded(app, at):
    at(datetime.now(UTC) - timedelta(days=100))
    with runs.recorded(app, "test-old"):
        pass
    at(None)
    with runs.recorded(app, "test-new"):
        pass
    assert purge_job_runs_now(app) >= 1
    names = set(db.session.scalars(sa.select(JobRun.job)))
    assert "test-old" not in names and "test-new" in names
    assert purge_job_runs_now(app) == 0
    assert last_run("purge-job-runs").counts == {"purged": 0, "abandoned": 0}


def test_a_run_left_running_by_a_killed_worker_is_closed_hours_later(app, at):
    at(datetime(2027, 1, 14, 9, tzinfo=UTC))
    left = JobRun(id=uuid.uuid4(), job="test-killed", started_at=clock.now(app), outcome="running", counts={})
    db.session.add(left)
    db.session.flush()
    at(datetime(2027, 1, 14, 14, tzinfo=UTC))
    purge_job_runs_now(app)
    assert db.session.get(JobRun, left.id).outcome == "running"  # five hours: it may still run
    at(datetime(2027, 1, 14, 15, 1, tzinfo=UTC))
    purge_job_runs_now(app)
    db.session.expire_all()
    row = db.session.get(JobRun, left.id)
    assert row.outcome == "failed" and row.error.startswith("abandoned")
    assert last_run("purge-job-runs").counts["abandoned"] == 1


def test_the_session_and_notification_purges_are_recorded(app, own_queue):
    from regional_loket.accounts.jobs import purge_sessions_and_tokens
    from regional_loket.notifications.jobs import purge_old_notifications

    purge_sessions_and_tokens()
    purge_old_notifications()
    assert set(last_run("purge-sessions").counts) == {"sessions", "tokens", "throttles"}
    assert last_run("purge-sessions").outcome == "ok"
    assert set(last_run("purge-notifications").counts) == {"purged"}


def test_flask_jobs_runs_lists_newest_first_with_filters(app, runner, at):
    for minute, (job, slug, fail) in enumerate([("test-a", "herent", False), ("test-b", "tienen", True),
                                                ("test-a", "tienen", False)]):
        at(datetime(2027, 1, 14, 9, minute, tzinfo=UTC))
        try:
            with runs.recorded(app, job, tenant_slug=slug) as run:
                run.count("done", minute)
                if fail:
                    raise ValueError("a very long error " * 10)
        except ValueError:
            pass
    at(None)
    result = runner.invoke(args=["jobs", "runs", "--job", "test-a"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["started", "job", "tenant", "outcome", "took", "counts", "error"]
    assert [line.split()[3] for line in lines[1:]] == ["tienen", "herent"]  # newest first
    assert "10:02:00" in lines[1] and "done=2" in lines[1]  # in the region's time (CET)
    failed = runner.invoke(args=["jobs", "runs", "--failed"]).output
    assert "test-b" in failed and "test-a" not in failed and "ValueError: a very long error" in failed
    assert "…" in failed
    assert len(runner.invoke(args=["jobs", "runs", "--tenant", "tienen", "--limit", "1"]).output.splitlines()) == 3
    assert runner.invoke(args=["jobs", "runs", "--job", "nothing-ran"]).output == "no runs\n"
    assert runner.invoke(args=["jobs", "runs", "--limit", "0"]).exit_code == 2
