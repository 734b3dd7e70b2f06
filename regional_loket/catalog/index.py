"""The catalog in each worker's memory: search without a query per filter, facet and sort.

A region's catalog is small (6,000 locations, 18 months of free places), and it changes far
less often than families search it. Each worker holds one immutable :class:`Snapshot` of it,
read in one REPEATABLE READ transaction, tagged with the *generation* of the ``catalog_changed``
listener (``cache.Generation``) read before the snapshot was taken. A snapshot is used only
while the generation is unchanged, and only on the day it was built (ages and months count
from today); the first search after a change reads the catalog again. While the listener is
not connected the generation is unknown and every search goes to SQL (``search.run``), which
stays the reference: tests/test_search_index.py compares both on random searches.

What stays in SQL, because Python cannot reproduce it exactly: the full-text part (PostgreSQL's
Dutch and French stemmers and ``ts_rank``). A search with words asks PostgreSQL, in one
indexed statement, for the matching ids and their rank; filters, facets, sorting and the page
are then done here. ``nabij`` (municipalities near one) also stays one SQL statement.

Results are exactly those of ``search.run``: same rows in the same order, same facets and
totals. The orderings that depend on the database's collation (location names) are taken from
PostgreSQL when the snapshot is built (``ORDER BY name, location_id``), not redone in Python;
distances are computed with the same formula and operations (IEEE double, the C library's
trigonometry) as the SQL expression.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..months import add_months, month_start
from ..tenancy import Postcode, Tenant, TenantStatus
from ..tenancy import services as tenancy_services
from ..vocabulary import age_groups_for
from . import search as sql_search
from .models import CatalogAvailability, CatalogLocation


@dataclass(slots=True)
class _Entry:
    """One location with what the filters read; ``shown`` is the result row as ``search.run``
    returns it (without the per-search free places and distance)."""

    location_id: object
    order: int  # position in ORDER BY name, location_id
    tenant_slug: str
    kind: str
    lat: float
    lon: float
    min_age: int
    max_age: int
    tariff: str
    day_price: Decimal | None
    opens_at: object
    closes_at: object
    languages: frozenset
    special_care: bool
    accepts_online: bool
    shown: dict


@dataclass
class Snapshot:
    generation: int
    day: date
    entries: list[_Entry]  # by name, then id
    by_id: dict
    by_lat: list[tuple[float, int]]  # (lat, order), for a distance's latitude band
    free: dict  # location_id -> {(month, age_group): free places}, from this month on
    names: list  # active municipalities' (slug, name) rows by name, as active_names gives them
    tenant_names: dict[str, str]
    centroids: dict[str, tuple[float, float]]  # postcode -> (lat, lon) as parse computes them
    region_settings: dict  # what every page's layout reads (the table sends catalog_changed too)
    _memo: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, key, compute):
        """``compute()`` once per snapshot: what changes only when the catalog does."""
        found = self._memo.get(key)
        if found is None:
            found = compute()
            with self._lock:
                self._memo[key] = found
        return found

    def free_places(self, location_id, month: date, groups: tuple) -> int:
        cells = self.free[location_id]
        return sum(cells.get((month, g), 0) for g in groups) if cells else 0

    # "Free places in month M for these age groups": the same few keys come back all day.
    def with_free_places(self, month: date, groups: tuple) -> frozenset:
        key = ("any", month, groups)
        found = self._memo.get(key)
        if found is None:
            found = frozenset(location_id for location_id, cells in self.free.items()
                              if any(cells.get((month, g), 0) > 0 for g in groups))
            with self._lock:
                self._memo[key] = found
        return found


def build(session: Session, *, generation: int, today: date) -> Snapshot:
    c = CatalogLocation
    shown = [getattr(c, name) for name in sql_search._SHOWN]
    rows = session.execute(
        select(*shown, Tenant.slug.label("tenant_slug"), Tenant.name.label("tenant_name"),
               Tenant.subdomain.label("tenant_subdomain"))
        .join(Tenant, Tenant.id == c.tenant_id)
        .where(c.active.is_(True), Tenant.status == TenantStatus.ACTIVE)
        .order_by(c.name, c.location_id)
    ).all()
    entries = []
    for order, row in enumerate(rows):
        data = {name: row[i] for i, name in enumerate(sql_search._SHOWN)}
        data.update(tenant_slug=row.tenant_slug, tenant_name=row.tenant_name, tenant_subdomain=row.tenant_subdomain)
        entries.append(_Entry(
            location_id=data["location_id"], order=order, tenant_slug=row.tenant_slug, kind=data["kind"],
            lat=data["lat"], lon=data["lon"], min_age=data["min_age_months"], max_age=data["max_age_months"],
            tariff=data["tariff"], day_price=data["day_price"], opens_at=data["opens_at"],
            closes_at=data["closes_at"], languages=frozenset(data["languages"] or ()),
            special_care=data["special_care"] is True, accepts_online=data["accepts_online"] is True, shown=data))
    by_id = {e.location_id: e for e in entries}
    free: dict = {e.location_id: {} for e in entries}
    first = month_start(today)
    # Only cells with free places: a missing cell counts as none, as in the SQL (a sum over no
    # rows is 0, and "free in month" needs a cell above 0). Plain tuples: 200,000 ORM rows would
    # cost seconds. Months from this one on: a wanted start up to 3 years ahead shows its month.
    a = CatalogAvailability.__table__.c
    for location_id, month, group, places in session.connection().execute(
        select(a.location_id, a.month, a.age_group, a.free_places).where(a.month >= first, a.free_places != 0)
    ):
        cells = free.get(location_id)
        if cells is not None:
            cells[(month, group)] = places
    names = session.execute(  # rows, as active_names gives them (templates read .slug and .name)
        select(Tenant.slug, Tenant.name).where(Tenant.status == TenantStatus.ACTIVE).order_by(Tenant.name)).all()
    centroids = {code: (float(lat), float(lon)) for code, lat, lon in session.execute(
        select(Postcode.code, func.avg(Postcode.lat), func.avg(Postcode.lon)).group_by(Postcode.code))}
    return Snapshot(generation=generation, day=today, entries=entries, by_id=by_id,
                    by_lat=sorted((e.lat, e.order) for e in entries), free=free, names=names,
                    tenant_names={slug: name for slug, name in names}, centroids=centroids,
                    region_settings=tenancy_services.region_settings(session))


class SearchIndex:
    """One snapshot per process, rebuilt on first use after the catalog changed."""

    def __init__(self, generation):
        self.generation = generation  # cache.Generation, shared with the answer cache
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def current(self, engine, today: date) -> Snapshot | None:
        """The snapshot for now, building it if need be; None while the listener is down."""
        heard = self.generation.current()
        if heard is None:
            return None
        snapshot = self._snapshot
        if snapshot is not None and snapshot.generation == heard and snapshot.day == today:
            return snapshot
        with self._lock:
            snapshot = self._snapshot
            if snapshot is not None and snapshot.generation == heard and snapshot.day == today:
                return snapshot
            # One consistent view of every table: a change committed halfway through the
            # reading would otherwise mix two catalogs. Its notification moves the generation
            # on, so a snapshot from before it is never used once it is heard.
            with engine.connect() as connection:
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
                with Session(bind=connection) as session, session.begin():
                    snapshot = build(session, generation=heard, today=today)
            self._snapshot = snapshot
            return snapshot


def init_app(app, generation) -> None:
    if app.config.get("SEARCH_INDEX"):
        app.extensions["search_index"] = SearchIndex(generation)


def snapshot(session: Session, today: date) -> Snapshot | None:
    """This process's snapshot of the catalog, or None (no index configured, listener down)."""
    found: SearchIndex | None = current_app.extensions.get("search_index")
    if found is None:
        return None
    return found.current(session.get_bind(), today)


