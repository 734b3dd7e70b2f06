"""The provider's daily tool, on the municipality's host: inbox, ranked lists, actions, free
places, profile, exports. Staff see only the locations they handle."""

from __future__ import annotations

import re
import uuid
from datetime import date, time, timedelta
from decimal import Decimal

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from .. import audit, clock
from ..accounts import Role, allowed_locations, can, require
from ..applications import WAITING, Application, LifecycleError, queries, ranking
from ..applications import services as applications
from ..audit.web import record_view
from ..catalog import Location
from ..database import utcnow
from ..extensions import db
from ..months import add_months, month_start
from ..tenancy import Hosts, serves
from ..vocabulary import age_groups_of_kind
from ..web import exports, register_back_office
from ..web.input import parse_ascii_int
from . import forms, services

bp = Blueprint("provider", __name__, url_prefix="/opvang", template_folder="templates")
serves(bp, Hosts.MUNICIPALITY)
STAFF = (Role.PROVIDER_STAFF, Role.COORDINATOR, Role.ADMIN)
PAGE_SIZE = 50  # rows of a ranked list per page


@register_back_office
def _link(user, tenant):
    if tenant is not None and can(user, STAFF, tenant=tenant):
        return [(_("Aanvragen"), url_for("provider.home"))]
    return []


def today() -> date:
    return clock.today()


def _location(location_id: uuid.UUID) -> Location:
    """A location of this municipality (the bound schema); another one's is simply not here."""
    place = db.session.get(Location, location_id)
    if place is None:
        abort(404)
    return place


def _response_days() -> int:
    return g.tenant.settings.response_days


@bp.route("/")
@require(*STAFF)
def home():
    allowed = allowed_locations(current_user, g.tenant)
    query = select(Location).order_by(Location.name)
    if allowed is not None:
        query = query.where(Location.id.in_(allowed or [uuid.uuid4()]))
    places = list(db.session.scalars(query))
    counts = queries.open_counts(db.session)
    overdue = queries.overdue_counts(db.session, now=utcnow(), response_days=_response_days())
    return render_template("provider/home.html", places=places, counts=counts, overdue=overdue,
                           paused=queries.paused_counts(db.session))


