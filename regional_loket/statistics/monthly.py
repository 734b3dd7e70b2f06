"""The region's figures per municipality and month (``statistics_monthly``), derived from the
records so the region's dashboard adds up a few thousand rows instead of counting distinct
requests over every record of the region (bench/figures.py: 100,000 records, 285 municipalities).

Every write of records raises ``statistics_state.records`` in its own transaction
(``records_changed``); ``ensure_fresh`` rebuilds the whole table when it was built from an older
count, under a transaction-level advisory lock, in the caller's transaction (the region's page
commits it; the ``statistics-monthly`` job, enqueued after each snapshot, does it ahead of the
first reader). One statement per measure with GROUPING SETS: the municipality's rows and the
region's (each request once), per age group and for all of them (each request once).

Counts of requests are distinct per (municipality, month, age group); a request belongs to one
month (``request_month``) and one home municipality, so adding months or home municipalities
never counts a request twice. Only the answer times are kept as a histogram, from which the
median is exact (``median_answer_per_municipality``)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import delete, func, literal, null, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..applications import Status
from ..care_requests import RequestStatus
from .models import ApplicationRecord, MonthlyFigure, StatisticsState

M = MonthlyFigure
# What a row counts: requests first submitted (per home municipality), requests closed (per
# outcome), places accepted (and how many went to vulnerable families), requests open without
# any offer (no month: the state at the snapshot), and the answer-time histogram.
NEW, CLOSED, PLACED, WAITING, ANSWER = "new", "closed", "placed", "waiting", "answer"
MEASURES = (NEW, CLOSED, PLACED, WAITING, ANSWER)
CLOSED_OUTCOMES = (RequestStatus.PLACED, RequestStatus.WITHDRAWN, RequestStatus.INACTIVE)
# pg_advisory_xact_lock key: one rebuild at a time ("statmont").
LOCK_KEY = 0x7374_6174_6D6F_6E74 & 0x7FFF_FFFF_FFFF_FFFF

R = ApplicationRecord
COLUMNS = ("measure", "tenant_id", "home_tenant_id", "month", "age_group", "status", "days", "count", "vulnerable")


def _build(measure: str, *, sets: tuple, where: tuple, count, month=None, home=None, status=None, days=None,
           vulnerable=None):
    """INSERT … SELECT of one measure over the records, GROUP BY GROUPING SETS ``sets``: a
    column grouped away in a set comes out NULL (the region, or every age group)."""
    query = (select(literal(measure), R.tenant_id, _or_null(home), _or_null(month), R.age_group, _or_null(status),
                    _or_null(days), count, literal(0) if vulnerable is None else vulnerable)
             .where(*where).group_by(func.grouping_sets(*(tuple_(*columns) for columns in sets))))
    return insert(MonthlyFigure).from_select(COLUMNS, query)


def _or_null(column):
    return null() if column is None else column


def _statements() -> list:
    requests, rows = func.count(R.request_id.distinct()), func.count()
    tenant, home, age = R.tenant_id, R.home_tenant_id, R.age_group
    return [
        _build(NEW, month=R.request_month, home=home, count=requests, where=(R.request_month.is_not(None),),
               sets=((tenant, home, R.request_month, age), (tenant, home, R.request_month),
                     (R.request_month, age), (R.request_month,))),
        _build(CLOSED, month=R.closed_month, status=R.request_status, count=requests,
               where=(R.closed_month.is_not(None), R.request_status.in_(CLOSED_OUTCOMES)),
               sets=((tenant, R.closed_month, R.request_status, age), (tenant, R.closed_month, R.request_status),
                     (R.closed_month, R.request_status, age), (R.closed_month, R.request_status))),
        _build(PLACED, month=R.closed_month, count=rows, vulnerable=func.count().filter(R.vulnerable.is_(True)),
               where=(R.status == Status.ACCEPTED, R.closed_month.is_not(None)),
               sets=((tenant, R.closed_month, age), (tenant, R.closed_month))),
        _build(WAITING, count=requests, where=(R.request_status == RequestStatus.OPEN, R.request_offered.is_(False)),
               sets=((tenant, age), (tenant,))),
        _build(ANSWER, month=R.submitted_month, days=R.first_answer_days, count=rows,
               where=(R.first_answer_days.is_not(None),),
               sets=((tenant, R.submitted_month, age, R.first_answer_days), (tenant, R.submitted_month, R.first_answer_days))),
    ]


def records_changed(session: Session) -> None:
    """Called in the transaction that writes records: the monthly figures are out of date."""
    statement = insert(StatisticsState).values(id=1, records=1, monthly=-1)
    session.execute(statement.on_conflict_do_update(
        index_elements=[StatisticsState.id], set_={"records": StatisticsState.records + 1}))


def _state(session: Session) -> tuple[int, int] | None:
    return session.execute(select(StatisticsState.records, StatisticsState.monthly)
                           .where(StatisticsState.id == 1)).first()


def ensure_fresh(session: Session) -> bool:
    """Rebuild the monthly figures if the records changed since they were built, in the
    session's transaction (the caller commits). True when it rebuilt."""
    state = _state(session)
    if state is not None and state.records == state.monthly:
        return False
    session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
    state = _state(session)  # another rebuild may have finished while this one waited
    if state is not None and state.records == state.monthly:
        return False
    session.execute(delete(MonthlyFigure))
    for statement in _statements():
        session.execute(statement)
    if state is None:
        session.execute(insert(StatisticsState).values(id=1, records=0, monthly=0).on_conflict_do_nothing())
    else:
        session.execute(update(StatisticsState).where(StatisticsState.id == 1).values(monthly=state.records))
    return True


