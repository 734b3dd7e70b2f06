"""The region's figures (``/beheer/regio/cijfers``): every municipality side by side, the
cross-border matrix (from which municipality to which) and the trend per month, with exports.
Counts only: no municipality's personal data leaves its desk through here."""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _

from .. import clock
from ..accounts import Role, require
from ..extensions import db
from ..statistics import filters, reports
from ..tenancy import services as tenancy_services
from ..vocabulary import AgeGroup, age_group_label
from ..web import exports
from .views import bp


def _read():
    chosen = filters.read(request.args, today=clock.today())
    names = {t.id: t.name for t in tenancy_services.list_tenants(db.session)}
    return chosen, names


def _figures(chosen, names):
    found = reports.region_figures(db.session, chosen.period, names=names, age_group=chosen.scope.age_group)
    db.session.commit()  # the monthly figures, if reading them rebuilt them first (statistics.monthly)
    return found


@bp.route("/cijfers")
@require(Role.ADMIN)
def figures():
    chosen, names = _read()
    found = None if chosen.problems else _figures(chosen, names)

    def export(key: str, fmt: str) -> str:
        return url_for("admin.figure_export", key=key, fmt=fmt, **chosen.values)

    return render_template("admin/figures.html", chosen=chosen, found=found, export=export,
                           filter_labels=filters.FILTER_LABELS,
                           age_choices=[(group.value, age_group_label(group)) for group in AgeGroup]
                           ), 422 if chosen.problems else 200


@bp.route("/cijfers/<key>.<any(csv, xlsx):fmt>")
@require(Role.ADMIN)
def figure_export(key: str, fmt: str):
    chosen, names = _read()
    if chosen.problems:
        return figures()
    found = next((f for f in _figures(chosen, names) if f.key == key), None)
    if found is None:
        abort(404)
    heading = [[label, value] for label, value in chosen.describe({})] + [[]]
    name = f"regio-{found.key}-{chosen.period.since:%Y%m}-{chosen.period.until:%Y%m}"
    if fmt == "csv":
        return exports.csv_response([str(found.title)], [*heading, found.header, *found.rows], name)
    return exports.xlsx_workbook_response([(_("Periode en filters"), [_("Gegeven"), _("Waarde")], heading[:-1]),
                                           (found.title, found.header, found.rows)], name)
