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
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
    # How many choices of one request may be at this municipality's locations; None: the
    # region's maximum. Never more than the region's maximum (tenancy.services.max_choices).
    max_choices: int | None = None

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
    """A municipality's own audit log: who did what to which of its rows."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        {"schema": TENANT_PLACEHOLDER},
    )

    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A shared user id; no foreign key, so the tenant schema stays movable (Citus, exports).
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict] = mapped_column(JSONB, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
