"""The municipality's audit log for its coordinators (``/beheer/audit``): who read or changed
which family's dossier or application, newest first, filtered by person, family, action, kind
and period, in pages, and as CSV/XLSX. Only this municipality's schema is read, so another
municipality's entries — or its ids in a filter — give nothing."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from flask import g, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from .. import audit
from ..accounts import Role, User, require
from ..accounts import services as account_services
from ..audit import queries
from ..database import utcnow
from ..extensions import db
from ..web import exports
from ..web.input import NOT_A_DATE, DateField
from .views import bp

PAGE_SIZE = 50
ADMINS = (Role.COORDINATOR, Role.ADMIN)


class _Day(DateField):
    """A day, with the site's own message for anything that is not one."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            self.data = None
            raise ValueError(str(NOT_A_DATE)) from error


class AuditFilterForm(FlaskForm):
    """The list's filters, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    persoon = StringField(_l("Persoon"), description=_l("E-mailadres of gebruikersnummer."),
                          validators=[Optional(), Length(max=254, message=_l("Hoogstens 254 tekens."))])
    gezin = StringField(_l("Gezin"), description=_l("Het dossiernummer van het gezin."),
                        validators=[Optional(), Length(max=36, message=_l("Hoogstens 36 tekens."))])
    handeling = SelectField(_l("Handeling"), choices=[], validate_choice=False)
    soort = SelectField(_l("Soort"), choices=[], validate_choice=False)
    van = _Day(_l("Van"), validators=[Optional()])
    tot = _Day(_l("Tot en met"), validators=[Optional()])


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


def _form() -> tuple[AuditFilterForm, queries.Filters | None]:
    """The filled-in form and its filters; None when a field is wrong (its message is set)."""
    form = AuditFilterForm(formdata=request.args)
    present = queries.actions(db.session)
    codes = sorted({*map(str, audit.ACTION_LABELS), *present}, key=audit.action_label)
    form.handeling.choices = [("", _("alle handelingen"))] + [(c, audit.action_label(c)) for c in codes]
    form.soort.choices = [("", _("inzien en wijzigen"))] + [(k.value, audit.kind_label(k)) for k in audit.Kind]
    valid = form.validate()
    actor_ids, family_id = None, None
    person = (form.persoon.data or "").strip()
    if person and not form.persoon.errors:
        if (actor := _uuid(person)) is not None:
            actor_ids = (actor,)
        elif account_services.normalise_email(person) is not None:
            user = account_services.find_user(db.session, person)
            actor_ids = (user.id,) if user is not None else ()  # nobody: an empty list, no hint
        else:
            form.persoon.errors.append(_("Geef een e-mailadres of een gebruikersnummer."))
    family = (form.gezin.data or "").strip()
    if family and not form.gezin.errors and (family_id := _uuid(family)) is None:
        form.gezin.errors.append(_("Geef het dossiernummer van het gezin, zoals het in de lijst staat."))
    if form.handeling.data and form.handeling.data not in codes:
        form.handeling.errors.append(_("Kies een handeling uit de lijst."))
    if form.soort.data and form.soort.data not in {k.value for k in audit.Kind}:
        form.soort.errors.append(_("Kies inzien of wijzigen."))
    if form.van.data and form.tot.data and form.tot.data < form.van.data:
        form.tot.errors.append(_("De einddatum ligt vóór de begindatum."))
    if not valid or any(field.errors for field in form):
        return form, None
    zone = get_timezone()  # a day is a day of the region's clock, not UTC's

    def moment(day):
        return datetime.combine(day, time(), tzinfo=zone) if day else None

    return form, queries.Filters(
        actor_ids=actor_ids, family_id=family_id, action=form.handeling.data or None,
        kind=form.soort.data or None, start=moment(form.van.data),
        end=moment(form.tot.data + timedelta(days=1)) if form.tot.data else None)


def _people(entries) -> dict:
    ids = {e.actor_id for e in entries if e.actor_id is not None}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def _kept() -> dict:
    """The filters the pager and the export links carry (empty ones left out)."""
    return {name: value for name in ("persoon", "gezin", "handeling", "soort", "van", "tot")
            if (value := request.args.get(name, "").strip())}


@bp.route("/audit")
@require(*ADMINS)
def audit_log():
    form, filters = _form()
    rows, total, page, pages = [], 0, 1, 1
    if filters is not None:
        page = max(1, min(request.args.get("pagina", 1, type=int), 10_000))
        rows, total = queries.page(db.session, filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
        if page > pages:  # past the end (a filter narrowed the list): the last page
            page = pages
            rows, _total = queries.page(db.session, filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return render_template("coordinator/audit/list.html", form=form, rows=rows, total=total, page=page, pages=pages,
                           people=_people(rows), keep=_kept(), subject_url=_subject_url), 200 if filters else 422


def _subject_url(entry) -> str | None:
    """The application an entry is about, when the page can link to it."""
    location, subject = (entry.detail or {}).get("location_id"), _uuid(entry.subject or "")
    if not entry.action.startswith("application.") or subject is None or location is None or _uuid(location) is None:
        return None
    return url_for("provider.application", location_id=location, application_id=subject)


COLUMNS = (_l("tijdstip"), _l("soort"), _l("handeling"), _l("code"), _l("persoon"), _l("e-mailadres"), _l("rol"),
           _l("onderwerp"), _l("gezin"), _l("host"))


@bp.route("/audit/export.<any(csv, xlsx):fmt>")
@require(*ADMINS)
def audit_export(fmt: str):
    form, filters = _form()
    if filters is None:  # the list page says what is wrong
        return audit_log()
    rows = queries.entries(db.session, filters)
    people = _people(rows)
    zone = get_timezone()
    table = [[e.at.astimezone(zone).replace(tzinfo=None), audit.kind_label(e.kind), audit.action_label(e.action),
              e.action, str(e.actor_id or ""), getattr(people.get(e.actor_id), "email", ""),
              audit.actor_role_label(e.actor_role), e.subject or "", str(e.family_id or ""), e.host or ""]
             for e in rows]
    name = f"audit-{g.tenant.slug}-{utcnow():%Y%m%d}"
    if fmt == "csv":
        return exports.csv_response(COLUMNS, table, name)
    return exports.xlsx_response(COLUMNS, table, name, sheet=_("Auditlog"))


@bp.context_processor
def _audit_summary():
    """For the desk's home: how many entries the last 7 days hold (counted only if shown)."""
    def recent() -> int:
        return queries.count_since(db.session, utcnow() - timedelta(days=7))

    return {"audit_recent_count": recent}
