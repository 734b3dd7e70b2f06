"""Families (schema ``shared``): the guardians, their children, what they declare for priority
and what they consented to. A family's data is regional: its requests reach several
municipalities, and each provider only ever sees the snapshot made for its application."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, String, Text, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import SHARED_SCHEMA, Timestamps, UUIDKey
from ..extensions import db


class Family(UUIDKey, Timestamps, db.Model):
    __tablename__ = "families"
    __table_args__ = {"schema": SHARED_SCHEMA}

    language: Mapped[str] = mapped_column(String(2), default="nl")
    street: Mapped[str] = mapped_column(String(160), default="")
    number: Mapped[str] = mapped_column(String(20), default="")
    # indexed: a desk's worklists find the families living in its postcodes
    postcode: Mapped[str] = mapped_column(String(4), default="", index=True)
    locality: Mapped[str] = mapped_column(String(80), default="")
    # The municipality of the home postcode (for the coordinator's figures); may be outside the region.
    home_tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="SET NULL"))
    phone: Mapped[str | None] = mapped_column(String(40))
    # Declarations for priority (the family's word; a provider may ask for proof).
    needs_care_for_work: Mapped[bool] = mapped_column(Boolean, default=False)  # work, job search, training
    single_parent: Mapped[bool] = mapped_column(Boolean, default=False)
    low_income: Mapped[bool] = mapped_column(Boolean, default=False)  # below the yearly threshold
    # Filed by a referrer (toeleider) with the family's consent.
    referrer_organisation: Mapped[str | None] = mapped_column(String(160))
    # Filed at a municipality's desk (assisted intake): that desk's coordinators act for it.
    desk_tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="SET NULL"), index=True)

    guardians: Mapped[list[Guardian]] = relationship(
        back_populates="family", cascade="all, delete-orphan", order_by="Guardian.created_at")
    children: Mapped[list[Child]] = relationship(
        back_populates="family", cascade="all, delete-orphan", order_by="Child.created_at")
    consents: Mapped[list[Consent]] = relationship(
        back_populates="family", cascade="all, delete-orphan", order_by="Consent.given_at")


class Guardian(UUIDKey, Timestamps, db.Model):
    """One of at most two guardians; both have the same rights over the family's requests."""

    __tablename__ = "guardians"
    __table_args__ = (UniqueConstraint("user_id"), {"schema": SHARED_SCHEMA})

    family_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.families.id", ondelete="CASCADE"), index=True)
    # None until an invited guardian accepts with an account of their own.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey(f"{SHARED_SCHEMA}.users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    invited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    family: Mapped[Family] = relationship(back_populates="guardians")


class Child(UUIDKey, Timestamps, db.Model):
    __tablename__ = "children"
    __table_args__ = {"schema": SHARED_SCHEMA}

    family_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.families.id", ondelete="CASCADE"), index=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    birth_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)  # for a child not born yet
    # HMAC of the national register number: detects duplicate requests across the region,
    # can never be shown (not even to the family) and never leaves the shared schema.
    national_number_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    foster_child: Mapped[bool] = mapped_column(Boolean, default=False)
    extra_care_needs: Mapped[bool] = mapped_column(Boolean, default=False)
    # Locations (tenant rows, by id) where a brother or sister already goes.
    sibling_location_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)

    family: Mapped[Family] = relationship(back_populates="children")

    @property
    def reference_date(self) -> date | None:
        return self.birth_date or self.due_date


class Consent(UUIDKey, db.Model):
    """What the family agreed to, when and by whom (a guardian or a referrer on their behalf)."""

    __tablename__ = "consents"
    __table_args__ = {"schema": SHARED_SCHEMA}

    family_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.families.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))  # e.g. "process_request", "referrer_files"
    given_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    given_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    note: Mapped[str | None] = mapped_column(Text)
    # How it was given when someone recorded it for the family: in_person, phone, paper.
    method: Mapped[str | None] = mapped_column(String(20))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    family: Mapped[Family] = relationship(back_populates="consents")


class ClaimCode(UUIDKey, db.Model):
    """A code handed to a family filed at the desk, with which a parent's account takes the
    dossier over. Only its SHA-256 is kept (the code is printed once, on the summary); it
    expires and works once."""

    __tablename__ = "claim_codes"
    __table_args__ = {"schema": SHARED_SCHEMA}

    family_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.families.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
