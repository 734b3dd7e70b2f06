"""Each figure of the dashboards built once — its table, its chart, its one-sentence summary —
so the page's table, the chart's picture and the CSV/XLSX export can never disagree.

``desk_figures`` (one municipality) and ``region_figures`` (all of them) take the session, the
scope and period, and the names they show (locations, municipalities) explicitly."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from babel import numbers
from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.orm import Session

from ..months import month_start
from ..vocabulary import age_group_label
from ..web.charts import bar_chart, heatmap
from . import dashboard
from .dashboard import START_BUCKETS, VULNERABLE_NORM, WAITED_BUCKETS, Period, Scope

# The region's charts stay readable: the table beside them always holds every municipality.
CHART_MUNICIPALITIES = 20
MATRIX_MUNICIPALITIES = 15
# A municipality with hundreds of locations (Antwerp, Ghent): the charts show the busiest, the
# page's tables their first rows (busiest first); every row is in the export.
CHART_LOCATIONS = 25
SHOWN_ROWS = 50


@dataclass
class Figure:
    key: str
    title: str
    summary: str
    header: list
    rows: list[list] = field(default_factory=list)
    chart: Markup | None = None
    shown: int | None = None  # the page shows this many rows (the export all of them)


def _month(value: date) -> str:
    return format_date(value, "MMM yyyy")


def _days(value: float | None, locale: str | None = None) -> str:
    """Days in the reader's notation (``locale``: pass it in loops, it is read once per figure)."""
    return "—" if value is None else _formatted(round(value, 1), locale or str(get_locale()), percent=False)


def _share(value: float | None, locale: str | None = None) -> str:
    return "—" if value is None else _formatted(value, locale or str(get_locale()), percent=True)


@lru_cache(maxsize=4096)
def _formatted(value: float, locale: str, *, percent: bool) -> str:
    """Babel's formatting, once per value and language: a region's page writes hundreds of
    medians and shares, most of them alike (whole and half days, a few percentages)."""
    return (numbers.format_percent if percent else numbers.format_decimal)(value, locale=locale)


def _bucket_label(low, high, *, unit_first: bool) -> str:
    if low is None:
        return _("start voorbij")
    if high is None:
        return _("%(n)s maanden of meer", n=low) if unit_first else _("over %(n)s maanden of later", n=low)
    return _("%(low)s tot %(high)s maanden", low=low, high=high)


def requests_figure(session: Session, scope: Scope, period: Period) -> Figure:
    per_month = dashboard.requests_per_month(session, scope, period)
    header = [_("Maand"), _("Nieuw"), _("Geplaatst"), _("Ingetrokken"), _("Inactief")]
    rows = [[_month(m), *(counts[o] for o in dashboard.REQUEST_OUTCOMES)] for m, counts in per_month.items()]
    new = sum(c["new"] for c in per_month.values())
    placed = sum(c["placed"] for c in per_month.values())
    summary = _("%(new)s nieuwe aanvragen en %(placed)s plaatsingen van %(since)s tot %(until)s.", new=new,
                placed=placed, since=_month(period.since), until=_month(period.until))
    chart = bar_chart("chart-requests", _("Aanvragen per maand"), summary, [r[0] for r in rows],
                      [(header[i], [r[i] for r in rows]) for i in range(1, 5)])
    return Figure("aanvragen", _("Aanvragen per maand"), summary, header, rows, chart)


