"""What staff and coordinators read about applications (the tenant bound): open and overdue
counts, per-location summaries, the offers waiting for an answer, held places, the share of
places for vulnerable families. The ranked lists are in ``ranking``.

"Overdue" is defined here once: waiting for the provider's first answer (``AWAITING_ANSWER``)
for longer than the municipality's response time, counted from submission.

Paused applications (``paused_at``: the family's request went inactive, not confirmed in time)
wait for the family, not for the provider: they are not overdue, not in the waiting lists'
sizes and not in the open counts of the provider's and the desk's overviews — they are counted
apart (``paused_counts``). Only the desk's location pages count them as open
(``include_paused``): deactivating a location concerns the families who may come back too.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import Text, and_, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from ..catalog import Location
from ..listing import order
from .models import Application
from .vocabulary import AWAITING_ANSWER, OPEN_STATUSES, WAITING, Status

VULNERABLE = ("low_income", "single_parent", "foster_child")  # declarations that count as vulnerable


def overdue_before(now: datetime, response_days: int) -> datetime:
    """Submitted before this moment and still unanswered: overdue."""
    return now - timedelta(days=response_days)


def days_overdue(submitted_at: datetime, now: datetime, response_days: int) -> int:
    """Whole days an overdue application is past the response time."""
    return (overdue_before(now, response_days) - submitted_at).days


def overdue_clause(now: datetime, response_days: int):
    return and_(Application.status.in_(AWAITING_ANSWER), Application.paused_at.is_(None),
                Application.submitted_at < overdue_before(now, response_days))


def is_overdue(application: Application, now: datetime, response_days: int) -> bool:
    return (application.status in AWAITING_ANSWER and application.paused_at is None
            and application.submitted_at < overdue_before(now, response_days))


def open_counts(session: Session, *, include_paused: bool = False) -> dict[uuid.UUID, int]:
    """Open applications per location; paused ones only with ``include_paused``."""
    statement = select(Application.location_id, func.count()).where(Application.status.in_(OPEN_STATUSES))
    if not include_paused:
        statement = statement.where(Application.paused_at.is_(None))
    return dict(session.execute(statement.group_by(Application.location_id)).all())


def paused_counts(session: Session) -> dict[uuid.UUID, int]:
    """Paused applications per location (their requests not confirmed in time)."""
    return dict(session.execute(
        select(Application.location_id, func.count()).where(Application.status.in_(WAITING),
                                                             Application.paused_at.is_not(None))
        .group_by(Application.location_id)).all())


def paused_applications(session: Session, location) -> list[Application]:
    """The location's paused applications, the oldest submission first: out of the ranked
    lists until the family confirms, then back at that place."""
    return list(session.scalars(select(Application).where(
        Application.location_id == location.id, Application.status.in_(WAITING), Application.paused_at.is_not(None))
        .order_by(Application.submitted_at, Application.id)))


def overdue_counts(session: Session, *, now: datetime, response_days: int) -> dict[uuid.UUID, int]:
    """Overdue applications per location."""
    return dict(session.execute(
        select(Application.location_id, func.count()).where(overdue_clause(now, response_days))
        .group_by(Application.location_id)).all())


def week_counts(session: Session, *, since: datetime, now: datetime, response_days: int,
                expiring_until: date) -> dict[uuid.UUID, tuple[int, int, int]]:
    """Per location, in one statement: (applications submitted since ``since``, overdue ones (the
    rule above), open offers whose deadline is on or before ``expiring_until``). Locations with
    none of the three are left out. The provider staff's weekly digest."""
    new = Application.submitted_at >= since
    expiring = and_(Application.status == Status.OFFERED, Application.offer_deadline <= expiring_until)
    overdue = overdue_clause(now, response_days)
    rows = session.execute(
        select(Application.location_id, func.count().filter(new), func.count().filter(overdue),
               func.count().filter(expiring))
        .where(new | overdue | expiring).group_by(Application.location_id))
    return {location_id: (n, o, e) for location_id, n, o, e in rows}


