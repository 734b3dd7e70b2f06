"""The region's yearly income figures (schema ``shared``): the low-income threshold the
priority criterion ``low_income`` refers to, and the parameters of the income-related tariff
(inkomenstarief, IKT). One row per calendar year; money is ``Numeric``, never float."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Integer, Numeric, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..database import SHARED_SCHEMA, Timestamps, UUIDKey
from ..extensions import db


class LowIncomeThreshold(UUIDKey, Timestamps, db.Model):
    """The joint taxable income under which a family counts as "low income" for priority."""

    __tablename__ = "low_income_thresholds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        {"schema": SHARED_SCHEMA},
    )

    year: Mapped[int] = mapped_column(Integer, unique=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    source: Mapped[str] = mapped_column(Text)  # where the figure comes from (decree, circular, …)
    # Put in by the migration, not by a person: shown as "to verify" until an administrator saves it.
    seeded: Mapped[bool] = mapped_column(Boolean, default=False)


class IncomeTariff(UUIDKey, Timestamps, db.Model):
    """One year's income-related tariff: the day price rises linearly with the joint taxable
    income from ``minimum`` (at or below ``income_lower``) to ``maximum`` (at or above
    ``income_upper``); each further child in the family takes ``child_reduction`` off, never
    below ``lowest_minimum``. A day's price is a share of it by its length: shorter than
    ``part_day_below_hours`` → ``part_day_share`` %, longer than ``long_day_above_hours`` →
    ``long_day_share`` %, in between → ``full_day_share`` %."""

    __tablename__ = "income_tariffs"
    __table_args__ = (
        CheckConstraint("lowest_minimum > 0 AND lowest_minimum <= minimum AND minimum <= maximum", name="prices"),
        CheckConstraint("income_lower >= 0 AND income_lower < income_upper", name="incomes"),
        CheckConstraint("part_day_below_hours > 0 AND part_day_below_hours < long_day_above_hours "
                        "AND long_day_above_hours <= 24", name="hours"),
        CheckConstraint("part_day_share > 0 AND full_day_share > 0 AND long_day_share > 0", name="shares"),
        CheckConstraint("child_reduction >= 0", name="child_reduction"),
        {"schema": SHARED_SCHEMA},
    )

    year: Mapped[int] = mapped_column(Integer, unique=True)
    minimum: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    lowest_minimum: Mapped[Decimal] = mapped_column(Numeric(8, 2))  # the reduced tariff's floor
    maximum: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    child_reduction: Mapped[Decimal] = mapped_column(Numeric(8, 2))  # per child beyond the first
    income_lower: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    income_upper: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    part_day_below_hours: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    long_day_above_hours: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    part_day_share: Mapped[Decimal] = mapped_column(Numeric(5, 1))  # percent of the day price
    full_day_share: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    long_day_share: Mapped[Decimal] = mapped_column(Numeric(5, 1))
    source: Mapped[str] = mapped_column(Text)
    seeded: Mapped[bool] = mapped_column(Boolean, default=False)
