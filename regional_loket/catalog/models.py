"""Locations and their free places (each municipality's schema), and the regional search catalog
(schema ``shared``) that mirrors them so search is one indexed query whatever the number of
municipalities."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import SHARED_SCHEMA, TENANT_PLACEHOLDER, Timestamps, UUIDKey
from ..extensions import db


class Tariff(enum.StrEnum):
    INCOME = "income"  # inkomenstarief (IKT): the price follows the family's income
    FREE = "free"  # vrije prijs, with a day price


class LocationFacts:
    """What a family can search on: the columns a location and its catalog row share (the
    catalog mirrors exactly these, see mirror.py)."""

    name: Mapped[str] = mapped_column(String(160))
    organiser: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(16))
    street: Mapped[str] = mapped_column(String(160))
    number: Mapped[str] = mapped_column(String(20))
    postcode: Mapped[str] = mapped_column(String(4))
    locality: Mapped[str] = mapped_column(String(80))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    licensed_places: Mapped[int] = mapped_column(Integer)
    min_age_months: Mapped[int] = mapped_column(SmallInteger)
    max_age_months: Mapped[int] = mapped_column(SmallInteger)
    # ISO weekdays it is open (1 = Monday … 7 = Sunday).
    opening_days: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), default=lambda: [1, 2, 3, 4, 5])
    opens_at: Mapped[time] = mapped_column(Time)
    closes_at: Mapped[time] = mapped_column(Time)
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(2)), default=lambda: ["nl"])
    tariff: Mapped[str] = mapped_column(String(8))
    day_price: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    special_care: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"nl": "…", "fr": "…", "en": "…"}
    description: Mapped[dict] = mapped_column(JSONB, default=dict)
    accepts_online: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # When staff last saved the free-places grid (unchanged counts too: they confirmed them);
    # families see it, the desk chases stale ones. None: never since this was recorded.
    free_places_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


MIRRORED = tuple(name for name in LocationFacts.__annotations__)


class Organiser(UUIDKey, Timestamps, db.Model):
    """Who runs locations (an association, a company, the municipality itself). A location
    belongs to at most one; its name is copied onto the location's ``organiser`` text, which the
    catalog mirrors and search reads."""

    __tablename__ = "organisers"
    __table_args__ = (
        UniqueConstraint("enterprise_number"),  # NULLs (no number given) do not collide
        {"schema": TENANT_PLACEHOLDER},
    )

    name: Mapped[str] = mapped_column(String(160))
    # KBO/BCE number as 0xxx.xxx.xxx (checked with its modulo-97 check digits).
    enterprise_number: Mapped[str | None] = mapped_column(String(12))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))

    locations: Mapped[list[Location]] = relationship(back_populates="organiser_record", order_by="Location.name")


class Location(LocationFacts, UUIDKey, Timestamps, db.Model):
    __tablename__ = "locations"
    __table_args__ = (
        # The codes of vocabulary.Kind and vocabulary.AgeGroup, repeated because a new code
        # needs a migration (tests/test_vocabulary.py keeps them in step).
        CheckConstraint("kind IN ('group', 'family', 'out_of_school')", name="kind"),
        CheckConstraint("tariff IN ('income', 'free')", name="tariff"),
        CheckConstraint("min_age_months >= 0 AND max_age_months >= min_age_months", name="ages"),
        CheckConstraint("licensed_places >= 0", name="places"),
        {"schema": TENANT_PLACEHOLDER},
    )

    closures: Mapped[list[dict]] = mapped_column(JSONB, default=list)
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(300))
    # The provider's own priority criteria, after the region's: [{"code": "staff_child",
    # "label": "kind van een personeelslid"}]. Staff mark them per application (its flags).
    extra_criteria: Mapped[list[dict]] = mapped_column(JSONB, default=list)
    # No ON DELETE: an organiser with locations cannot be deleted (catalog.services says so).
    organiser_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey(f"{TENANT_PLACEHOLDER}.organisers.id"), index=True)
    organiser_record: Mapped[Organiser | None] = relationship(back_populates="locations")

    availability: Mapped[list[Availability]] = relationship(
        back_populates="location", cascade="all, delete-orphan", order_by="[Availability.month, Availability.age_group]"
    )


class Availability(UUIDKey, db.Model):
    """Free places of one location in one month for one age group."""

    __tablename__ = "availability"
    __table_args__ = (
        UniqueConstraint("location_id", "month", "age_group"),
        CheckConstraint("free_places >= 0", name="free_places"),
        CheckConstraint("age_group IN ('baby', 'toddler', 'school')", name="age_group"),
        {"schema": TENANT_PLACEHOLDER},
    )

    location_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{TENANT_PLACEHOLDER}.locations.id", ondelete="CASCADE"), index=True
    )
    month: Mapped[date] = mapped_column(Date)  # always the first day of the month
    age_group: Mapped[str] = mapped_column(String(8))
    free_places: Mapped[int] = mapped_column(Integer)

    location: Mapped[Location] = relationship(back_populates="availability")


# --- the regional catalog (denormalised, written in the same transaction) -------------------


class CatalogLocation(LocationFacts, db.Model):
    __tablename__ = "catalog_locations"
    __table_args__ = (
        Index("ix_catalog_locations_search", "search_vector", postgresql_using="gin"),
        Index("ix_catalog_locations_tenant_id", "tenant_id"),
        Index("ix_catalog_locations_lat_lon", "lat", "lon"),
        # The default order (name, then id): the first page of a wide search stops after 20 rows.
        Index("ix_catalog_locations_name", "name", "location_id"),
        {"schema": SHARED_SCHEMA},
    )

    location_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="CASCADE"))
    # Accents folded in Python (the embedded server has no unaccent): names, organiser,
    # locality, descriptions.
    search_text: Mapped[str] = mapped_column(Text)
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed(
            "to_tsvector('simple', search_text) || to_tsvector('dutch', search_text) "
            "|| to_tsvector('french', search_text)",
            persisted=True,
        ),
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CatalogAvailability(db.Model):
    __tablename__ = "catalog_availability"
    __table_args__ = (
        Index("ix_catalog_availability_month_age_group", "month", "age_group", "free_places"),
        {"schema": SHARED_SCHEMA},
    )

    location_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.catalog_locations.location_id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    age_group: Mapped[str] = mapped_column(String(8), primary_key=True)
    free_places: Mapped[int] = mapped_column(Integer)