def location_summaries(session: Session, *, now: datetime, response_days: int) -> list:
    """Every location with its open (not paused) and overdue applications, by name, in one statement:
    rows of (id, name, active, open, overdue)."""
    return session.execute(
        select(Location.id, Location.name, Location.active,
               func.count(Application.id).filter(Application.status.in_(OPEN_STATUSES),
                                                 Application.paused_at.is_(None)),
               func.count(Application.id).filter(overdue_clause(now, response_days)))
        .outerjoin(Application, Application.location_id == Location.id)
        .group_by(Location.id, Location.name, Location.active).order_by(Location.name)).all()


def waiting_groups(session: Session, location) -> list:
    """The location's waiting lists: rows of (start month, age group, size), in order (the
    sizes of the ranked lists: paused applications left out)."""
    return session.execute(
        select(Application.start_month, Application.age_group, func.count())
        .where(Application.location_id == location.id, Application.status.in_(WAITING),
               Application.paused_at.is_(None))
        .group_by(Application.start_month, Application.age_group)
        .order_by(Application.start_month, Application.age_group)).all()


def open_offers(session: Session, location) -> list[Application]:
    """The location's offers waiting for the family's answer, the nearest deadline first."""
    return list(session.scalars(select(Application).where(
        Application.location_id == location.id, Application.status == Status.OFFERED)
        .order_by(Application.offer_deadline)))


def held_places(session: Session, location) -> dict[tuple[date, str], int]:
    """Places held by open offers, per month and age group."""
    rows = session.execute(
        select(Application.held_month, Application.held_age_group, func.count())
        .where(Application.location_id == location.id, Application.status == Status.OFFERED,
               Application.held_month.is_not(None))
        .group_by(Application.held_month, Application.held_age_group))
    return {(month, group): count for month, group, count in rows}


def _truthy(value):
    """A JSON value as Python's ``bool`` reads it (false, null, 0, "", [] and {} are false; a
    missing key is SQL NULL, false too): the snapshot's declarations counted in SQL as they were
    in Python."""
    falsy = [cast(literal(text, Text), JSONB) for text in ("false", "null", "0", '""', "[]", "{}")]
    return func.coalesce(value.not_in(falsy), False)


def vulnerable_share(session: Session, location_ids: list | None, *, year: int) -> tuple[int, int]:
    """(placements from vulnerable families, all placements) accepted this year: the 20 % norm
    for locations with an income-related tariff. Vulnerable: low income, single parent or
    foster child, as declared. Counted in one statement: the desk's home asks it for every
    location, a thousand placements and more in a large municipality."""
    declarations = Application.snapshot["declarations"]
    vulnerable = or_(*(_truthy(declarations[key]) for key in VULNERABLE))
    query = select(func.count().filter(vulnerable), func.count()).where(
        Application.status == Status.ACCEPTED,
        func.extract("year", Application.answered_at) == year)
    if location_ids is not None:
        query = query.where(Application.location_id.in_(location_ids))
    vulnerable_count, placements = session.execute(query).one()
    return vulnerable_count, placements


# The overdue worklist's sort keys (``listing.order``): oldest first by default.
OVERDUE_SORTS = {
    "submitted": (Application.submitted_at, Application.id),
    "location": (Location.name, Application.submitted_at, Application.id),
    "start": (Application.start_month, Application.submitted_at, Application.id),
}


def overdue_applications(*, now: datetime, response_days: int, location_id: uuid.UUID | None = None,
                         sort: str = "submitted", descending: bool = False):
    """The statement of the overdue applications (the rule above) at the bound municipality's
    locations, oldest first unless ``sort`` (a key of OVERDUE_SORTS) says otherwise: rows of
    (id, location_id, location_name, submitted_at, status, start_month, age_group, first_name,
    last_name)."""
    child = Application.snapshot["child"]
    statement = (
        select(Application.id, Application.location_id, Location.name.label("location_name"),
               Application.submitted_at, Application.status, Application.start_month, Application.age_group,
               child["first_name"].astext.label("first_name"), child["last_name"].astext.label("last_name"))
        .join(Location, Location.id == Application.location_id)
        .where(overdue_clause(now, response_days)))
    if location_id is not None:
        statement = statement.where(Application.location_id == location_id)
    return statement.order_by(*order(OVERDUE_SORTS.get(sort, OVERDUE_SORTS["submitted"]), descending=descending))
