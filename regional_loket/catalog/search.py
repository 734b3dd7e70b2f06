"""Search across municipality borders: one query over the regional catalog.

``parse`` turns request arguments into a :class:`Search` and a dict of translated problems per
field; a field with a problem is left out of the search (the rest still applies), so a typo in
one box never costs the family its results. ``run`` executes it with facets and pagination.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, time
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from functools import lru_cache

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Float,
    Text,
    and_,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from ..months import add_months, age_in_months, month_start
from ..tenancy import Postcode, Tenant, TenantStatus
from ..tenancy import services as tenancy_services
from ..vocabulary import Kind, age_groups_for
from .mirror import fold
from .models import CatalogAvailability, CatalogLocation, Tariff

PER_PAGE = 20
MAX_QUERY = 200
MAX_DISTANCE_KM = 100
NEARBY_KM = 8
SORTS = ("relevance", "distance", "free", "name")
LANGUAGE_CODES = ("nl", "fr", "en", "de", "ar", "tr", "es", "it", "pl", "ro")
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Search:
    q: str = ""
    municipalities: tuple[str, ...] = ()
    nearby: bool = False
    postcode: str = ""
    lat: float | None = None
    lon: float | None = None
    distance_km: float | None = None
    kinds: tuple[str, ...] = ()
    birth_date: date | None = None
    start: date | None = None
    month: date | None = None
    income_only: bool = False
    max_price: Decimal | None = None
    open_before: time | None = None
    open_after: time | None = None
    languages: tuple[str, ...] = ()
    special_care: bool = False
    online_only: bool = False
    sort: str = "relevance"
    page: int = 1

    @property
    def has_point(self) -> bool:
        return self.lat is not None and self.lon is not None

    def age_months(self, today: date) -> int | None:
        """Age of the child at the wanted start (negative: not born yet)."""
        if self.birth_date is None:
            return None
        return age_in_months(self.birth_date, self.start or self.month or today)

    def free_month(self, today: date) -> date:
        """The month whose free places a result shows: the month asked for, else the wanted
        start's month (a start in the past counts from now), else this month."""
        if self.month is not None:
            return self.month
        if self.start is not None:
            return max(month_start(self.start), month_start(today))
        return month_start(today)


def _list(args, name: str) -> list[str]:
    values = []
    for raw in args.getlist(name):
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    return values


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(text: str | None) -> date | None:
    """A date written as 2026-09-01, and only so (no other ISO forms, no other digits)."""
    text = (text or "").strip()
    return _date(text) if _ISO_DATE.fullmatch(text) else None


def _time(text: str) -> time | None:
    try:
        return time.fromisoformat(text)
    except ValueError:
        return None


@lru_cache(maxsize=4096)  # every request folds the names of all municipalities (285 in Flanders)
def _name_key(text: str) -> str:
    """A municipality name as typed, compared without case, accents or punctuation."""
    return " ".join(_TOKEN.findall(fold(text)))


