"""The tenant-side application (aanvraag) and its history, in each municipality's schema; and
the region's priority policies (schema ``shared``), which rank the waiting applications.

An application is one choice of a family's request (``care_requests``) at one location. Its
states and who may move it between them are data: ``lifecycle.TRANSITIONS``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import SHARED_SCHEMA, TENANT_PLACEHOLDER, Timestamps, UUIDKey, utcnow
from ..extensions import db
from .vocabulary import EventKind, Status


class Application(UUIDKey, Timestamps, db.Model):
    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint(
            "status IN ('submitted', 'in_review', 'waitlisted', 'offered', 'accepted', 'declined', "
            "'expired', 'rejected', 'withdrawn')", name="status"),
        # Covering what the desk's home counts per location (open, overdue), so they are read
        # from the index alone (tenant_0009).
        Index("ix_applications_location_id_status", "location_id", "status",
              postgresql_include=["paused_at", "submitted_at", "id"]),
        {"schema": TENANT_PLACEHOLDER},
    )

    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)  # shared row, no FK across schemas
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{TENANT_PLACEHOLDER}.locations.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(SmallInteger)  # the family's rank of this choice
    status: Mapped[str] = mapped_column(String(12), default=Status.SUBMITTED)
    # What this provider needs to decide, and nothing more (no national number, no other choices).
    snapshot: Mapped[dict] = mapped_column(JSONB)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    start_month: Mapped[date] = mapped_column(Date)  # first day of the wanted start month
    age_group: Mapped[str] = mapped_column(String(8))  # at the wanted start
    offer_deadline: Mapped[date | None] = mapped_column(Date)
    # The free place an offer holds: month and age group of availability.
    held_month: Mapped[date | None] = mapped_column(Date)
    held_age_group: Mapped[str | None] = mapped_column(String(8))
    reject_reason: Mapped[str | None] = mapped_column(String(40))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Staff's marks for the location's own priority criteria: {"staff_child": true}.
    flags: Mapped[dict] = mapped_column(JSONB, default=dict)
    # Set while the family's request is inactive (not confirmed in time): out of the ranked
    # lists, shown to staff as paused, never deleted; cleared when the family confirms, and
    # ``submitted_at`` is untouched, so the application returns at its original place.
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Optimistic lock: a page acting on version N fails cleanly if someone acted first.
    version: Mapped[int] = mapped_column(Integer, default=1)

    events: Mapped[list[ApplicationEvent]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="ApplicationEvent.at")

    __mapper_args__ = {"version_id_col": version}


class ApplicationEvent(UUIDKey, db.Model):
    """Everything that happened to an application: the history and the family's timeline."""

    __tablename__ = "application_events"
    __table_args__ = {"schema": TENANT_PLACEHOLDER}

    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{TENANT_PLACEHOLDER}.applications.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # shared user id, no FK
    actor_role: Mapped[str] = mapped_column(String(20))  # family | provider | system | referrer
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    text: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSONB, default=dict)

    application: Mapped[Application] = relationship(back_populates="events")

    @property
    def visible_to_family(self) -> bool:
        return self.kind != EventKind.NOTE


class PriorityPolicy(UUIDKey, db.Model):
    """One version of a priority policy, in force from ``effective_from`` to ``effective_until``
    (inclusive; None = open-ended). ``criteria`` is ordered: meeting an earlier criterion ranks
    first; ties go to ``tie_break``."""

    __tablename__ = "priority_policies"
    __table_args__ = {"schema": SHARED_SCHEMA}

    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[dict] = mapped_column(JSONB)  # {"nl": …, "fr": …, "en": …}
    effective_from: Mapped[date] = mapped_column(Date)
    effective_until: Mapped[date | None] = mapped_column(Date)
    criteria: Mapped[list[str]] = mapped_column(JSONB)
    tie_break: Mapped[str] = mapped_column(String(20), default="submitted_at")
    annulled: Mapped[bool] = mapped_column(Boolean, default=False)
