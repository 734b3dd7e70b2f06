"""The figures of the dashboards (issue #15): supply and demand of one municipality (the desk's)
or of the region (the administrators'), over a period of months and filters.

Everything is counted over the anonymous records (``statistics_applications``) and the daily
snapshot (``statistics_daily``), so the figures survive the retention purge and a dashboard is a
handful of grouped statements whatever the size of the region. Requests are counted once per
request (one child with three choices is one request), applications per location.

Scope: ``Scope(tenant_id=None)`` is the region; ``tenant_id`` a municipality, where "its"
requests are those with an application at one of its locations, narrowed by the filters."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from ..applications import Status
from ..care_requests import RequestStatus
from ..months import add_months, month_start, months_between
from . import monthly
from .models import ApplicationRecord, DailyFigure

# At most this many months in one period (three years: the yearly report and a trend).
MAX_MONTHS = 36
# The norm for the share of children from vulnerable families (Flemish funding rules).
VULNERABLE_NORM = 0.20
# How long families without an offer have waited, and how far their wanted start is (months).
WAITED_BUCKETS = ((0, 3), (3, 6), (6, 12), (12, None))
START_BUCKETS = ((None, 0), (0, 3), (3, 6), (6, None))
REQUEST_OUTCOMES = ("new", RequestStatus.PLACED, RequestStatus.WITHDRAWN, RequestStatus.INACTIVE)

R = ApplicationRecord


@dataclass(frozen=True)
class Period:
    """From the first month to the last, both included (first days of months)."""

    since: date
    until: date

    @property
    def months(self) -> list[date]:
        return [add_months(self.since, n) for n in range(months_between(self.since, self.until) + 1)]

    @classmethod
    def last_months(cls, today: date, count: int = 12) -> Period:
        until = month_start(today)
        return cls(add_months(until, -(count - 1)), until)


@dataclass(frozen=True)
class Scope:
    tenant_id: uuid.UUID | None = None  # None: the whole region
    location_ids: tuple[uuid.UUID, ...] | None = None
    age_group: str | None = None

    def where(self, record=R) -> list:
        clauses = []
        if self.tenant_id is not None:
            clauses.append(record.tenant_id == self.tenant_id)
        if self.location_ids is not None:
            clauses.append(record.location_id.in_(self.location_ids))
        if self.age_group is not None:
            clauses.append(record.age_group == self.age_group)
        return clauses


def requests_per_month(session: Session, scope: Scope, period: Period) -> dict[date, dict[str, int]]:
    """Per month of the period: requests new (first submitted then, over all their applications),
    and closed then as placed, withdrawn or inactive — each request once, whatever its number of
    applications in scope. Every month of the period is present (zeros included). The region's
    (no municipality, no location) from the monthly figures."""
    out = {month: dict.fromkeys(REQUEST_OUTCOMES, 0) for month in period.months}
    if scope.location_ids is None:  # the region's or a whole municipality's: the monthly figures
        monthly.ensure_fresh(session)
        since, until = period.since, period.until
        for month, count in monthly.new_per_month(session, since, until, scope.tenant_id, scope.age_group).items():
            out[month]["new"] = count
        for month, status, count in monthly.closed_per_month(session, since, until, scope.tenant_id, scope.age_group):
            out[month][status] = count
        return out
    requests = func.count(R.request_id.distinct())
    for month, count in session.execute(
            select(R.request_month, requests).where(*scope.where(), R.request_month.between(period.since, period.until))
            .group_by(R.request_month)):
        out[month]["new"] = count
    for month, status, count in session.execute(
            select(R.closed_month, R.request_status, requests)
            .where(*scope.where(), R.closed_month.between(period.since, period.until),
                   R.request_status.in_(REQUEST_OUTCOMES[1:]))
            .group_by(R.closed_month, R.request_status)):
        out[month][status] = count
    return out


def waiting_without_offer(session: Session, scope: Scope, today: date) -> list[tuple[int, int]]:
    """Open requests in scope that have no offer anywhere (the number a desk checks first):
    (months waited, months to the wanted start) per request."""
    this_month = month_start(today)
    rows = session.execute(
        select(R.request_id, func.min(R.submitted_month), func.min(R.start_month))
        .where(*scope.where(), R.request_status == RequestStatus.OPEN, R.request_offered.is_(False))
        .group_by(R.request_id))
    return [(months_between(submitted, this_month), months_between(this_month, start)) for _, submitted, start in rows]


def _bucket(value: int, buckets) -> int:
    for index, (low, high) in enumerate(buckets):
        if (low is None or value >= low) and (high is None or value < high):
            return index
    raise ValueError(value)


def unmet_demand(waiting: list[tuple[int, int]]) -> list[list[int]]:
    """Families without an offer in a grid: rows by how long they waited (WAITED_BUCKETS),
    columns by how close their start is (START_BUCKETS)."""
    grid = [[0] * len(START_BUCKETS) for _ in WAITED_BUCKETS]
    for waited, to_start in waiting:
        grid[_bucket(waited, WAITED_BUCKETS)][_bucket(to_start, START_BUCKETS)] += 1
    return grid


def latest_day(session: Session, tenant_id: uuid.UUID | None, until: date) -> date | None:
    query = select(func.max(DailyFigure.day)).where(DailyFigure.day <= until)
    if tenant_id is not None:
        query = query.where(DailyFigure.tenant_id == tenant_id)
    return session.scalar(query)


def demand_and_supply(session: Session, scope: Scope, day: date | None, *, from_month: date
                      ) -> dict[tuple[date, str], tuple[int, int]]:
    """On the snapshot ``day``: per wanted start month (from ``from_month``) and age group,
    the demand (waiting and offered) and the free places."""
    if day is None:
        return {}
    query = (select(DailyFigure.month, DailyFigure.age_group,
                    func.sum(DailyFigure.waiting + DailyFigure.offered), func.sum(DailyFigure.free_places))
             .where(DailyFigure.day == day, DailyFigure.month >= from_month, *scope.where(DailyFigure))
             .group_by(DailyFigure.month, DailyFigure.age_group).order_by(DailyFigure.month, DailyFigure.age_group))
    return {(month, group): (int(demand or 0), int(free or 0)) for month, group, demand, free in session.execute(query)}


@dataclass(frozen=True)
class AnswerTime:
    answered: int
    median: float
    p90: float


def answer_times(session: Session, scope: Scope, period: Period) -> dict[uuid.UUID | None, AnswerTime]:
    """Days from submission to the provider's first answer, of the applications submitted in the
    period: per location, and for the whole scope under the key None."""
    days = R.first_answer_days
    measures = (func.count(days), func.percentile_cont(0.5).within_group(days),
                func.percentile_cont(0.9).within_group(days))
    where = (*scope.where(), days.is_not(None), R.submitted_month.between(period.since, period.until))
    # per location and for the whole scope (the empty grouping set: location NULL) in one scan
    rows = session.execute(select(R.location_id, *measures).where(*where)
                           .group_by(func.grouping_sets(tuple_(R.location_id), tuple_())))
    return {location_id: AnswerTime(n, float(median), float(p90)) for location_id, n, median, p90 in rows if n}


@dataclass(frozen=True)
class Share:
    vulnerable: int
    placed: int

    @property
    def ratio(self) -> float | None:
        return self.vulnerable / self.placed if self.placed else None

    @property
    def meets_norm(self) -> bool | None:
        return None if self.ratio is None else self.ratio >= VULNERABLE_NORM


def vulnerable_shares(session: Session, scope: Scope, period: Period) -> dict[uuid.UUID | None, Share]:
    """Places accepted in the period (by the month the request was placed), and how many went
    to children from vulnerable families: per location, and for the scope under None."""
    placed = (*scope.where(), R.status == Status.ACCEPTED, R.closed_month.between(period.since, period.until))
    vulnerable = func.count().filter(R.vulnerable.is_(True))
    out = {location_id: Share(v, n) for location_id, v, n in
           session.execute(select(R.location_id, vulnerable, func.count()).where(*placed).group_by(R.location_id))}
    # each place is at one location: the scope's share is the sum of theirs
    out[None] = Share(sum(s.vulnerable for s in out.values()), sum(s.placed for s in out.values()))
    return out


@dataclass
class Flows:
    """Requests first submitted in the period, across the municipality's border."""

    residents_elsewhere: int = 0  # families living here with an application in another municipality
    from_elsewhere: int = 0  # families living elsewhere (or outside the region) asking here
    residents_placed: dict = field(default_factory=dict)  # municipality id → residents placed there


