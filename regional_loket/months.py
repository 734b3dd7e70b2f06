"""Month and age arithmetic, in one place: free places are counted per month, applications are
ranked per start month and age group, and a child's age is in completed months.

(Named ``months`` rather than ``calendar`` so it never shadows the standard library module.)
"""

from __future__ import annotations

import calendar
from datetime import date

from .vocabulary import AgeGroup, age_group_for


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after (or before) ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def same_day_months_later(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier); the month's last day when it is shorter
    (31 January + 1 month = 28 or 29 February)."""
    first = add_months(day, months)
    return first.replace(day=min(day.day, calendar.monthrange(first.year, first.month)[1]))


def months_between(earlier: date, later: date) -> int:
    """Calendar months from ``earlier``'s month to ``later``'s month, days ignored
    (negative when ``later`` is before)."""
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def age_in_months(reference_date: date, on: date) -> int:
    """Completed months of age on ``on`` of a child born (or due) on ``reference_date``:
    a month is completed on the same day of the month, so born 10 March is 1 on 10 April and
    still 0 on 9 April; negative before the birth. A birthday on a day a month lacks (31st)
    completes on the following day, as with ``on.day < reference_date.day``."""
    months = months_between(reference_date, on)
    return months - (1 if on.day < reference_date.day else 0)


def age_group_at(reference_date: date, on: date, kind: str) -> AgeGroup:
    """The age group an application at a location of ``kind`` counts in when the child
    (born or due on ``reference_date``) starts on ``on``."""
    return age_group_for(age_in_months(reference_date, on), kind)
