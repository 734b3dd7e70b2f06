"""Writing the figures: each municipality's applications as anonymous records, and the day's
demand against free places (``snapshot``); the records of requests about to be erased
(``record_requests``, the retention purge calls it first, in its own transaction).

Everything takes the session, the tenant and the day explicitly (the jobs read the clock).
Months are the region's (``zone``): an application submitted at 00:30 on 1 March in Brussels
counts in March."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..applications import WAITING, Application, ApplicationEvent, Status
from ..care_requests import CareRequest, Choice, RequestStatus
from ..catalog import Availability, Location
from ..families import Child, Family
from ..months import month_start
from ..tenancy import Tenant, tenant_scope
from . import monthly
from .models import ApplicationRecord, DailyFigure

# A provider's first answer: the application leaves "awaiting an answer" by the provider's
# decision (a withdrawal by the family is no answer; "in review" is not one yet).
ANSWERS = (Status.WAITLISTED, Status.OFFERED, Status.REJECTED)
CLOSED_REQUESTS = (RequestStatus.PLACED, RequestStatus.WITHDRAWN, RequestStatus.INACTIVE)
MEASURES = ("waiting", "offered", "accepted", "free_places", "waiting_from_elsewhere", "waiting_vulnerable")


def is_vulnerable(family: Family, child: Child) -> bool:
    """The priority groups the 20 % norm counts: low income, single parent, foster child."""
    return bool(family.low_income or family.single_parent or child.foster_child)


def _month(at: datetime, zone: ZoneInfo) -> date:
    return month_start(at.astimezone(zone).date())


def _days(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else max((end - start).days, 0)


def _requests(session: Session, request_ids) -> dict[uuid.UUID, tuple[CareRequest, Family, Child]]:
    """The requests behind these ids with their family and child (one statement); an erased
    request is simply absent."""
    if not request_ids:
        return {}
    rows = session.execute(
        select(CareRequest, Family, Child).join(Family, Family.id == CareRequest.family_id)
        .join(Child, Child.id == CareRequest.child_id).where(CareRequest.id.in_(list(request_ids))))
    return {care.id: (care, family, child) for care, family, child in rows}


def _offered(session: Session, request_ids) -> set[uuid.UUID]:
    """The requests among these with an offer or a place at any location of the region (the
    choices mirror every application's status, in ``shared``): one statement."""
    if not request_ids:
        return set()
    return set(session.scalars(select(Choice.request_id.distinct()).where(
        Choice.request_id.in_(list(request_ids)), Choice.status.in_((Status.OFFERED, Status.ACCEPTED)))))


def _first_events(session: Session, application_ids) -> dict[uuid.UUID, tuple[datetime | None, datetime | None]]:
    """Per application (its tenant bound): when the provider first answered, and when a place
    was accepted."""
    if not application_ids:
        return {}
    answered = func.min(ApplicationEvent.at).filter(ApplicationEvent.to_status.in_(ANSWERS))
    placed = func.min(ApplicationEvent.at).filter(ApplicationEvent.to_status == Status.ACCEPTED)
    rows = session.execute(select(ApplicationEvent.application_id, answered, placed)
                           .where(ApplicationEvent.application_id.in_(list(application_ids)))
                           .group_by(ApplicationEvent.application_id))
    return {application_id: (first, accepted) for application_id, first, accepted in rows}


def _record_values(application: Application, tenant_id: uuid.UUID, care: CareRequest, family: Family,
                   child: Child, events: tuple, *, offered: bool, today: date, zone: ZoneInfo) -> dict:
    first, accepted = events
    closed = care.status in CLOSED_REQUESTS
    return dict(
        application_id=application.id, request_id=care.id, tenant_id=tenant_id,
        location_id=application.location_id, home_tenant_id=family.home_tenant_id, rank=application.rank,
        age_group=application.age_group, start_month=application.start_month,
        submitted_month=_month(application.submitted_at, zone), status=application.status,
        request_status=care.status, closed_month=_month(care.updated_at, zone) if closed else None,
        first_answer_days=_days(application.submitted_at, first),
        placed_days=_days(application.submitted_at, accepted) if application.status == Status.ACCEPTED else None,
        vulnerable=is_vulnerable(family, child), erased=False, recorded_on=today,
        request_month=_month(care.submitted_at or application.submitted_at, zone), request_offered=offered)


def _upsert(session: Session, values: list[dict]) -> None:
    """Insert or refresh records; a record whose request was erased is never overwritten. The
    region's monthly figures are out of date from this transaction's commit on."""
    if values:
        monthly.records_changed(session)
    for chunk in _chunks(values):
        statement = insert(ApplicationRecord).values(chunk)
        columns = {name: statement.excluded[name] for name in chunk[0] if name != "application_id"}
        session.execute(statement.on_conflict_do_update(
            index_elements=[ApplicationRecord.application_id], set_=columns,
            where=ApplicationRecord.erased.is_(False)))


def _chunks(rows: list[dict], size: int = 1000):
    """Multi-row statements of at most ``size`` rows (PostgreSQL takes 65,535 parameters)."""
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def record_requests(session: Session, cares: list[CareRequest], *, today: date, zone: ZoneInfo) -> int:
    """Write the final records of these requests' applications, marked erased (frozen): called
    in the transaction that erases them, before the erasure. Returns how many."""
    choices = [c for care in cares for c in care.choices if c.application_id is not None]
    requests = _requests(session, {care.id for care in cares})
    offered = _offered(session, requests)
    values = []
    for tenant_id in {c.tenant_id for c in choices}:
        tenant = session.get(Tenant, tenant_id)
        ids = [c.application_id for c in choices if c.tenant_id == tenant_id]
        with tenant_scope(session, tenant):
            rows = list(session.scalars(select(Application).where(Application.id.in_(ids))))
            events = _first_events(session, ids)
        for application in rows:
            care, family, child = requests[application.request_id]
            values.append({**_record_values(application, tenant_id, care, family, child,
                                            events.get(application.id, (None, None)),
                                            offered=care.id in offered, today=today, zone=zone),
                           "erased": True})
    _upsert(session, values)
    return len(values)


def snapshot(session: Session, tenant: Tenant, *, day: date, zone: ZoneInfo) -> dict[str, int]:
    """The day's figures of one municipality: its applications' records refreshed (those whose
    request still exists) and its rows of ``statistics_daily`` for ``day`` replaced, so running
    it again for the same day gives the same rows. Returns counts for the job's record."""
    with tenant_scope(session, tenant):
        applications = list(session.scalars(select(Application)))
        events = _first_events(session, [a.id for a in applications])
        free = session.execute(
            select(Availability.location_id, Availability.month, Availability.age_group, Availability.free_places)
            .join(Location, Location.id == Availability.location_id)
            .where(Availability.month >= month_start(day), Location.active.is_(True))).all()
    requests = _requests(session, {a.request_id for a in applications})
    offered = _offered(session, requests)

    values = []
    figures: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for application in applications:
        found = requests.get(application.request_id)  # nosec B113: a dict named requests, not the HTTP library
        if found is not None:
            care, family, child = found
            values.append(_record_values(application, tenant.id, care, family, child,
                                         events.get(application.id, (None, None)), offered=care.id in offered,
                                         today=day, zone=zone))
        key = (application.location_id, application.start_month, application.age_group)
        if application.status in WAITING:
            row = figures[key]
            row["waiting"] += 1
            if found is not None:
                row["waiting_from_elsewhere"] += found[1].home_tenant_id != tenant.id
                row["waiting_vulnerable"] += is_vulnerable(found[1], found[2])
        elif application.status == Status.OFFERED:
            figures[key]["offered"] += 1
        elif application.status == Status.ACCEPTED:
            figures[key]["accepted"] += 1
    for location_id, month, age_group, places in free:
        figures[(location_id, month, age_group)]["free_places"] += places
    _upsert(session, values)

    session.execute(delete(DailyFigure).where(DailyFigure.day == day, DailyFigure.tenant_id == tenant.id))
    rows = [{**dict.fromkeys(MEASURES, 0), **counts, "day": day, "tenant_id": tenant.id, "location_id": location_id,
             "month": month, "age_group": age_group} for (location_id, month, age_group), counts in figures.items()]
    for chunk in _chunks(rows):
        session.execute(insert(DailyFigure).values(chunk))
    return {"records": len(values), "rows": len(rows)}

