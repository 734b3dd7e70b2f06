"""The desk's worklists: who needs a call or a reminder. Each is a page (filtered, sorted, paged)
with a CSV and XLSX export of what it shows, and a count on the desk's home.

The rules are the owning packages' (overdue: ``applications.queries``; no offer before the
start and confirmations: ``care_requests.queries``; stale free places: ``catalog.queries``);
this module only reads their statements, so a count on the home and a list's total are the
same statement's. The call list of notifications is another page (not here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import abort, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts import Role, require
from ..applications import queries as applications
from ..applications import status_label
from ..care_requests import queries as requests
from ..catalog import queries as catalog
from ..database import utcnow
from ..extensions import db
from ..listing import count, page_of
from ..tenancy import Tenant, TenantStatus
from ..vocabulary import KIND_LABELS, kind_label
from ..web import exports
from ..web.input import parse_ascii_int
from .views import bp

PER_PAGE = 25


@dataclass(frozen=True)
class Option:
    value: str  # as in the URL
    label: str
    key: object  # what the query is given


@dataclass(frozen=True)
class Filter:
    """One filter of a list: a choice among options (anything else is refused with ``unknown``)."""

    arg: str  # the URL argument
    label: object
    everything: object  # the option meaning "no filter"
    unknown: object  # the message for a value that is not one of the options
    options: Callable[[Tenant], list[Option]]


@dataclass(frozen=True)
class Worklist:
    slug: str  # its URL and export file name
    title: object
    template: str
    sorts: tuple[str, ...]  # the query's sort keys; the first is the default
    # (tenant, now, {arg: option key}, sort, descending) → the statement of its rows
    statement: Callable
    # The export: its header, and a row's cells given (row, tenant, now)
    header: tuple
    cells: Callable
    filters: tuple[Filter, ...] = field(default=())


def _locations(tenant: Tenant) -> list[Option]:
    return [Option(str(id), name, id) for id, name in catalog.location_choices(db.session)]


def _municipalities(tenant: Tenant) -> list[Option]:
    rows = db.session.execute(select(Tenant.id, Tenant.slug, Tenant.name)
                              .where(Tenant.status == TenantStatus.ACTIVE).order_by(Tenant.name))
    return [Option(slug, name, id) for id, slug, name in rows]


def _kinds(tenant: Tenant) -> list[Option]:
    return [Option(str(code), str(label), str(code)) for code, label in KIND_LABELS.items()]


def _states(tenant: Tenant) -> list[Option]:
    return [Option("binnenkort", _("binnenkort te bevestigen"), requests.ConfirmationState.DUE),
            Option("gemist", _("bevestiging gemist"), requests.ConfirmationState.MISSED)]


OVERDUE = Worklist(
    slug="te-laat", title=_l("Aanvragen te laat beantwoord"), template="coordinator/worklists/overdue.html",
    sorts=tuple(applications.OVERDUE_SORTS),
    statement=lambda tenant, now, chosen, sort, descending: applications.overdue_applications(
        now=now, response_days=tenant.settings.response_days, location_id=chosen.get("locatie"), sort=sort,
        descending=descending),
    header=(_l("locatie"), _l("voornaam"), _l("familienaam"), _l("ingediend"), _l("dagen te laat"), _l("status"),
            _l("startmaand")),
    cells=lambda row, tenant, now: [
        row.location_name, row.first_name, row.last_name, row.submitted_at.date(),
        applications.days_overdue(row.submitted_at, now, tenant.settings.response_days), status_label(row.status),
        row.start_month],
    filters=(Filter("locatie", _l("Locatie"), _l("alle locaties"),
                    _l("Deze locatie bestaat niet in deze gemeente. Kies er een uit de lijst."), _locations),),
)

WITHOUT_OFFER = Worklist(
    slug="zonder-aanbod", title=_l("Gezinnen zonder aanbod voor hun startdatum"),
    template="coordinator/worklists/without_offer.html", sorts=tuple(requests.WITHOUT_OFFER_SORTS),
    statement=lambda tenant, now, chosen, sort, descending: requests.without_offer(
        tenant_id=tenant.id, today=now.date(), months_before_start=tenant.settings.call_months_before_start,
        choice_tenant_id=chosen.get("gemeente"), sort=sort, descending=descending),
    header=(_l("gewenste start"), _l("kind"), _l("ouder"), _l("telefoon"), _l("e-mailadres"), _l("gekozen gemeenten"),
            _l("ingediend")),
    cells=lambda row, tenant, now: [
        row.start_date, row.child_first_name, row.guardian_name, row.phone, row.guardian_email,
        ", ".join(sorted(row.municipalities or [])), row.submitted_at.date() if row.submitted_at else None],
    filters=(Filter("gemeente", _l("Met een keuze in"), _l("alle gemeenten"),
                    _l("Deze gemeente hoort niet bij de regio. Kies er een uit de lijst."), _municipalities),),
)

CONFIRMATION = Worklist(
    slug="bevestiging", title=_l("Aanvragen die bevestigd moeten worden"),
    template="coordinator/worklists/confirmation.html", sorts=requests.CONFIRMATION_SORTS,
    statement=lambda tenant, now, chosen, sort, descending: requests.confirmation_due(
        tenant_id=tenant.id, now=now, state=chosen.get("stand"), sort=sort, descending=descending),
    header=(_l("te bevestigen tegen"), _l("gemist"), _l("kind"), _l("ouder"), _l("telefoon"), _l("e-mailadres"),
            _l("gewenste start"), _l("laatst bevestigd")),
    cells=lambda row, tenant, now: [
        row.due_at.date(), _("ja") if row.missed else _("nee"), row.child_first_name, row.guardian_name, row.phone,
        row.guardian_email, row.start_date, row.confirmed_at.date() if row.confirmed_at else None],
    filters=(Filter("stand", _l("Stand"), _l("binnenkort en gemist"),
                    _l("Kies 'binnenkort' of 'gemist'."), _states),),
)

STALE = Worklist(
    slug="vrije-plaatsen", title=_l("Locaties met verouderde vrije plaatsen"),
    template="coordinator/worklists/stale.html", sorts=tuple(catalog.STALE_SORTS),
    statement=lambda tenant, now, chosen, sort, descending: catalog.stale_free_places(
        now=now, weeks=tenant.settings.stale_free_places_weeks, kind=chosen.get("soort"), sort=sort,
        descending=descending),
    header=(_l("locatie"), _l("soort"), _l("plaats"), _l("vrije plaatsen bijgewerkt op")),
    cells=lambda row, tenant, now: [
        row.name, kind_label(row.kind), row.locality,
        row.free_places_updated_at.date() if row.free_places_updated_at else _("nooit")],
    filters=(Filter("soort", _l("Soort opvang"), _l("alle soorten"),
                    _l("Kies een soort opvang uit de lijst."), _kinds),),
)

WORKLISTS = {w.slug: w for w in (OVERDUE, WITHOUT_OFFER, CONFIRMATION, STALE)}
SLUGS = ", ".join(f"'{slug}'" for slug in WORKLISTS)  # for the any() converter (dashes need quotes)


@dataclass
class Chosen:
    """What the visitor asked for, read from the URL: the filters (refused ones named with their
    message), the sort, and what links keep."""

    keys: dict  # filter arg → the option's key, for the query
    labels: list  # the chosen options' labels, for the export's file name
    problems: dict  # filter arg → message
    options: dict  # filter arg → its options, for the form
    values: dict  # filter arg → the chosen value as in the URL ("" = no filter)
    sort: str
    descending: bool

    @property
    def sort_arg(self) -> str:
        return ("-" if self.descending else "") + self.sort

    def keep(self, **override) -> dict:
        """The URL arguments of this view (empty ones left out), with ``override``."""
        args = {**{k: v for k, v in self.values.items() if v}, "sorteer": self.sort_arg, **override}
        return {k: v for k, v in args.items() if v is not None}


def _chosen(worklist: Worklist, tenant: Tenant, args) -> Chosen:
    keys, labels, problems, options, values = {}, [], {}, {}, {}
    for spec in worklist.filters:
        options[spec.arg] = spec.options(tenant)
        wanted = args.get(spec.arg, "").strip()
        values[spec.arg] = wanted
        if not wanted:
            continue
        option = next((o for o in options[spec.arg] if o.value == wanted), None)
        if option is None:
            problems[spec.arg] = str(spec.unknown)
        else:
            keys[spec.arg] = option.key
            labels.append(option.label)
    sort = args.get("sorteer", "")
    descending = sort.startswith("-")
    sort = sort.removeprefix("-")
    if sort not in worklist.sorts:  # an unknown sort is the default one, not an error
        sort, descending = worklist.sorts[0], False
    return Chosen(keys, labels, problems, options, values, sort, descending)


def _worklist(slug: str) -> Worklist:
    worklist = WORKLISTS.get(slug)
    if worklist is None:
        abort(404)
    return worklist


def total(worklist: Worklist, tenant: Tenant, now: datetime) -> int:
    """How many rows the list holds without filters: the count on the desk's home."""
    return count(db.session, worklist.statement(tenant, now, {}, worklist.sorts[0], False))


