"""The region's audit log (``/beheer/regio/audit``): every municipality's log in one list, for
the region's administrators. One UNION ALL over the tenant schemas (``audit.queries.region_*``),
with the municipal page's filters, pages and exports (``audit.filters``) plus the municipality.

Viewing it is not itself written to an audit log, as the municipal page's is not: the list holds
who did what (staff accounts, ids), never a family's dossier, and the admin's own reads of
dossiers are already in each municipality's log. Every request for it is in the access log with
the administrator's user id, like any page.
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from ..accounts import Role, require
from ..audit import filters, queries
from ..database import utcnow
from ..extensions import db
from ..tenancy import services as tenancy_services
from ..web import exports
from .views import bp

FIELDS = ("gemeente", *filters.FIELDS)


class RegionAuditFilterForm(filters.AuditFilterForm):
    gemeente = SelectField(_l("Gemeente"), choices=[], validate_choice=False)


def _form():
    """(form, filters or None when a field is wrong, the municipalities read, id → name)."""
    form = RegionAuditFilterForm(formdata=request.args)
    every = tenancy_services.list_tenants(db.session)  # archived ones too: their logs are kept
    form.gemeente.choices = [("", _("alle gemeenten"))] + [(t.slug, t.name) for t in every]
    # The labelled actions only (every code the code records has one: tests/test_audit.py): the
    # codes present in the logs would cost a scan of every municipality's log per page.
    chosen = filters.read(db.session, form, [])
    tenants = every
    if form.gemeente.data:
        tenants = [t for t in every if t.slug == form.gemeente.data]
        if not tenants:
            form.gemeente.errors.append(_("Kies een gemeente uit de lijst."))
            chosen = None
    return form, chosen, tenants, {t.id: t.name for t in every}


@bp.route("/audit")
@require(Role.ADMIN)
def audit_log():
    form, chosen, tenants, names = _form()
    rows, total, page, pages = [], 0, 1, 1
    if chosen is not None:
        rows, total, page, pages = filters.paged(
            lambda offset, limit: queries.region_page(db.session, tenants, chosen, offset=offset, limit=limit,
                                                     with_region=not form.gemeente.data))
    return render_template("admin/audit.html", form=form, rows=rows, total=total, page=page, pages=pages,
                           people=filters.people(db.session, rows), keep=filters.kept(FIELDS),
                           names=names), 200 if chosen else 422


COLUMNS = (_l("gemeente"), *filters.EXPORT_COLUMNS)


@bp.route("/audit/export.<any(csv, xlsx):fmt>")
@require(Role.ADMIN)
def audit_export(fmt: str):
    form, chosen, tenants, names = _form()
    if chosen is None:  # the list page says what is wrong
        return audit_log()
    rows = queries.region_entries(db.session, tenants, chosen, with_region=not form.gemeente.data)
    table = [[names.get(row.tenant_id, _("de regio")), *cells]
             for row, cells in zip(rows, filters.export_rows(rows, filters.people(db.session, rows)), strict=True)]
    name = f"audit-regio-{utcnow():%Y%m%d}"
    if fmt == "csv":
        return exports.csv_response(COLUMNS, table, name)
    return exports.xlsx_response(COLUMNS, table, name, sheet=_("Auditlog"))
