"""Every run of a job recorded: ``with recorded(app, "confirmations", tenant_slug=slug) as run:``
then ``run.count("reminded")`` or ``run.counts["reminded"] = n``; ``run.skip("archived")`` for
a run that has nothing to do by design.

The row is written in a session of its own, before and after the work, never in the job's
transaction: a job that raises and rolls back still leaves its run with the error (then the
exception goes on, so rq's retries and failed-job registry see it). A worker killed mid-job
leaves the row ``running``; rq runs the job again and that run gets a row of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from .. import clock
from ..extensions import db
from .models import JobRun, RunOutcome

__all__ = ["ABANDONED_AFTER", "JobRun", "Run", "RunOutcome", "close_abandoned", "last_runs", "list_runs", "purge_runs",
           "recorded", "retention"]

ERROR_CHARS = 2000
# A run still "running" this long after it started lost its worker (the longest job, migrate-all,
# times out after an hour): it is closed as failed, so the record stops saying it runs.
ABANDONED_AFTER = timedelta(hours=6)
ABANDONED = "abandoned: its worker stopped before the run ended (rq ran the job again)"


@dataclass
class Run:
    id: uuid.UUID
    job: str
    tenant_slug: str | None
    counts: dict = field(default_factory=dict)
    skipped: str | None = None

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def skip(self, reason: str) -> None:
        """Mark the run skipped (e.g. "archived", "bad-argument"); the job then returns."""
        self.skipped = reason


def _own_session() -> Session:
    # The bind the app's session uses (the engine; in tests the test's connection, through a
    # savepoint), but a session of its own: the job's rollback never takes the record with it.
    return Session(bind=db.session.get_bind(), join_transaction_mode="create_savepoint")


def _rq_job_id() -> str | None:
    try:
        from rq import get_current_job

        job = get_current_job()
    except Exception:  # noqa: BLE001 — outside a worker there is no current job
        return None
    return job.id if job is not None else None


@contextmanager
def recorded(app: Flask, job: str, *, tenant_slug: str | None = None) -> Iterator[Run]:
    """Record one run of ``job`` (for ``tenant_slug``, if a municipality's) around the block.
    Needs an app context (the job's own)."""
    with _own_session() as session:
        row = JobRun(job=job, tenant_slug=tenant_slug, rq_job_id=_rq_job_id(),
                     started_at=clock.now(app), outcome=RunOutcome.RUNNING, counts={})
        session.add(row)
        session.commit()
        run = Run(id=row.id, job=job, tenant_slug=tenant_slug)
    try:
        yield run
    except BaseException as exc:
        _finish(app, run, RunOutcome.FAILED, error=f"{type(exc).__name__}: {exc}"[:ERROR_CHARS])
        raise
    _finish(app, run, RunOutcome.SKIPPED if run.skipped else RunOutcome.OK,
            error=run.skipped)


def _finish(app: Flask, run: Run, outcome: RunOutcome, *, error: str | None) -> None:
    with _own_session() as session:
        session.execute(update(JobRun).where(JobRun.id == run.id).values(
            finished_at=clock.now(app), outcome=outcome, counts=dict(run.counts), error=error))
        session.commit()


def list_runs(session: Session, *, job: str | None = None, tenant_slug: str | None = None,
              outcome: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[JobRun], int]:
    """Runs newest first, filtered; and how many match."""
    query = select(JobRun)
    if job:
        query = query.where(JobRun.job == job)
    if tenant_slug:
        query = query.where(JobRun.tenant_slug == tenant_slug)
    if outcome:
        query = query.where(JobRun.outcome == outcome)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(JobRun.started_at.desc(), JobRun.id).limit(limit).offset(offset)).all()
    return list(rows), total or 0


def last_runs(session: Session) -> dict[str, JobRun]:
    """Job name → its most recent run (any tenant): one statement."""
    rows = session.scalars(
        select(JobRun).distinct(JobRun.job).order_by(JobRun.job, JobRun.started_at.desc())
    ).all()
    return {row.job: row for row in rows}


def purge_runs(session: Session, *, before: datetime) -> int:
    return session.execute(delete(JobRun).where(JobRun.started_at < before)).rowcount


def close_abandoned(session: Session, *, now: datetime) -> int:
    """Runs left ``running`` by a killed worker, older than ``ABANDONED_AFTER``, become failed."""
    return session.execute(update(JobRun).where(
        JobRun.outcome == RunOutcome.RUNNING, JobRun.started_at < now - ABANDONED_AFTER,
    ).values(outcome=RunOutcome.FAILED, finished_at=now, error=ABANDONED)).rowcount


def retention(app: Flask) -> timedelta:
    return timedelta(days=int(app.config.get("JOB_RUN_RETENTION_DAYS", 90)))
