"""The desk's figures (``/beheer/cijfers``): supply and demand of this municipality over a
period, filtered by location, kind of care and age group; every figure as a chart with its
table, as CSV/XLSX, and the yearly report for the Flemish agency as one workbook. Counted from
the anonymous records and the daily snapshot (``statistics``), which the desk can bring up to
date now."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import clock, jobs
from ..accounts import Role, require
from ..catalog.picker import location_options
from ..extensions import db
from ..statistics import filters, reports
from ..statistics.jobs import snapshot
from ..tenancy import services as tenancy_services
from ..vocabulary import AgeGroup, age_group_label, kind_label
from ..web import exports
from .views import bp

ADMINS = (Role.COORDINATOR, Role.ADMIN)


def _read():
    options = location_options(db.session, g.tenant)
    chosen = filters.read(request.args, today=clock.today(), tenant_id=g.tenant.id, locations=options)
    return chosen, options, {o.id: o.name for o in options}


def _municipality_names() -> dict:
    return {t.id: t.name for t in tenancy_services.list_tenants(db.session)}


def _figures(chosen, names):
    return reports.desk_figures(db.session, chosen.scope, chosen.period, today=clock.today(), location_names=names,
                                municipality_names=_municipality_names(),
                                response_days=g.tenant.settings.response_days)


@bp.route("/cijfers")
@require(*ADMINS)
def figures():
    chosen, options, names = _read()
    found = None if chosen.problems else _figures(chosen, names)
    kinds = sorted({o.kind for o in options})

    def export(key: str, fmt: str) -> str:
        return url_for("coordinator.figure_export", key=key, fmt=fmt, **chosen.values)

    return render_template(
        "coordinator/figures.html", chosen=chosen, found=found, export=export, years=_years(),
        filter_labels=filters.FILTER_LABELS, location_choices=[(o.id, o.name) for o in options],
        kind_choices=[(k, kind_label(k)) for k in kinds],
        age_choices=[(group.value, age_group_label(group)) for group in AgeGroup]), 422 if chosen.problems else 200


def _years() -> list[int]:
    this = clock.today().year
    return list(range(this, this - 5, -1))


@bp.route("/cijfers/<key>.<any(csv, xlsx):fmt>")
@require(*ADMINS)
def figure_export(key: str, fmt: str):
    chosen, _options, names = _read()
    if chosen.problems:
        return figures()
    found = next((f for f in _figures(chosen, names).figures if f.key == key), None)
    if found is None:
        abort(404)
    return _export([(found.title, found.header, found.rows)], chosen.describe(names),
                   f"{found.key}-{g.tenant.slug}-{chosen.period.since:%Y%m}-{chosen.period.until:%Y%m}", fmt)


def _export(sheets, described, name, fmt):
    """Every export says its period and filters on its first lines, then the table."""
    heading = [[label, value] for label, value in described] + [[]]
    if fmt == "csv":
        title, header, rows = sheets[0]
        return exports.csv_response([str(title)], [*heading, header, *rows], name)
    return exports.xlsx_workbook_response(
        [(_("Periode en filters"), [_("Gegeven"), _("Waarde")], heading[:-1]),
         *((title, header, rows) for title, header, rows in sheets)], name)


@bp.route("/cijfers/jaarrapport.xlsx")
@require(*ADMINS)
def yearly_report():
    year = request.args.get("jaar", "")
    if not (year.isascii() and year.isdigit() and int(year) in _years()):
        flash(_("Kies een jaar uit de lijst."), "error")
        return redirect(url_for("coordinator.figures"))
    options = location_options(db.session, g.tenant)
    names = {o.id: o.name for o in options}
    chosen = filters.read({}, today=clock.today(), tenant_id=g.tenant.id, locations=options)
    sheets = reports.yearly_report(db.session, chosen.scope, int(year), today=clock.today(), location_names=names,
                                   municipality_names=_municipality_names(),
                                   response_days=g.tenant.settings.response_days)
    described = [(_("Gemeente"), g.tenant.name), (_("Jaar"), year)]
    return _export(sheets, described, f"jaarrapport-{g.tenant.slug}-{year}", "xlsx")


@bp.route("/cijfers/bijwerken", methods=["POST"])
@require(*ADMINS)
def figures_refresh():
    """Bring today's figures of this municipality up to date now (the nightly job does it too)."""
    day = clock.today().isoformat()
    if jobs.enqueue(current_app._get_current_object(), snapshot, g.tenant.slug, day, job_id=f"statistics-snapshot-{g.tenant.slug}-{day}"):
        flash(_("De cijfers worden bijgewerkt; herlaad de pagina over een minuut."), "success")
    else:
        flash(_("Bijwerken lukt nu niet; de cijfers worden vannacht bijgewerkt."), "error")
    return redirect(url_for("coordinator.figures", **request.args))

