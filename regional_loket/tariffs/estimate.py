"""The income-related tariff, computed: one pure function of a year's parameters, the family's
income and size, and the care plan. No database, no request, no clock: the pages (location,
request review) and the tests call it alike.

The rule (Flemish IKT, as the parameters describe it):

- the day price is ``minimum`` at or below ``income_lower``, ``maximum`` at or above
  ``income_upper``, and in between rises linearly with the income; rounded to the cent;
- each child in the family beyond the first takes ``child_reduction`` off, never below
  ``lowest_minimum``;
- a day shorter than ``part_day_below_hours`` costs ``part_day_share`` % of it, one longer than
  ``long_day_above_hours`` ``long_day_share`` %, a day in between ``full_day_share`` %;
- a month is 52/12 weeks of the plan (closing days not subtracted: an upper estimate).

Money is ``Decimal`` throughout, rounded half up to the cent at each price a family would see.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
WEEKS_PER_MONTH = Decimal(52) / Decimal(12)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Plan:
    """Days per week: ``half_days`` are part days (shorter than the part-day bound), ``long_days``
    longer than the long-day bound, ``full_days`` the days in between."""

    full_days: int = 0
    half_days: int = 0
    long_days: int = 0

    @classmethod
    def from_care_plan(cls, care_plan: dict | None) -> Plan:
        """A request's plan ({"1": "full", "3": "half", …}): a full day is an ordinary day, a half
        day a part day; the plan says nothing of days longer than the long-day bound."""
        values = list((care_plan or {}).values())
        return cls(full_days=values.count("full"), half_days=values.count("half"))

    @property
    def days(self) -> int:
        return self.full_days + self.half_days + self.long_days


@dataclass(frozen=True)
class Estimate:
    year: int  # the year of the parameters used
    day_price: Decimal  # a full (ordinary) day, after the reduction for further children
    part_day_price: Decimal
    long_day_price: Decimal
    week_cost: Decimal
    month_cost: Decimal
    at_minimum: bool  # the income is at or below the lower bound
    at_maximum: bool  # the income is at or above the upper bound
    floored: bool  # the reduction for further children stopped at the lowest minimum


def base_day_price(parameters, income: Decimal) -> Decimal:
    """The day price for this income before any reduction for further children."""
    if income <= parameters.income_lower:
        return cents(parameters.minimum)
    if income >= parameters.income_upper:
        return cents(parameters.maximum)
    rise = (parameters.maximum - parameters.minimum) * (income - parameters.income_lower)
    return cents(parameters.minimum + rise / (parameters.income_upper - parameters.income_lower))


def day_price(parameters, income: Decimal, children: int) -> tuple[Decimal, bool]:
    """(the full-day price for a family of ``children`` children, whether the floor stopped the
    reduction)."""
    reduced = base_day_price(parameters, income) - parameters.child_reduction * max(children - 1, 0)
    if reduced < parameters.lowest_minimum:
        return cents(parameters.lowest_minimum), True
    return cents(reduced), False


def estimate(parameters, *, income: Decimal, children: int, plan: Plan) -> Estimate:
    """The estimated prices and costs for one family and plan under ``parameters`` (anything
    with the attributes of ``tariffs.IncomeTariff``). ``income`` ≥ 0, ``children`` ≥ 1: the
    caller (the calculator's form) has checked them."""
    if income < 0 or children < 1:
        raise ValueError("income must be >= 0 and children >= 1")
    full, floored = day_price(parameters, Decimal(income), children)
    part = cents(full * parameters.part_day_share / HUNDRED)
    long = cents(full * parameters.long_day_share / HUNDRED)
    ordinary = cents(full * parameters.full_day_share / HUNDRED)
    week = ordinary * plan.full_days + part * plan.half_days + long * plan.long_days
    return Estimate(year=parameters.year, day_price=ordinary, part_day_price=part, long_day_price=long,
                    week_cost=week, month_cost=cents(week * WEEKS_PER_MONTH),
                    at_minimum=income <= parameters.income_lower, at_maximum=income >= parameters.income_upper,
                    floored=floored)
