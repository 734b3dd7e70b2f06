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
are then done here, and kept per snapshot and text. ``nabij`` (municipalities near one) is
computed from the snapshot's postcodes with the SQL's own expression on the same doubles.

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

# Memo keys starting with this hold what depends only on one location's row (``_Entry.shown``,
# which includes its municipality's name) and the key's other parts (the language): kept from
# one snapshot to the next while that row is unchanged (``Snapshot.keep_per_location``).
PER_LOCATION = "per-location"
SOME_KEYS = 4096  # distance bands kept per snapshot (a few hundred postcodes × a few distances)


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
    by_lat: list[tuple[float, int, float]]  # (lat, order, lon), for a distance's latitude band
    free: dict  # location_id -> {(month, age_group): free places}, from this month on
    names: list  # active municipalities' (slug, name) rows by name, as active_names gives them
    tenant_names: dict[str, str]
    centroids: dict[str, tuple[float, float]]  # postcode -> (lat, lon) as parse computes them
    region_settings: dict  # what every page's layout reads (the table sends catalog_changed too)
    points: list  # every postcode's (tenant slug, tenant active, lat, lon), for "nearby"
    bits: _Bits = None  # the filters as bitsets over ``entries`` (bit i: entries[i])
    _memo: dict = field(default_factory=dict)
    _some: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, key, compute):
        """``compute()`` once per snapshot: what changes only when the catalog does."""
        found = self._memo.get(key)
        if found is None:
            found = compute()
            with self._lock:
                self._memo[key] = found
        return found

    def remember_some(self, key, compute):
        """``remember`` for keys a client chooses freely (a point on the map): up to
        ``SOME_KEYS`` of them are kept, the others computed each time."""
        found = self._memo.get(key)
        if found is None:
            found = compute()
            with self._lock:
                if self._some < SOME_KEYS:
                    self._memo[key] = found
                    self._some += 1
        return found

    def keep_per_location(self, older: Snapshot | None) -> None:
        """Take over ``older``'s values under ``(PER_LOCATION, location_id, …)`` keys for every
        location whose row is unchanged: one location's change renders only its own card again."""
        if older is None:
            return
        with older._lock:
            items = [(key, value) for key, value in older._memo.items() if key[0] == PER_LOCATION]
        for key, value in items:
            before, now = older.by_id.get(key[1]), self.by_id.get(key[1])
            if before is not None and now is not None and before.shown == now.shown:
                self._memo[key] = value

    def nearby(self, slug: str) -> tuple[str, ...]:
        """``search.nearby_municipalities``, the same expression on the same doubles."""
        def compute():
            mine = [(lat, lon) for s, _, lat, lon in self.points if s == slug]
            return tuple(sorted({s for s, active, lat, lon in self.points if active and any(
                _km(lat0, lon0, lat, lon) <= sql_search.NEARBY_KM for lat0, lon0 in mine)}))
        return self.remember(("nearby", slug), compute)

    def free_places(self, location_id, month: date, groups: tuple) -> int:
        cells = self.free[location_id]
        return sum(cells.get((month, g), 0) for g in groups) if cells else 0

    # --- bitsets: bit i stands for entries[i], in name order -------------------------------------

    def free_bits(self, month: date, groups: tuple) -> int:
        """Locations with free places in ``month`` for one of these age groups."""
        cells = self.bits.free
        found = 0
        for group in groups:
            found |= cells.get((month, group), 0)
        return found

    def age_bits(self, months: int) -> int:
        """Locations that take a child of ``months`` (an age range per distinct range)."""
        return self.remember(("age", months), lambda: _union(
            bits for (low, high), bits in self.bits.age_ranges.items() if low <= months <= high))

    def price_bits(self, max_price) -> int:
        """Income-related tariffs (capped by law, the family's own) and day prices up to ``max_price``."""
        return self.remember(("price", max_price), lambda: self.bits.income | _union(
            bits for price, bits in self.bits.prices.items() if price <= max_price))

    def opens_bits(self, before) -> int:
        return self.remember(("opens", before), lambda: _union(
            bits for at, bits in self.bits.opens.items() if at <= before))

    def closes_bits(self, after) -> int:
        return self.remember(("closes", after), lambda: _union(
            bits for at, bits in self.bits.closes.items() if at >= after))

    def by_free_places(self, month: date, groups: tuple) -> list[int]:
        """Every position, most free places first, then name order: "free" sorts pick from it."""
        def compute():
            totals = [0] * len(self.entries)
            for group in groups:
                for i, places in self.bits.places.get((month, group), ()):
                    totals[i] += places
            # A stable sort stays stable in reverse: equal totals keep name order.
            return sorted(range(len(totals)), key=totals.__getitem__, reverse=True)
        return self.remember(("by-free", month, groups), compute)