def demand_figure(session: Session, scope: Scope, today: date, day: date | None) -> Figure:
    found = dashboard.demand_and_supply(session, scope, day, from_month=month_start(today))
    header = [_("Gewenste start"), _("Leeftijdsgroep"), _("Vraag"), _("Vrije plaatsen"), _("Tekort")]
    rows = [[_month(m), age_group_label(group), demand, free, max(demand - free, 0)]
            for (m, group), (demand, free) in found.items()]
    months = sorted({m for m, _group in found})
    demand = [sum(d for (m2, _g), (d, _f) in found.items() if m2 == m) for m in months]
    free = [sum(f for (m2, _g), (_d, f) in found.items() if m2 == m) for m in months]
    short = sum(r[4] for r in rows)
    summary = (_("Op %(day)s: %(demand)s wachtende of aangeboden vragen tegenover %(free)s vrije plaatsen; "
                 "%(short)s vragen zonder vrije plaats.", day=format_date(day), demand=sum(demand), free=sum(free),
                 short=short) if day else _("Nog geen dagcijfers."))
    chart = bar_chart("chart-demand", _("Vraag en vrije plaatsen per gewenste startmaand"), summary,
                      [_month(m) for m in months], [(_("Vraag"), demand), (_("Vrije plaatsen"), free)]) if months else None
    return Figure("vraag-aanbod", _("Vraag en vrije plaatsen"), summary, header, rows, chart)


def unmet_figure(session: Session, scope: Scope, today: date) -> tuple[Figure, int]:
    waiting = dashboard.waiting_without_offer(session, scope, today)
    grid = dashboard.unmet_demand(waiting)
    columns = [_bucket_label(low, high, unit_first=False) for low, high in START_BUCKETS]
    header = [_("Gewacht"), *columns, _("Totaal")]
    labels = [_bucket_label(low, high, unit_first=True) for low, high in WAITED_BUCKETS]
    rows = [[label, *row, sum(row)] for label, row in zip(labels, grid, strict=True)]
    summary = ngettext("%(num)s gezin wacht zonder enig aanbod.", "%(num)s gezinnen wachten zonder enig aanbod.",
                       len(waiting))
    chart = heatmap("chart-unmet", _("Gezinnen zonder aanbod: wachttijd en start"), summary, labels, columns, grid)
    return Figure("zonder-aanbod", _("Gezinnen zonder aanbod"), summary, header, rows, chart), len(waiting)


def answers_figure(session: Session, scope: Scope, period: Period, names: dict, response_days: int | None) -> Figure:
    times = dashboard.answer_times(session, scope, period)
    header = [_("Locatie"), _("Beantwoord"), _("Mediaan (dagen)"), _("90e percentiel (dagen)")]
    # busiest first, then by name: what a page cut short keeps
    ordered = sorted((k for k in times if k is not None), key=lambda k: (-times[k].answered, names.get(k, "")))
    other, locale = _("andere locatie"), str(get_locale())
    rows = [[names.get(k, other), times[k].answered, _days(times[k].median, locale), _days(times[k].p90, locale)]
            for k in ordered]
    charted = ordered[:CHART_LOCATIONS]
    whole = times.get(None)
    summary = (_("Mediaan %(median)s dagen tot een eerste antwoord, 90e percentiel %(p90)s dagen.",
                 median=_days(whole.median), p90=_days(whole.p90)) if whole else _("Nog geen antwoorden in deze periode."))
    reference = (response_days, _("doel: %(n)s dagen", n=response_days)) if response_days else None
    chart = bar_chart("chart-answers", _("Dagen tot een eerste antwoord"), summary,
                      [names.get(k, other) for k in charted],
                      [(_("Mediaan"), [round(times[k].median, 1) for k in charted]),
                       (_("90e percentiel"), [round(times[k].p90, 1) for k in charted])],
                      reference=reference) if rows else None
    if whole:
        rows.insert(0, [_("Alle locaties"), whole.answered, _days(whole.median), _days(whole.p90)])  # first: never cut
    return Figure("antwoordtijd", _("Tijd tot een eerste antwoord"), summary, header, rows, chart, SHOWN_ROWS)


