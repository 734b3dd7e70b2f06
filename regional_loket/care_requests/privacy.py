"""The family's requests in its data rights: their part of the family's download, and their
erasure (with every application in every municipality). ``families.privacy`` owns the download
and the erasure as a whole; it calls these through the hooks ``init_app`` registers, so the
family dossier never depends on the requests built on it."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..applications import ACTIVE, OPEN_STATUSES, ActorRole, StatusNote
from ..applications import services as applications
from ..families import Child, Family
from ..families.privacy import iso
from ..tenancy import Tenant
from . import services
from .models import CareRequest


def _requests_of(session: Session, family: Family):
    return session.scalars(select(CareRequest).where(CareRequest.family_id == family.id)
                           .order_by(CareRequest.created_at))


def export_for_family(session: Session, family: Family) -> dict:
    """The family's requests with each application's status, what the provider saw and the
    history the family may see: the ``requests`` section of the family's download."""
    out = []
    for care in _requests_of(session, family):
        entry = {"status": care.status, "start_date": iso(care.start_date), "care_plan": care.care_plan,
                 "submitted_at": iso(care.submitted_at), "applications": []}
        for choice in care.choices:
            if choice.application_id is None:
                entry["applications"].append({"rank": choice.rank, "location_id": str(choice.location_id),
                                              "status": "draft"})
                continue
            loaded = services.load_application(session, choice)
            application = loaded.application
            entry["applications"].append({
                "rank": choice.rank, "municipality": loaded.tenant.name, "location_id": str(choice.location_id),
                "status": application.status, "shared_with_provider": application.snapshot,
                "history": [{"at": iso(e.at), "kind": e.kind, "status": e.to_status, "text": e.text}
                            for e in application.events if e.visible_to_family],
            })
        out.append(entry)
    return {"requests": out}


def erase_for_family(session: Session, family: Family, *, now: datetime, keep_places: bool = False) -> int:
    """Withdraw what is open (the providers see it in their lists), anonymise every application
    in every municipality and delete the family's requests and choices. Returns the number of
    applications anonymised. ``keep_places``: an accepted place stays accepted (the retention
    purge of requests closed years ago: the placement is history, not a place to give back)."""
    return _erase(session, list(_requests_of(session, family)), now=now, keep_places=keep_places)


def erase_request(session: Session, care: CareRequest, *, now: datetime) -> int:
    """The retention purge of one closed request whose family stays (it has other requests):
    its applications anonymised in every municipality (open ones — an inactive request's —
    withdrawn first, an accepted place kept as history), the request and its choices deleted,
    and its child too when no other request is about it. Returns the applications anonymised."""
    child_id = care.child_id
    count = _erase(session, [care], now=now, keep_places=True)
    if session.scalar(select(CareRequest.id).where(CareRequest.child_id == child_id).limit(1)) is None:
        child = session.get(Child, child_id)
        if child is not None:
            session.delete(child)
            session.flush()
    return count


def _erase(session: Session, cares: list[CareRequest], *, now: datetime, keep_places: bool) -> int:
    withdraw = OPEN_STATUSES if keep_places else ACTIVE  # ACTIVE: an accepted place is given back too
    by_tenant: dict[uuid.UUID, list] = defaultdict(list)
    for care in cares:
        for choice in care.choices:
            if choice.application_id is not None:
                loaded = services.load_application(session, choice)
                if loaded.application.status in withdraw:
                    applications.withdraw(session, loaded.tenant, loaded.application, actor_id=None,
                                          actor_role=ActorRole.SYSTEM, now=now, note=StatusNote.FAMILY_ERASED)
                by_tenant[choice.tenant_id].append(loaded.application)
    session.flush()
    count = 0
    for tenant_id, rows in by_tenant.items():
        count += applications.anonymise(session, session.get(Tenant, tenant_id), rows, now=now)
    for care in cares:
        session.delete(care)  # and its choices
    session.flush()
    return count
