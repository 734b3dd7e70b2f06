"""Region administration's operations that span domains: the municipalities' key figures, and
archiving a municipality (its open applications withdrawn through the lifecycle, families and
staff told). Functions take the session, the actor and the time; the caller commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit
from ..accounts import Role
from ..applications import OPEN_STATUSES, ActorRole, Application, StatusNote, status_note_label
from ..applications import services as application_services
from ..care_requests import CareRequest, Choice
from ..care_requests import services as request_services
from ..catalog import CatalogLocation, Location
from ..families import Family
from ..tenancy import Tenant, tenant_scope
from ..tenancy import services as tenancy_services

MAX_REASON = 500


@dataclass(frozen=True)
class MunicipalityRow:
    tenant: Tenant
    locations: int
    open_applications: int


def municipalities(session: Session) -> list[MunicipalityRow]:
    """Every municipality with its number of locations and of open applications, in ONE
    statement: both are counted from ``shared`` (the catalog has a row per location, a choice
    mirrors its application's status), never by visiting each schema."""
    locations = (select(CatalogLocation.tenant_id, func.count().label("n"))
                 .group_by(CatalogLocation.tenant_id).subquery())
    open_ = (select(Choice.tenant_id, func.count().label("n"))
             .where(Choice.application_id.is_not(None), Choice.status.in_(OPEN_STATUSES))
             .group_by(Choice.tenant_id).subquery())
    rows = session.execute(
        select(Tenant, func.coalesce(locations.c.n, 0), func.coalesce(open_.c.n, 0))
        .outerjoin(locations, locations.c.tenant_id == Tenant.id)
        .outerjoin(open_, open_.c.tenant_id == Tenant.id)
        .order_by(Tenant.name))
    return [MunicipalityRow(*row) for row in rows]


def open_applications(session: Session, tenant: Tenant) -> int:
    with tenant_scope(session, tenant):
        return session.scalar(select(func.count()).select_from(Application)
                              .where(Application.status.in_(OPEN_STATUSES))) or 0


class ArchiveError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def archive(session: Session, tenant: Tenant, *, actor_id: uuid.UUID | None, reason: str, now: datetime) -> int:
    """Archive ``tenant``: every open application is withdrawn by the system (note
    ``municipality-archived``) — the lifecycle's listeners keep the families' requests in step and
    mail the location's staff — each family hears it once per request in its own language, and
    the municipality stops serving pages (its data stay). Returns how many were withdrawn."""
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise ArchiveError({"reason": _l("Geef een reden op van hoogstens %(n)s tekens: de families en het "
                                         "personeel krijgen ze niet te zien, het auditlog wel.", n=MAX_REASON)})
    if tenant.is_archived:
        raise ArchiveError({"reason": _l("Deze gemeente is al gearchiveerd.")})
    with tenant_scope(session, tenant):
        rows = list(session.scalars(select(Application).where(Application.status.in_(OPEN_STATUSES))
                                    .order_by(Application.created_at)))
        names = dict(session.execute(select(Location.id, Location.name)).tuples().all())
    withdrawn: dict[uuid.UUID, list] = {}  # request → its withdrawn applications
    for application in rows:
        change = application_services.withdraw(session, tenant, application, actor_id=None,
                                               actor_role=ActorRole.SYSTEM, now=now,
                                               note=StatusNote.MUNICIPALITY_ARCHIVED)
        withdrawn.setdefault(application.request_id, []).append((application, change.event.id))
    _tell_families(session, tenant, withdrawn, names)
    tenancy_services.archive_tenant(session, tenant.slug)
    tenant.archived_at = now
    audit.record_change(session, tenant, actor_id=actor_id, actor_role=Role.ADMIN.value, action="tenant.archive",
                        subject=f"tenant:{tenant.slug}", host=None, now=now, note=reason,
                        detail={"withdrawn": len(rows)})
    return len(rows)


def _tell_families(session: Session, tenant: Tenant, withdrawn: dict, names: dict) -> None:
    """One mail per request (the lifecycle tells the family of the provider's and the clock's
    changes only; a withdrawal by the system is news the archive itself must bring)."""
    if not withdrawn:
        return
    requests = {r.id: r for r in session.scalars(select(CareRequest).where(CareRequest.id.in_(withdrawn)))}
    families = {f.id: f for f in session.scalars(select(Family).where(
        Family.id.in_({r.family_id for r in requests.values()})))}
    for request_id, items in withdrawn.items():
        care = requests.get(request_id)  # nosec B113: a dict named requests, not the HTTP library
        family = families.get(care.family_id) if care is not None else None
        if family is None:  # an application without a request (written by hand, or erased)
            continue
        application, event_id = items[0]
        with force_locale(family.language):
            reason = status_note_label(StatusNote.MUNICIPALITY_ARCHIVED)
            status = str(_l("ingetrokken: %(reason)s", reason=reason))
        location = ", ".join(sorted({names.get(a.location_id, "") for a, _ in items} - {""}))
        request_services.tell_family(
            session, family, "application_update", f"archived:{tenant.id}:{request_id}:{event_id}", tenant=tenant,
            actor_role=ActorRole.SYSTEM, child=application.snapshot.get("child", {}).get("first_name", ""),
            location=location, status=status, news="withdraw", url=request_services.request_url(request_id))


def restore(session: Session, tenant: Tenant, *, actor_id: uuid.UUID | None, now: datetime) -> None:
    """Serve an archived municipality again. The applications archiving withdrew stay withdrawn:
    families ask again (their requests are there to copy)."""
    tenancy_services.restore_tenant(session, tenant.slug)
    audit.record_change(session, tenant, actor_id=actor_id, actor_role=Role.ADMIN.value, action="tenant.restore",
                        subject=f"tenant:{tenant.slug}", host=None, now=now)
