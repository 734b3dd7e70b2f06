"""A request (opvangvraag, schema ``shared``) is the family's one question for one child and
period; each chosen location gets an application (aanvraag, in that municipality's schema).

Application states::

    submitted → in_review → waitlisted | offered (deadline) → accepted | declined | expired
    rejected (with a reason) · withdrawn (by the family, or when a place elsewhere is accepted)
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
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import SHARED_SCHEMA, TENANT_PLACEHOLDER, Timestamps, UUIDKey, utcnow
from ..extensions import db


class RequestStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"  # submitted, waiting for answers
    PLACED = "placed"  # a place was accepted
    INACTIVE = "inactive"  # not confirmed in time
    WITHDRAWN = "withdrawn"


class Status(enum.StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


OPEN_STATUSES = (Status.SUBMITTED, Status.IN_REVIEW, Status.WAITLISTED, Status.OFFERED)
CLOSED_STATUSES = (Status.ACCEPTED, Status.DECLINED, Status.EXPIRED, Status.REJECTED, Status.WITHDRAWN)

# Care plan per ISO weekday: "none", "half" or "full".
DAY_CARE = ("none", "half", "full")


class CareRequest(UUIDKey, Timestamps, db.Model):
    __tablename__ = "requests"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'open', 'placed', 'inactive', 'withdrawn')", name="status"),
        Index("ix_requests_child_id_status", "child_id", "status"),
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
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

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
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="CASCADE"))
    location_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    application_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Mirrors the application's status so the family's overview is one query.
    status: Mapped[str | None] = mapped_column(String(12))

    request: Mapped[CareRequest] = relationship(back_populates="choices")


class Application(UUIDKey, Timestamps, db.Model):
    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint(
            "status IN ('submitted', 'in_review', 'waitlisted', 'offered', 'accepted', 'declined', "
            "'expired', 'rejected', 'withdrawn')", name="status"),
        Index("ix_applications_location_id_status", "location_id", "status"),
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
    # Optimistic lock: a page acting on version N fails cleanly if someone acted first.
    version: Mapped[int] = mapped_column(Integer, default=1)

    events: Mapped[list[ApplicationEvent]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="ApplicationEvent.at")

    __mapper_args__ = {"version_id_col": version}


class EventKind(enum.StrEnum):
    STATUS = "status"  # a change of status
    MESSAGE_FAMILY = "message_family"  # from the family to the provider
    MESSAGE_PROVIDER = "message_provider"  # from the provider to the family
    NOTE = "note"  # internal staff note, never shown to the family
    CHANGE = "change"  # start date or care plan changed by the family


class StatusNote(enum.StrEnum):
    """Why the system (or staff, by a button) changed a status: kept as a code in the status
    event's ``text`` and shown through ``labels.STATUS_NOTE_LABELS``, never raw."""

    OFFER_CANCELLED = "offer-cancelled"  # staff withdrew the offer; back on the waiting list
    ACCEPTED_ELSEWHERE = "accepted-elsewhere"  # the family accepted a place at another choice
    HIGHER_CHOICE_ACCEPTED = "higher-choice-accepted"  # a higher-ranked choice was accepted later
    FAMILY_ERASED = "family-erased"  # the family's data were erased


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