def flows(session: Session, tenant_id: uuid.UUID, period: Period) -> Flows:
    # Through the request's first month on each record: no grouping of the region's records
    # per request (that was most of the desk's time at Flanders scale, bench/figures.py). No
    # application is submitted before its request, so the (tenant or home, submitted_month)
    # indexes leave out the rows before the period.
    in_period = and_(R.submitted_month >= period.since, R.request_month.between(period.since, period.until))
    requests = func.count(R.request_id.distinct())
    result = Flows()
    result.residents_elsewhere = session.scalar(
        select(requests).where(R.home_tenant_id == tenant_id, R.tenant_id != tenant_id, in_period)) or 0
    result.from_elsewhere = session.scalar(
        select(requests).where(R.tenant_id == tenant_id, or_(R.home_tenant_id.is_(None), R.home_tenant_id != tenant_id),
                               in_period)) or 0
    result.residents_placed = dict(session.execute(
        select(R.tenant_id, requests)
        .where(R.home_tenant_id == tenant_id, R.status == Status.ACCEPTED, in_period).group_by(R.tenant_id)).all())
    return result


def cross_border(session: Session, period: Period) -> dict[tuple[uuid.UUID | None, uuid.UUID], int]:
    """The region's matrix: requests first submitted in the period per (home municipality,
    municipality asked); a request asking two municipalities counts once in each cell."""
    monthly.ensure_fresh(session)
    return monthly.cross_border(session, period.since, period.until)


