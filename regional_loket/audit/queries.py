"""Reading the audit log: the coordinator's filtered, paged list of the bound municipality
(its schema, so another municipality's entries are simply not there), and a family's reads
across every municipality for its data download."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from ..catalog import CatalogLocation
from ..tenancy import AuditEntry, RegionAuditEntry, Tenant
from ..tenancy import services as tenancy_services
from .services import Kind

EXPORT_LIMIT = 10_000  # rows of one export; narrow the period for more
# The region's civil time (config BABEL_DEFAULT_TIMEZONE): the day a family reads in its download.
LOCAL_TIME = ZoneInfo("Europe/Brussels")


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to; None: not filtered. ``actor_ids`` empty: nobody (an
    e-mail address that names no account)."""

    actor_ids: tuple[uuid.UUID, ...] | None = None
    family_id: uuid.UUID | None = None
    action: str | None = None
    kind: str | None = None
    start: datetime | None = None  # from this moment on
    end: datetime | None = None  # before this moment


def _where(query, filters: Filters, log=AuditEntry):
    """``query`` narrowed to ``filters``; ``log``: the mapped entry (the bound municipality) or
    one schema's table columns (a part of the region's UNION)."""
    if filters.actor_ids is not None:
        query = query.where(log.actor_id.in_(filters.actor_ids) if filters.actor_ids else sa.false())
    if filters.family_id is not None:
        query = query.where(log.family_id == filters.family_id)
    if filters.action:
        query = query.where(log.action == filters.action)
    if filters.kind:
        query = query.where(log.kind == filters.kind)
    if filters.start is not None:
        query = query.where(log.at >= filters.start)
    if filters.end is not None:
        query = query.where(log.at < filters.end)
    return query


def page(session: Session, filters: Filters, *, offset: int, limit: int) -> tuple[list[AuditEntry], int]:
    """One page of the bound municipality's entries, newest first, and how many match."""
    total = session.scalar(_where(select(func.count()).select_from(AuditEntry), filters))
    rows = session.scalars(_where(select(AuditEntry), filters).order_by(AuditEntry.at.desc(), AuditEntry.id)
                           .offset(offset).limit(limit)).all()
    return list(rows), total or 0


def entries(session: Session, filters: Filters, *, limit: int = EXPORT_LIMIT) -> list[AuditEntry]:
    """Every matching entry (up to ``limit``), newest first: the export."""
    return list(session.scalars(_where(select(AuditEntry), filters)
                                .order_by(AuditEntry.at.desc(), AuditEntry.id).limit(limit)))


def actions(session: Session) -> list[str]:
    """The actions this municipality's log holds (the filter's choices)."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def count_since(session: Session, since: datetime) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.at >= since)) or 0


# --- the region: every municipality's log in one statement ----------------------------------------


def _entries_of(schema: str):
    """One schema's whole audit table by its real name (see :func:`_log_of`)."""
    return sa.table("audit_log", *(sa.column(c.name, c.type) for c in AuditEntry.__table__.columns), schema=schema)


def _with_log(session: Session, tenants) -> list:
    """The tenants whose schema holds an audit table (a municipality still being provisioned
    has a row before its tables): one catalog lookup, so the UNION never names a missing table."""
    schemas = [t.schema for t in tenants]
    if not schemas:
        return []
    present = set(session.execute(
        sa.text("SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = 'audit_log' AND n.nspname = ANY(:schemas)"), {"schemas": schemas}).scalars())
    return [t for t in tenants if t.schema in present]


def _region_log():
    """The region's own log (``shared.region_audit_log``: changes that belong to no one
    municipality) in the shape of a municipality's: kind ``change``, no family, and the
    municipality it was about, if any, as ``tenant_id``."""
    region = RegionAuditEntry.__table__.c
    columns = []
    for column in AuditEntry.__table__.columns:
        if column.name == "kind":
            columns.append(sa.literal(Kind.CHANGE.value, column.type).label("kind"))
        elif column.name in region:
            columns.append(sa.cast(region[column.name], column.type).label(column.name))
        else:
            columns.append(sa.null().cast(column.type).label(column.name))
    about = select(Tenant.id).where(Tenant.slug == region.tenant_slug).scalar_subquery()
    return select(about.label("tenant_id"), *columns).select_from(RegionAuditEntry.__table__).subquery("region_log")


