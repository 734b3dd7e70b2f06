"""What the region knows about its municipalities (schema ``shared``) and what each
municipality keeps to itself (the tenant schema)."""

from __future__ import annotations

import dataclasses
import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from ..database import SHARED_SCHEMA, TENANT_PLACEHOLDER, Timestamps, UUIDKey, utcnow
from ..extensions import db

SCHEMA_PREFIX = "gem_"


class TenantStatus(enum.StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class SettingsError(ValueError):
    """A municipality's settings hold an unknown key or a value of the wrong kind."""


@dataclass(frozen=True)
class TenantSettings:
    """A municipality's own rules, typed, with their defaults written once. Stored as JSON in
    ``tenants.settings`` (``[settings]`` of its TOML file); read as ``tenant.settings``."""

    # Days an application may wait for a first answer before it counts as overdue.
    response_days: int = 21
    # Days a family has to answer an offer.
    offer_days: int = 7
    # Months between two confirmations a family is asked for.
    confirm_interval_months: int = 3
    # Days after a missed confirmation before the request goes inactive (its applications
    # paused); the family was reminded ``care_requests.queries.CONFIRMATION_SOON`` before.
    confirm_grace_days: int = 30
    # How many choices of one request may be at this municipality's locations; None: the
    # region's maximum. Never more than the region's maximum (tenancy.services.max_choices).
    max_choices: int | None = None
    # Months before the wanted start a family still without an offer goes on the desk's call list.
    call_months_before_start: int = 6
    # Weeks after which a location's free places count as stale (the desk chases them).
    stale_free_places_weeks: int = 4

    @classmethod
    def from_json(cls, data: dict | None) -> TenantSettings:
        """Settings from their JSON; refuses unknown keys (a typo would silently keep the
        default) and values that are not whole numbers of at least 1."""
        data = dict(data or {})
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise SettingsError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(fields)}")
        for key, value in data.items():
            optional = fields[key].default is None
            if value is None and optional:
                continue
            # bool is an int in Python; "true" days are a mistake, not 1.
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SettingsError(f"setting {key} must be a whole number of at least 1"
                                    + (" (or left out)" if optional else "") + f", not {value!r}")
        return cls(**data)


def schema_for(slug: str) -> str:
    """``tielt-winge`` → ``gem_tielt_winge``; slugs never hold underscores, so this is 1:1."""
    return SCHEMA_PREFIX + slug.replace("-", "_")


class Tenant(UUIDKey, Timestamps, db.Model):
    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'archived')", name="status"),
        {"schema": SHARED_SCHEMA},
    )

    slug: Mapped[str] = mapped_column(String(40), unique=True)
    subdomain: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    nis_code: Mapped[str] = mapped_column(String(5), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=TenantStatus.ACTIVE)
    colour: Mapped[str] = mapped_column(String(7), default="#1d4f91")
    logo: Mapped[str | None] = mapped_column(String(200))
    # The physical desk: name, address, phone, email, hours (shown on every municipal page).
    desk: Mapped[dict] = mapped_column(JSONB, default=dict)
    # Per-municipality rules as JSON; read them typed through ``settings`` (TenantSettings).
    settings_data: Mapped[dict] = mapped_column("settings", JSONB, default=dict)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    domains: Mapped[list[TenantDomain]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="TenantDomain.domain"
    )
    postcodes: Mapped[list[Postcode]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="[Postcode.code, Postcode.locality]"
    )

    @property
    def schema(self) -> str:
        return schema_for(self.slug)

    @property
    def is_archived(self) -> bool:
        return self.status == TenantStatus.ARCHIVED

    @property
    def settings(self) -> TenantSettings:
        """This municipality's rules, typed, defaults filled in."""
        return TenantSettings.from_json(self.settings_data)

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class TenantDomain(db.Model):
    """An extra (custom) domain of a municipality, e.g. kinderopvang.herent.be."""

    __tablename__ = "tenant_domains"
    __table_args__ = {"schema": SHARED_SCHEMA}

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="CASCADE"), index=True
    )
    tenant: Mapped[Tenant] = relationship(back_populates="domains")


class RetiredSubdomain(db.Model):
    """A subdomain a municipality used before it was renamed: its host answers with a permanent
    redirect to the new one (same path), and no other municipality may take it."""

    __tablename__ = "retired_subdomains"
    __table_args__ = {"schema": SHARED_SCHEMA}

    subdomain: Mapped[str] = mapped_column(String(63), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="CASCADE"), index=True
    )
    retired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Postcode(db.Model):
    """A locality with its postcode and centroid: the unit of "distance from a postcode"."""

    __tablename__ = "postcodes"
    __table_args__ = (
        UniqueConstraint("code", "locality"),
        {"schema": SHARED_SCHEMA},
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(4), index=True)
    locality: Mapped[str] = mapped_column(String(80))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    tenant: Mapped[Tenant] = relationship(back_populates="postcodes")


