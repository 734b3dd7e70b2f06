"""The family's rights over its data: everything we hold, in one download; and erasure
everywhere, including the municipalities' schemas, leaving only an audit line without
personal data."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..audit import queries as audit_queries
from ..notifications import Notification
from .models import Family

# What other domains build on the family (its requests and their applications) is theirs to
# export and erase; they register here, so the dossier never imports them (care_requests
# depends on families, not the other way round). Like ``applications.listen``: kept per
# process, and registering twice is harmless.
Exporter = Callable[[Session, Family], dict]
Eraser = Callable[..., int]
_exporters: list[Exporter] = []
_erasers: list[Eraser] = []


def keep_family_data(*, export: Exporter, erase: Eraser) -> None:
    """Have ``export(session, family)`` add its sections to the family's download and
    ``erase(session, family, now=…, keep_places=…)`` erase them (returning how many applications it
    anonymised), in the caller's transaction, before the family itself goes."""
    if export not in _exporters:
        _exporters.append(export)
    if erase not in _erasers:
        _erasers.append(erase)


def iso(value) -> str | None:
    """A date or time in the download, written the same way in every domain's section."""
    return value.isoformat() if value is not None else None


def export(session: Session, family: Family) -> dict:
    """Everything about the family, as plain data (the download and the readable page)."""
    out = {
        "family": {"language": family.language, "address": {"street": family.street, "number": family.number,
                                                           "postcode": family.postcode, "locality": family.locality},
                   "phone": family.phone,
                   "declarations": {"needs_care_for_work": family.needs_care_for_work,
                                    "single_parent": family.single_parent, "low_income": family.low_income}},
        "guardians": [{"name": g.name, "email": g.email, "invited_at": iso(g.invited_at),
                       "accepted_at": iso(g.accepted_at)} for g in family.guardians],
        "children": [{"first_name": c.first_name, "last_name": c.last_name, "birth_date": iso(c.birth_date),
                      "due_date": iso(c.due_date), "national_number": "stored only as a one-way digest"
                      if c.national_number_digest else None, "foster_child": c.foster_child,
                      "extra_care_needs": c.extra_care_needs} for c in family.children],
        "consents": [{"purpose": c.purpose, "given_at": iso(c.given_at), "method": c.method,
                      "withdrawn_at": iso(c.withdrawn_at)}
                     for c in family.consents],
    }
    for exporter in _exporters:
        out.update(exporter(session, family))  # e.g. "requests"
    # Who looked at the dossier or its applications, in every municipality (role, municipality,
    # location or organisation, date; never the reader's own name or address).
    out["seen_by"] = audit_queries.reads_of_family(session, family.id)
    out["emails"] = [{"to": n.recipient_email, "template": n.template, "created_at": iso(n.created_at),
                      "state": n.state}
                     for n in session.scalars(select(Notification).where(
                         Notification.recipient_email.in_([g.email for g in family.guardians]))
                         .order_by(Notification.created_at))]
    return out


def erase(session: Session, family: Family, *, actor_id: uuid.UUID | None, now: datetime,
          keep_places: bool = False) -> int:
    """Erase what other domains keep of the family (its requests: open applications withdrawn,
    every application in every municipality anonymised), then its e-mails and the family
    itself. Returns the number of applications anonymised. ``keep_places``: accepted places
    stay accepted (the retention purge, years after the placement), passed to every eraser."""
    count = sum(eraser(session, family, now=now, keep_places=keep_places) for eraser in _erasers)
    emails = [g.email for g in family.guardians]
    if emails:
        session.execute(delete(Notification).where(Notification.recipient_email.in_(emails)),
                        execution_options={"synchronize_session": False})
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