def vulnerable_figure(session: Session, scope: Scope, period: Period, names: dict) -> Figure:
    shares = dashboard.vulnerable_shares(session, scope, period)
    header = [_("Locatie"), _("Plaatsen"), _("Kwetsbare gezinnen"), _("Aandeel")]
    ordered = sorted((k for k in shares if k is not None), key=lambda k: (-shares[k].placed, names.get(k, "")))
    other, locale = _("andere locatie"), str(get_locale())
    rows = [[names.get(k, other), shares[k].placed, shares[k].vulnerable, _share(shares[k].ratio, locale)]
            for k in ordered]
    charted = ordered[:CHART_LOCATIONS]
    whole = shares[None]
    summary = (_("%(v)s van %(n)s plaatsen (%(share)s) voor kinderen uit kwetsbare gezinnen; de norm is %(norm)s.",
                 v=whole.vulnerable, n=whole.placed, share=_share(whole.ratio), norm=_share(VULNERABLE_NORM))
               if whole.placed else _("Nog geen plaatsen in deze periode."))
    chart = bar_chart("chart-vulnerable", _("Aandeel kinderen uit kwetsbare gezinnen"), summary,
                      [names.get(k, other) for k in charted],
                      [(_("Aandeel (%)"), [round(100 * (shares[k].ratio or 0)) for k in charted])],
                      reference=(100 * VULNERABLE_NORM, _("norm 20 %"))) if rows else None
    rows.insert(0, [_("Alle locaties"), whole.placed, whole.vulnerable, _share(whole.ratio)])  # first: never cut
    return Figure("kwetsbaar", _("Kinderen uit kwetsbare gezinnen"), summary, header, rows, chart, SHOWN_ROWS)


def flows_figure(session: Session, tenant_id: uuid.UUID, period: Period, municipalities: dict) -> Figure:
    found = dashboard.flows(session, tenant_id, period)
    header = [_("Stroom"), _("Aanvragen")]
    rows = [[_("Inwoners die elders vragen"), found.residents_elsewhere],
            [_("Gezinnen van elders die hier vragen"), found.from_elsewhere]]
    elsewhere = _("andere gemeente")
    rows += [[_("Inwoners geplaatst in %(name)s", name=municipalities.get(t, elsewhere)), n]
             for t, n in sorted(found.residents_placed.items(), key=lambda item: -item[1])]
    summary = _("%(out)s aanvragen van inwoners elders, %(in)s van gezinnen van elders hier.",
                out=found.residents_elsewhere, **{"in": found.from_elsewhere})
    chart = bar_chart("chart-flows", _("Over de gemeentegrens"), summary, [r[0] for r in rows[:2]],
                      [(_("Aanvragen"), [r[1] for r in rows[:2]])])
    return Figure("over-de-grens", _("Over de gemeentegrens"), summary, header, rows, chart)


@dataclass
class DeskFigures:
    waiting: int
    day: date | None
    recorded: date | None
    figures: list[Figure]


def desk_figures(session: Session, scope: Scope, period: Period, *, today: date, location_names: dict,
                 municipality_names: dict, response_days: int) -> DeskFigures:
    day = dashboard.latest_day(session, scope.tenant_id, today)
    unmet, waiting = unmet_figure(session, scope, today)
    figures = [
        requests_figure(session, scope, period),
        demand_figure(session, scope, today, day),
        unmet,
        answers_figure(session, scope, period, location_names, response_days),
        vulnerable_figure(session, scope, period, location_names),
        flows_figure(session, scope.tenant_id, period, municipality_names),
    ]
    return DeskFigures(waiting, day, dashboard.recorded_at(session, scope), figures)


def municipalities_figure(session: Session, period: Period, names: dict, age_group: str | None) -> Figure:
    rows_by = dashboard.per_municipality(session, period, age_group=age_group)
    header = [_("Gemeente"), _("Nieuwe aanvragen"), _("Plaatsingen"), _("Wachtend zonder aanbod"),
              _("Mediaan eerste antwoord (dagen)"), _("Aandeel kwetsbare gezinnen")]
    empty = dashboard.MunicipalityRow(None, 0, 0, 0, None, dashboard.Share(0, 0))
    locale, rows = str(get_locale()), []
    for tenant_id in sorted(names, key=lambda t: names[t]):
        found = rows_by.get(tenant_id, empty)
        rows.append([names[tenant_id], found.new, found.placed, found.waiting_without_offer,
                     _days(found.median_answer_days, locale), _share(found.vulnerable.ratio, locale)])
    new, placed = sum(r[1] for r in rows), sum(r[2] for r in rows)
    summary = _("%(new)s nieuwe aanvragen en %(placed)s plaatsingen in %(n)s gemeenten.", new=new, placed=placed,
                n=len(rows))
    busiest = sorted(rows, key=lambda r: -r[1])[:CHART_MUNICIPALITIES]
    chart = bar_chart("chart-municipalities", _("Aanvragen en plaatsingen per gemeente"), summary,
                      [r[0] for r in busiest], [(header[1], [r[1] for r in busiest]), (header[2], [r[2] for r in busiest])]
                      ) if busiest else None
    return Figure("gemeenten", _("Per gemeente"), summary, header, rows, chart)