def _age(age_group: str | None):
    return M.age_group.is_(None) if age_group is None else M.age_group == age_group


def _months(since: date, until: date):
    return M.month.between(since, until)


def new_per_municipality(session: Session, since: date, until: date, age_group: str | None) -> dict[uuid.UUID, int]:
    return {tenant_id: int(n) for tenant_id, n in session.execute(
        select(M.tenant_id, func.sum(M.count)).where(M.measure == NEW, M.tenant_id.is_not(None), _months(since, until),
                                                     _age(age_group)).group_by(M.tenant_id))}


def placed_per_municipality(session: Session, since: date, until: date, age_group: str | None
                            ) -> dict[uuid.UUID, tuple[int, int]]:
    """Places accepted at the municipality's locations: (places, of which vulnerable)."""
    rows = session.execute(
        select(M.tenant_id, func.sum(M.count), func.sum(M.vulnerable))
        .where(M.measure == PLACED, _months(since, until), _age(age_group)).group_by(M.tenant_id))
    return {tenant_id: (int(n), int(v)) for tenant_id, n, v in rows}


def waiting_per_municipality(session: Session, age_group: str | None) -> dict[uuid.UUID, int]:
    return dict(session.execute(select(M.tenant_id, M.count).where(M.measure == WAITING, _age(age_group))).all())


def median_answer_per_municipality(session: Session, since: date, until: date, age_group: str | None
                                   ) -> dict[uuid.UUID, float]:
    """Per municipality, ``percentile_cont(0.5)`` of the days to a first answer, from the
    histogram in SQL: the values at positions ⌊(n − 1)/2⌋ and ⌈(n − 1)/2⌉ of the sorted days
    (the first ``days`` whose running count passes the position), interpolated. One row per
    municipality leaves the database, not the histogram."""
    histogram = (select(M.tenant_id, M.days, func.sum(M.count).label("n"))
                 .where(M.measure == ANSWER, _months(since, until), _age(age_group))
                 .group_by(M.tenant_id, M.days).subquery())
    running = select(histogram.c.tenant_id, histogram.c.days,
                     func.sum(histogram.c.n).over(partition_by=histogram.c.tenant_id, order_by=histogram.c.days)
                     .label("upto"),
                     func.sum(histogram.c.n).over(partition_by=histogram.c.tenant_id).label("total")).subquery()
    position = (running.c.total - 1) / 2.0
    low = func.min(running.c.days).filter(running.c.upto > func.floor(position))
    high = func.min(running.c.days).filter(running.c.upto > func.ceil(position))
    rows = session.execute(select(running.c.tenant_id, low, high, position - func.floor(position))
                           .group_by(running.c.tenant_id, running.c.total))
    return {tenant_id: float(lo + (hi - lo) * fraction) for tenant_id, lo, hi, fraction in rows}


def cross_border(session: Session, since: date, until: date) -> dict[tuple[uuid.UUID | None, uuid.UUID], int]:
    rows = session.execute(
        select(M.home_tenant_id, M.tenant_id, func.sum(M.count))
        .where(M.measure == NEW, M.tenant_id.is_not(None), _months(since, until), M.age_group.is_(None))
        .group_by(M.home_tenant_id, M.tenant_id))
    return {(home, there): int(count) for home, there, count in rows}


def _scope(tenant_id: uuid.UUID | None):
    return M.tenant_id.is_(None) if tenant_id is None else M.tenant_id == tenant_id


def new_per_month(session: Session, since: date, until: date, tenant_id: uuid.UUID | None, age_group: str | None
                  ) -> dict[date, int]:
    """Requests first submitted per month: in the region (``tenant_id`` None) or with an
    application in the municipality, each request once."""
    return {month: int(n) for month, n in session.execute(
        select(M.month, func.sum(M.count)).where(M.measure == NEW, _scope(tenant_id), _months(since, until),
                                                 _age(age_group)).group_by(M.month))}


def closed_per_month(session: Session, since: date, until: date, tenant_id: uuid.UUID | None, age_group: str | None
                     ) -> list[tuple[date, str, int]]:
    return [(month, status, int(n)) for month, status, n in session.execute(
        select(M.month, M.status, M.count).where(M.measure == CLOSED, _scope(tenant_id), _months(since, until),
                                                 _age(age_group)))]


__all__ = ["MEASURES", "closed_per_month", "cross_border", "ensure_fresh", "median_answer_per_municipality",
           "new_per_month", "new_per_municipality", "placed_per_municipality", "records_changed",
           "waiting_per_municipality"]