def parse(args, *, session: Session, today: date, default_municipalities: tuple[str, ...] = (),
          municipalities: list | None = None, centroids: dict | None = None) -> tuple[Search, dict]:
    """Read a search from request arguments; problems are translated messages per field.
    ``municipalities``: the active (slug, name) pairs, when the caller has them already;
    ``centroids``: postcode -> (lat, lon) as the query below computes them (the search index's)."""
    problems: dict[str, object] = {}
    values: dict = {}

    q = " ".join(args.get("q", "").split())
    if len(q) > MAX_QUERY:
        problems["q"] = _l("Gebruik hoogstens %(max)s tekens.", max=MAX_QUERY)
        q = q[:MAX_QUERY]
    values["q"] = q

    # A municipality by its slug (links, checkboxes) or its name as typed ("Sint-Genesius-Rode",
    # "sint genesius rode"): a large region offers a name field instead of hundreds of boxes.
    known = {}
    for slug, name in tenancy_services.active_names(session) if municipalities is None else municipalities:
        known.setdefault(_name_key(name), slug)
        known[slug] = slug
    chosen = _list(args, "gemeente")
    if "gemeente" not in args and default_municipalities:
        chosen = list(default_municipalities)
    found = {given: known.get(given) or known.get(_name_key(given)) for given in chosen}
    unknown = [given for given, slug in found.items() if slug is None]
    if unknown:
        # gettext, not _l: a lazy string counts as safe HTML in templates (LazyString.__html__),
        # and this one carries the visitor's own text, which must be escaped like any other.
        problems["gemeente"] = gettext("Deze gemeente kennen we niet: %(names)s.", names=", ".join(unknown[:3])[:80])
    values["municipalities"] = tuple(dict.fromkeys(slug for slug in found.values() if slug is not None))
    values["nearby"] = args.get("nabij") in ("1", "on", "true")

    postcode = args.get("postcode", "").strip()
    if postcode:
        if not re.fullmatch(r"[1-9]\d{3}", postcode):
            problems["postcode"] = _l("Een postcode heeft 4 cijfers, bv. 3000.")
        else:
            point = centroids.get(postcode, (None, None)) if centroids is not None else session.execute(
                select(func.avg(Postcode.lat), func.avg(Postcode.lon)).where(Postcode.code == postcode)
            ).one()
            if point[0] is None:
                problems["postcode"] = _l("Deze postcode ligt niet in de regio.")
            else:
                values.update(postcode=postcode, lat=float(point[0]), lon=float(point[1]))
    lat_text, lon_text = args.get("lat", "").strip(), args.get("lon", "").strip()
    if (lat_text or lon_text) and "lat" not in values:
        try:
            lat, lon = float(lat_text), float(lon_text)
            if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat + lon):
                raise ValueError
            values.update(lat=lat, lon=lon)
        except ValueError:
            problems["punt"] = _l("Dit punt op de kaart is ongeldig.")

    distance = args.get("afstand", "").strip()
    if distance:
        try:
            km = float(distance.replace(",", "."))
            if not 0 < km <= MAX_DISTANCE_KM or math.isnan(km):
                raise ValueError
            values["distance_km"] = km
        except ValueError:
            problems["afstand"] = _l("Kies een afstand tussen 1 en %(max)s km.", max=MAX_DISTANCE_KM)
        if "distance_km" in values and "lat" not in values and "postcode" not in problems:
            problems["afstand"] = _l("Geef ook een postcode op om op afstand te zoeken.")

    kinds = tuple(dict.fromkeys(_list(args, "type")))
    if any(k not in set(Kind) for k in kinds):
        problems["type"] = _l("Kies een geldig type opvang.")
    values["kinds"] = tuple(k for k in kinds if k in set(Kind))

    for name, key in (("geboortedatum", "birth_date"), ("start", "start")):
        text = args.get(name, "").strip()
        if text:
            parsed = _date(text)
            if parsed is None:
                problems[name] = _l("Gebruik een datum als 2026-09-01.")
            else:
                values[key] = parsed
    birth, start = values.get("birth_date"), values.get("start")
    if birth is not None and birth > add_months(today, 10):
        problems["geboortedatum"] = _l("Een verwachte geboortedatum ligt hoogstens 10 maanden vooruit.")
        values.pop("birth_date")
    elif birth is not None and birth < date(today.year - 13, today.month, 1):
        problems["geboortedatum"] = _l("Kinderopvang is er voor kinderen tot 12 jaar.")
        values.pop("birth_date")
    if start is not None and not (date(today.year - 1, 1, 1) <= start <= add_months(today, 36)):
        problems["start"] = _l("Kies een startdatum in de komende drie jaar.")
        values.pop("start")
    elif start is not None and values.get("birth_date") and start < values["birth_date"]:
        problems["start"] = _l("De startdatum ligt voor de geboortedatum.")
        values.pop("start")

    month = args.get("maand", "").strip()
    if month:
        parsed = _date(month + "-01") if re.fullmatch(r"\d{4}-\d{2}", month) else None
        if parsed is None or not (month_start(today) <= parsed <= add_months(today, 17)):
            problems["maand"] = _l("Kies een maand in de komende 18 maanden.")
        else:
            values["month"] = parsed

    values["income_only"] = args.get("ikt") in ("1", "on", "true")
    values["special_care"] = args.get("zorg") in ("1", "on", "true")
    values["online_only"] = args.get("online") in ("1", "on", "true")
    price = args.get("maxprijs", "").strip()
    if price:
        try:
            amount = Decimal(price.replace(",", "."))
            if not Decimal(0) < amount <= Decimal(200):
                raise InvalidOperation
            # Whole cents, as prices are: PostgreSQL's numeric cannot take 1e-999999.
            values["max_price"] = amount.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
        except InvalidOperation:
            problems["maxprijs"] = _l("Geef een dagprijs tussen 0 en 200 euro.")
    for name, key in (("open_voor", "open_before"), ("open_na", "open_after")):
        text = args.get(name, "").strip()
        if text:
            parsed = _time(text)
            if parsed is None:
                problems[name] = _l("Gebruik een uur als 07:30.")
            else:
                values[key] = parsed
    languages = tuple(dict.fromkeys(_list(args, "taal")))
    if any(code not in LANGUAGE_CODES for code in languages):
        problems["taal"] = _l("Kies een taal uit de lijst.")
    values["languages"] = tuple(code for code in languages if code in LANGUAGE_CODES)

    sort = args.get("sorteer", "")
    if sort and sort not in SORTS:
        problems["sorteer"] = _l("Kies een geldige sortering.")
    values["sort"] = sort if sort in SORTS else ("distance" if "lat" in values else "relevance" if q else "name")

    page = args.get("pagina", "1").strip() or "1"
    # Not str.isdigit: it accepts "²", which int() refuses; and int() refuses over 4300 digits.
    if not re.fullmatch(r"[0-9]{1,5}", page) or not 1 <= int(page) <= 10_000:
        problems["pagina"] = _l("Die pagina bestaat niet; we tonen de eerste.")
        page = "1"
    values["page"] = int(page)
    return Search(**values), problems


