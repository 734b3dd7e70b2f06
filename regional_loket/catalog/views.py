"""Search and location pages, on the regional portal and on every municipal portal."""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, format_time, get_locale
from markupsafe import Markup, escape
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from .. import clock, tariffs
from ..accounts.policy import public
from ..extensions import db
from ..months import add_months, month_start
from ..tenancy import Hosts, serves
from ..tenancy import services as tenancy_services
from ..web import layout
from ..web.urls import switch_url
from . import index, labels, search
from .cache import cached
from .models import CatalogLocation, Location

bp = Blueprint("catalog", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/catalog")
serves(bp, Hosts.ALL)


FACET_MUNICIPALITIES = 12  # municipalities named in the results' facet, most results first
CHECKLIST_MUNICIPALITIES = 30  # up to this many, the filter is a box per municipality


def today() -> date:
    return clock.today()


@bp.app_template_global()
def search_url(**changes) -> str:
    """This search with ``changes``, as a URL. The arguments go in the query string as they are:
    never as url_for keywords, where names like ``_external`` or ``endpoint`` mean something.
    The arguments not changed come in their order, then the changed ones (None removes one)."""
    # A results page builds a dozen of these links with the same names changed (the facets,
    # the pages): the unchanged part is encoded once per request and set of names.
    memo = g.setdefault("search_url_parts", {})
    names = tuple(changes)
    if names not in memo:
        memo[names] = urlencode([(k, v) for k, values in request.args.lists() if k not in changes
                                 for v in values])
    changed = urlencode([(k, item) for k, value in changes.items() if value is not None
                         for item in (value if isinstance(value, list | tuple) else [value])])
    query = "&".join(part for part in (memo[names], changed) if part)
    if "search_page_url" not in g:  # a results page builds hundreds of these links
        g.search_page_url = url_for("catalog.search_page")
    return g.search_page_url + (f"?{query}" if query else "")


@bp.route("/zoeken")
@public
@cached
def search_page():
    tenant = g.tenant
    default = (tenant.slug,) if tenant is not None else ()
    snapshot = index.snapshot(db.session, today())  # None: every part of the search in SQL
    # For the filter list, and to check the choice.
    tenants = snapshot.names if snapshot is not None else tenancy_services.active_names(db.session)
    query, problems = search.parse(request.args, session=db.session, today=today(),
                                   default_municipalities=default, municipalities=tenants,
                                   centroids=snapshot.centroids if snapshot is not None else None)
    result = index.run(db.session, query, today=today(), snapshot=snapshot)
    # A region of hundreds of municipalities: the facet names those with most results, the
    # filter offers a name field instead of a box per municipality.
    facet = result.by_municipality
    if len(facet) > FACET_MUNICIPALITIES:
        facet = sorted(facet, key=lambda item: (-item[2], item[1]))[:FACET_MUNICIPALITIES]
    if snapshot is not None:
        layout.provide_region_settings(dict(snapshot.region_settings))
    links = [location_link(r) for r in result.rows]
    points = [{"lat": r["lat"], "lon": r["lon"], "name": r["name"], "url": link}
              for r, link in zip(result.rows, links, strict=True)]
    return render_template(
        "catalog/search.html", query=query, problems=problems, result=result, points=points,
        labels=labels, tile_url=current_app.config.get("MAP_TILE_URL"),
        tile_attribution=current_app.config.get("MAP_TILE_ATTRIBUTION"),
        facet_municipalities=facet, more_municipalities=len(result.by_municipality) - len(facet),
        filters=filter_form(query, problems, tenant, tenants, result.months, snapshot),
        cards=result_cards(result, snapshot, links),
    )


# --- what a results page reuses -------------------------------------------------------------------
# A page of 20 results used to be rendered from scratch: each card's gettext, escaping, Babel
# formatting and url_for, the 18 months of the month list, 285 municipalities in the name field's
# list. Whatever depends only on the catalog and the language is now made once per snapshot of
# the search index (``index.Snapshot.remember``): a committed change to the catalog (the
# ``catalog_changed`` notification) brings a new snapshot, and with it new fragments. Without a
# snapshot (index off, listener down) the same code renders everything for this request only,
# so the output is the same either way. Each request still computes its own result set.

CARD_TEMPLATE = "catalog/_result_card.html"
_SLOTS = ("link", "distance", "free", "pick")  # what a card carries from the search, not the catalog
_SLOT_MARK = re.compile("\x00(" + "|".join(_SLOTS) + ")\x00")  # NUL: never in PostgreSQL text


def _remember(snapshot, key, compute):
    return snapshot.remember(key, compute) if snapshot is not None else compute()


def _datalist(tenants) -> Markup:
    return Markup("".join(f'<option value="{escape(t.name)}">' for t in tenants))  # nosec B704: every name escaped


def _month_options(months) -> list[tuple]:
    return [(m, m.strftime("%Y-%m"), format_date(m, "MMMM yyyy")) for m in months]


# The filter form: ~560 pieces of output, ~50 gettext and 18 months per page, of which a search
# changes only its values, a few ticked boxes, the selected month and sort and which sections
# are open. It is made once per (language, portal, snapshot) with a marker in each of those
# slots (``_FilterMarks``) and filled per search from ``FilterValues``: the same methods that
# render it directly when a search has problems to show next to its fields.

FILTERS_TEMPLATE = "catalog/_filters.html"
_FORM_MARK = re.compile("\x00([^\x00]*)\x00")


class FilterValues:
    """What the filter form shows of one search."""

    def __init__(self, query, args: MultiDict, problems: dict, tenant, checklist, box):
        self.query, self.args, self.problems, self.tenant = query, args, problems, tenant
        self._checklist, self._box = checklist, box

    def text(self, name: str) -> str:
        return self.query.q if name == "q" else self.args.get(name, "")

    def checked(self, name: str, code: str | None = None) -> str:
        q = self.query
        if code is None:
            on = {"nabij": q.nearby, "ikt": q.income_only, "zorg": q.special_care, "online": q.online_only}[name]
        else:
            on = code in {"type": q.kinds, "taal": q.languages}[name]
        return " checked" if on else ""

    def selected(self, name: str, code: str) -> str:
        q = self.query
        current = (q.month.strftime("%Y-%m") if q.month else None) if name == "maand" else q.sort
        return " selected" if code == current else ""

    def opened(self, section: str) -> str:
        q, problems = self.query, self.problems
        if section == "gemeenten":
            on = (q.municipalities and self.tenant is None) or problems.get("gemeente")
        else:  # "meer": the further filters
            on = (q.income_only or q.max_price or q.open_before or q.open_after or q.languages or q.special_care
                  or q.online_only or any(problems.get(n) for n in ("maxprijs", "open_voor", "open_na", "taal")))
        return " open" if on else ""

    def boxes(self) -> Markup:
        """A box per municipality in a small region; in a big one only the boxes ticked (the
        others are added through the name field)."""
        chosen = set(self.query.municipalities)
        return Markup("".join(self._box(t, chosen) for t in self._checklist))  # nosec B704: the boxes' template output


class _FilterMarks:
    """``FilterValues``' slots as markers: NUL, never in a form's constant text."""

    @staticmethod
    def _mark(*parts) -> Markup:
        return Markup("\x00" + ":".join(parts) + "\x00")  # nosec B704: method names, constant codes and slugs

    def text(self, name):
        return self._mark("text", name)

    def checked(self, name, code=None):
        return self._mark("checked", name, *((code,) if code is not None else ()))

    def selected(self, name, code):
        return self._mark("selected", name, code)

    def opened(self, section):
        return self._mark("opened", section)

    def boxes(self):
        return self._mark("boxes")


def filter_form(query, problems: dict, tenant, tenants, months, snapshot, *, made_once: bool = True) -> Markup:
    """The search page's filter form for this search; ``made_once=False`` renders it for this
    search alone, as a search with problems always is (the tests compare both ways)."""
    macros = current_app.jinja_env.get_template(FILTERS_TEMPLATE).module
    language = str(get_locale())
    many = len(tenants) > CHECKLIST_MUNICIPALITIES

    def box(t, chosen) -> str:
        before, after = _remember(snapshot, ("box", t.slug, language),
                                  lambda: tuple(str(macros.municipality_box(t, "\x00")).split("\x00")))
        return before + (" checked" if t.slug in chosen else "") + after

    chosen = set(query.municipalities)
    checklist = [t for t in tenants if t.slug in chosen] if many else tenants
    values = FilterValues(query, request.args, problems, tenant, checklist, box)

    def render(slots, problems) -> Markup:
        return macros.form(
            slots, problems, tenant, labels,
            _remember(snapshot, ("months", language), lambda: _month_options(months)),
            many, _remember(snapshot, ("datalist",), lambda: _datalist(tenants)) if many else "")

    if problems or not made_once:  # rare: the form with its error messages
        return render(values, problems)

    def cut() -> tuple:
        pieces = _FORM_MARK.split(str(render(_FilterMarks(), {})))
        return tuple(piece if i % 2 == 0 else tuple(piece.split(":")) for i, piece in enumerate(pieces))

    pieces = _remember(snapshot, ("filters", language, tenant.slug if tenant is not None else None, many), cut)
    html = "".join(piece if i % 2 == 0 else str(escape(getattr(values, piece[0])(*piece[1:])))
                   for i, piece in enumerate(pieces))
    return Markup(html)  # nosec B704: the autoescaped form template's output, its slots escaped


def _card_parts(macros, row) -> tuple[str, ...]:
    """The card rendered with a marker in each slot, cut at the markers: text, slot name, text, …"""
    marks = {name: Markup(f"\x00{name}\x00") for name in _SLOTS}  # nosec B704: constant slot names
    return tuple(_SLOT_MARK.split(str(macros.card(row, labels, marks["link"], marks["distance"], marks["free"],
                                                  marks["pick"]))))


def result_cards(result, snapshot, links: list[str]) -> list[Markup]:
    """The result list's cards: each location's card once per (location, language, snapshot),
    with this search's link, distance, free places and "choose" link put in its slots."""
    if not result.rows:
        return []
    macros = current_app.jinja_env.get_template(CARD_TEMPLATE).module
    language = str(get_locale())
    # Free places are shown for one month: the one asked for, else the wanted start's (with its
    # year when not this year's).
    month = format_date(result.free_month, "MMMM" if result.free_month.year == today().year else "MMMM yyyy")
    free_lines: dict[int, Markup] = {}  # a page has few distinct counts
    cards = []
    for row, link in zip(result.rows, links, strict=True):
        parts = _remember(snapshot, (index.PER_LOCATION, row["location_id"], "card", language), lambda row=row: _card_parts(macros, row))
        count = row["free_places"]
        if count not in free_lines:
            free_lines[count] = macros.free_places(count, month)
        km = row["distance_km"]
        slots = {
            "link": escape(link),
            # As the distance_km filter rounds it: one decimal.
            "distance": "" if km is None else _remember(
                snapshot, ("distance", language, round(Decimal(str(km)), 1)), lambda km=km: macros.distance(km)),
            "free": free_lines[count],
            "pick": escape(pick_link(row["location_id"])) if row["accepts_online"] else "",
        }
        html = "".join(part if i % 2 == 0 else slots[part] for i, part in enumerate(parts))
        cards.append(Markup(html))  # nosec B704: the autoescaped card template's output, its slots escaped
    return cards


# The arguments a search is made of: the only ones a location page carries back (``zoek``).
SEARCH_ARGS = ("q", "gemeente", "nabij", "postcode", "lat", "lon", "afstand", "type", "geboortedatum", "start",
               "maand", "ikt", "zorg", "online", "maxprijs", "open_voor", "open_na", "taal", "sorteer", "pagina")
MAX_CARRIED = 1000  # characters of a carried search; a longer one is dropped, not cut


def carried_search(args: MultiDict) -> MultiDict:
    """The search's own arguments out of ``args``, to travel along to a location page and back:
    known names only, printable values, bounded in size. Whatever else is dropped; the search
    page still checks every value as it always does."""
    kept = MultiDict((name, value) for name in SEARCH_ARGS for value in args.getlist(name)
                     if value.isprintable() and len(value) <= search.MAX_QUERY)
    return kept if len(urlencode(list(kept.items(multi=True)))) <= MAX_CARRIED else MultiDict()


def search_from(zoek: str | None) -> MultiDict:
    """The search a ``zoek`` parameter names (the query string of the search page)."""
    return carried_search(MultiDict(parse_qsl(zoek or "", keep_blank_values=True)))


def _this_search() -> str | None:
    """The current search as a ``zoek`` value. On a municipal portal its default municipality
    is written out, so the same search can be repeated from any host."""
    if "this_search" not in g:
        args = carried_search(request.args)
        if "gemeente" not in args and g.tenant is not None:
            args.add("gemeente", g.tenant.slug)
        g.this_search = urlencode(list(args.items(multi=True))) or None
    return g.this_search


# A page of results repeats the same links with another location id in them: each is built
# once per request around this id, which is then replaced (its first occurrence: the path, or
# the ``locatie`` argument, before anything the visitor typed).
_SLOT = uuid.UUID("00000000-0000-4000-8000-00000000c0de")


def _per_request(name: str, key, compute):
    memo = g.setdefault(name, {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


@bp.app_template_global()
def location_link(row) -> str:
    slug, location_id = row["tenant_slug"], row["location_id"]
    endpoint = "catalog.location" if g.tenant is not None and g.tenant.slug == slug else "catalog.location_elsewhere"
    link = _per_request("location_links", endpoint,
                        lambda: url_for(endpoint, location_id=_SLOT, zoek=_this_search()))
    return link.replace(str(_SLOT), str(location_id), 1)


@bp.app_template_global()
def pick_link(location_id) -> str:
    """"Choose this location": the request wizard on the regional portal, with this search's
    child (see ``request_link_args``)."""
    link = _per_request("pick_links", None, lambda: switch_url(None, "requests.pick",
                                                               **request_link_args(request.args, _SLOT)))
    return link.replace(str(_SLOT), str(location_id), 1)


@bp.app_template_global()
def short_time(value) -> str:
    """An opening hour as the ``timeformat('short')`` filter writes it; a page has few distinct ones."""
    return _per_request("short_times", value, lambda: format_time(value, "short"))


@bp.app_template_global()
def day_price(value) -> str:
    """A day price as the ``money`` filter writes it; a page has few distinct ones."""
    return _per_request("day_prices", value, lambda: current_app.jinja_env.filters["money"](value))


@bp.app_template_global()
def request_link_args(args: MultiDict, location_id) -> dict:
    """What "choose this location" hands to the request wizard: the location, and the child's
    birth date and the wanted start of the search, when they are valid dates."""
    carried = {name: found.isoformat() for name in ("geboortedatum", "start")
               if (found := search.iso_date(args.get(name)))}
    return {"locatie": location_id, **carried}


@bp.route("/locatie/<uuid:location_id>")
@public
def location_elsewhere(location_id: uuid.UUID):
    """From any portal to the location's own municipal portal (the catalog knows where)."""
    row = db.session.execute(
        select(CatalogLocation.location_id, CatalogLocation.tenant_id).where(
            CatalogLocation.location_id == location_id, CatalogLocation.active.is_(True))
    ).first()
    if row is None:
        abort(404)
    tenant = db.session.get(tenancy_services.Tenant, row.tenant_id)
    if tenant is None or tenant.is_archived:
        abort(404)
    zoek = urlencode(list(search_from(request.args.get("zoek")).items(multi=True))) or None
    return redirect(switch_url(tenant, "catalog.location", location_id=location_id, zoek=zoek))


@bp.route("/locaties/<uuid:location_id>")
@public
def location(location_id: uuid.UUID):
    tenant = g.tenant
    if tenant is None:
        return location_elsewhere(location_id)
    # Read from this municipality's own schema: another municipality's location is not here.
    place = db.session.get(Location, location_id)
    if place is None or not place.active:
        abort(404)
    first = month_start(today())
    months = [add_months(first, i) for i in range(18)]
    free = {(a.month, a.age_group): a.free_places for a in place.availability if a.month >= first}
    came_from = search_from(request.args.get("zoek"))
    # Back to the search the family came from (on the regional portal, which searches every
    # municipality), not to this municipality's empty search.
    back = switch_url(None, "catalog.search_page", **{k: came_from.getlist(k) for k in came_from}) if came_from \
        else url_for("catalog.search_page")
    # Income-related tariff: the families' estimate, for the start the search asked about.
    estimate = tariffs.calculator(db.session, request.args, today=clock.today(),
                                  suggested_start=search.iso_date(came_from.get("start"))) \
        if place.tariff == "income" else None
    page = make_response(render_template(
        "catalog/location.html", place=place, months=months, free=free, labels=labels, back_to_search=back,
        request_args=request_link_args(came_from, place.id), estimate=estimate, zoek=request.args.get("zoek")))
    if estimate is not None and estimate.submitted:
        page.headers["Cache-Control"] = "no-store"  # a family's income is in this page: no cache keeps it
    return page
