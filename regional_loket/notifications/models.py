"""The outbox: one row per e-mail to send, written in the transaction of the change that
caused it, so a mail exists exactly when that change was committed."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..database import SHARED_SCHEMA, Timestamps, UUIDKey
from ..extensions import db


class NotificationState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Notification(UUIDKey, Timestamps, db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'sent', 'failed')", name="state"),
        # The relay's query: pending rows whose next attempt is due, oldest first.
        Index("ix_notifications_state_next_attempt_at", "state", "next_attempt_at"),
        {"schema": SHARED_SCHEMA},
    )

    recipient_email: Mapped[str] = mapped_column(String(254))
    # A shared user id without a foreign key: accounts own their table and may anonymise or
    # delete a user while the record of what was mailed stays consistent.
    recipient_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    language: Mapped[str] = mapped_column(String(2))
    template: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict] = mapped_column(JSONB, default=dict)
    # Chosen by the caller (e.g. "verify:<user>:<token>"): the same key never mails twice, and
    # it also derives the Message-ID, so even a resend after a crash is recognisable.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # Brands the mail with the municipality's name; a slug, not a key, so no cross-table FK.
    tenant_slug: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16), default=NotificationState.PENDING,
                                       server_default=NotificationState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Database time (now()) everywhere, so web hosts and workers with skewed clocks agree.
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<Notification {self.template} to {self.recipient_email} {self.state}>"