# --- the query -------------------------------------------------------------------------------


def _ts_query(session: Session, text: str):
    """Prefix match on every word, in the simple, Dutch and French configurations.

    The three often agree ("zonnebloem:*" thrice): OR-ing copies makes the planner expect three
    times the rows and scan the table instead of the GIN index (ten times slower at 6,000
    locations). So they are built once, here, and only the distinct ones are OR-ed."""
    tokens = _TOKEN.findall(fold(text))[:12]
    if not tokens:
        return None
    expression = " & ".join(f"{token}:*" for token in tokens)
    built = session.execute(select(
        *(cast(func.to_tsquery(config, expression), Text) for config in ("simple", "dutch", "french")))).one()
    distinct = [query for query in dict.fromkeys(built) if query]  # a stop word alone gives ""
    if not distinct:
        return None
    return cast(" | ".join(f"( {query} )" for query in distinct), TSQUERY)


def _distance(lat: float, lon: float):
    c = CatalogLocation
    return 6371.0 * 2 * func.asin(func.sqrt(
        func.power(func.sin(func.radians(c.lat - lat) / 2), 2)
        + func.cos(func.radians(literal(lat, Float))) * func.cos(func.radians(c.lat))
        * func.power(func.sin(func.radians(c.lon - lon) / 2), 2)
    ))


def nearby_municipalities(session: Session, slug: str, km: float = NEARBY_KM) -> tuple[str, ...]:
    """Municipalities with a locality centre within ``km`` of one of ``slug``'s."""
    mine = select(Postcode.lat, Postcode.lon).join(Tenant).where(Tenant.slug == slug).subquery()
    other = Postcode.__table__.alias("other")
    distance = 6371.0 * 2 * func.asin(func.sqrt(
        func.power(func.sin(func.radians(other.c.lat - mine.c.lat) / 2), 2)
        + func.cos(func.radians(mine.c.lat)) * func.cos(func.radians(other.c.lat))
        * func.power(func.sin(func.radians(other.c.lon - mine.c.lon) / 2), 2)))
    rows = session.execute(
        select(Tenant.slug).distinct().join(other, other.c.tenant_id == Tenant.id).join(mine, true())
        .where(distance <= km, Tenant.status == TenantStatus.ACTIVE)
    )
    return tuple(sorted(r for (r,) in rows))


