"""The platform's health at a glance, for the region's administrators (``/beheer/regio/gezondheid``):
the queue and its failed jobs (each with a retry button), mail not delivered, the last run of
every periodic job (late ones flagged), the scheduler's heartbeat, every municipality's schema
version against the code's head (and a button that runs ``migrate-all`` as a job, with its
progress), PostgreSQL and Redis reachability, and the catalog drift alert.

Redis is optional here: when it is down the page still renders from PostgreSQL and says so
(the queue, the heartbeat and the migration's progress live in Redis). Both buttons are audited
in the region's own log (``audit.record`` with no tenant): they belong to no one municipality.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from babel.dates import get_day_names
from flask import Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import text

from .. import clock, jobs
from ..accounts import Role, require
from ..accounts.forms import ConfirmForm
from ..audit import record
from ..catalog.jobs import DRIFT_CHECK
from ..database import SHARED_SCHEMA
from ..extensions import db
from ..jobs.runs import last_runs, list_runs
from ..notifications.services import outbox_backlog, overdue_count
from ..tenancy import migrate as migrations
from ..tenancy import schema_for
from ..tenancy import services as tenancy_services
from ..tenancy import versions as tenancy_versions
from ..tenancy.resolver import SLUG_RE
from .views import bp

FAILED_SHOWN = 25
RECENT_FAILED_RUNS = 10
# rq job ids: ours (periodic-…, expire-offers-<slug>, deliver-<uuid>) and rq's own uuids.
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,120}$")
# A pending mail older than this should have gone out (the relay retries every round).
MAIL_OVERDUE_AFTER = timedelta(minutes=15)
# A periodic job is late once its run is this much overdue (rq's retries take 12.5 minutes).
LATE_GRACE = 15 * 60
RELAY_GRACE = 5 * 60  # the jobs enqueued every round
MIGRATION = "migrate-all"
MIGRATION_JOB_TIMEOUT = 3600
MIGRATION_LINES = 40
MIGRATION_KEPT = 7 * 24 * 3600  # the last migration's progress is shown for a week
REFRESH_SECONDS = 5


# --- what the page shows ---------------------------------------------------------------------


@dataclass
class FailedJob:
    id: str
    func: str
    args: str
    ended_at: datetime | None
    error: str


@dataclass
class Queue:
    up: bool
    queued: int = 0
    started: int = 0
    scheduled: int = 0  # waiting for a retry
    failed_count: int = 0
    failed: list[FailedJob] = field(default_factory=list)
    heartbeat: float | None = None
    scheduler_holder: str | None = None
    successes: dict = field(default_factory=dict)
    migration: dict | None = None
    error: str | None = None


@dataclass
class PeriodicRow:
    job_id: str
    name: str
    schedule: jobs.Schedule
    run: object | None  # the last JobRun of its name
    last_success: datetime | None
    late: bool


def _progress_key(app: Flask) -> str:
    return f"loket:{app.config['JOBS_QUEUE']}:{MIGRATION}"


def _last_line(text_: str | None) -> str:
    lines = [line for line in (text_ or "").strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "")[:300]


def read_queue(app: Flask) -> Queue:
    """Everything the page reads from Redis, or ``up=False`` (and nothing else) when it is down."""
    try:
        q = jobs.queue(app)
        connection = q.connection
        connection.ping()
        registry = FailedJobRegistry(queue=q)
        ids = registry.get_job_ids(0, FAILED_SHOWN - 1, desc=True)
        failed = []
        for job in Job.fetch_many(ids, connection=connection):
            if job is None:
                continue
            result = job.latest_result()
            failed.append(FailedJob(
                id=job.id, func=(job.func_name or "?").rpartition(".")[2],
                args=", ".join(repr(a) for a in job.args)[:80] if job.args else "",
                ended_at=job.ended_at.replace(tzinfo=UTC) if job.ended_at and job.ended_at.tzinfo is None
                else job.ended_at,
                error=_last_line(result.exc_string if result is not None else None)))
        holder = connection.get(f"loket:{app.config['JOBS_QUEUE']}:scheduler-lock")
        stored = connection.hgetall(_progress_key(app))
        migration = {k.decode(): v.decode() for k, v in stored.items()} or None
        if migration is not None:
            migration["lines"] = json.loads(migration.get("lines") or "[]")
        return Queue(up=True, queued=q.count, started=StartedJobRegistry(queue=q).count,
                     scheduled=ScheduledJobRegistry(queue=q).count, failed_count=registry.count, failed=failed,
                     heartbeat=jobs.scheduler_heartbeat(app), scheduler_holder=holder.decode() if holder else None,
                     successes=jobs.last_successes(app), migration=migration)
    except jobs.REDIS_DOWN as exc:
        return Queue(up=False, error=type(exc).__name__)


def _stamp(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def periodic_rows(app: Flask, queue: Queue, last: dict, now: datetime) -> list[PeriodicRow]:
    """Every registered periodic job with its last recorded run and whether it is late. The
    last success comes from Redis (each periodic job's rq callback); without Redis, from the
    last run when it went well."""
    zone = clock.region_zone(app)
    rows = []
    for job in jobs.periodic_jobs(app):
        run = last.get(job.name)
        success = queue.successes.get(job.job_id) if queue.up else None
        if success is None and run is not None and run.outcome in ("ok", "skipped") and run.finished_at:
            success = run.finished_at.timestamp()
        grace = RELAY_GRACE if job.schedule.at is None and job.schedule.every == 0 else LATE_GRACE
        rows.append(PeriodicRow(job.job_id, job.name, job.schedule, run, _stamp(success),
                                job.schedule.late(success, now.timestamp(), zone, grace=grace)))
    return rows


@dataclass
class SchemaRow:
    slug: str
    name: str
    archived: bool
    version: str | None
    at_head: bool


def schema_rows(app: Flask, session) -> tuple[str, str | None, list[SchemaRow]]:
    """(tenant head, shared version, one row per municipality): every version in one query, or
    none while the worker keeps a recent answer with nobody behind (``tenancy.versions``, shared
    with /readyz); one with a municipality behind is read again at every visit."""
    track = app.config.get("TENANT_MIGRATIONS") or migrations.TENANT_TRACK
    head = migrations.head(track)
    shared = session.execute(text(f"SELECT version_num FROM {SHARED_SCHEMA}.{migrations.VERSION_TABLE}")).scalar()  # noqa: S608  # nosec B608: schema and table names are constants
    tenants = tenancy_services.list_tenants(session)
    versions = tenancy_versions.version_cache(app).read(
        session.connection(), [schema_for(t.slug) for t in tenants], track).versions
    rows = [SchemaRow(t.slug, t.name, t.is_archived, versions.get(schema_for(t.slug)),
                      versions.get(schema_for(t.slug)) == head) for t in tenants]
    return head, shared, rows


def database_up(session) -> bool:
    try:
        session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 — any failure means "not reachable", shown as such
        session.rollback()
        return False
    return True


# --- the page --------------------------------------------------------------------------------


@bp.route("/gezondheid")
@require(Role.ADMIN)
def health():
    app = current_app._get_current_object()
    now = clock.now(app)
    queue = read_queue(app)
    runs_by_job = last_runs(db.session)
    backlog = outbox_backlog(db.session)
    head, shared_version, schemas = schema_rows(app, db.session)
    drift = runs_by_job.get(DRIFT_CHECK)
    heartbeat_age = (now.timestamp() - queue.heartbeat) if queue.heartbeat is not None else None
    migration = queue.migration
    return render_template(
        "admin/health.html", now=now, queue=queue, database=database_up(db.session),
        mail={"pending": backlog.pending, "failed": backlog.failed,
              "overdue": overdue_count(db.session, before=now - MAIL_OVERDUE_AFTER),
              "oldest_minutes": int(backlog.oldest_pending_seconds // 60)},
        mail_overdue_minutes=int(MAIL_OVERDUE_AFTER.total_seconds() // 60),
        periodic=periodic_rows(app, queue, runs_by_job, now),
        failed_runs=list_runs(db.session, outcome="failed", limit=RECENT_FAILED_RUNS)[0],
        heartbeat_age=heartbeat_age,
        scheduler_stale=heartbeat_age is None or heartbeat_age > app.config["SCHEDULER_HEARTBEAT_MAX_AGE"],
        head=head, shared_version=shared_version, schemas=schemas,
        behind=[row for row in schemas if not row.at_head and not row.archived],
        drift=drift, drifted=int((drift.counts or {}).get("drifted", 0)) if drift is not None else 0,
        migration=migration,
        refresh=REFRESH_SECONDS if migration and migration.get("state") in ("queued", "running") else None,
        day_names=get_day_names("wide", locale=get_locale()), confirm=ConfirmForm())


def _audit(action: str, subject, *, tenant_slug: str | None = None, **detail) -> None:
    """A regional change: the region's log, by the signed-in administrator, from this host."""
    record(db.session, None, actor_id=current_user.id, actor_role=Role.ADMIN.value, kind="change",
           action=action, subject=subject, host=request.host, detail=detail, now=clock.now())


@bp.route("/gezondheid/taken/<job_id>/opnieuw", methods=["POST"])
@require(Role.ADMIN)
def retry_job(job_id: str):
    """Put one failed job back on the queue (rq's failed registry; it keeps no retries left)."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("admin.health"))
    app = current_app._get_current_object()
    if not JOB_ID_RE.match(job_id):
        flash(_("Deze taak staat niet (meer) bij de mislukte taken."), "error")
        return redirect(url_for("admin.health"))
    try:
        q = jobs.queue(app)
        job = Job.fetch(job_id, connection=q.connection)
        FailedJobRegistry(queue=q).requeue(job)
    except (NoSuchJobError, InvalidJobOperation):
        flash(_("Deze taak staat niet (meer) bij de mislukte taken."), "error")
        return redirect(url_for("admin.health"))
    except jobs.REDIS_DOWN:
        flash(_("Redis is niet bereikbaar; probeer het later opnieuw."), "error")
        return redirect(url_for("admin.health"))
    slug = job.args[0] if job.args and isinstance(job.args[0], str) and SLUG_RE.match(job.args[0]) else None
    _audit("jobs.retry", job_id, function=(job.func_name or "?").rpartition(".")[2], tenant=slug)
    db.session.commit()
    flash(_("De taak staat weer in de wachtrij."), "success")
    return redirect(url_for("admin.health"))


@bp.route("/gezondheid/migraties", methods=["POST"])
@require(Role.ADMIN)
def migrate_all():
    """Run ``flask tenants migrate`` as a job; its progress shows on the page."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("admin.health"))
    app = current_app._get_current_object()
    progress = Progress(app)
    try:
        running = progress.read().get("state") in ("queued", "running")
        if not running:
            progress.start(by=str(current_user.id), now=clock.now(app))
    except jobs.REDIS_DOWN:
        flash(_("Redis is niet bereikbaar; probeer het later opnieuw."), "error")
        return redirect(url_for("admin.health"))
    if running:
        flash(_("De migraties lopen al."), "error")
        return redirect(url_for("admin.health"))
    # No automatic retries: a migration that fails is shown with its cause; an administrator
    # decides to run it again (it is idempotent).
    if not jobs.enqueue(app, run_migrations, job_id=MIGRATION, job_timeout=MIGRATION_JOB_TIMEOUT,
                        result_ttl=3600, retry=None):
        progress.finish("failed", now=clock.now(app), error="redis")
        flash(_("Redis is niet bereikbaar; probeer het later opnieuw."), "error")
        return redirect(url_for("admin.health"))
    _audit("tenants.migrate_all", MIGRATION)
    db.session.commit()
    flash(_("De migraties zijn gestart."), "success")
    return redirect(url_for("admin.health"))


# --- migrate-all as a job, with its progress in Redis -----------------------------------------


class Progress:
    """The last migrate-all's progress: one Redis hash (state, counts, the report's last lines).
    Written best effort by the job: a Redis hiccup never fails a migration."""

    def __init__(self, app: Flask):
        self.app = app
        self.key = _progress_key(app)
        self.lines: list[str] = []

    def _connection(self):
        return jobs.redis_connection(self.app)

    def read(self) -> dict:
        return {k.decode(): v.decode() for k, v in self._connection().hgetall(self.key).items()}

    def start(self, *, by: str, now: datetime) -> None:
        connection = self._connection()
        with connection.pipeline() as pipe:
            pipe.delete(self.key)
            pipe.hset(self.key, mapping={"state": "queued", "by": by, "requested_at": now.isoformat(),
                                         "done": 0, "total": 0, "failed": 0, "lines": "[]"})
            pipe.expire(self.key, MIGRATION_KEPT)
            pipe.execute()

    def _write(self, **values) -> None:
        try:
            connection = self._connection()
            connection.hset(self.key, mapping={k: str(v) for k, v in values.items()})
            connection.expire(self.key, MIGRATION_KEPT)
        except jobs.REDIS_DOWN:
            pass

    def running(self, *, now: datetime) -> None:
        self._write(state="running", started_at=now.isoformat())

    def line(self, line: str) -> None:
        """One line of ``migrate_all``'s report: "[3/18] herent: …" moves the counter;
        "tenants: 18, at head …, to upgrade: 5" sets the total."""
        self.lines = (self.lines + [line[:300]])[-MIGRATION_LINES:]
        values = {"lines": json.dumps(self.lines)}
        if match := re.match(r"^\[(\d+)/(\d+)\]", line):
            values.update(done=match[1], total=match[2])
            if "FAILED" in line:
                values["failed"] = sum("FAILED" in x for x in self.lines)
        elif match := re.search(r"to upgrade: (\d+)", line):
            values["total"] = match[1]
        self._write(**values)

    def finish(self, state: str, *, now: datetime, error: str | None = None) -> None:
        self._write(state=state, finished_at=now.isoformat(), **({"error": error} if error else {}))


def run_migrations() -> int:
    """The job: upgrade ``shared`` and every municipality behind (``tenancy.migrate``)."""
    return run_migrations_now(jobs.job_app())


def run_migrations_now(app: Flask) -> int:
    progress = Progress(app)
    with app.app_context(), jobs.recorded(app, MIGRATION) as run:
        progress.running(now=clock.now(app))
        started = time.monotonic()
        try:
            report = migrations.migrate_all(
                db.engine, parallel=1, report=progress.line,
                tenant_location=app.config.get("TENANT_MIGRATIONS") or migrations.TENANT_TRACK,
                shared_location=app.config.get("SHARED_MIGRATIONS") or migrations.SHARED_TRACK)
        except Exception as exc:
            progress.finish("failed", now=clock.now(app), error=type(exc).__name__)
            raise
        run.count("tenants", len(report.outcomes))
        run.count("upgraded", len(report.upgraded))
        run.count("failed", len(report.failed))
        progress.finish("failed" if report.failed else "done", now=clock.now(app))
        progress.line(f"done in {time.monotonic() - started:.1f} s: {len(report.upgraded)} upgraded, "
                      f"{len(report.failed)} failed")
        if report.failed:
            # A failed run, and a failed job with its retry button: the cause is in the lines.
            raise MigrationFailed("migration failed for " + ", ".join(o.slug for o in report.failed))
        return len(report.upgraded)


class MigrationFailed(RuntimeError):
    pass
