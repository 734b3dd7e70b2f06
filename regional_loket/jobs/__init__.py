"""Background work on rq and Redis: the queue, best-effort enqueueing, the worker and the
scheduler (``flask worker``, ``flask scheduler``).

Redis is a delivery accelerator, never the record of what must happen: whatever must not be
lost is written to PostgreSQL first (the notification outbox) and a periodic relay job
re-enqueues it. So :func:`enqueue` may fail without failing the web request that called it.

Domains register their periodic jobs with :func:`register_periodic` in their ``init_app``: every
``every`` seconds, or daily / weekly at a wall-clock time of the region (``schedule.py``). The
single ``flask scheduler`` process enqueues them; it holds a lock in Redis, so a second one
started by mistake only waits (``SchedulerLock``), and it keeps when it last enqueued each job
in Redis, so a restarted scheduler does not run a daily job a second time that day. A job's id
is ``periodic-<function>``, and a job still waiting is never enqueued twice.

Every job is enqueued with rq's :class:`~rq.Retry` (``RETRY_INTERVALS``): a job that raises is
run again later, and a job whose worker was killed (rq's abandoned-job handling) too. Workers
run rq's own scheduler for those delayed retries (``with_scheduler``).

Every run of a job is recorded in ``shared.job_runs`` (:func:`recorded`, ``jobs/runs.py``):
job, municipality, start, end, outcome, counts, error.

What monitoring reads (``observability``): the scheduler writes a heartbeat to Redis every round
(:func:`record_heartbeat`), and every periodic job that finishes records when it last succeeded
(:func:`last_successes`), whether the scheduler enqueued it or a worker ran it at start-up.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import click
import redis
from flask import Flask, current_app, has_request_context
from flask.cli import with_appcontext
from rq import Callback, Queue, Retry, SimpleWorker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from .. import clock
from .runs import Run, recorded
from .schedule import Schedule
from .tenants import fan_out, tenant_run

__all__ = ["EXTENSION", "REDIS_DOWN", "RETRY_INTERVALS", "Periodic", "Run", "Schedule", "SchedulerLock", "enqueue",
           "enqueue_periodic", "fan_out", "init_app", "job_app", "last_enqueued", "last_successes", "periodic_job_ids",
           "periodic_jobs", "queue", "record_heartbeat", "record_success", "recorded", "redis_connection",
           "register_periodic", "retry_policy", "scheduler_command", "scheduler_heartbeat", "set_job_app",
           "tenant_run", "worker_command"]

log = logging.getLogger(__name__)

EXTENSION = "loket.jobs"
# The exceptions that mean "Redis is not there right now"; anything else is a bug and raises.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# The shared client's timeouts (seconds). A healthy Redis answers in a millisecond; a hung one
# (it accepts connections and never answers: a stopped process, a black-holing firewall) must
# cost a request no more than this, then it is treated exactly like a dead one.
REDIS_CONNECT_TIMEOUT = 1.0
REDIS_SOCKET_TIMEOUT = 2.0
# After Redis failed, :func:`enqueue` called from a web request does not ask it again in this
# process for this long: else every request that enqueues would wait out a hung Redis's
# timeout once more. The work is in PostgreSQL; the relay enqueues it once Redis answers (jobs
# and commands always ask: they are not serving anyone, and the relay must see Redis return).
REDIS_RETRY_AFTER = 10.0


# rq's Retry for every job: run again 30 s, 2 min and 10 min after a failure (or after the
# worker running it died), then it stays in the failed registry, for the health page's button.
RETRY_INTERVALS = (30, 120, 600)


@dataclass(frozen=True)
class Periodic:
    """A registered periodic job: its rq job id, the function, when it is due, and the name its
    runs are recorded under in ``job_runs`` (the health page shows that name's last run)."""

    job_id: str
    func: Callable
    schedule: Schedule
    name: str


@dataclass
class _State:
    connection: redis.Redis | None = None
    # (job id, function, every): kept as it was for the code that reads it; the schedule of each
    # job (every / daily / weekly) is in ``jobs``.
    periodic: list[tuple[str, Callable, float]] = field(default_factory=list)
    jobs: dict[str, Periodic] = field(default_factory=dict)
    # time.monotonic() until which enqueue does not ask Redis again (see REDIS_RETRY_AFTER).
    down_until: float = 0.0
    at_worker_start: list[Callable] = field(default_factory=list)


def init_app(app: Flask) -> None:
    from . import cli

    app.extensions[EXTENSION] = _State()
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(cli.jobs_group)
    # Runs are kept JOB_RUN_RETENTION_DAYS; the purge is a recorded job like any other.
    register_periodic(app, cli.purge_job_runs, daily_at="03:40", name=cli.PURGE_RUNS)


def _state(app: Flask) -> _State:
    return app.extensions[EXTENSION]


def redis_connection(app: Flask) -> redis.Redis:
    """The app's Redis client, one per app (its pool is shared by every request).

    Short timeouts on purpose: a web request that enqueues must not hang when Redis is down
    or hung.
    """
    state = _state(app)
    if state.connection is None:
        state.connection = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
            socket_timeout=REDIS_SOCKET_TIMEOUT,
        )
    return state.connection