@dataclass
class Result:
    rows: list[dict]
    total: int
    page: int
    pages: int
    by_municipality: list[tuple[str, str, int]] = field(default_factory=list)  # slug, name, count
    by_kind: dict[str, int] = field(default_factory=dict)
    scope: tuple[str, ...] = ()  # municipalities searched (after "nearby")
    months: list[date] = field(default_factory=list)
    free_month: date | None = None  # the month of each row's ``free_places``


@dataclass(frozen=True)
class _Where:
    """A search as SQL: ``common`` for every filter but two, which facets count without their
    own: ``municipality`` and ``kind`` (true when not filtered)."""

    common: list
    municipality: ColumnElement
    kind: ColumnElement

    @property
    def all(self) -> list:
        return [*self.common, self.municipality, self.kind]


def _conditions(search: Search, *, today: date, scope: tuple[str, ...], text_query) -> _Where:
    c = CatalogLocation
    where = [c.active.is_(True), Tenant.status == TenantStatus.ACTIVE]
    if text_query is not None:
        where.append(c.search_vector.op("@@")(text_query))
    if search.has_point and search.distance_km:
        km = search.distance_km
        lat_span = km / 111.0
        lon_span = km / (111.0 * max(math.cos(math.radians(search.lat)), 0.01))
        where += [c.lat.between(search.lat - lat_span, search.lat + lat_span),
                  c.lon.between(search.lon - lon_span, search.lon + lon_span),
                  _distance(search.lat, search.lon) <= km]
    age = search.age_months(today)
    if age is not None:
        where += [c.min_age_months <= max(age, 0), c.max_age_months >= max(age, 0)]
    if search.month is not None:
        where.append(select(CatalogAvailability.location_id).where(
            CatalogAvailability.location_id == c.location_id,
            CatalogAvailability.month == search.month,
            CatalogAvailability.age_group.in_(age_groups_for(age)),
            CatalogAvailability.free_places > 0,
        ).exists())
    if search.income_only:
        where.append(c.tariff == Tariff.INCOME)
    if search.max_price is not None:
        # Income-related tariffs are capped by law and depend on the family: they stay in.
        where.append(or_(c.tariff == Tariff.INCOME, c.day_price <= search.max_price))
    if search.open_before is not None:
        where.append(c.opens_at <= search.open_before)
    if search.open_after is not None:
        where.append(c.closes_at >= search.open_after)
    if search.languages:
        where.append(c.languages.overlap(cast(list(search.languages), c.languages.type)))
    if search.special_care:
        where.append(c.special_care.is_(True))
    if search.online_only:
        where.append(c.accepts_online.is_(True))
    return _Where(where, Tenant.slug.in_(scope) if scope else true(),
                  c.kind.in_(search.kinds) if search.kinds else true())


# What a result shows: never the wide search columns (text and tsvector), which would be
# carried through the sort of every matching row.
_SHOWN = ("location_id", "name", "organiser", "kind", "street", "number", "postcode", "locality", "lat", "lon",
          "licensed_places", "min_age_months", "max_age_months", "opens_at", "closes_at", "languages", "tariff",
          "day_price", "special_care", "accepts_online", "description", "free_places_updated_at")


