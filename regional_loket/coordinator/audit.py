"""The municipality's audit log for its coordinators (``/beheer/audit``): who read or changed
which family's dossier or application, newest first, filtered by person, family, action, kind
and period, in pages, and as CSV/XLSX. Only this municipality's schema is read, so another
municipality's entries — or its ids in a filter — give nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import g, render_template, request, url_for
from flask_babel import gettext as _

from ..accounts import Role, require
from ..audit import filters, queries
from ..database import utcnow
from ..extensions import db
from ..web import exports
from .views import bp

ADMINS = (Role.COORDINATOR, Role.ADMIN)


def _form() -> tuple[filters.AuditFilterForm, queries.Filters | None]:
    """The filled-in form and its filters; None when a field is wrong (its message is set)."""
    form = filters.AuditFilterForm(formdata=request.args)
    return form, filters.read(db.session, form, queries.actions(db.session))


@bp.route("/audit")
@require(*ADMINS)
def audit_log():
    form, chosen = _form()
    rows, total, page, pages = [], 0, 1, 1
    if chosen is not None:
        rows, total, page, pages = filters.paged(
            lambda offset, limit: queries.page(db.session, chosen, offset=offset, limit=limit))
    return render_template("coordinator/audit/list.html", form=form, rows=rows, total=total, page=page, pages=pages,
                           people=filters.people(db.session, rows), keep=filters.kept(),
                           subject_url=_subject_url), 200 if chosen else 422


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


def _subject_url(entry) -> str | None:
    """The application an entry is about, when the page can link to it."""
    location, subject = (entry.detail or {}).get("location_id"), _uuid(entry.subject or "")
    if not entry.action.startswith("application.") or subject is None or location is None or _uuid(location) is None:
        return None
    return url_for("provider.application", location_id=location, application_id=subject)


@bp.route("/audit/export.<any(csv, xlsx):fmt>")
@require(*ADMINS)
def audit_export(fmt: str):
    form, chosen = _form()
    if chosen is None:  # the list page says what is wrong
        return audit_log()
    rows = queries.entries(db.session, chosen)
    table = filters.export_rows(rows, filters.people(db.session, rows))
    name = f"audit-{g.tenant.slug}-{utcnow():%Y%m%d}"
    if fmt == "csv":
        return exports.csv_response(filters.EXPORT_COLUMNS, table, name)
    return exports.xlsx_response(filters.EXPORT_COLUMNS, table, name, sheet=_("Auditlog"))


@bp.context_processor
def _audit_summary():
    """For the desk's home: how many entries the last 7 days hold (counted only if shown)."""
    def recent() -> int:
        return queries.count_since(db.session, utcnow() - timedelta(days=7))

    return {"audit_recent_count": recent}
