"""The desk's phone work: the call list ("Te bellen": news for families without e-mail, marked
as called with a note) and the family's page (``/beheer/gezinnen/<id>/``), where the desk
acts for a family afterwards — accepts or declines an offer, withdraws, changes the plan —
through ``care_requests``' own functions, with the desk as actor and the family's consent on
the history event. A family the desk has no business with (not filed here, no application at
this municipality's locations) is a 404, like an id that does not exist."""

from __future__ import annotations

import math
import uuid
from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import force_locale, format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .. import audit, clock
from ..accounts import Role, require
from ..applications import ActorRole
from ..audit.web import record_act, record_view
from ..care_requests import CareRequest, Choice, RequestStatus
from ..care_requests import forms as request_forms
from ..care_requests import services as requests
from ..catalog import CatalogLocation
from ..database import utcnow
from ..extensions import db
from ..families import Family, keep_family_data
from ..families import services as family_services
from ..tenancy import Tenant
from ..web import exports
from ..web.input import parse_ascii_int
from . import call_list
from .views import bp

# News that cannot be mailed (a family without e-mail) goes on the desk's call list, which is
# part of the family's download and goes with its erasure.
requests.when_unreachable(call_list.record_news)
keep_family_data(export=call_list.export_for_family, erase=call_list.erase_for_family)

PER_PAGE = 25
DESK = (Role.COORDINATOR, Role.ADMIN)
# Who acted, on the desk's view of a family's history (the family's own page never names it).
ACTOR_LABELS = {
    ActorRole.FAMILY: _l("het gezin"), ActorRole.REFERRER: _l("toeleider"), ActorRole.DESK: _l("het loket"),
    ActorRole.PROVIDER: _l("de opvanglocatie"), ActorRole.SYSTEM: _l("automatisch"),
}


def today() -> date:
    return clock.today()


class CalledForm(FlaskForm):
    note = TextAreaField(_l("Notitie (niet verplicht)"), validators=[
        Optional(), Length(max=call_list.MAX_NOTE, message=_l("Hoogstens 500 tekens."))])


class ConsentForm(FlaskForm):
    """Every act for a family says how the family agreed to it."""

    method = SelectField(_l("Hoe gaf het gezin toestemming?"), choices=[SelectChoice(code, label) for code, label in family_services.CONSENT_METHODS.items()],
                         default="phone")
    consent = BooleanField(_l("Het gezin vroeg dit zelf en gaf er toestemming voor."),
                           validators=[DataRequired(_l("Zonder toestemming van het gezin kunt u niet verder."))])


class DeskChangeForm(request_forms.ChangeForm, ConsentForm):
    pass


# --- the call list -------------------------------------------------------------------------------


def _status_arg() -> str:
    status = request.values.get("status", "open")
    return status if status in call_list.FILTERS else "open"


def _render_list(status: str, page: int, *, failed: tuple[uuid.UUID, CalledForm] | None = None, code: int = 200):
    rows, total = call_list.page_of(db.session, status=status, page=page, per_page=PER_PAGE)
    pages = max(1, math.ceil(total / PER_PAGE))
    return render_template(
        "coordinator/calls/list.html", rows=rows, total=total, page=page, pages=pages, status=status,
        describe=call_list.describe, form=CalledForm(formdata=None), failed=failed), code


@bp.route("/te-bellen")
@require(*DESK)
def calls():
    page = parse_ascii_int(request.args.get("page")) or 1
    return _render_list(_status_arg(), max(page, 1))


@bp.route("/te-bellen/<uuid:entry_id>/gebeld", methods=["POST"])
@require(*DESK)
def call_done(entry_id: uuid.UUID):
    entry = db.session.get(call_list.CallEntry, entry_id)  # the bound municipality's list only
    if entry is None:
        abort(404)
    status, page = _status_arg(), max(parse_ascii_int(request.form.get("page")) or 1, 1)
    form = CalledForm()
    if form.validate_on_submit():
        try:
            call_list.mark_called(db.session, entry, actor_id=current_user.id, note=form.note.data, now=utcnow())
            db.session.commit()
        except call_list.CallListError as error:
            db.session.rollback()
            form.note.errors = [error.message]
        else:
            flash(_("Gemarkeerd als gebeld."), "success")
            return redirect(url_for("coordinator.calls", status=status, page=page))
    return _render_list(status, page, failed=(entry_id, form), code=422)