def run(session: Session, search: Search, *, today: date, per_page: int = PER_PAGE) -> Result:
    c = CatalogLocation
    # Every search statement touches a few thousand rows at most: starting a parallel worker
    # costs more than it saves (4 ms of 9 at 6,000 locations), and under load the other
    # requests are the parallelism.
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    scope = search.municipalities
    if search.nearby and len(scope) == 1:
        scope = tuple(sorted(set(scope) | set(nearby_municipalities(session, scope[0]))))
    text_query = _ts_query(session, search.q) if search.q else None
    where = _conditions(search, today=today, scope=scope, text_query=text_query)
    age = search.age_months(today)
    groups = age_groups_for(age)
    first_month = search.free_month(today)
    free_now = (
        select(func.coalesce(func.sum(CatalogAvailability.free_places), 0))
        .where(CatalogAvailability.location_id == c.location_id, CatalogAvailability.month == first_month,
               CatalogAvailability.age_group.in_(groups))
        .scalar_subquery()
    )
    columns = [*(getattr(c, name) for name in _SHOWN), Tenant.slug.label("tenant_slug"),
               Tenant.name.label("tenant_name"), Tenant.subdomain.label("tenant_subdomain"),
               free_now.label("free_places")]
    distance = _distance(search.lat, search.lon) if search.has_point else None
    if distance is not None:
        columns.append(distance.label("distance_km"))
    rank = func.ts_rank(c.search_vector, text_query) if text_query is not None else None
    order = {
        "relevance": [rank.desc()] if rank is not None else [],
        "distance": [distance.asc()] if distance is not None else [],
        "free": [free_now.desc()],
        "name": [],
    }[search.sort] + [c.name, c.location_id]

    total, by_municipality, by_kind = _counts(session, where)
    pages = max(1, math.ceil(total / per_page))
    page = min(search.page, pages)
    # Sort the matches narrow (id and sort keys), then fetch the wide columns of one page only.
    chosen = (select(c.location_id, func.row_number().over(order_by=order).label("n"))
              .join(Tenant, Tenant.id == c.tenant_id).where(and_(*where.all))
              .order_by(*order).limit(per_page).offset((page - 1) * per_page).subquery("chosen"))
    statement = (select(*columns).join(chosen, chosen.c.location_id == c.location_id)
                 .join(Tenant, Tenant.id == c.tenant_id).order_by(chosen.c.n))
    rows = [
        {**{name: row[i] for i, name in enumerate(_SHOWN)},
         "tenant_slug": row.tenant_slug, "tenant_name": row.tenant_name, "tenant_subdomain": row.tenant_subdomain,
         "free_places": int(row.free_places or 0),
         "distance_km": float(row.distance_km) if distance is not None else None}
        for row in session.execute(statement)
    ] if total else []
    return Result(rows=rows, total=total, page=page, pages=pages, scope=scope, by_municipality=by_municipality,
                  by_kind=by_kind, months=[add_months(month_start(today), i) for i in range(18)],
                  free_month=first_month)


def _counts(session: Session, where: _Where) -> tuple[int, list, dict]:
    """The total and both facets in one pass over the matches (GROUPING SETS): the municipality
    facet counts without the municipality filter, the type facet without the type filter."""
    c = CatalogLocation
    statement = (
        select(func.grouping(Tenant.slug, c.kind).label("level"), Tenant.slug, Tenant.name, c.kind,
               func.count().filter(and_(where.municipality, where.kind)).label("total"),
               func.count().filter(where.kind).label("by_municipality"),
               func.count().filter(where.municipality).label("by_kind"))
        .select_from(c).join(Tenant, Tenant.id == c.tenant_id)
        .where(and_(*where.common), or_(where.municipality, where.kind))
        .group_by(func.grouping_sets(tuple_(Tenant.slug, Tenant.name), tuple_(c.kind), tuple_()))
    )
    total, by_municipality, by_kind = 0, [], {}
    for row in session.execute(statement):
        if row.level == 0b01:  # grouped by municipality (kind rolled up)
            if row.by_municipality:
                by_municipality.append((row.slug, row.name, row.by_municipality))
        elif row.level == 0b10:  # grouped by kind
            if row.by_kind:
                by_kind[row.kind] = row.by_kind
        else:
            total = row.total
    by_municipality.sort(key=lambda item: (item[1], item[0]))
    # In the vocabulary's order whatever plan PostgreSQL chose: the API's JSON is the same each time.
    return total, by_municipality, {kind: by_kind[kind] for kind in sorted(by_kind)}


def with_page(search: Search, page: int) -> Search:
    return replace(search, page=page)
