"""For views: record a read (or a change) by the signed-in user on this host, now. The one place of this
package that reads Flask's globals (``current_user``, ``request``, ``g``); the services it
calls take everything explicitly."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import g, request
from flask_login import current_user
from sqlalchemy.orm import Session

from ..accounts import Role, can
from ..database import utcnow
from ..tenancy import AuditEntry
from .services import record_change, record_read

# Most specific first: a coordinator who is also provider staff reads as the coordinator.
_ROLES = (Role.COORDINATOR, Role.PROVIDER_STAFF, Role.ADMIN, Role.REFERRER, Role.PARENT)


def acting_role(user, tenant) -> str | None:
    """The role ``user`` holds on this host (``tenant``: its municipality, None on the region)."""
    return next((str(role) for role in _ROLES if can(user, role, tenant=tenant)), None)


def record_act(session: Session, tenant, *, action: str, subject, family_id: uuid.UUID | None = None,
               detail: dict | None = None, note: str | None = None, role: str | None = None,
               now: datetime | None = None) -> AuditEntry:
    """A change made on this page by the signed-in user (``record_view``'s twin, kind
    ``change``): what a page changes besides an application (whose changes ``trail`` records)."""
    return record_change(session, tenant, actor_id=current_user.id,
                         actor_role=role or acting_role(current_user, g.get("tenant")), action=action,
                         subject=subject, family_id=family_id, host=request.host, detail=detail, note=note,
                         now=now or utcnow())


def record_view(session: Session, tenant, *, action: str, subject, family_id: uuid.UUID | None = None,
                detail: dict | None = None, role: str | None = None) -> AuditEntry:
    """A read of ``subject`` in ``tenant``'s log (the host's municipality, or the one whose
    rows were read: a referrer on the regional portal reads into each municipality of the
    request). ``role``: when the page knows it (a referrer's page), else the user's role here.
    The caller commits, after rendering (the page's objects stay loaded)."""
    return record_read(session, tenant, actor_id=current_user.id,
                       actor_role=role or acting_role(current_user, g.get("tenant")), action=action,
                       subject=subject, family_id=family_id, host=request.host, detail=detail, now=utcnow())
