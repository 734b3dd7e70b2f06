"""Background work on rq and Redis: the queue, best-effort enqueueing, the worker and the
scheduler (``flask worker``, ``flask scheduler``).

Redis is a delivery accelerator, never the record of what must happen: whatever must not be
lost is written to PostgreSQL first (the notification outbox) and a periodic relay job
re-enqueues it. So :func:`enqueue` may fail without failing the web request that called it.

Domains register their periodic jobs with :func:`register_periodic` in their ``init_app``; the
single ``flask scheduler`` process enqueues them every interval.

Every run of a job is recorded in ``shared.job_runs`` (:func:`recorded`, ``jobs/runs.py``):
job, municipality, start, end, outcome, counts, error.

What monitoring reads (``observability``): the scheduler writes a heartbeat to Redis every round
(:func:`record_heartbeat`), and every periodic job that finishes records when it last succeeded
(:func:`last_successes`), whether the scheduler enqueued it or a worker ran it at start-up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import click
import redis
from flask import Flask, current_app, has_request_context
from flask.cli import with_appcontext
from rq import Callback, Queue, SimpleWorker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from .runs import Run, recorded

__all__ = ["EXTENSION", "REDIS_DOWN", "Run", "enqueue", "enqueue_periodic", "init_app", "job_app", "last_successes",
           "periodic_job_ids", "queue", "record_heartbeat", "record_success", "recorded", "redis_connection",
           "register_periodic", "scheduler_command", "scheduler_heartbeat", "set_job_app", "worker_command"]

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


@dataclass
class _State:
    connection: redis.Redis | None = None
    # time.monotonic() until which enqueue does not ask Redis again (see REDIS_RETRY_AFTER).
    down_until: float = 0.0
    periodic: list[tuple[str, Callable]] = field(default_factory=list)
    at_worker_start: list[Callable] = field(default_factory=list)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = _State()
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)


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


def enqueue(app: Flask, func, *args, job_id: str | None = None, **kwargs) -> bool:
    """Enqueue ``func(*args, **kwargs)`` on the app's queue; rq options (``ttl``,
    ``result_ttl``, ``job_timeout`` …) pass through ``kwargs``.

    Best effort: when Redis is unreachable, log a warning and return False; the caller's work
    must already be safe in PostgreSQL. With a ``job_id``, a job of that id still waiting in
    the queue is not enqueued twice (the relay and the post-commit hook may both try).
    """
    name = getattr(func, "__name__", str(func))
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


def register_periodic(app: Flask, func: Callable, *, at_worker_start: bool = False, every: float = 0) -> None:
    """Let ``flask scheduler`` enqueue ``func()`` every round, or at most once per ``every``
    seconds; with ``at_worker_start`` each ``flask worker`` also runs it once when it starts
    (catching up after downtime)."""
    state = _state(app)
    state.periodic.append((f"periodic-{func.__name__}", func, every))
    if at_worker_start:
        state.at_worker_start.append(func)


def periodic_job_ids(app: Flask) -> list[str]:
    """The job id of every registered periodic job (what monitoring expects to see succeed)."""
    return [job_id for job_id, _, _ in _state(app).periodic]


def enqueue_periodic(app: Flask, *, last_run: dict | None = None, now: float | None = None) -> bool:
    """One round of the scheduler: enqueue every periodic job that is due (all of them without
    ``last_run``, which the scheduler keeps between rounds). False when Redis is down."""
    for job_id, func, every in _state(app).periodic:
        if last_run is not None and now - last_run.get(job_id, float("-inf")) < every:
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
        worker.work(burst=burst, logging_level=log_level)
    except REDIS_DOWN as exc:
        raise click.ClickException(f"Redis unreachable: {exc}") from exc
    finally:
        connection.close()


@click.command("scheduler")
@click.option("--interval", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds between two rounds.")
@click.option("--once", is_flag=True, help="Enqueue the periodic jobs once and exit.")
@with_appcontext
def scheduler_command(interval: float, once: bool) -> None:
    """Enqueue the periodic jobs every interval. Run exactly one of these per deployment."""
    app = current_app._get_current_object()
    names = ", ".join(job_id for job_id, _, _ in _state(app).periodic) or "none"
    click.echo(f"scheduler: every {interval:g} s: {names}")
    last_run: dict[str, float] = {}
    while True:
        started = time.monotonic()
        if not enqueue_periodic(app, last_run=last_run, now=started):
            # Keep looping: the jobs' work is in PostgreSQL and waits for Redis to return.
            click.echo("warning: Redis unreachable, periodic jobs not enqueued this round", err=True)
        else:
            record_heartbeat(app)
        if once:
            return
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
