"""What region administration keeps of its own: a municipality's provisioning request, from the
form to the finished (or failed) job (``shared.tenant_provisionings``)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..database import SHARED_SCHEMA, Timestamps, UUIDKey
from ..extensions import db


class ProvisioningStatus(enum.StrEnum):
    PENDING = "pending"  # asked for, waiting for (or in) its job
    RUNNING = "running"  # reserved: progress itself is in Redis (provisioning.progress)
    DONE = "done"
    FAILED = "failed"  # nothing was made; ``error`` says why; the administrator may retry


class TenantProvisioning(UUIDKey, Timestamps, db.Model):
    """A municipality an administrator asked for, with everything the job needs to build it:
    the job reads this row (never its arguments), so a retry builds exactly what was asked."""

    __tablename__ = "tenant_provisionings"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'running', 'done', 'failed')", name="status"),
        # One unfinished request per slug: a retry reuses the row, a second form is refused.
        Index("ix_tenant_provisionings_open_slug", "slug", unique=True, postgresql_where=text("status <> 'done'")),
        {"schema": SHARED_SCHEMA},
    )

    slug: Mapped[str] = mapped_column(String(40))
    subdomain: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(120))
    nis_code: Mapped[str] = mapped_column(String(5))
    colour: Mapped[str] = mapped_column(String(7))
    domains: Mapped[list] = mapped_column(JSONB, default=list)
    coordinator_email: Mapped[str] = mapped_column(String(254))
    coordinator_language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(10), default=ProvisioningStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="SET NULL"))
    requested_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey(f"{SHARED_SCHEMA}.users.id", ondelete="SET NULL"))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