@dataclass(frozen=True)
class MunicipalityRow:
    tenant_id: uuid.UUID
    new: int
    placed: int
    waiting_without_offer: int
    median_answer_days: float | None
    vulnerable: Share


def per_municipality(session: Session, period: Period, *, age_group: str | None = None
                     ) -> dict[uuid.UUID, MunicipalityRow]:
    """The region's figures side by side, from the monthly figures (a request asking two
    municipalities counts in both; places where the child was placed)."""
    monthly.ensure_fresh(session)
    since, until = period.since, period.until
    new = monthly.new_per_municipality(session, since, until, age_group)
    placed = monthly.placed_per_municipality(session, since, until, age_group)
    waiting = monthly.waiting_per_municipality(session, age_group)
    medians = monthly.median_answer_per_municipality(session, since, until, age_group)
    rows = {}
    for t in set(new) | set(placed) | set(waiting) | set(medians):
        places, vulnerable = placed.get(t, (0, 0))
        rows[t] = MunicipalityRow(t, new.get(t, 0), places, waiting.get(t, 0), medians.get(t), Share(vulnerable, places))
    return rows


def placements_per_location(session: Session, scope: Scope, period: Period
                            ) -> dict[tuple[uuid.UUID, str], tuple[int, int]]:
    """Per location and age group: applications submitted in the period, and places accepted in
    it (the yearly report's table)."""
    submitted = func.count().filter(R.submitted_month.between(period.since, period.until))
    accepted = func.count().filter(R.status == Status.ACCEPTED, R.closed_month.between(period.since, period.until))
    rows = session.execute(select(R.location_id, R.age_group, submitted, accepted).where(*scope.where())
                           .group_by(R.location_id, R.age_group))
    return {(location_id, group): (s, a) for location_id, group, s, a in rows if s or a}


def recorded_at(session: Session, scope: Scope) -> date | None:
    """The day the figures of the scope were last brought up to date."""
    return session.scalar(select(func.max(R.recorded_on)).where(*scope.where()))


__all__ = ["MAX_MONTHS", "START_BUCKETS", "VULNERABLE_NORM", "WAITED_BUCKETS", "AnswerTime", "Flows",
           "MunicipalityRow", "Period", "Scope", "Share", "answer_times", "cross_border", "demand_and_supply",
           "flows", "latest_day", "per_municipality", "placements_per_location", "recorded_at",
           "requests_per_month", "unmet_demand", "vulnerable_shares", "waiting_without_offer"]
