"""Keeps the regional catalog equal to the municipalities' own rows, in the same transaction.

An ``after_flush`` hook mirrors every flushed change to a location or its free places into
``shared.catalog_*``: whoever changes a location (provider, coordinator, import, demo), the
catalog follows before the transaction commits, and a rollback takes both back. ``rebuild``
recomputes everything from the tenant schemas to find (and fix) drift.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain

from sqlalchemy import delete, event, inspect, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..database import utcnow
from ..tenancy import SCHEMA_PREFIX, Tenant, tenant_scope
from .models import MIRRORED, Availability, CatalogAvailability, CatalogLocation, Location

_MIRRORED = MIRRORED


def fold(text: str) -> str:
    """Lower case without accents: 'Crèche Sint-Jozef' → 'creche sint-jozef'. The embedded
    PostgreSQL has no unaccent, so catalog text and queries are folded here, the same way."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def catalog_values(location: Location, tenant_id: uuid.UUID) -> dict:
    values = {name: getattr(location, name) for name in _MIRRORED}
    # Sorted by language: JSONB does not keep the key order the dict was written with.
    descriptions = " ".join(text for _, text in sorted((location.description or {}).items()))
    values.update(
        location_id=location.id,
        tenant_id=tenant_id,
        opening_days=list(location.opening_days or []),
        languages=list(location.languages or []),
        description=dict(location.description or {}),
        search_text=fold(" ".join([location.name, location.organiser, location.locality,
                                   location.street, descriptions])),
    )
    return values


def availability_values(row: Availability) -> dict:
    return {"location_id": row.location_id, "month": row.month, "age_group": row.age_group,
            "free_places": row.free_places}


def _tenant_id(session: Session, state, cache: dict) -> uuid.UUID:
    schema = state.info.get("tenant_schema")
    if schema not in cache:
        slug = schema[len(SCHEMA_PREFIX):].replace("_", "-")
        cache[schema] = session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    return cache[schema]


# PostgreSQL's protocol takes at most 65,535 parameters per statement. One flush of a large
# municipality's locations (each with 18 months × its age groups of free places: ~16,000 rows
# at ~450 locations) or a rebuild with --fix goes over that, so rows are written in slices.
MAX_PARAMETERS = 65_535


def _slices(rows: list, per_row: int) -> Iterator[list]:
    size = max(1, MAX_PARAMETERS // per_row)
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def upsert_locations(session: Session, rows: list[dict]) -> None:
    if not rows:
        return
    now = utcnow()
    for part in _slices(rows, len(rows[0]) + 1):
        statement = insert(CatalogLocation).values([{**r, "updated_at": now} for r in part])
        session.execute(statement.on_conflict_do_update(
            index_elements=[CatalogLocation.location_id],
            set_={c: statement.excluded[c] for c in (*_MIRRORED, "search_text", "tenant_id", "updated_at")},
        ))


def upsert_availability(session: Session, rows: list[dict]) -> None:
    if not rows:
        return
    for part in _slices(rows, len(rows[0])):
        statement = insert(CatalogAvailability).values(part)
        session.execute(statement.on_conflict_do_update(
            index_elements=[CatalogAvailability.location_id, CatalogAvailability.month,
                            CatalogAvailability.age_group],
            set_={"free_places": statement.excluded.free_places},
        ))


@event.listens_for(Session, "after_flush")
def _mirror_flush(session: Session, flush_context) -> None:
    changed = [o for o in chain(session.new, session.dirty) if isinstance(o, Location)]
    removed = [o.id for o in session.deleted if isinstance(o, Location)]
    slots = [o for o in chain(session.new, session.dirty) if isinstance(o, Availability)]
    freed = [o for o in session.deleted if isinstance(o, Availability)]
    if not (changed or removed or slots or freed):
        return
    cache: dict = {}
    upsert_locations(session, [catalog_values(o, _tenant_id(session, inspect(o), cache)) for o in changed])
    for part in _slices(removed, 1):
        session.execute(delete(CatalogLocation).where(CatalogLocation.location_id.in_(part)))
    upsert_availability(session, [availability_values(o) for o in slots if o.location_id not in removed])
    for part in _slices([(o.location_id, o.month, o.age_group) for o in freed], 3):
        session.execute(delete(CatalogAvailability).where(
            tuple_(CatalogAvailability.location_id, CatalogAvailability.month, CatalogAvailability.age_group).in_(part)
        ))


# --- rebuilding and drift --------------------------------------------------------------------


@dataclass
class Drift:
    tenant: str
    missing: list[uuid.UUID] = field(default_factory=list)  # in the tenant, not in the catalog
    extra: list[uuid.UUID] = field(default_factory=list)  # in the catalog, not in the tenant
    different: list[uuid.UUID] = field(default_factory=list)  # present in both, not equal
    availability: int = 0  # free-place rows that differ

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.different or self.availability)


def _comparable(values: dict) -> dict:
    return {k: values[k] for k in (*_MIRRORED, "search_text", "tenant_id")}


def rebuild(session: Session, tenants: list[Tenant], *, fix: bool) -> list[Drift]:
    """Compare the catalog with every tenant's rows (a deliberate walk over the tenants); with
    ``fix``, make it equal. Returns the drift found per tenant."""
    report = []
    for tenant in tenants:
        drift = Drift(tenant.slug)
        with tenant_scope(session, tenant):
            locations = list(session.scalars(select(Location)))
            slots = list(session.scalars(select(Availability)))
        want = {loc.id: catalog_values(loc, tenant.id) for loc in locations}
        have = {
            row.location_id: {c: getattr(row, c) for c in (*_MIRRORED, "search_text", "tenant_id")}
            for row in session.scalars(select(CatalogLocation).where(CatalogLocation.tenant_id == tenant.id))
        }
        drift.missing = [i for i in want if i not in have]
        drift.extra = [i for i in have if i not in want]
        drift.different = [i for i in want if i in have and _comparable(want[i]) != have[i]]
        want_slots = {(s.location_id, s.month, s.age_group): s.free_places for s in slots}
        have_slots = {
            (r.location_id, r.month, r.age_group): r.free_places
            for r in session.scalars(select(CatalogAvailability).join(
                CatalogLocation, CatalogLocation.location_id == CatalogAvailability.location_id
            ).where(CatalogLocation.tenant_id == tenant.id))
        }
        drift.availability = sum(1 for k in want_slots.keys() | have_slots.keys()
                                 if want_slots.get(k) != have_slots.get(k))
        if fix and not drift.clean:
            if drift.extra:
                session.execute(delete(CatalogLocation).where(CatalogLocation.location_id.in_(drift.extra)))
            upsert_locations(session, [want[i] for i in (*drift.missing, *drift.different)])
            stale = [k for k in have_slots if k not in want_slots and k[0] not in drift.extra]
            if stale:
                session.execute(delete(CatalogAvailability).where(tuple_(
                    CatalogAvailability.location_id, CatalogAvailability.month, CatalogAvailability.age_group
                ).in_(stale)))
            upsert_availability(session, [
                {"location_id": k[0], "month": k[1], "age_group": k[2], "free_places": v}
                for k, v in want_slots.items() if have_slots.get(k) != v
            ])
            session.flush()
        report.append(drift)
    return report
