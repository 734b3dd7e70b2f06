"""Month and age arithmetic (regional_loket.months): properties over every date, and the
end-of-month days where hand-written versions went wrong."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from regional_loket.months import (
    add_months,
    age_group_at,
    age_in_months,
    month_start,
    months_between,
    same_day_months_later,
)
from regional_loket.vocabulary import AGE_GROUP_MONTHS, AgeGroup, Kind

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
offsets = st.integers(min_value=-240, max_value=240)


@given(days, offsets)
def test_add_months_lands_on_a_first_of_month_that_far_away(day, n):
    moved = add_months(month_start(day), n)
    assert moved.day == 1
    assert months_between(day, moved) == n
    assert add_months(day, n) == moved  # the day of the month never matters


@given(days, offsets, offsets)
def test_add_months_composes(day, a, b):
    assert add_months(add_months(day, a), b) == add_months(day, a + b)


@given(days, offsets)
def test_same_day_months_later_keeps_the_day_or_takes_the_last_one(day, n):
    moved = same_day_months_later(day, n)
    assert month_start(moved) == add_months(day, n)
    assert moved.day == day.day or (moved.day < day.day and (moved + timedelta(days=1)).day == 1)


@given(days, days, days)
def test_age_in_months_never_decreases_with_time(born, on, later):
    on, later = sorted((on, later))
    assert age_in_months(born, on) <= age_in_months(born, later)


@given(days, offsets)
def test_age_is_the_number_of_months_on_the_same_day(born, n):
    on = same_day_months_later(born, n)
    if on.day == born.day:
        assert age_in_months(born, on) == n
        assert age_in_months(born, on - timedelta(days=1)) == n - 1


@given(days, days)
def test_age_in_months_is_at_most_the_calendar_months_and_at_least_one_less(born, on):
    assert months_between(born, on) - 1 <= age_in_months(born, on) <= months_between(born, on)


def test_end_of_month_days():
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 1)
    assert same_day_months_later(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert same_day_months_later(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert same_day_months_later(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert same_day_months_later(date(2025, 3, 31), -1) == date(2025, 2, 28)
    assert add_months(date(2025, 12, 15), 1) == date(2026, 1, 1)
    assert add_months(date(2026, 1, 15), -1) == date(2025, 12, 1)
    # Born on the 31st: a month is completed on the 31st, or on the 1st when the month lacks one.
    assert age_in_months(date(2025, 1, 31), date(2025, 2, 28)) == 0
    assert age_in_months(date(2025, 1, 31), date(2025, 3, 1)) == 1
    assert age_in_months(date(2025, 1, 31), date(2025, 3, 31)) == 2
    assert age_in_months(date(2025, 3, 10), date(2025, 4, 9)) == 0
    assert age_in_months(date(2025, 3, 10), date(2025, 4, 10)) == 1
    assert age_in_months(date(2025, 6, 1), date(2025, 3, 1)) == -3  # not born yet


@given(days, days)
def test_an_application_counts_in_one_group_that_holds_the_age(born, on):
    months = age_in_months(born, on)
    group = age_group_at(born, on, Kind.GROUP)
    low, high = AGE_GROUP_MONTHS[group]
    assert group is not AgeGroup.SCHOOL or months > AGE_GROUP_MONTHS[AgeGroup.TODDLER][1]
    assert low <= max(months, 0) <= high or group is AgeGroup.SCHOOL
    assert age_group_at(born, on, Kind.OUT_OF_SCHOOL) is AgeGroup.SCHOOL


def test_age_group_boundaries():
    born = date(2024, 1, 15)
    assert age_group_at(born, date(2025, 7, 14), Kind.GROUP) is AgeGroup.BABY  # 17 months
    assert age_group_at(born, date(2025, 7, 15), Kind.FAMILY) is AgeGroup.TODDLER  # 18
    assert age_group_at(born, date(2027, 1, 14), Kind.GROUP) is AgeGroup.TODDLER  # 35
    assert age_group_at(born, date(2027, 1, 15), Kind.GROUP) is AgeGroup.SCHOOL  # 36
    assert age_group_at(date(2026, 1, 1), date(2025, 9, 1), Kind.GROUP) is AgeGroup.BABY  # due later
