"""The family's rights over its data: everything we hold, in one download; and erasure
everywhere, including the municipalities' schemas, leaving only an audit line without
personal data."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..care_requests import services as requests
from ..care_requests.models import OPEN_STATUSES, CareRequest, EventKind, Status, StatusNote
from ..notifications.models import Notification
from ..tenancy.binding import tenant_scope
from ..tenancy.models import AuditEntry, Tenant
from .models import Family


def _iso(value):
    return value.isoformat() if value is not None else None


def export(session: Session, family: Family) -> dict:
    """Everything about the family, as plain data (the download and the readable page)."""
    requests_ = list(session.scalars(select(CareRequest).where(CareRequest.family_id == family.id)
                                     .order_by(CareRequest.created_at)))
    out = {
        "family": {"language": family.language, "address": {"street": family.street, "number": family.number,
                                                           "postcode": family.postcode, "locality": family.locality},
                   "phone": family.phone,
                   "declarations": {"needs_care_for_work": family.needs_care_for_work,
                                    "single_parent": family.single_parent, "low_income": family.low_income}},
        "guardians": [{"name": g.name, "email": g.email, "invited_at": _iso(g.invited_at),
                       "accepted_at": _iso(g.accepted_at)} for g in family.guardians],
        "children": [{"first_name": c.first_name, "last_name": c.last_name, "birth_date": _iso(c.birth_date),
                      "due_date": _iso(c.due_date), "national_number": "stored only as a one-way digest"
                      if c.national_number_digest else None, "foster_child": c.foster_child,
                      "extra_care_needs": c.extra_care_needs} for c in family.children],
        "consents": [{"purpose": c.purpose, "given_at": _iso(c.given_at), "withdrawn_at": _iso(c.withdrawn_at)}
                     for c in family.consents],
        "requests": [],
        "emails": [{"to": n.recipient_email, "template": n.template, "created_at": _iso(n.created_at),
                    "state": n.state}
                   for n in session.scalars(select(Notification).where(
                       Notification.recipient_email.in_([g.email for g in family.guardians]))
                       .order_by(Notification.created_at))],
    }
    for care in requests_:
        entry = {"status": care.status, "start_date": _iso(care.start_date), "care_plan": care.care_plan,
                 "submitted_at": _iso(care.submitted_at), "applications": []}
        for choice in care.choices:
            if choice.application_id is None:
                entry["applications"].append({"rank": choice.rank, "location_id": str(choice.location_id),
                                              "status": "draft"})
                continue
            loaded = requests.load_application(session, choice)
            application = loaded.application
            entry["applications"].append({
                "rank": choice.rank, "municipality": loaded.tenant.name, "location_id": str(choice.location_id),
                "status": application.status, "shared_with_provider": application.snapshot,
                "history": [{"at": _iso(e.at), "kind": e.kind, "status": e.to_status, "text": e.text}
                            for e in application.events if e.visible_to_family],
            })
        out["requests"].append(entry)
    return out


ERASED = {"erased": True}


def erase(session: Session, family: Family, *, actor_id: uuid.UUID | None, now: datetime) -> int:
    """Withdraw what is open (the providers see it in their lists), anonymise every application
    in every municipality, delete the family's shared rows and e-mails. Returns the number of
    applications anonymised."""
    by_tenant: dict[uuid.UUID, list] = defaultdict(list)
    for care in session.scalars(select(CareRequest).where(CareRequest.family_id == family.id)):
        for choice in care.choices:
            if choice.application_id is not None:
                loaded = requests.load_application(session, choice)
                if loaded.application.status in (*OPEN_STATUSES, Status.ACCEPTED):
                    if loaded.application.status == Status.OFFERED:
                        requests._release_hold(session, loaded)
                    requests.set_status(session, loaded, Status.WITHDRAWN, actor_id=None, actor_role="system",
                                        now=now, text=StatusNote.FAMILY_ERASED)
                by_tenant[choice.tenant_id].append(loaded.application)
    session.flush()
    count = 0
    for tenant_id, applications in by_tenant.items():
        tenant = session.get(Tenant, tenant_id)
        with tenant_scope(session, tenant):
            for application in applications:
                snap = application.snapshot
                application.snapshot = {**ERASED, "age_months_at_start": snap.get("child", {}).get("age_months_at_start")}
                for event in application.events:
                    if event.kind in (EventKind.MESSAGE_FAMILY, EventKind.MESSAGE_PROVIDER, EventKind.NOTE,
                                      EventKind.CHANGE):
                        event.text, event.detail = None, {}
                    if event.actor_role == "family":
                        event.actor_id = None
                count += 1
            session.add(AuditEntry(action="family_erased", subject=None, actor_id=None,
                                   detail={"applications": len(applications)}, at=now))
    emails = [g.email for g in family.guardians]
    if emails:
        session.execute(delete(Notification).where(Notification.recipient_email.in_(emails)),
                        execution_options={"synchronize_session": False})
    for care in session.scalars(select(CareRequest).where(CareRequest.family_id == family.id)):
        session.delete(care)  # and its choices
    session.flush()
    session.delete(family)  # and its guardians, children and consents
    session.flush()
    return count


def forget_guardian(session: Session, user_id: uuid.UUID, *, now: datetime) -> None:
    """A guardian deletes their account: the family stays with the other guardian, or, when
    nobody else is left, is erased."""
    from .services import family_of

    family = family_of(session, user_id)
    if family is None:
        return
    others = [g for g in family.guardians if g.user_id not in (None, user_id)]
    if others:
        family.guardians = [g for g in family.guardians if g.user_id != user_id]
        session.flush()
    else:
        erase(session, family, actor_id=user_id, now=now)