# --- the search ---------------------------------------------------------------------------------


def _km(lat0: float, lon0: float, lat: float, lon: float) -> float:
    """``search._distance`` in Python, operation for operation (same doubles, same libm)."""
    return 6371.0 * 2 * math.asin(math.sqrt(
        math.sin(math.radians(lat - lat0) / 2) ** 2
        + math.cos(math.radians(lat0)) * math.cos(math.radians(lat)) * math.sin(math.radians(lon - lon0) / 2) ** 2))


def _text_matches(session: Session, text: str) -> dict | None:
    """location_id -> ts_rank of the locations matching the words, asked of PostgreSQL; None
    when the words make no query (stop words only), which ``search.run`` ignores as well."""
    query = sql_search._ts_query(session, text)
    if query is None:
        return None
    c = CatalogLocation
    return dict(session.execute(
        select(c.location_id, func.ts_rank(c.search_vector, query)).where(c.search_vector.op("@@")(query))).all())


def run(session: Session, search: sql_search.Search, *, today: date, snapshot: Snapshot | None,
        per_page: int = sql_search.PER_PAGE) -> sql_search.Result:
    """``search.run``'s answer, from ``snapshot`` when there is one, else from SQL."""
    if snapshot is None:
        return sql_search.run(session, search, today=today, per_page=per_page)
    scope = search.municipalities
    if search.nearby and len(scope) == 1:
        scope = tuple(sorted(set(scope) | set(sql_search.nearby_municipalities(session, scope[0]))))
    ranks = _text_matches(session, search.q) if search.q else None

    # The candidates, in name order: a distance narrows to a latitude band first.
    entries = snapshot.entries
    point = search.has_point
    if point and search.distance_km:
        km = search.distance_km
        lat_span = km / 111.0
        lon_span = km / (111.0 * max(math.cos(math.radians(search.lat)), 0.01))
        low, high = search.lat - lat_span, search.lat + lat_span
        band = snapshot.by_lat[bisect.bisect_left(snapshot.by_lat, (low, -1)):
                               bisect.bisect_right(snapshot.by_lat, (high, len(entries)))]
        lon_low, lon_high = search.lon - lon_span, search.lon + lon_span
        candidates = [entries[order] for _, order in sorted(band, key=lambda item: item[1])]
        candidates = [e for e in candidates if low <= e.lat <= high and lon_low <= e.lon <= lon_high
                      and _km(search.lat, search.lon, e.lat, e.lon) <= km]
    else:
        candidates = entries
    if ranks is not None:
        candidates = [e for e in candidates if e.location_id in ranks]
    age = search.age_months(today)
    groups = age_groups_for(age)
    if age is not None:
        months = max(age, 0)
        candidates = [e for e in candidates if e.min_age <= months <= e.max_age]
    if search.month is not None:
        open_places = snapshot.with_free_places(search.month, groups)
        candidates = [e for e in candidates if e.location_id in open_places]
    if search.income_only:
        candidates = [e for e in candidates if e.tariff == "income"]
    if search.max_price is not None:
        # Income-related tariffs are capped by law and depend on the family: they stay in.
        candidates = [e for e in candidates if e.tariff == "income"
                      or (e.day_price is not None and e.day_price <= search.max_price)]
    if search.open_before is not None:
        candidates = [e for e in candidates if e.opens_at <= search.open_before]
    if search.open_after is not None:
        candidates = [e for e in candidates if e.closes_at >= search.open_after]
    if search.languages:
        wanted = frozenset(search.languages)
        candidates = [e for e in candidates if not e.languages.isdisjoint(wanted)]
    if search.special_care:
        candidates = [e for e in candidates if e.special_care]
    if search.online_only:
        candidates = [e for e in candidates if e.accepts_online]

    # The facets: municipalities counted without the municipality filter, types without the type's.
    in_scope = frozenset(scope) if scope else None
    kinds = frozenset(search.kinds) if search.kinds else None
    by_slug = Counter(e.tenant_slug for e in candidates if kinds is None or e.kind in kinds)
    by_kind_counts = Counter(e.kind for e in candidates if in_scope is None or e.tenant_slug in in_scope)
    matches = [e for e in candidates if (in_scope is None or e.tenant_slug in in_scope)
               and (kinds is None or e.kind in kinds)]
    by_municipality = sorted(((slug, snapshot.tenant_names[slug], count) for slug, count in by_slug.items()),
                             key=lambda item: (item[1], item[0]))
    by_kind = {kind: by_kind_counts[kind] for kind in sorted(by_kind_counts)}

    first_month = search.free_month(today)
    free_places = snapshot.free_places
    # Already by name, then id: a stable sort on the first key keeps that as the tie-break.
    if search.sort == "relevance" and ranks is not None:
        matches.sort(key=lambda e: -ranks[e.location_id])
    elif search.sort == "distance" and point:
        matches.sort(key=lambda e: _km(search.lat, search.lon, e.lat, e.lon))
    elif search.sort == "free":
        matches.sort(key=lambda e: -free_places(e.location_id, first_month, groups))
    total = len(matches)
    pages = max(1, math.ceil(total / per_page))
    page = min(search.page, pages)
    rows = [{**e.shown, "free_places": free_places(e.location_id, first_month, groups),
             "distance_km": _km(search.lat, search.lon, e.lat, e.lon) if point else None}
            for e in matches[(page - 1) * per_page:page * per_page]]
    return sql_search.Result(rows=rows, total=total, page=page, pages=pages, scope=scope,
                             by_municipality=by_municipality, by_kind=by_kind,
                             months=[add_months(month_start(today), i) for i in range(18)], free_month=first_month)


