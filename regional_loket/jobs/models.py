"""The record of every run of a scheduled or background job (``shared.job_runs``).

Written outside the job's own transaction (``runs.recorded``), so a job that fails and rolls
back still leaves its run, with the error, for the administrators' health page and
``flask jobs runs``."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..database import SHARED_SCHEMA, UUIDKey
from ..extensions import db


class RunOutcome(enum.StrEnum):
    RUNNING = "running"  # started, not finished (a killed worker leaves it so; rq runs it again)
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to do by design: an archived tenant, a malformed argument


class JobRun(UUIDKey, db.Model):
    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint("outcome IN ('running', 'ok', 'failed', 'skipped')", name="outcome"),
        # "the last run of every job" and the list filtered by job, newest first
        Index("ix_job_runs_job_started_at", "job", "started_at"),
        Index("ix_job_runs_started_at", "started_at"),
        {"schema": SHARED_SCHEMA},
    )

    job: Mapped[str] = mapped_column(String(80))
    # A slug, not a key: a run outlives an archived or removed municipality.
    tenant_slug: Mapped[str | None] = mapped_column(String(40))
    rq_job_id: Mapped[str | None] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(10), default=RunOutcome.RUNNING)
    # What the run did, as counts only ("reminded": 3): never names or addresses.
    counts: Mapped[dict] = mapped_column(JSONB, default=dict)
    error: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<JobRun {self.job} {self.tenant_slug or '-'} {self.outcome}>"
