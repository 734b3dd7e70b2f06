"""Provider staff hear what the family side did to one of their applications: accepting or
declining an offer, withdrawing, a message, a changed start or care plan — and the system's
withdrawals (a place accepted elsewhere, a higher choice accepted, the family erased).
Staff's own actions (a phone acceptance included) and the clock's are not news to them.

A listener (``lifecycle.listen``), so every way into a change — the family's pages, a
referrer, the desk, erasure — tells them, once per event: the outbox key is the event's id.
The mail names the location and what happened, never the child or the words of a message:
it waits in the outbox (and an erased family's data must not), the details are behind the
staff's login.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..accounts import services as accounts
from ..catalog import Location
from ..notifications.services import notify
from ..tenancy.binding import tenant_scope
from ..web.urls import portal_url
from .lifecycle import FAMILY_SIDE, Change, listen
from .vocabulary import ActorRole, EventKind

TEMPLATE = "staff_update"
# What staff hear of, by the change's name (a transition, or an event kind).
STAFF_NEWS = frozenset({"accept", "decline", "withdraw", EventKind.MESSAGE_FAMILY, EventKind.CHANGE})
TOLD_OF = FAMILY_SIDE | {ActorRole.SYSTEM}


@listen
def tell_staff(session: Session, change: Change) -> None:
    """Mail the staff of the application's location, each in their own language."""
    if change.name not in STAFF_NEWS or change.actor_role not in TOLD_OF:
        return
    application, tenant = change.application, change.tenant
    recipients = [user for user in accounts.staff_for_location(session, tenant.id, application.location_id)
                  if user.id != change.actor_id]
    if not recipients:
        return
    with tenant_scope(session, tenant):
        location = session.get(Location, application.location_id)
    url = portal_url(tenant, "provider.application", location_id=location.id, application_id=application.id)
    by_system = change.actor_role == ActorRole.SYSTEM
    # Only the system's note is a code (StatusNote); a family's text is a message's words.
    data = {"location": location.name, "action": change.name, "by_system": by_system,
            "note": (change.event.text or "") if by_system else "", "url": url}
    for user in recipients:
        notify(session, recipient_email=user.email, recipient_user_id=user.id, language=user.language,
               template=TEMPLATE, idempotency_key=f"staff:{change.event.id}:{user.id}", tenant_slug=tenant.slug,
               data={"name": user.name, **data})