def queue(app: Flask) -> Queue:
    return Queue(app.config.get("JOBS_QUEUE") or "loket", connection=redis_connection(app))


def _waiting(q: Queue, job_id: str) -> bool:
    """Whether a job with this id is still waiting in ``q`` (so enqueueing it again would only
    make a duplicate). A started, finished or abandoned job does not count: a worker killed
    mid-job leaves it "started" forever, and it must be possible to run it again."""
    try:
        job = Job.fetch(job_id, connection=q.connection)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) == JobStatus.QUEUED and q.get_job_position(job_id) is not None


def retry_policy() -> Retry:
    """The one retry policy of every job (a new object each time: rq keeps state on it)."""
    return Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS))


def enqueue(app: Flask, func, *args, job_id: str | None = None, **kwargs) -> bool:
    """Enqueue ``func(*args, **kwargs)`` on the app's queue; rq options (``ttl``,
    ``result_ttl``, ``job_timeout``, ``retry`` …) pass through ``kwargs``. Every job is retried
    with back-off (:func:`retry_policy`) unless ``retry`` says otherwise.

    Best effort: when Redis is unreachable, log a warning and return False; the caller's work
    must already be safe in PostgreSQL. With a ``job_id``, a job of that id still waiting in
    the queue is not enqueued twice (the relay and the post-commit hook may both try).
    """
    name = getattr(func, "__name__", str(func))
    kwargs.setdefault("retry", retry_policy())
    state = _state(app)
    if has_request_context() and time.monotonic() < state.down_until:
        app.logger.info("Redis unreachable moments ago, job %s (%s) not enqueued", name, job_id or "-")
        return False
    try:
        q = queue(app)
        if job_id is not None and _waiting(q, job_id):
            return True
        q.enqueue(func, *args, job_id=job_id, **kwargs)
    except REDIS_DOWN as exc:
        state.down_until = time.monotonic() + REDIS_RETRY_AFTER
        app.logger.warning("Redis unreachable, job %s (%s) not enqueued: %s", name, job_id or "-", exc)
        return False
    return True


def register_periodic(app: Flask, func: Callable, *, at_worker_start: bool = False, every: float = 0,
                      daily_at: str | None = None, weekly_on: tuple[int, str] | None = None,
                      name: str | None = None) -> None:
    """Let ``flask scheduler`` enqueue ``func()``:

    - ``every=seconds``: at most once per that many seconds (0: every round);
    - ``daily_at="06:00"``: once a day at that time of the region (``BABEL_DEFAULT_TIMEZONE``);
    - ``weekly_on=(0, "07:00")``: once a week, on that weekday (0 = Monday) at that time.

    A daily or weekly job the scheduler missed (it was down) runs when it is back, once.
    ``at_worker_start``: each ``flask worker`` also runs it once when it starts (catching up
    after downtime). ``name``: what its runs are recorded as (default: the function's name)."""
    schedule = Schedule.parse(every=every, daily_at=daily_at, weekly_on=weekly_on)
    state = _state(app)
    job_id = f"periodic-{func.__name__}"
    state.periodic.append((job_id, func, float(every) if schedule.at is None else 0.0))
    state.jobs[job_id] = Periodic(job_id, func, schedule, name or func.__name__)
    if at_worker_start:
        state.at_worker_start.append(func)


def periodic_job_ids(app: Flask) -> list[str]:
    """The job id of every registered periodic job (what monitoring expects to see succeed)."""
    return [job_id for job_id, _, _ in _state(app).periodic]


def periodic_jobs(app: Flask) -> list[Periodic]:
    return list(_state(app).jobs.values())


def enqueue_periodic(app: Flask, *, last_run: dict | None = None, now: float | None = None) -> bool:
    """One round of the scheduler: enqueue every periodic job that is due (all of them without
    ``last_run``). ``last_run``: job id → when it was last enqueued (epoch seconds), updated
    here; ``now``: epoch seconds (the clock's). False when Redis is down."""
    now = clock.now(app).timestamp() if now is None else now
    zone = clock.region_zone(app)
    for job_id, func, _ in _state(app).periodic:
        schedule = _state(app).jobs[job_id].schedule
        if last_run is not None and not schedule.due(last_run.get(job_id), now, zone):
            continue
        if not enqueue(app, func, job_id=job_id, result_ttl=600, on_success=Callback(record_success)):
            return False
        if last_run is not None:
            last_run[job_id] = now
    return True


