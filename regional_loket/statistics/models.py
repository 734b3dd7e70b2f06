"""The figures that outlive the people behind them (schema ``shared``): an anonymous record per
application, and the daily snapshot of demand against free places.

Neither holds a name, an address, a birth date or a day of the month: months, municipalities,
location ids, age groups, outcomes and durations in days. The retention purge erases the
families; these rows stay, so the dashboards' history (issue #15) survives it."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..database import SHARED_SCHEMA
from ..extensions import db


class ApplicationRecord(db.Model):
    """One application as the figures need it, refreshed by the daily snapshot while its
    request exists and frozen once the request is erased (``erased``). ``request_id`` only
    groups the applications of one request (counts per child, not per choice): the request
    row it named is gone by then, and with it anything that leads to a person."""

    __tablename__ = "statistics_applications"
    __table_args__ = (
        Index("ix_statistics_applications_tenant_id_submitted_month", "tenant_id", "submitted_month"),
        Index("ix_statistics_applications_request_id", "request_id"),
        Index("ix_statistics_applications_request_month", "request_month"),
        # a municipality's residents, wherever they asked (the desk's cross-border flows)
        Index("ix_statistics_applications_home_tenant_id_submitted_month", "home_tenant_id", "submitted_month"),
        # the day a municipality's figures were last brought up to date (the desk's page says it)
        Index("ix_statistics_applications_tenant_id_recorded_on", "tenant_id", "recorded_on"),
        {"schema": SHARED_SCHEMA},
    )

    application_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # Where the application was made (the location's municipality) and where the family lives
    # (None: outside the region, or not known).
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="CASCADE"))
    location_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    home_tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="SET NULL"))
    rank: Mapped[int] = mapped_column(SmallInteger)
    age_group: Mapped[str] = mapped_column(String(8))
    start_month: Mapped[date] = mapped_column(Date)  # the wanted start
    submitted_month: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))  # the application's, as last seen
    # The request's status as last seen (placed, withdrawn, inactive, open) and, once it is
    # closed, the month it closed.
    request_status: Mapped[str] = mapped_column(String(12))
    closed_month: Mapped[date | None] = mapped_column(Date)
    # Days from submission to the provider's first answer, and to the accepted place.
    first_answer_days: Mapped[int | None] = mapped_column(Integer)
    placed_days: Mapped[int | None] = mapped_column(Integer)
    # The family declared low income or single parenthood, or the child is a foster child (the
    # priority groups the 20 % norm counts).
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False)
    # Facts of the whole request, copied onto each of its records so the dashboards count
    # requests without grouping every record of the region by request: the month it was first
    # submitted, and whether any of its applications (in any municipality) holds an offer or a
    # place. The snapshot refreshes them with the record.
    request_month: Mapped[date | None] = mapped_column(Date)
    request_offered: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # The request's personal data were erased: the snapshot no longer refreshes this row.
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_on: Mapped[date] = mapped_column(Date)


class DailyFigure(db.Model):
    """Demand against supply as it stood on ``day``, per location, wanted start month (or the
    month of the free places) and age group: what no later query can reconstruct."""

    __tablename__ = "statistics_daily"
    __table_args__ = (
        # The desk's demand against free places on the latest day, read from the index alone
        # (a big municipality has ~15,000 rows a day, scattered over the table's pages).
        Index("ix_statistics_daily_tenant_id_day", "tenant_id", "day", "month", "age_group",
              postgresql_include=["location_id", "waiting", "offered", "free_places"]),
        {"schema": SHARED_SCHEMA},
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="CASCADE"), primary_key=True)
    location_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    age_group: Mapped[str] = mapped_column(String(8), primary_key=True)
    waiting: Mapped[int] = mapped_column(Integer, default=0)  # on the list, no offer (submitted … waitlisted)
    offered: Mapped[int] = mapped_column(Integer, default=0)  # an offer open
    accepted: Mapped[int] = mapped_column(Integer, default=0)  # placed
    free_places: Mapped[int] = mapped_column(Integer, default=0)
    # Of ``waiting``: families from another municipality, and from a priority group.
    waiting_from_elsewhere: Mapped[int] = mapped_column(Integer, default=0)
    waiting_vulnerable: Mapped[int] = mapped_column(Integer, default=0)


class MonthlyFigure(db.Model):
    """What the region's dashboard adds up, derived from the records (``monthly.refresh``):
    counts per municipality, month and age group, so the region's page reads a few thousand
    rows instead of grouping every record of the region per request (bench/figures.py).

    ``measure`` says what a row counts (``monthly.MEASURES``). ``tenant_id`` None: the whole
    region, each request once; ``age_group`` None: every age group, each request once;
    ``home_tenant_id`` is where the families live (None: outside the region) on ``new`` rows of
    a municipality; ``status`` a closed request's outcome; ``days`` a value of the answer-time
    histogram. Nothing here is edited: the whole table is rebuilt when the records changed."""

    __tablename__ = "statistics_monthly"
    __table_args__ = (
        Index("ix_statistics_monthly_measure_month", "measure", "month"),
        {"schema": SHARED_SCHEMA},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    measure: Mapped[str] = mapped_column(String(12))
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    home_tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    month: Mapped[date | None] = mapped_column(Date)
    age_group: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str | None] = mapped_column(String(12))
    days: Mapped[int | None] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    vulnerable: Mapped[int] = mapped_column(Integer, default=0)


class StatisticsState(db.Model):
    """One row: how often the records were written (``records``, raised in the same
    transaction as every write) and from which of those writes ``statistics_monthly`` was
    built (``monthly``). Different: the monthly figures are rebuilt before they are read."""

    __tablename__ = "statistics_state"
    __table_args__ = {"schema": SHARED_SCHEMA}

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    monthly: Mapped[int] = mapped_column(BigInteger, default=-1)
