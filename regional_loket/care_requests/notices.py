"""Scheduled notices to families about their requests (issue #13).

**The start approaches without an offer.** A family living in the municipality whose wanted
start is within the municipality's ``call_months_before_start`` and none of whose choices is
offered or accepted — the rule of the desk's worklist, ``queries.without_offer``, read here and
never written twice — is told once per request what the desk can do, with the desk's phone,
e-mail and hours, in the family's language. ``CareRequest.start_notice_at`` marks it told: the
outbox's key would do for a few weeks only (finished mails are purged), the request's own
column holds for as long as the request.

A family without any e-mail address goes on the desk's call list instead (``tell_family`` hands
it to the ``when_unreachable`` handlers). A family with an address is mailed and is *not* put on
the call list: the desk's worklist "families without an offer before their start" lists every
such family already, with phone and e-mail, so listing them again would only double the desk's
work; the call list stays for what nobody could be told in writing.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..applications import ActorRole
from ..families import Child, Family
from ..tenancy import Tenant
from . import queries
from .models import CareRequest
from .services import request_url, tell_family, will_be_mailed

START_APPROACHING = "start_approaching"  # the mail's template (care_requests/templates/email)


def desk_contact(tenant: Tenant) -> dict:
    """What a family needs to reach the municipality's desk (``Tenant.desk``, as the footer shows
    it): name, phone, e-mail, address and hours (kept per language, chosen when rendered)."""
    desk = tenant.desk or {}
    return {"municipality": tenant.name, "name": desk.get("name") or "", "phone": desk.get("phone") or "",
            "email": desk.get("email") or "", "address": desk.get("address") or "", "hours": desk.get("hours") or ""}


def tell_start_approaching(session: Session, tenant: Tenant, *, today: date, now: datetime) -> dict[str, int]:
    """Tell every family of the municipality whose start approaches without an offer, once per
    request, in the caller's transaction. Returns {"mailed": n, "phoned": n}: families mailed,
    families put on the call list (no e-mail address)."""
    rows = session.execute(queries.without_offer(
        tenant_id=tenant.id, today=today, months_before_start=tenant.settings.call_months_before_start))
    ids = [row.id for row in rows]
    counts = {"mailed": 0, "phoned": 0}
    if not ids:
        return counts
    # Locked: a second run at the same moment waits here, then finds them marked.
    requests = list(session.scalars(
        select(CareRequest).where(CareRequest.id.in_(ids), CareRequest.start_notice_at.is_(None))
        .order_by(CareRequest.start_date, CareRequest.id).with_for_update()))
    families = {f.id: f for f in session.scalars(
        select(Family).where(Family.id.in_({r.family_id for r in requests})).options(selectinload(Family.guardians)))}
    children = {c.id: c for c in session.scalars(select(Child).where(Child.id.in_({r.child_id for r in requests})))}
    contact = desk_contact(tenant)
    for request in requests:
        family, child = families[request.family_id], children[request.child_id]
        counts["mailed" if will_be_mailed(family) else "phoned"] += 1
        tell_family(session, family, START_APPROACHING, f"start-near:{request.id}", tenant=tenant,
                    actor_role=ActorRole.SYSTEM, child=child.first_name, start=request.start_date.isoformat(),
                    desk=contact, url=request_url(request.id))
        request.start_notice_at = now
    return counts