def _union(masks) -> int:
    found = 0
    for mask in masks:
        found |= mask
    return found


def _mask(positions, size: int) -> int:
    """A bitset of ``positions``: set in a byte array, then one int (an int per position would
    copy the whole set each time)."""
    buffer = bytearray((size + 7) // 8)
    for i in positions:
        buffer[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(buffer, "little")


def _positions(mask: int, size: int, limit: int | None = None) -> list[int]:
    """The set bits of ``mask``, lowest first, the first ``limit`` of them (None: all)."""
    text = format(mask, "b")[::-1]  # text[i] == "1": bit i set
    found = []
    at = text.find("1")
    while at >= 0 and (limit is None or len(found) < limit):
        found.append(at)
        at = text.find("1", at + 1)
    return found


@dataclass
class _Bits:
    """Each filter value's locations as one int; a search ANDs them, a facet counts bits."""

    size: int
    all: int
    tenants: list[tuple[str, int]]  # (slug, bits) by municipality name, then slug: the facet's order
    by_tenant: dict[str, int]
    kinds: dict[str, int]
    income: int
    special_care: int
    online: int
    languages: dict[str, int]
    age_ranges: dict[tuple[int, int], int]
    prices: dict  # day price -> bits (income-related tariffs: see ``income``)
    opens: dict
    closes: dict
    free: dict  # (month, age group) -> bits of locations with free places in it
    places: dict  # (month, age group) -> [(position, free places)], the cells that are not 0


def _bits(entries: list[_Entry], free: dict, tenant_names: dict[str, str]) -> _Bits:
    size = len(entries)

    def grouped(key) -> dict:
        positions: dict = {}
        for e in entries:
            for value in key(e):
                positions.setdefault(value, []).append(e.order)
        return {value: _mask(found, size) for value, found in positions.items()}

    by_tenant = grouped(lambda e: (e.tenant_slug,))
    flags = grouped(lambda e: [name for name, on in (("income", e.tariff == "income"), ("care", e.special_care),
                                                       ("online", e.accepts_online)) if on])
    cells: dict = {}
    places_of: dict = {}
    for e in entries:
        for cell, places in free[e.location_id].items():
            places_of.setdefault(cell, []).append((e.order, places))
            if places > 0:
                cells.setdefault(cell, []).append(e.order)
    return _Bits(
        size=size, all=(1 << size) - 1,
        tenants=[(slug, by_tenant[slug]) for slug in sorted(by_tenant, key=lambda s: (tenant_names[s], s))],
        by_tenant=by_tenant, kinds=grouped(lambda e: (e.kind,)),
        income=flags.get("income", 0), special_care=flags.get("care", 0), online=flags.get("online", 0),
        languages=grouped(lambda e: e.languages), age_ranges=grouped(lambda e: ((e.min_age, e.max_age),)),
        prices=grouped(lambda e: (e.day_price,) if e.tariff != "income" and e.day_price is not None else ()),
        opens=grouped(lambda e: (e.opens_at,)), closes=grouped(lambda e: (e.closes_at,)),
        free={cell: _mask(found, size) for cell, found in cells.items()}, places=places_of)


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
    tenant_names = {slug: name for slug, name in names}
    return Snapshot(generation=generation, day=today, entries=entries, by_id=by_id,
                    by_lat=sorted((e.lat, e.order, e.lon) for e in entries), free=free, names=names,
                    tenant_names=tenant_names, centroids=centroids,
                    region_settings=tenancy_services.region_settings(session),
                    points=[tuple(row) for row in session.execute(
                        select(Tenant.slug, Tenant.status == TenantStatus.ACTIVE, Postcode.lat, Postcode.lon)
                        .join(Tenant, Tenant.id == Postcode.tenant_id))],
                    bits=_bits(entries, free, tenant_names))


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
            snapshot.keep_per_location(self._snapshot)
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


_NO_QUERY = object()  # words that make no query (stop words only): remembered as such, answered as None


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
        scope = tuple(sorted(set(scope) | set(snapshot.nearby(scope[0]))))
    # The words' matches and ranks depend only on the catalog: asked once per snapshot and text.
    ranks = None
    if search.q:
        def words():
            found = _text_matches(session, search.q)
            return _NO_QUERY if found is None else found
        ranks = snapshot.remember_some(("text", search.q), words)
        if ranks is _NO_QUERY:
            ranks = None

    # The filters as bitsets (bit i: entries[i], name order), ANDed; a distance narrows to a
    # latitude band first and measures only there.
    bits = snapshot.bits
    entries = snapshot.entries
    mask = bits.all
    point = search.has_point
    if point and search.distance_km:
        km = search.distance_km

        def within() -> int:
            lat_span = km / 111.0
            lon_span = km / (111.0 * max(math.cos(math.radians(search.lat)), 0.01))
            low, high = search.lat - lat_span, search.lat + lat_span
            band = snapshot.by_lat[bisect.bisect_left(snapshot.by_lat, (low, -1)):
                                   bisect.bisect_right(snapshot.by_lat, (high, len(entries)))]
            lon_low, lon_high = search.lon - lon_span, search.lon + lon_span
            # The band is low <= lat <= high already (bisect on (lat, order, lon)).
            return _mask((order for lat, order, lon in band
                          if lon_low <= lon <= lon_high and _km(search.lat, search.lon, lat, lon) <= km), bits.size)

        # The same few points (postcode centres) and distances come back all day.
        mask = snapshot.remember_some(("band", search.lat, search.lon, km), within)
    if ranks is not None:
        by_id = snapshot.by_id
        mask &= _mask((by_id[i].order for i in ranks if i in by_id), bits.size)
    age = search.age_months(today)
    groups = age_groups_for(age)
    if age is not None:
        mask &= snapshot.age_bits(max(age, 0))
    if search.month is not None:
        mask &= snapshot.free_bits(search.month, groups)
    if search.income_only:
        mask &= bits.income
    if search.max_price is not None:
        mask &= snapshot.price_bits(search.max_price)
    if search.open_before is not None:
        mask &= snapshot.opens_bits(search.open_before)
    if search.open_after is not None:
        mask &= snapshot.closes_bits(search.open_after)
    if search.languages:
        mask &= _union(bits.languages.get(code, 0) for code in search.languages)
    if search.special_care:
        mask &= bits.special_care
    if search.online_only:
        mask &= bits.online

    # The facets: municipalities counted without the municipality filter, types without the type's.
    in_scope = _union(bits.by_tenant.get(slug, 0) for slug in scope) if scope else bits.all
    kinds = _union(bits.kinds.get(kind, 0) for kind in search.kinds) if search.kinds else bits.all
    for_municipalities = mask & kinds
    by_municipality = []
    if for_municipalities:
        for slug, tenant_bits in bits.tenants:
            count = (for_municipalities & tenant_bits).bit_count()
            if count:
                by_municipality.append((slug, snapshot.tenant_names[slug], count))
    for_kinds = mask & in_scope
    by_kind = {kind: count for kind in sorted(bits.kinds) if (count := (for_kinds & bits.kinds[kind]).bit_count())}
    matches = mask & in_scope & kinds
    total = matches.bit_count()

    first_month = search.free_month(today)
    free_places = snapshot.free_places
    pages = max(1, math.ceil(total / per_page))
    page = min(search.page, pages)
    start, end = (page - 1) * per_page, page * per_page
    # Already by name, then id: a stable sort on the first key keeps that as the tie-break.
    if search.sort == "relevance" and ranks is not None:
        ordered = sorted(_positions(matches, bits.size), key=lambda i: -ranks[entries[i].location_id])[start:end]
    elif search.sort == "distance" and point:
        ordered = sorted(_positions(matches, bits.size),
                         key=lambda i: _km(search.lat, search.lon, entries[i].lat, entries[i].lon))[start:end]
    elif search.sort == "free":
        # The positions by free places, picked while they match, up to this page's end.
        wanted = format(matches, "b")[::-1]
        ordered = []
        for i in snapshot.by_free_places(first_month, groups):
            if i < len(wanted) and wanted[i] == "1":
                ordered.append(i)
                if len(ordered) == end:
                    break
        ordered = ordered[start:end]
    else:
        ordered = _positions(matches, bits.size, limit=end)[start:end]
    rows = [{**e.shown, "free_places": free_places(e.location_id, first_month, groups),
             "distance_km": _km(search.lat, search.lon, e.lat, e.lon) if point else None}
            for e in (entries[i] for i in ordered)]
    return sql_search.Result(rows=rows, total=total, page=page, pages=pages, scope=scope,
                             by_municipality=by_municipality, by_kind=by_kind,
                             months=[add_months(month_start(today), i) for i in range(18)], free_month=first_month)