def matrix_figure(session: Session, period: Period, names: dict) -> Figure:
    cells = dashboard.cross_border(session, period)
    outside = _("buiten de regio")
    header = [_("Woont in"), _("Vraagt in"), _("Aanvragen")]
    # Thousands of pairs in a big region: each municipality's name and volume looked up by a
    # small number, not by its UUID (hashed in Python) in every loop below.
    number = {tenant_id: index for index, tenant_id in enumerate({t for pair in cells for t in pair})}
    label = [outside if t is None else names.get(t, "?") for t in number]
    pairs = [(number[home], number[there], n) for (home, there), n in cells.items()]
    rows = sorted(([label[home], label[there], n] for home, there, n in pairs), key=lambda r: (-r[2], r[0], r[1]))
    crossing = sum(n for home, there, n in pairs if home != there)
    summary = ngettext("%(num)s aanvraag over een gemeentegrens.", "%(num)s aanvragen over een gemeentegrens.",
                       crossing)
    volume = [0] * len(number)
    for home, there, n in pairs:
        volume[home] += n
        volume[there] += n
    tenant_of = list(number)
    shown = sorted((i for i, t in enumerate(tenant_of) if t is not None and t in names),
                   key=lambda i: (-volume[i], label[i]))
    shown = sorted(shown[:MATRIX_MUNICIPALITIES], key=lambda i: label[i])
    grid = {(home, there): n for home, there, n in pairs if home in shown and there in shown}
    chart = heatmap("chart-matrix", _("Van welke gemeente naar welke"), summary, [label[i] for i in shown],
                    [label[i] for i in shown], [[grid.get((a, b), 0) for b in shown] for a in shown]) if shown else None
    return Figure("stromen", _("Van welke gemeente naar welke"), summary, header, rows, chart, SHOWN_ROWS)


def region_figures(session: Session, period: Period, *, names: dict, age_group: str | None) -> list[Figure]:
    scope = Scope(age_group=age_group)
    trend = requests_figure(session, scope, period)
    trend.title = _("Trend in de regio")
    return [municipalities_figure(session, period, names, age_group), matrix_figure(session, period, names), trend]


def yearly_report(session: Session, scope: Scope, year: int, *, today: date, location_names: dict,
                  municipality_names: dict, response_days: int) -> list[tuple[str, list, list]]:
    """The workbook a desk hands in to the Flemish agency: one sheet per table."""
    period = Period(date(year, 1, 1), date(year, 12, 1))
    placements = dashboard.placements_per_location(session, scope, period)
    other = _("andere locatie")
    per_location = Figure("locaties", _("Per locatie en leeftijdsgroep"), "",
                          [_("Locatie"), _("Leeftijdsgroep"), _("Aanvragen"), _("Plaatsingen")],
                          [[location_names.get(loc, other), age_group_label(group), s, a]
                           for (loc, group), (s, a) in sorted(placements.items(),
                                                              key=lambda i: (location_names.get(i[0][0], ""), i[0][1]))])
    unmet, _waiting = unmet_figure(session, scope, today)
    figures = [requests_figure(session, scope, period), per_location, unmet,
               answers_figure(session, scope, period, location_names, response_days),
               vulnerable_figure(session, scope, period, location_names),
               flows_figure(session, scope.tenant_id, period, municipality_names)]
    return [(str(f.title), f.header, f.rows) for f in figures]