EXPORT_COLUMNS = (_l("Aangemaakt"), _l("Gezin"), _l("Telefoon"), _l("Taal"), _l("Wat gebeurde"), _l("Gebeld op"),
                  _l("Notitie"))


@bp.route("/te-bellen/export.<any(csv, xlsx):fmt>")
@require(*DESK)
def calls_export(fmt: str):
    status = _status_arg()
    rows = [(row.entry.created_at.replace(tzinfo=None), row.names, row.phone, row.language,
             call_list.describe(row.entry, row.language),
             row.entry.called_at.replace(tzinfo=None) if row.entry.called_at else None, row.entry.note)
            for row in call_list.all_rows(db.session, status=status)]
    name = f"{_('te-bellen')}-{g.tenant.slug}-{today():%Y%m%d}"
    header = [str(column) for column in EXPORT_COLUMNS]
    if fmt == "csv":
        return exports.csv_response(header, rows, name)
    return exports.xlsx_response(header, rows, name, sheet=_("Te bellen"))


# --- acting for a family ---------------------------------------------------------------------------


def _family(family_id: uuid.UUID) -> Family:
    family = db.session.get(Family, family_id)
    if family is None or not call_list.desk_knows(db.session, g.tenant, family):
        abort(404)
    return family


def _locations(choices) -> dict:
    ids = [c.location_id for c in choices]
    if not ids:
        return {}
    rows = db.session.execute(
        select(CatalogLocation, Tenant.name).join(Tenant, Tenant.id == CatalogLocation.tenant_id)
        .where(CatalogLocation.location_id.in_(ids)))
    return {location.location_id: (location.name, tenant_name) for location, tenant_name in rows}


def _render_family(family: Family, *, forms: dict | None = None, code: int = 200):
    cares = list(db.session.scalars(select(CareRequest).where(CareRequest.family_id == family.id)
                                    .order_by(CareRequest.created_at.desc())))
    choices = [c for care in cares for c in care.choices]
    loaded = requests.load_applications(db.session, choices)  # kept while rendering: it holds the tenants
    return render_template(
        "coordinator/calls/family.html", family=family, cares=cares, locations=_locations(choices),
        applications={choice_id: one.application for choice_id, one in loaded.items()},
        children={c.id: c for c in family.children}, forms=forms or {}, blank=ConsentForm(formdata=None),
        actor_label=lambda role: str(ACTOR_LABELS.get(role, role))), code


@bp.route("/gezinnen/<uuid:family_id>/")
@require(*DESK)
def family(family_id: uuid.UUID):
    found = _family(family_id)
    record_view(db.session, g.tenant, action=audit.Action.VIEW_FAMILY, subject=found.id, family_id=found.id)
    page = _render_family(found)
    db.session.commit()  # the read's audit entry, after rendering
    return page


def _consent_note(family: Family, method: str) -> str:
    """In the family's language: the family reads its own history."""
    with force_locale(family.language):
        how = str(family_services.CONSENT_METHODS.get(method, family_services.CONSENT_METHODS["phone"]))
        return _("Door het loket, met toestemming van het gezin (%(how)s op %(date)s).", how=how,
                 date=format_date(today()))


def _audit(family: Family, action: str, note: str, **detail) -> None:
    record_act(db.session, g.tenant, action=action, subject=f"family:{family.id}", family_id=family.id,
               detail={k: str(v) for k, v in detail.items()}, note=note)


ACTS = {"aanvaarden": "accept", "weigeren": "decline", "intrekken": "withdraw"}


@bp.route("/gezinnen/<uuid:family_id>/keuzes/<uuid:choice_id>/<any(aanvaarden, weigeren, intrekken):act>",
          methods=["POST"])