@bp.route(f"/werklijsten/<any({SLUGS}):slug>")
@require(Role.COORDINATOR, Role.ADMIN)
def worklist(slug: str):
    worklist, tenant, now = _worklist(slug), g.tenant, utcnow()
    chosen = _chosen(worklist, tenant, request.args)
    if chosen.problems:
        return _page(worklist, tenant, now, chosen, None)
    # A page that is not a number is the first; past the last, the last (page_of).
    page = parse_ascii_int(request.args.get("pagina", "1").strip() or "1") or 1
    statement = worklist.statement(tenant, now, chosen.keys, chosen.sort, chosen.descending)
    return _page(worklist, tenant, now, chosen, page_of(db.session, statement, page, PER_PAGE))


def _page(worklist: Worklist, tenant: Tenant, now: datetime, chosen: Chosen, listed):
    """The list's page; without ``listed`` (a refused filter) its form says why, and nothing is listed."""
    response_days = tenant.settings.response_days
    return render_template(worklist.template, worklist=worklist, listed=listed, chosen=chosen, now=now,
                           settings=tenant.settings,
                           days_overdue=lambda row: applications.days_overdue(row.submitted_at, now, response_days),
                           ), 422 if listed is None else 200


@bp.route(f"/werklijsten/<any({SLUGS}):slug>/export.<any(csv, xlsx):fmt>")
@require(Role.COORDINATOR, Role.ADMIN)
def worklist_export(slug: str, fmt: str):
    worklist, tenant, now = _worklist(slug), g.tenant, utcnow()
    chosen = _chosen(worklist, tenant, request.args)
    if chosen.problems:  # the page says what is wrong, next to the filter; nothing is exported
        return _page(worklist, tenant, now, chosen, None)
    statement = worklist.statement(tenant, now, chosen.keys, chosen.sort, chosen.descending)
    rows = [worklist.cells(row, tenant, now) for row in db.session.execute(statement)]
    # The filters are in the file's name: an export says what it is a list of.
    name = "-".join([worklist.slug, tenant.slug, *chosen.labels, f"{now:%Y%m%d}"])
    if fmt == "csv":
        return exports.csv_response(worklist.header, rows, name)
    return exports.xlsx_response(worklist.header, rows, name, sheet=worklist.title)


@bp.context_processor
def _desk_worklists():
    """``desk_worklists()`` for the desk's home: each list's title, link and count (read only
    when the home calls it)."""

    def desk_worklists():
        now = utcnow()
        return [(w.title, url_for("coordinator.worklist", slug=w.slug), total(w, g.tenant, now))
                for w in WORKLISTS.values()]

    return {"desk_worklists": desk_worklists} if g.get("tenant") is not None else {}
