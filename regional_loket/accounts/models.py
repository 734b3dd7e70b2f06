"""Accounts are regional (schema ``shared``): one login for the whole region."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import SHARED_SCHEMA, Timestamps, UUIDKey
from ..extensions import db


class Role(enum.StrEnum):
    PARENT = "parent"
    REFERRER = "referrer"
    PROVIDER_STAFF = "provider_staff"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


# Roles bound to one municipality; the others are regional.
TENANT_ROLES = frozenset({Role.PROVIDER_STAFF, Role.COORDINATOR})


class User(UUIDKey, Timestamps, UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = {"schema": SHARED_SCHEMA}

    # Stored lower-cased: addresses are compared case-insensitively across the region.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(2), default="nl")
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last successful password login (the retention of unused accounts counts from it, or
    # from a session seen later; ``retention``), and when the owner was warned that the unused
    # account will be removed (None: not warned, or a login since then cancelled it).
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unused_warned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The optional mails this person turned off, by kind (``preferences.OPTIONAL_MAILS``):
    # {"desk_digest": false}. A kind not named is wanted, so a new kind needs no migration.
    mail_preferences: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot log in
        return self.active and self.deleted_at is None

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    def roles(self) -> set[str]:
        return {m.role for m in self.memberships}

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class Membership(UUIDKey, Timestamps, db.Model):
    """A role a user holds, possibly in one municipality and for some of its locations."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint(
            "role IN ('parent', 'referrer', 'provider_staff', 'coordinator', 'admin')", name="role"
        ),
        CheckConstraint(
            "(role IN ('provider_staff', 'coordinator')) = (tenant_id IS NOT NULL)", name="tenant_scope"
        ),
        {"schema": SHARED_SCHEMA},
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="CASCADE"), index=True
    )
    # Locations (tenant rows, by UUID) a provider staff member may handle.
    location_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    # A referrer's organisation, e.g. "OCMW Leuven" or "Huis van het Kind Tienen".
    organisation: Mapped[str | None] = mapped_column(String(160))

    user: Mapped[User] = relationship(back_populates="memberships")


class ServerSession(db.Model):
    """One browser session on one host. The cookie holds a random id; only its hash is stored,
    so a database copy holds no usable session."""

    __tablename__ = "sessions"
    __table_args__ = {"schema": SHARED_SCHEMA}

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.users.id", ondelete="CASCADE"), index=True
    )
    # Sessions opened by hand-over from one login share its id: logging out ends them all.
    login_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    host: Mapped[str] = mapped_column(String(253))
    data: Mapped[str] = mapped_column(Text, default="{}")
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    user_agent: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class UsedToken(db.Model):
    """Single-use tokens (hand-over, password reset, unlock, e-mail change) once consumed."""

    __tablename__ = "used_tokens"
    __table_args__ = {"schema": SHARED_SCHEMA}

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class LoginThrottle(db.Model):
    """Failed logins for one address (``account_key``: SHA-256 of the normalised address, so
    unknown addresses are throttled alike and what strangers typed is not stored) from one
    ``source`` address, or from all sources together (``source`` = ``ALL_SOURCES``).
    In the database so that every web node sees the same counts."""

    __tablename__ = "login_throttles"
    __table_args__ = {"schema": SHARED_SCHEMA}

    account_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The right password came from this source: the account-wide slow-down spares it.
    succeeded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Account-wide row: the owner was mailed the unlock link for this run of failures.
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