class RegionSetting(db.Model):
    """Region-wide settings (name, max choices per request, ...), one row per key."""

    __tablename__ = "region_settings"
    __table_args__ = {"schema": SHARED_SCHEMA}

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[dict | list | str | int | None] = mapped_column(JSONB)


class AuditEntry(UUIDKey, db.Model):
    """A municipality's own audit log: who read or changed what of its rows, when, from which
    host. Written and read through the ``audit`` package (``audit.record``, ``audit.queries``);
    the table stays here, below every domain, so the tenancy probes and ``applications``'
    erasure line need no higher package."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint("kind IN ('read', 'change')", name="kind"),
        Index("ix_audit_log_at", "at"),
        # The audit page's filters (person, family) and the family's download (who looked).
        Index("ix_audit_log_actor_id_at", "actor_id", "at"),
        Index("ix_audit_log_family_id_at", "family_id", "at"),
        {"schema": TENANT_PLACEHOLDER},
    )

    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(6), default="change")  # read | change
    # A shared user id; no foreign key, so the tenant schema stays movable (Citus, exports).
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The role the actor acted in (accounts.Role, or "system"), as it was then.
    actor_role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str | None] = mapped_column(String(200))
    # The family the subject belongs to: a shared id, no foreign key (as actor_id).
    family_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    host: Mapped[str | None] = mapped_column(String(253))  # None: a job or the command line
    detail: Mapped[dict] = mapped_column(JSONB, default=dict)
    note: Mapped[str | None] = mapped_column(Text)


class RegionAuditEntry(UUIDKey, db.Model):
    """The region's own audit log: what administrators change that belongs to no one
    municipality (a failed job retried, every schema migrated). A municipality's changes stay
    in its own ``audit_log``; written through ``audit.record`` with no tenant. ``tenant_slug``:
    the municipality a regional action was about, if one (a slug: it outlives the tenant)."""

    __tablename__ = "region_audit_log"
    __table_args__ = (
        Index("ix_region_audit_log_at", "at"),
        {"schema": SHARED_SCHEMA},
    )

    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # no FK: the log outlives the account
    actor_role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str | None] = mapped_column(String(200))
    tenant_slug: Mapped[str | None] = mapped_column(String(40))
    host: Mapped[str | None] = mapped_column(String(253))
    detail: Mapped[dict] = mapped_column(JSONB, default=dict)
    note: Mapped[str | None] = mapped_column(Text)


class MunicipalityProfile(db.Model):
    """What a municipality's coordinator edits in the desk's settings and its definition
    (tenants/*.toml) does not own: the portal's welcome text, the accessibility statement, and
    which definition fields the desk took over (``managed``: "name", "colour", "desk.hours",
    "settings.response_days" …), so ``flask tenants sync`` reports those instead of overwriting
    them. In ``shared``, keyed by tenant: every web node reads the same row."""

    __tablename__ = "municipality_profiles"
    __table_args__ = {"schema": SHARED_SCHEMA}

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="CASCADE"), primary_key=True)
    managed: Mapped[list] = mapped_column(JSONB, default=list)
    # {"nl": …, "fr": …, "en": …}
    welcome: Mapped[dict] = mapped_column(JSONB, default=dict)
    # status, assessed_on (ISO date), feedback_email, feedback_phone, known_issues {nl, fr, en}
    accessibility: Mapped[dict] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class TenantLogo(db.Model):
    """A logo the desk uploaded (PNG or JPEG, checked from its bytes): in the database, so every
    web node serves the same one; ``/logo`` prefers it to the definition's file."""

    __tablename__ = "tenant_logos"
    __table_args__ = (
        CheckConstraint("content_type IN ('image/png', 'image/jpeg')", name="content_type"),
        {"schema": SHARED_SCHEMA},
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="CASCADE"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    content_type: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# The uploaded logo's hash, read with the tenant in the same statement (a subquery on the key):
# every page's header needs to know whether there is one, and the hash versions its URL.
Tenant.uploaded_logo = column_property(
    select(TenantLogo.sha256).where(TenantLogo.tenant_id == Tenant.id).correlate_except(TenantLogo)
    .scalar_subquery())
