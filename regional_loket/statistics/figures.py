"""The public queries over the figures (issue #15's dashboards and exports read these): the
daily snapshot's rows, and counts over the anonymous application records. Counts of requests
are per request (one child, several choices: one), never per application."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Date, cast, func, select
from sqlalchemy.orm import Session

from .models import ApplicationRecord, DailyFigure


def latest_day(session: Session, *, tenant_id: uuid.UUID | None = None, until: date | None = None) -> date | None:
    """The last day a snapshot was taken (of ``tenant_id``), on or before ``until``."""
    query = select(func.max(DailyFigure.day))
    if tenant_id is not None:
        query = query.where(DailyFigure.tenant_id == tenant_id)
    if until is not None:
        query = query.where(DailyFigure.day <= until)
    return session.scalar(query)


def daily(session: Session, *, day: date, tenant_id: uuid.UUID | None = None, location_ids=None,
          age_group: str | None = None) -> list[DailyFigure]:
    """The snapshot rows of ``day`` — demand (waiting, offered, accepted) against free places per
    location, month and age group — for one municipality or the whole region, filtered."""
    query = select(DailyFigure).where(DailyFigure.day == day)
    if tenant_id is not None:
        query = query.where(DailyFigure.tenant_id == tenant_id)
    if location_ids is not None:
        query = query.where(DailyFigure.location_id.in_(list(location_ids)))
    if age_group is not None:
        query = query.where(DailyFigure.age_group == age_group)
    return list(session.scalars(query.order_by(DailyFigure.tenant_id, DailyFigure.location_id, DailyFigure.month,
                                               DailyFigure.age_group)))


def _per_request(tenant_id: uuid.UUID | None):
    """One row per request: its first submission month, status and closing month (of the
    requests with an application in ``tenant_id``, or all)."""
    query = select(ApplicationRecord.request_id.label("request_id"),
                   func.min(ApplicationRecord.submitted_month).label("submitted"),
                   func.max(ApplicationRecord.request_status).label("status"),
                   func.max(ApplicationRecord.closed_month).label("closed")).group_by(ApplicationRecord.request_id)
    if tenant_id is not None:
        query = query.where(ApplicationRecord.request_id.in_(
            select(ApplicationRecord.request_id).where(ApplicationRecord.tenant_id == tenant_id)))
    return query.subquery()


def requests_per_month(session: Session, *, since: date, until: date, tenant_id: uuid.UUID | None = None
                       ) -> dict[date, dict[str, int]]:
    """Per month from ``since`` to ``until`` (first days of months, both included): requests new
    (first submitted that month) and closed that month as placed, withdrawn or inactive."""
    rows = _per_request(tenant_id)
    out: dict[date, dict[str, int]] = {}
    new = session.execute(select(rows.c.submitted, func.count()).where(rows.c.submitted.between(since, until))
                          .group_by(rows.c.submitted))
    for month, count in new:
        out.setdefault(month, {})["new"] = count
    closed = session.execute(select(rows.c.closed, rows.c.status, func.count())
                             .where(rows.c.closed.between(since, until)).group_by(rows.c.closed, rows.c.status))
    for month, status, count in closed:
        out.setdefault(month, {})[status] = count
    return dict(sorted(out.items()))


def cross_border(session: Session, *, since: date, until: date) -> dict[tuple[uuid.UUID | None, uuid.UUID], int]:
    """Requests first submitted in the period, per (home municipality, municipality asked):
    one request with choices in two municipalities counts in both cells, once in each. A home
    of None: outside the region (or unknown)."""
    first = select(ApplicationRecord.request_id, func.min(ApplicationRecord.submitted_month).label("submitted")
                   ).group_by(ApplicationRecord.request_id).subquery()
    rows = session.execute(
        select(ApplicationRecord.home_tenant_id, ApplicationRecord.tenant_id,
               func.count(ApplicationRecord.request_id.distinct()))
        .join(first, first.c.request_id == ApplicationRecord.request_id)
        .where(first.c.submitted.between(since, until))
        .group_by(ApplicationRecord.home_tenant_id, ApplicationRecord.tenant_id))
    return {(home, there): count for home, there, count in rows}


def answer_times(session: Session, *, tenant_id: uuid.UUID, since: date, until: date
                 ) -> dict[uuid.UUID, tuple[int, float, float]]:
    """Per location of ``tenant_id``: (answered applications, median days, 90th percentile days)
    to the provider's first answer, of the applications submitted in the period."""
    days = ApplicationRecord.first_answer_days
    rows = session.execute(
        select(ApplicationRecord.location_id, func.count(days),
               func.percentile_cont(0.5).within_group(days), func.percentile_cont(0.9).within_group(days))
        .where(ApplicationRecord.tenant_id == tenant_id, days.is_not(None),
               ApplicationRecord.submitted_month.between(cast(since, Date), cast(until, Date)))
        .group_by(ApplicationRecord.location_id))
    return {location_id: (n, float(median), float(p90)) for location_id, n, median, p90 in rows}
