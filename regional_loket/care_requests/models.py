"""A request (opvangvraag, schema ``shared``) is the family's one question for one child and
period; each chosen location gets an application (aanvraag, in that municipality's schema),
which the ``applications`` package owns: its states, transitions and history. ``Choice.status``
mirrors the application's status, kept in step by ``services`` through the lifecycle listener.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import SHARED_SCHEMA, Timestamps, UUIDKey
from ..extensions import db


class RequestStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"  # submitted, waiting for answers
    PLACED = "placed"  # a place was accepted
    INACTIVE = "inactive"  # not confirmed in time
    WITHDRAWN = "withdrawn"


# Care plan per ISO weekday: "none", "half" or "full".
DAY_CARE = ("none", "half", "full")


class CareRequest(UUIDKey, Timestamps, db.Model):
    __tablename__ = "requests"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'open', 'placed', 'inactive', 'withdrawn')", name="status"),
        Index("ix_requests_child_id_status", "child_id", "status"),
        # A desk's home and worklists: the open requests of the families living in its postcodes
        # (shared_0024).
        Index("ix_requests_family_id_open", "family_id", postgresql_where=text("status IN ('open', 'inactive')")),
        {"schema": SHARED_SCHEMA},
    )

    family_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.families.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SHARED_SCHEMA}.children.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default=RequestStatus.DRAFT)
    start_date: Mapped[date | None] = mapped_column(Date)
    flexibility_weeks: Mapped[int] = mapped_column(SmallInteger, default=0)
    care_plan: Mapped[dict] = mapped_column(JSONB, default=dict)  # {"1": "full", …, "5": "half"}
    keep_higher_choices: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the family was last reminded to confirm: reminded for the current due period when
    # at or after its reminder window opened (``queries.confirmation_timing``); confirming moves
    # the due date on, so the next period reminds again.
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the request went inactive (not confirmed within the grace period); None while open.
    inactive_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # When the family was told its wanted start approaches without an offer (and what the desk
    # can do): once per request. Not the outbox key alone: the outbox is purged after a while.
    start_notice_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    choices: Mapped[list[Choice]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="Choice.rank")


class Choice(UUIDKey, db.Model):
    """A chosen location, ranked; its application lives in the location's municipality."""

    __tablename__ = "choices"
    __table_args__ = (
        UniqueConstraint("request_id", "location_id"),
        UniqueConstraint("application_id"),
        {"schema": SHARED_SCHEMA},
    )

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.requests.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(SmallInteger)
    # indexed: a desk's worklists and home start from the choices made in its municipality
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="CASCADE"),
                                                 index=True)
    location_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    application_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Mirrors the application's status so the family's overview is one query.
    status: Mapped[str | None] = mapped_column(String(12))

    request: Mapped[CareRequest] = relationship(back_populates="choices")