# --- what monitoring reads: the scheduler's heartbeat, each periodic job's last success ----
# Wall-clock seconds (not monotonic): they are compared across processes and hosts.


def _key(queue_name: str, what: str) -> str:
    return f"loket:{queue_name}:{what}"


def record_heartbeat(app: Flask, now: float | None = None) -> bool:
    """The scheduler is alive (one key, overwritten every round). False when Redis is down."""
    try:
        redis_connection(app).set(_key(app.config["JOBS_QUEUE"], "scheduler-heartbeat"),
                                  repr(time.time() if now is None else now))
    except REDIS_DOWN:
        return False
    return True


def last_enqueued(app: Flask) -> dict[str, float]:
    """Periodic job id → when the scheduler last enqueued it (kept across restarts, so a daily
    job runs once a day whoever restarts the scheduler). Raises REDIS_DOWN."""
    stored = redis_connection(app).hgetall(_key(app.config["JOBS_QUEUE"], "periodic-last-enqueued"))
    return {name.decode(): float(value) for name, value in stored.items()}


def _save_enqueued(app: Flask, last_run: dict[str, float]) -> None:
    if last_run:
        redis_connection(app).hset(_key(app.config["JOBS_QUEUE"], "periodic-last-enqueued"),
                                   mapping={job_id: repr(at) for job_id, at in last_run.items()})


def scheduler_heartbeat(app: Flask) -> float | None:
    """When the scheduler last completed a round (None: never). Raises REDIS_DOWN."""
    value = redis_connection(app).get(_key(app.config["JOBS_QUEUE"], "scheduler-heartbeat"))
    return float(value) if value is not None else None


def record_success(job: Job, connection: redis.Redis, result, *args, **kwargs) -> None:
    """rq's success callback of every periodic job (it runs in the worker, after the job)."""
    connection.hset(_key(job.origin, "periodic-last-success"), job.id, repr(time.time()))


def last_successes(app: Flask) -> dict[str, float]:
    """Periodic job id → when it last finished without raising. Raises REDIS_DOWN."""
    stored = redis_connection(app).hgetall(_key(app.config["JOBS_QUEUE"], "periodic-last-success"))
    return {name.decode(): float(value) for name, value in stored.items()}


def _run_at_worker_start(app: Flask, func: Callable) -> None:
    func()
    try:
        redis_connection(app).hset(_key(app.config["JOBS_QUEUE"], "periodic-last-success"),
                                   f"periodic-{func.__name__}", repr(time.time()))
    except REDIS_DOWN:
        pass  # the worker itself says so in a moment, when it cannot reach its queue


# --- the app of a job ------------------------------------------------------------------

_job_app: Flask | None = None


def job_app() -> Flask:
    """The Flask app jobs run in: built once per worker process, so each job opens its own app
    context (and database session) on it. Tests and ``flask worker`` inject theirs."""
    global _job_app
    if _job_app is None:
        from .. import create_app

        _job_app = create_app()
    return _job_app


def set_job_app(app: Flask | None) -> None:
    global _job_app
    _job_app = app


# --- commands ----------------------------------------------------------------------------


@click.command("worker")
@click.option("--burst", is_flag=True, help="Quit when the queue is empty.")
@click.option("--queue", "queue_name", default=None, help="Queue to work (default: JOBS_QUEUE).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), help="How much the worker logs.")
@with_appcontext
def worker_command(burst: bool, queue_name: str | None, log_level: str) -> None:
    """Run jobs from the queue (run as many of these as you like)."""
    app = current_app._get_current_object()
    if queue_name:
        app.config["JOBS_QUEUE"] = queue_name
    # Jobs run on this very app: it was built once for this process by the CLI.
    set_job_app(app)
    for func in _state(app).at_worker_start:
        _run_at_worker_start(app, func)
    # A connection of its own: rq raises its socket timeout above the blocking dequeue timeout,
    # which must not leak into the short-timeout client the web requests share. So no socket
    # timeout of ours here: a hung Redis stalls this worker (it has nothing else to do) until
    # rq's own timeout, never a web request.
    connection = redis.Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=5)
    try:
        # SimpleWorker runs each job in this process instead of a forked child: jobs reuse the
        # pooled database connections, and a killed worker takes its job's transaction (and
        # row locks) down with it instead of leaving an orphaned child running.
        worker = SimpleWorker([Queue(app.config["JOBS_QUEUE"], connection=connection)],
                              connection=connection)
        # with_scheduler: rq's own scheduler moves jobs waiting for a retry (RETRY_INTERVALS)
        # back to the queue; rq keeps one such scheduler per queue however many workers run.
        worker.work(burst=burst, logging_level=log_level, with_scheduler=True)
    except REDIS_DOWN as exc:
        raise click.ClickException(f"Redis unreachable: {exc}") from exc
    finally:
        connection.close()


