"""Every change to an application, whoever makes it — provider staff, the desk, a referrer,
the family, the system — becomes a ``change`` entry in the application's municipality: a
listener on the lifecycle (``applications.listen``), so no way into a change can forget it.
The application's own history (``application_events``) stays what the family and staff read;
this is the municipality's record of who acted, in which role, from which host."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..accounts import Role, User, can
from ..applications import ActorRole, Change, listen
from .services import SYSTEM_ROLE, family_of_request, origin, record_change

# The account roles a lifecycle role may stand for, most specific first: a coordinator acting
# on the provider's page is recorded as the coordinator they are.
_ACCOUNT_ROLES = {
    ActorRole.PROVIDER: (Role.COORDINATOR, Role.PROVIDER_STAFF, Role.ADMIN),
    ActorRole.DESK: (Role.COORDINATOR, Role.ADMIN),
    ActorRole.REFERRER: (Role.REFERRER,),
    ActorRole.FAMILY: (Role.PARENT,),
}
# Without an account to look at (a test, a script), the lifecycle role's nearest account role.
_FALLBACK = {ActorRole.PROVIDER: Role.PROVIDER_STAFF, ActorRole.DESK: Role.COORDINATOR,
             ActorRole.REFERRER: Role.REFERRER, ActorRole.FAMILY: Role.PARENT}


def account_role(session: Session, change: Change) -> str:
    """The role the actor held for this change (the user is in the identity map already: the
    view's authorization loaded them, so this rarely queries)."""
    if change.actor_role == ActorRole.SYSTEM:
        return SYSTEM_ROLE
    user = session.get(User, change.actor_id) if change.actor_id is not None else None
    if user is not None:
        for role in _ACCOUNT_ROLES.get(change.actor_role, ()):
            if can(user, role, tenant=change.tenant):
                return role
    return str(_FALLBACK.get(change.actor_role, change.actor_role))


@listen
def record_application_change(session: Session, change: Change) -> None:
    application = change.application
    detail = {"location_id": str(application.location_id), "request_id": str(application.request_id),
              "lifecycle_role": str(change.actor_role)}
    if change.to_status is not None:
        detail.update({"from": change.from_status, "to": change.to_status})
    record_change(session, change.tenant, actor_id=change.actor_id, actor_role=account_role(session, change),
                  action=f"application.{change.name}", subject=application.id,
                  family_id=family_of_request(session, application.request_id), host=origin(session),
                  detail=detail, now=change.now)