@require(*DESK)
def family_act(family_id: uuid.UUID, choice_id: uuid.UUID, act: str):
    family = _family(family_id)
    choice = db.session.get(Choice, choice_id)
    care = db.session.get(CareRequest, choice.request_id) if choice is not None else None
    if care is None or care.family_id != family.id:
        abort(404)
    form = ConsentForm()
    if not form.validate_on_submit():
        return _render_family(family, forms={choice.id: form}, code=422)
    note, now = _consent_note(family, form.method.data), utcnow()
    common = {"actor_id": current_user.id, "actor_role": ActorRole.DESK, "note": note, "now": now}
    try:
        if act == "aanvaarden":
            withdrawn = requests.accept(db.session, care, family, choice, today=today(), **common)
            message = ngettext("De plaats is aanvaard voor het gezin. %(num)s andere aanvraag werd ingetrokken.",
                               "De plaats is aanvaard voor het gezin. %(num)s andere aanvragen werden ingetrokken.",
                               len(withdrawn))
        elif act == "weigeren":
            requests.decline(db.session, family, choice, **common)
            message = _("Het aanbod is geweigerd voor het gezin.")
        else:
            requests.withdraw(db.session, care, choice, **common)
            message = _("De aanvraag bij deze locatie is ingetrokken.")
        _audit(family, f"desk.{ACTS[act]}", note, choice=choice.id, application=choice.application_id)
        db.session.commit()
    except requests.RequestError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(message, "success")
    return redirect(url_for("coordinator.family", family_id=family.id))


@bp.route("/gezinnen/<uuid:family_id>/aanvragen/<uuid:request_id>/bevestigen", methods=["POST"])
@require(*DESK)
def family_confirm(family_id: uuid.UUID, request_id: uuid.UUID):
    """The family said on the phone (or at the desk) that it still needs care: the request is
    confirmed as if by the family — an inactive one opens again, its applications back in their
    lists at their original place."""
    family = _family(family_id)
    care = db.session.get(CareRequest, request_id)
    if care is None or care.family_id != family.id:
        abort(404)
    form = ConsentForm()
    if not form.validate_on_submit():
        return _render_family(family, forms={care.id: form}, code=422)
    note = _consent_note(family, form.method.data)
    try:
        requests.confirm(db.session, care, actor_id=current_user.id, actor_role=ActorRole.DESK, now=clock.now())
        _audit(family, "desk.confirm", note, request=care.id)
        db.session.commit()
    except requests.RequestError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(_("De aanvraag is bevestigd voor het gezin."), "success")
    return redirect(url_for("coordinator.family", family_id=family.id))


@bp.route("/gezinnen/<uuid:family_id>/aanvragen/<uuid:request_id>/wijzigen", methods=["GET", "POST"])
@require(*DESK)
def family_change(family_id: uuid.UUID, request_id: uuid.UUID):
    family = _family(family_id)
    care = db.session.get(CareRequest, request_id)
    if care is None or care.family_id != family.id:
        abort(404)
    if care.status != RequestStatus.OPEN:
        return redirect(url_for("coordinator.family", family_id=family.id))
    child = next(c for c in family.children if c.id == care.child_id)
    defaults = {"start_date": care.start_date, **{f"day_{d}": care.care_plan.get(str(d), "none") for d in range(1, 6)}}
    form = DeskChangeForm(data=None if request.method == "POST" else defaults)
    if form.validate_on_submit():
        note = _consent_note(family, form.method.data)
        try:
            requests.change_plan(db.session, care, child, start_date=form.start_date.data,
                                 care_plan=form.care_plan(), actor_id=current_user.id, actor_role=ActorRole.DESK,
                                 note=note, now=utcnow(), today=today())
            _audit(family, "desk.change_plan", note, request=care.id)
            db.session.commit()
        except requests.RequestError as error:
            db.session.rollback()
            field = {"care_plan": "day_1"}.get(error.field, error.field)
            getattr(form, field if field in form else "start_date").errors.append(error.message)
        else:
            flash(_("De wijziging is doorgegeven aan de locaties."), "success")
            return redirect(url_for("coordinator.family", family_id=family.id))
    return render_template("coordinator/calls/change.html", form=form, family=family, care=care, child=child), (
        422 if form.errors else 200)