# --- the one scheduler ---------------------------------------------------------------------


class SchedulerLock:
    """Only one ``flask scheduler`` enqueues: it holds ``loket:<queue>:scheduler-lock`` (SET NX
    with an expiry, renewed every round, deleted on exit). A second scheduler finds it taken,
    says so and waits; it takes over when the first is stopped, or its lock expires (a
    scheduler killed with SIGKILL cannot delete it). The value names the holder."""

    # Renew only our own lock / delete only our own lock (never one another scheduler took over).
    _RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, app: Flask, ttl: float):
        self.app = app
        self.key = _key(app.config["JOBS_QUEUE"], "scheduler-lock")
        self.ttl_ms = max(int(ttl * 1000), 1000)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = False

    def acquire(self) -> bool:
        """Take the lock, or renew it when we hold it; False when another scheduler does.
        Raises REDIS_DOWN."""
        connection = redis_connection(self.app)
        if self.held and connection.eval(self._RENEW, 1, self.key, self.token, self.ttl_ms):
            return True
        self.held = bool(connection.set(self.key, self.token, nx=True, px=self.ttl_ms))
        return self.held

    def holder(self) -> str | None:
        value = redis_connection(self.app).get(self.key)
        return value.decode() if value is not None else None

    def release(self) -> None:
        if self.held:
            try:
                redis_connection(self.app).eval(self._RELEASE, 1, self.key, self.token)
            except REDIS_DOWN:
                pass  # it expires by itself
            self.held = False


def _stop_on_sigterm(signum, frame):  # noqa: ARG001
    raise SystemExit(0)  # through the ``finally`` that releases the lock


def scheduler_round(app: Flask, lock: SchedulerLock, last_run: dict[str, float] | None) -> tuple[str, dict | None]:
    """One round: ("enqueued" | "waiting" | "redis-down", the last-run times to keep). The
    last-run times are read from Redis when the lock is (re)taken: another scheduler may have
    run in between."""
    try:
        if not lock.acquire():
            return "waiting", None
        if last_run is None:
            last_run = last_enqueued(app)
        enqueued = enqueue_periodic(app, last_run=last_run, now=clock.now(app).timestamp())
        _save_enqueued(app, last_run)  # a dozen fields: written whole, so a partial round is kept too
        if not enqueued:
            return "redis-down", last_run
    except REDIS_DOWN:
        return "redis-down", last_run
    record_heartbeat(app)
    return "enqueued", last_run


@click.command("scheduler")
@click.option("--interval", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds between two rounds.")
@click.option("--once", is_flag=True, help="Enqueue the periodic jobs that are due once and exit.")
@with_appcontext
def scheduler_command(interval: float, once: bool) -> None:
    """Enqueue the periodic jobs when they are due. Run one per deployment: a second one waits."""
    app = current_app._get_current_object()
    for job in periodic_jobs(app):
        click.echo(f"scheduler: {job.job_id}: {job.schedule.describe()}")
    # The lock outlives a few missed rounds (a slow Redis), never many: a dead scheduler's
    # lock is free again within a minute or three.
    lock = SchedulerLock(app, ttl=max(3 * interval, 60.0))
    previous = None
    last_run: dict[str, float] | None = None
    previous_handler = signal.signal(signal.SIGTERM, _stop_on_sigterm) if threading_main() else None
    try:
        while True:
            started = time.monotonic()
            outcome, last_run = scheduler_round(app, lock, last_run)
            if outcome == "waiting":
                if previous != "waiting":
                    holder = _holder(lock)
                    click.echo(f"scheduler: another scheduler is running ({holder}); this one waits and "
                               "takes over when it stops", err=True)
            elif outcome == "redis-down":
                # Keep looping: the jobs' work is in PostgreSQL and waits for Redis to return.
                click.echo("warning: Redis unreachable, periodic jobs not enqueued this round", err=True)
            elif previous == "waiting":
                click.echo("scheduler: the lock is free, this scheduler now enqueues", err=True)
            previous = outcome
            if once:
                return
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
    finally:
        lock.release()
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)


def _holder(lock: SchedulerLock) -> str:
    try:
        return lock.holder() or "?"
    except REDIS_DOWN:
        return "?"


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