def _region(session: Session, tenants, filters: Filters, *, with_region: bool = False):
    """Every matching entry of ``tenants``' logs, each with its ``tenant_id``: one UNION ALL,
    each part filtered on its own indexes (as the family's download), or None without tenants.
    ``with_region``: the region's own log too (entries about no municipality: ``tenant_id``
    None)."""
    parts = []
    for tenant in _with_log(session, tenants):
        log = _entries_of(tenant.schema)
        parts.append(_where(select(sa.literal(tenant.id, sa.Uuid).label("tenant_id"), *log.c), filters, log.c))
    if with_region:
        log = _region_log()
        parts.append(_where(select(*log.c), filters, log.c))
    if not parts:
        return None
    return (sa.union_all(*parts) if len(parts) > 1 else parts[0]).subquery("region_audit")


def region_page(session: Session, tenants, filters: Filters, *, offset: int, limit: int,
                with_region: bool = False) -> tuple[list, int]:
    """One page of the entries of ``tenants`` (every municipality, or the one chosen), newest
    first, and how many match. Rows carry ``tenant_id`` and the entry's columns."""
    union = _region(session, tenants, filters, with_region=with_region)
    if union is None:
        return [], 0
    total = session.scalar(select(func.count()).select_from(union)) or 0
    rows = session.execute(select(union).order_by(union.c.at.desc(), union.c.id).offset(offset).limit(limit)).all()
    return list(rows), total


def region_entries(session: Session, tenants, filters: Filters, *, limit: int = EXPORT_LIMIT,
                   with_region: bool = False) -> list:
    """Every matching entry of ``tenants`` (up to ``limit``), newest first: the region's export."""
    union = _region(session, tenants, filters, with_region=with_region)
    if union is None:
        return []
    return list(session.execute(select(union).order_by(union.c.at.desc(), union.c.id).limit(limit)).all())


# --- the family's download ---------------------------------------------------------------------


def _log_of(schema: str):
    """The audit table of one schema by its real name (a UNION over schemas cannot use the
    placeholder: the translate map holds one schema per statement)."""
    return sa.table("audit_log", sa.column("at", sa.DateTime(timezone=True)), sa.column("kind", sa.String),
                    sa.column("actor_role", sa.String), sa.column("action", sa.String),
                    sa.column("family_id", sa.Uuid), sa.column("detail", JSONB), schema=schema)


def reads_of_family(session: Session, family_id: uuid.UUID) -> list[dict]:
    """Who looked at the family's dossier or applications, in every municipality, newest
    first: when, in which role, for which municipality and which location or organisation —
    never the reader's name or address (decision: docs/ARCHITECTURE.md, "Audit"). One
    statement over every tenant's log (a download is rare; each part uses the family index),
    one for the locations' names."""
    tenants = {t.id: t for t in tenancy_services.list_tenants(session)}
    if not tenants:
        return []
    parts = []
    for tenant in tenants.values():
        log = _log_of(tenant.schema)
        parts.append(select(sa.literal(tenant.id, sa.Uuid).label("tenant_id"), log.c.at, log.c.actor_role,
                            log.c.action, log.c.detail)
                     .where(log.c.family_id == family_id, log.c.kind == Kind.READ))
    union = sa.union_all(*parts).subquery()
    rows = session.execute(select(union).order_by(union.c.at.desc())).all()
    location_ids = {uuid.UUID(row.detail["location_id"]) for row in rows
                    if _is_uuid((row.detail or {}).get("location_id"))}
    names = dict(session.execute(select(CatalogLocation.location_id, CatalogLocation.name)
                                 .where(CatalogLocation.location_id.in_(location_ids)))
                 .all()) if location_ids else {}
    out = []
    for row in rows:
        detail = row.detail or {}
        location = detail.get("location_id")
        out.append({
            "at": row.at.isoformat(), "date": row.at.astimezone(LOCAL_TIME).date().isoformat(),
            "role": row.actor_role, "action": row.action,
            "municipality": tenants[row.tenant_id].name,
            "location": names.get(uuid.UUID(location)) if _is_uuid(location) else None,
            "organisation": detail.get("organisation"),
        })
    return out


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:  # None, or a detail written by hand
        return False
    return True