@bp.route("/<uuid:location_id>/")
@require(*STAFF, location="location_id")
def inbox(location_id: uuid.UUID):
    place = _location(location_id)
    groups = queries.waiting_groups(db.session, place)
    chosen_month, chosen_group = _chosen_group(groups)
    status, day, text = request.args.get("status", ""), request.args.get("dag", ""), request.args.get("q", "")[:80]
    status = status if status in {s.value for s in WAITING} else ""
    day = day if day in {"1", "2", "3", "4", "5"} else ""
    ranked, page, pages = [], 1, 1
    if chosen_month:
        size = next(n for m, grp, n in groups if (m, grp) == (chosen_month, chosen_group))
        # Never past the last page: the list's size bounds it before the filters narrow it.
        page = min(max(request.args.get("pagina", 1, type=int), 1), -(-size // PAGE_SIZE))

        def one(page):
            return ranking.list_page(db.session, place, chosen_month, chosen_group, today=today(), status=status,
                                     day=day, name=text, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)

        ranked, total = one(page)
        pages = max(1, -(-total // PAGE_SIZE))
        if page > pages:
            page = pages
            ranked, total = one(page)
    offered = queries.open_offers(db.session, place)
    paused = queries.paused_applications(db.session, place)
    vulnerable, placements = queries.vulnerable_share(db.session, [place.id], year=today().year)
    now, response_days = utcnow(), _response_days()
    filters = {"status": status, "dag": day, "q": text}
    # What the pager's links keep: the list and its filters (the empty ones left out).
    keep = {k: v for k, v in {"maand": chosen_month and chosen_month.strftime("%Y-%m"), "groep": chosen_group,
                              **filters}.items() if v}
    return render_template("provider/inbox.html", place=place, groups=groups, month=chosen_month, group=chosen_group,
                           ranked=ranked, offered=offered, vulnerable=vulnerable, placements=placements,
                           overdue=lambda a: queries.is_overdue(a, now, response_days), waiting=WAITING,
                           filters=filters, page=page, pages=pages, keep=keep, paused=paused)


def _chosen_group(groups):
    wanted_month, wanted_group = request.args.get("maand", ""), request.args.get("groep", "")
    for month, group, _count in groups:
        if month.strftime("%Y-%m") == wanted_month and group == wanted_group:
            return month, group
    return (groups[0][0], groups[0][1]) if groups else (None, None)


def _application(place: Location, application_id: uuid.UUID) -> Application:
    application = db.session.get(Application, application_id)
    if application is None or application.location_id != place.id:
        abort(404)
    return application


ACTIONS = {
    "review": lambda s, t, a, f, now: applications.mark_in_review(s, t, a, actor_id=current_user.id, now=now,
                                                                  version=f.version.data),
    "waitlist": lambda s, t, a, f, now: applications.waitlist(s, t, a, actor_id=current_user.id, now=now,
                                                              version=f.version.data),
    "cancel_offer": lambda s, t, a, f, now: applications.cancel_offer(s, t, a, actor_id=current_user.id, now=now,
                                                                      version=f.version.data),
    "phone_accept": lambda s, t, a, f, now: services.record_phone_acceptance(
        s, t, a, actor_id=current_user.id, now=now, today=today(), version=f.version.data),
}


@bp.route("/<uuid:location_id>/aanvragen/<uuid:application_id>", methods=["GET", "POST"])
@require(*STAFF, location="location_id")
def application(location_id: uuid.UUID, application_id: uuid.UUID):
    place = _location(location_id)
    app_row = _application(place, application_id)
    # One page, several small forms; each names its own fields, so whichever was posted validates.
    offer_form, reject_form = forms.OfferForm(), forms.RejectForm()
    action_form, text_form = forms.ActionForm(), forms.TextForm()
    if request.method == "POST":
        action = request.form.get("action", "")
        try:
            if action == "offer" and offer_form.validate_on_submit():
                applications.offer(db.session, g.tenant, app_row, month=offer_form.month.data,
                                   deadline=offer_form.deadline.data, actor_id=current_user.id, now=utcnow(),
                                   today=today(), version=offer_form.version.data)
            elif action == "reject" and reject_form.validate_on_submit():
                applications.reject(db.session, g.tenant, app_row, reason=reject_form.reason.data,
                                    text=reject_form.text.data, actor_id=current_user.id, now=utcnow(),
                                    version=reject_form.version.data)
            elif action in ACTIONS and action_form.validate_on_submit():
                ACTIONS[action](db.session, g.tenant, app_row, action_form, utcnow())
            elif action == "flags" and action_form.validate_on_submit():
                codes = {c["code"] for c in place.extra_criteria or []}
                applications.set_flags(db.session, g.tenant, app_row,
                                       {c: c in request.form.getlist("flag") for c in codes},
                                       actor_id=current_user.id, now=utcnow(), version=action_form.version.data)
            elif action in ("note", "message") and text_form.validate_on_submit():
                handler = applications.note if action == "note" else applications.message
                handler(db.session, g.tenant, app_row, text=text_form.text.data, actor_id=current_user.id,
                        now=utcnow())
            else:
                raise services.ActionError(_("Controleer wat u invulde."))
            db.session.commit()
        except (LifecycleError, services.ActionError) as error:
            db.session.rollback()
            flash(str(error.message), "error")
            return _application_page(place, application_id, 409 if error.stale else 422)
        except StaleDataError:
            db.session.rollback()
            flash(_("Iemand anders heeft deze aanvraag intussen gewijzigd. Bekijk de nieuwe toestand en probeer "
                    "opnieuw."), "error")
            return _application_page(place, application_id, 409)
        flash(_("Bewaard."), "success")
        return redirect(url_for("provider.application", location_id=place.id, application_id=application_id))
    return _application_page(place, application_id, 200)


def _application_page(place, application_id, status):
    app_row = _application(place, application_id)
    # Every look at a family's application is in the municipality's audit log (committed
    # after rendering, so the page's objects stay loaded).
    record_view(db.session, g.tenant, action=audit.Action.VIEW_APPLICATION, subject=app_row.id,
                family_id=audit.family_of_request(db.session, app_row.request_id),
                detail={"location_id": str(place.id)})
    mine = ranking.explain(db.session, app_row, today=today())
    held = queries.held_places(db.session, place)
    page = render_template(
        "provider/application.html", place=place, application=app_row, ranked=mine, free={
            (a.month, a.age_group): a.free_places for a in place.availability}, held=held,
        reject_form=forms.RejectForm(formdata=None), default_deadline=today() + timedelta(
            days=g.tenant.settings.offer_days),
        overdue=queries.is_overdue(app_row, utcnow(), _response_days()))
    db.session.commit()
    return page, status


@bp.route("/<uuid:location_id>/vrije-plaatsen", methods=["GET", "POST"])
@require(*STAFF, location="location_id")
def free_places(location_id: uuid.UUID):
    place = _location(location_id)
    first = month_start(today())
    months = [add_months(first, i) for i in range(18)]
    groups = age_groups_of_kind(place.kind)
    held = queries.held_places(db.session, place)
    problems = []
    if request.method == "POST":
        from ..accounts.forms import ConfirmForm

        if not ConfirmForm().validate_on_submit():
            abort(400)
        totals = {}
        for month in months:
            for group in groups:
                places = parse_ascii_int(request.form.get(f"{month:%Y-%m}-{group}", "").strip() or "0")
                if places is None:
                    problems.append(_("%(month)s: vul een geheel getal in.", month=f"{month:%m/%Y}"))
                    continue
                totals[(month, group)] = places
        if not problems:
            try:
                changed = services.set_free_places(db.session, place, totals, now=utcnow())
                db.session.commit()
            except services.ActionError as error:
                db.session.rollback()
                problems.append(str(error.message))
            else:
                flash(ngettext("%(num)s vak aangepast. Het zoekresultaat volgt meteen.",
                               "%(num)s vakken aangepast. Het zoekresultaat volgt meteen.", changed), "success")
                return redirect(url_for("provider.free_places", location_id=place.id))
    free = {(a.month, a.age_group): a.free_places for a in place.availability}
    return render_template("provider/free_places.html", place=place, months=months, groups=groups, free=free,
                           held=held, problems=problems), 422 if problems else 200


@bp.route("/<uuid:location_id>/profiel", methods=["GET", "POST"])
@require(*STAFF, location="location_id")
def profile(location_id: uuid.UUID):
    place = _location(location_id)
    form = forms.ProfileForm()
    if request.method == "GET":
        form.process(data={
            "description_nl": place.description.get("nl", ""), "description_fr": place.description.get("fr", ""),
            "description_en": place.description.get("en", ""), "opens_at": place.opens_at.strftime("%H:%M"),
            "closes_at": place.closes_at.strftime("%H:%M"), "languages": ", ".join(place.languages),
            "closures": "\n".join(f"{c['from']} {c['to']} {c.get('reason', '')}".strip() for c in place.closures),
            "tariff": place.tariff, "day_price": place.day_price, "licensed_places": place.licensed_places,
            "phone": place.phone or "", "email": place.email or "", "website": place.website or "",
            "accepts_online": place.accepts_online,
            "extra_criteria": "\n".join(c["label"] for c in place.extra_criteria or [])})
    elif form.validate_on_submit():
        changes = _profile_changes(form)
        if not form.errors:
            for key, value in changes.items():
                setattr(place, key, value)
            db.session.commit()
            flash(_("Het profiel is bewaard en staat meteen in het zoekresultaat."), "success")
            return redirect(url_for("provider.profile", location_id=place.id))
    return render_template("provider/profile.html", place=place, form=form), 422 if form.errors else 200


def _profile_changes(form) -> dict:
    changes = {"description": {k: v for k, v in (("nl", form.description_nl.data), ("fr", form.description_fr.data),
                                                  ("en", form.description_en.data)) if (v or "").strip()},
               "tariff": form.tariff.data, "licensed_places": form.licensed_places.data,
               "phone": form.phone.data.strip() or None, "email": form.email.data.strip() or None,
               "website": form.website.data.strip() or None, "accepts_online": form.accepts_online.data}
    for name in ("opens_at", "closes_at"):
        try:
            changes[name] = time.fromisoformat(getattr(form, name).data.strip())
        except ValueError:
            getattr(form, name).errors.append(_("Gebruik een uur als 07:30."))
    if "opens_at" in changes and "closes_at" in changes and changes["opens_at"] >= changes["closes_at"]:
        form.closes_at.errors.append(_("Het sluitingsuur ligt na het openingsuur."))
    languages = [c.strip().lower() for c in (form.languages.data or "").split(",") if c.strip()]
    if not languages or any(not re.fullmatch(r"[a-z]{2}", c) for c in languages):
        form.languages.errors.append(_("Geef taalcodes van twee letters, bv. nl, fr."))
    changes["languages"] = languages
    closures = []
    for line in (form.closures.data or "").splitlines():
        parts = line.split(maxsplit=2)
        if not parts:
            continue
        try:
            start, end = date.fromisoformat(parts[0]), date.fromisoformat(parts[1])
            if end < start:
                raise ValueError
        except (ValueError, IndexError):
            form.closures.errors.append(_("Schrijf elke periode als: 2026-07-20 2026-08-07 reden."))
            break
        closures.append({"from": start.isoformat(), "to": end.isoformat(), "reason": parts[2] if len(parts) > 2 else ""})
    changes["closures"] = closures
    labels = [line.strip() for line in (form.extra_criteria.data or "").splitlines() if line.strip()]
    if len(labels) > 5 or any(len(label) > 100 for label in labels):
        form.extra_criteria.errors.append(_("Hoogstens 5 criteria van elk hoogstens 100 tekens."))
    changes["extra_criteria"] = [{"code": services.criterion_code(label), "label": label} for label in labels]
    if form.tariff.data == "free" and form.day_price.data is None:
        form.day_price.errors.append(_("Geef de dagprijs bij een vrije prijs."))
    changes["day_price"] = Decimal(form.day_price.data) if form.tariff.data == "free" and form.day_price.data else None
    return changes


@bp.route("/<uuid:location_id>/export.<any(csv, xlsx):fmt>")
@require(*STAFF, location="location_id")
def export(location_id: uuid.UUID, fmt: str):
    place = _location(location_id)
    ranked = ranking.all_lists(db.session, place, today=today())
    rows = services.export_rows(ranked, explain=lambda r: ", ".join(r.reasons))
    # One audit entry per export, saying how many applications left the platform.
    record_view(db.session, g.tenant, action=audit.Action.EXPORT_APPLICATIONS, subject=place.id,
                detail={"location_id": str(place.id), "applications": len(rows), "format": fmt})
    db.session.commit()
    name = f"{_('wachtlijst')}-{place.name}-{today():%Y%m%d}"
    if fmt == "csv":
        return exports.csv_response(services.EXPORT_COLUMNS, rows, name)
    return exports.xlsx_response(services.EXPORT_COLUMNS, rows, name, sheet=_("Wachtlijst"))
