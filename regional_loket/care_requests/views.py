"""The family's pages on the regional portal: the request wizard and "my requests"."""

from __future__ import annotations

import uuid
from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from .. import audit, clock, tariffs
from ..accounts import Role, public, require, tokens
from ..accounts.forms import ConfirmForm
from ..audit.web import record_view
from ..catalog import CatalogLocation
from ..catalog.search import iso_date
from ..database import utcnow
from ..extensions import db
from ..families import Child, Family
from ..families import services as families
from ..months import add_months, month_start
from ..tenancy import Hosts, Tenant, serves
from ..web import register_back_office
from ..web.formatting import money
from ..web.urls import switch_url
from . import confirmations, forms, services
from .models import CareRequest, Choice, RequestStatus

bp = Blueprint("requests", __name__, url_prefix="/aanvragen", template_folder="templates")
serves(bp, Hosts.REGION)
# Guardians, and referrers acting for a family their organisation filed for.
FAMILY_SIDE = (Role.PARENT, Role.REFERRER)


@register_back_office
def _link(user, tenant):
    if not any(m.role == Role.PARENT for m in user.memberships):
        return []

    # The family's pages live on the regional host; from a municipal one, go there logged in.
    def link(endpoint):
        return url_for(endpoint) if tenant is None else switch_url(None, endpoint)

    return [(_("Mijn aanvragen"), link("requests.overview")), (_("Mijn gezin"), link("families.dossier"))]


def today() -> date:
    return date.today()


def _family() -> Family:
    """The family this page acts for: one a referrer filed (``?gezin=``), or the user's own."""
    chosen = request.values.get("gezin")
    if chosen:
        try:
            family = db.session.get(Family, uuid.UUID(chosen))
        except ValueError:
            abort(404)
        if family is None or not families.may_act_for(current_user, family):
            abort(404)
        return family
    return families.ensure_family(db.session, current_user, language=str(get_locale() or "nl"))


def _actor_role(family: Family) -> str:
    """Who acts, as the history records it: the family, a referrer or the municipality's desk
    (``families.acting_role``; the pages reached here passed ``may_act_for``)."""
    return families.acting_role(current_user, family) or "family"


def _acting_for(family: Family) -> bool:
    """True when the user files for a family that is not their own (a referrer, the desk): the
    wizard's templates and forms then speak about "the family" and "the child", not "you"."""
    return not families.is_guardian(family, current_user.id)


def _date_arg(name: str) -> date | None:
    """A date the search carried along (``geboortedatum``, ``start``); anything else is ignored:
    it only prefills a form the family still checks."""
    return iso_date(request.args.get(name))


def _carried() -> dict:
    """The search's child and start that travel along the wizard's links, valid ones only."""
    return {name: found.isoformat() for name in ("geboortedatum", "start") if (found := _date_arg(name))}


def _location_arg() -> uuid.UUID | None:
    try:
        return uuid.UUID(request.args.get("locatie", ""))
    except ValueError:
        return None


def _own_request(request_id: uuid.UUID) -> tuple[CareRequest, Family, Child]:
    """The request, if the user may act for its family (guardian, or the referrer who filed it);
    otherwise 404: another family's request is indistinguishable from none."""
    care = db.session.get(CareRequest, request_id)
    family = db.session.get(Family, care.family_id) if care is not None else None
    if family is None or not families.may_act_for(current_user, family):
        abort(404)
    return care, family, db.session.get(Child, care.child_id)


def _choice(care: CareRequest, choice_id: uuid.UUID) -> Choice:
    choice = next((c for c in care.choices if c.id == choice_id), None)
    if choice is None:
        abort(404)
    return choice


def _locations(care: CareRequest) -> dict:
    ids = [c.location_id for c in care.choices]
    rows = db.session.execute(
        select(CatalogLocation, Tenant.name, Tenant.slug).join(Tenant, Tenant.id == CatalogLocation.tenant_id)
        .where(CatalogLocation.location_id.in_(ids))
    ) if ids else []
    return {row[0].location_id: {"location": row[0], "tenant_name": row[1], "tenant_slug": row[2]} for row in rows}


# Problems about the care plan as a whole are shown with its first day.
_FIELD_FOR = {"care_plan": "day_1"}


def _error(form, error: services.RequestError | families.FamilyError) -> None:
    name = _FIELD_FOR.get(error.field, error.field)
    field = form._fields.get(name) if name else None
    if field is not None:
        field.errors = [*field.errors, str(error.message)]
    else:
        flash(str(error.message), "error")


# --- overview --------------------------------------------------------------------------------


@bp.route("/")
@require(*FAMILY_SIDE)
def overview():
    family = families.family_of(db.session, current_user.id)
    requests = list(db.session.scalars(
        select(CareRequest).where(CareRequest.family_id == family.id).order_by(CareRequest.created_at.desc())
    )) if family else []
    children = {c.id: c for c in family.children} if family else {}
    locations = {}
    for care in requests:
        locations.update(_locations(care))
    return render_template("requests/overview.html", requests=requests, children=children, locations=locations)


# --- the wizard ------------------------------------------------------------------------------


@bp.route("/nieuw", methods=["GET", "POST"])
@require(*FAMILY_SIDE)
def new():
    family = _family()
    acting_for = _acting_for(family)
    form = forms.ChildForm()
    if acting_for:
        forms.speak_of_the_family(form)
    form.child.choices = [SelectChoice(str(c.id), f"{c.first_name} {c.last_name}") for c in family.children] + [
        SelectChoice("new", _("Een ander kind"))]
    if request.method == "GET":
        _prefill_child(form, family, _date_arg("geboortedatum"))
    if form.validate_on_submit():
        try:
            if form.child.data and form.child.data != "new":
                child = next((c for c in family.children if str(c.id) == form.child.data), None)
                if child is None:
                    abort(400)
            else:
                child = families.add_child(
                    db.session, family, first_name=form.first_name.data, last_name=form.last_name.data,
                    birth_date=form.birth_date.data, due_date=form.due_date.data,
                    national_number=form.national_number.data, pepper=current_app.config["NATIONAL_NUMBER_PEPPER"] or current_app.config["SECRET_KEY"],
                    today=today(), foster_child=form.foster_child.data, extra_care_needs=form.extra_care_needs.data)
            care = services.draft(db.session, family, child, actor_id=current_user.id)
            pending = _location_arg()
            db.session.commit()
        except families.FamilyError as error:
            db.session.rollback()
            _error(form, error)
        else:
            start = _carried().get("start")
            return redirect(url_for("requests.plan", request_id=care.id, locatie=pending, start=start))
    return render_template("requests/new.html", form=form, acting_for=acting_for), 200 if not form.errors else 422


def _prefill_child(form, family: Family, born: date | None) -> None:
    """Preselect the child the search was for: one of the family's own with that (expected)
    birth date, else a new child with the date filled in; without a date, the first child."""
    match = next((c for c in family.children if born and c.reference_date == born), None)
    if match is not None or born is None:
        child = match or (family.children[0] if family.children else None)
        form.child.data = str(child.id) if child else "new"
        return
    form.child.data = "new"
    if born > today():
        form.due_date.data = born
    else:
        form.birth_date.data = born


@bp.route("/<uuid:request_id>/planning", methods=["GET", "POST"])
@require(*FAMILY_SIDE)
def plan(request_id: uuid.UUID):
    care, family, child = _own_request(request_id)
    if care.status != RequestStatus.DRAFT:
        return redirect(url_for("requests.detail", request_id=care.id))
    acting_for = _acting_for(family)
    form = forms.PlanForm(obj=None if request.method == "POST" else _plan_defaults(care, _date_arg("start")))
    if acting_for:
        forms.speak_of_the_family(form)
    if form.validate_on_submit():
        try:
            services.set_plan(care, child, start_date=form.start_date.data,
                              flexibility_weeks=form.flexibility_weeks.data, care_plan=form.care_plan(),
                              keep_higher_choices=form.keep_higher_choices.data, today=today())
        except services.RequestError as error:
            db.session.rollback()
            _error(form, error)
        else:
            _add_pending_location(care, child)
            db.session.commit()
            return redirect(url_for("requests.choices", request_id=care.id))
    return render_template("requests/plan.html", form=form, care=care, child=child,
                           acting_for=acting_for), 200 if not form.errors else 422


def _add_pending_location(care: CareRequest, child: Child) -> None:
    """The wizard was started from a location (``?locatie=``): it becomes the first choice as the
    plan is saved, with no page to confirm it again. A location that cannot be chosen is
    explained on the choices page; the plan is saved all the same."""
    location_id = _location_arg()
    if location_id is None or any(c.location_id == location_id for c in care.choices):
        return
    name = db.session.scalar(select(CatalogLocation.name).where(CatalogLocation.location_id == location_id))
    if name is None:
        return
    try:
        services.add_choice(db.session, care, child, location_id)
    except services.RequestError as error:
        flash(str(error.message), "error")
    else:
        flash(_("%(name)s staat nu in uw keuzes.", name=name), "success")


def _plan_defaults(care: CareRequest, start: date | None = None):
    class Defaults:
        start_date = care.start_date or start
        flexibility_weeks = care.flexibility_weeks
        keep_higher_choices = care.keep_higher_choices

    for day in range(1, 6):
        setattr(Defaults, f"day_{day}", (care.care_plan or {}).get(str(day), "full"))
    return Defaults


@bp.route("/<uuid:request_id>/keuzes", methods=["GET", "POST"])
@require(*FAMILY_SIDE)
def choices(request_id: uuid.UUID):
    care, family, child = _own_request(request_id)
    if care.status != RequestStatus.DRAFT:
        return redirect(url_for("requests.detail", request_id=care.id))
    form = ConfirmForm()
    if form.validate_on_submit():
        action, choice_id = request.form.get("action", ""), request.form.get("choice", "")
        try:
            choice = _choice(care, uuid.UUID(choice_id))
        except ValueError:
            abort(400)
        if action == "up":
            services.move_choice(care, choice.id, -1)
        elif action == "down":
            services.move_choice(care, choice.id, 1)
        elif action == "remove":
            services.remove_choice(db.session, care, choice.id)
        else:
            abort(400)
        db.session.commit()
        return redirect(url_for("requests.choices", request_id=care.id))
    problems = {c.id: services.why_not_choosable(db.session, c.location_id, child, care.start_date)
                for c in care.choices}
    return render_template("requests/choices.html", care=care, child=child, locations=_locations(care),
                           problems=problems, form=form, max_choices=services.max_choices(db.session),
                           search=switch_url(None, "catalog.search_page", **_search_for(care, family, child)),
                           acting_for=_acting_for(family))


def _search_for(care: CareRequest, family: Family, child: Child) -> dict:
    """The search that finds locations for this request: the child's age and the start, near
    the family's postcode, with free places in the start month (when the search offers it)."""
    args = {"geboortedatum": child.reference_date.isoformat() if child.reference_date else None,
            "start": care.start_date.isoformat() if care.start_date else None, "online": "1",
            "postcode": family.postcode or None}
    if care.start_date and month_start(today()) <= month_start(care.start_date) <= add_months(today(), 17):
        args["maand"] = care.start_date.strftime("%Y-%m")
    return {key: value for key, value in args.items() if value is not None}


@bp.route("/kies", methods=["GET", "POST"])
@require(*FAMILY_SIDE)
def pick():
    """Add a location (from a search result or a location page, in any municipality) to a draft,
    or to a request already submitted: then it goes to the provider at once."""
    try:
        location_id = uuid.UUID(request.values.get("locatie", ""))
    except ValueError:
        abort(404)
    location = db.session.get(CatalogLocation, location_id)
    if location is None:
        abort(404)
    own = families.family_of(db.session, current_user.id)
    acting = [f.id for f in families.families_acting_for(db.session, current_user)] + ([own.id] if own else [])
    candidates = list(db.session.scalars(select(CareRequest).where(
        CareRequest.family_id.in_(acting), CareRequest.status.in_((RequestStatus.DRAFT, RequestStatus.OPEN)))
        .order_by(CareRequest.created_at.desc()))) if acting else []
    maximum = services.max_choices(db.session)
    already = [c for c in candidates if any(choice.location_id == location_id for choice in c.choices)]
    requests = [c for c in candidates if c not in already and len(c.choices) < maximum]
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            care, family, child = _own_request(uuid.UUID(request.form.get("aanvraag", "")))
        except ValueError:
            abort(400)
        try:
            if care.status == RequestStatus.DRAFT:
                services.add_choice(db.session, care, child, location_id)
            else:
                services.add_to_open_request(db.session, care, family, child, location_id, actor_id=current_user.id,
                                             actor_role=_actor_role(family), now=utcnow(), today=today())
            db.session.commit()
        except services.RequestError as error:
            db.session.rollback()
            flash(str(error.message), "error")
        else:
            if care.status == RequestStatus.DRAFT:
                flash(_("%(name)s staat nu in uw keuzes.", name=location.name), "success")
            else:
                flash(_("De aanvraag voor %(child)s ging ook naar %(name)s.", child=child.first_name,
                        name=location.name), "success")
        if care.status == RequestStatus.DRAFT:
            return redirect(url_for("requests.choices", request_id=care.id))
        return redirect(url_for("requests.detail", request_id=care.id))
    children = {c.id: c for c in db.session.scalars(select(Child).where(
        Child.id.in_([c.child_id for c in candidates])))} if candidates else {}
    return render_template("requests/pick.html", location=location, requests=requests, already=already,
                           children=children, form=form, chosen=request.args.get("aanvraag"),
                           max_choices=maximum, carried=_carried())


@bp.route("/<uuid:request_id>/gezin", methods=["GET", "POST"])
@require(*FAMILY_SIDE)
def family_details(request_id: uuid.UUID):
    care, family, child = _own_request(request_id)
    acting_for = _acting_for(family)
    form = forms.FamilyForm(obj=family if request.method == "GET" else None)
    if acting_for:
        forms.speak_of_the_family(form)
    # "Below the threshold" means the region's figure for the wanted start's year (or the
    # latest year before it): say which, so the family declares against a known amount.
    threshold = tariffs.services.threshold_for(db.session, (care.start_date or clock.today()).year)
    if threshold is not None:
        form.low_income.description = _("De grens voor %(year)s: een gezamenlijk belastbaar inkomen van %(amount)s "
                                        "per jaar.", year=threshold.year, amount=money(threshold.amount))
    chosen = [c.location_id for c in care.choices]
    names = _locations(care)
    form.siblings.choices = [SelectChoice(str(location_id), names[location_id]["location"].name)
                             for location_id in chosen if location_id in names]
    if request.method == "GET":
        form.siblings.data = [str(i) for i in (child.sibling_location_ids or []) if i in chosen]
    if form.validate_on_submit():
        try:
            families.update_details(
                db.session, family, street=form.street.data, number=form.number.data, postcode=form.postcode.data,
                locality=form.locality.data, phone=form.phone.data, needs_care_for_work=form.needs_care_for_work.data,
                single_parent=form.single_parent.data, low_income=form.low_income.data)
            families.set_sibling_locations(child, [uuid.UUID(v) for v in form.siblings.data or []], among=chosen)
            # Recorded for the family by a referrer or the desk: as it consented when it was filed.
            filed = families.filing_consent(family) if _acting_for(family) else None
            families.record_consent(family, "share_with_chosen_locations", user_id=current_user.id, now=utcnow(),
                                    method=filed.method if filed else None)
            db.session.commit()
        except families.FamilyError as error:
            db.session.rollback()
            _error(form, error)
        else:
            return redirect(url_for("requests.review", request_id=care.id))
    return render_template("requests/family.html", form=form, care=care,
                           acting_for=acting_for), 200 if not form.errors else 422


@bp.route("/<uuid:request_id>/nazicht", methods=["GET", "POST"])
@require(*FAMILY_SIDE)
def review(request_id: uuid.UUID):
    care, family, child = _own_request(request_id)
    if care.status != RequestStatus.DRAFT:
        return redirect(url_for("requests.detail", request_id=care.id))
    form = ConfirmForm()
    problem = None
    if form.validate_on_submit():
        attempt = db.session.begin_nested()
        try:
            services.submit(db.session, care, family, child, actor_id=current_user.id,
                            actor_role=_actor_role(family), now=utcnow(), today=today())
        except services.RequestError as error:
            attempt.rollback()
            if error.existing is None:
                db.session.rollback()
                problem = error
            else:
                return _refused_as_duplicate(care, family, error)
        else:
            attempt.commit()
            db.session.commit()
            return redirect(url_for("requests.received", request_id=care.id))
    locations = _locations(care)
    # The estimate, when a chosen location has an income-related tariff: for the wanted start's
    # year and the request's plan; what is typed in goes nowhere but this answer.
    estimate = tariffs.calculator(db.session, request.args, today=clock.today(), start=care.start_date,
                                  plan=tariffs.Plan.from_care_plan(care.care_plan)) \
        if any(info["location"].tariff == "income" for info in locations.values()) else None
    return render_template("requests/review.html", care=care, family=family, child=child, form=form,
                           locations=locations, problem=problem, estimate=estimate,
                           acting_for=_acting_for(family)), 200 if problem is None else 422


def _refused_as_duplicate(care: CareRequest, family: Family, error: services.RequestError):
    """The child's request runs already: this draft goes, in the same transaction as the
    refusal, and the family sees the request that runs (when it may; a match by national number
    can be another family's, which stays invisible)."""
    services.discard_draft(db.session, care)
    db.session.commit()
    flash(str(error.message), "error")
    existing = db.session.get(CareRequest, error.existing)
    owner = db.session.get(Family, existing.family_id) if existing is not None else None
    if owner is not None and families.may_act_for(current_user, owner):
        return redirect(url_for("requests.detail", request_id=existing.id))
    if _actor_role(family) == "desk":  # the desk's own pages are on its municipal host: start over here
        return redirect(url_for("requests.new", gezin=family.id))
    return redirect(url_for("referrer.home" if _acting_for(family) else "requests.overview"))


@bp.route("/<uuid:request_id>/ontvangen")
@require(*FAMILY_SIDE)
def received(request_id: uuid.UUID):
    care, family, child = _own_request(request_id)
    return render_template("requests/received.html", care=care, child=child, locations=_locations(care),
                           acting_for=_acting_for(family), mailed=services.will_be_mailed(family),
                           desk=_desk_link(family))


def _desk_link(family: Family) -> str | None:
    """For the desk: back to the family's page on its municipality's host (summary, claim code)."""
    if _actor_role(family) != "desk":
        return None
    return switch_url(db.session.get(Tenant, family.desk_tenant_id), "coordinator.intake_family",
                      family_id=family.id)


# --- following and answering -----------------------------------------------------------------


@bp.route("/<uuid:request_id>")
@require(*FAMILY_SIDE)
def detail(request_id: uuid.UUID):
    care, family, child = _own_request(request_id)
    if care.status == RequestStatus.DRAFT:
        return redirect(url_for("requests.choices", request_id=care.id))
    loaded = services.load_applications(db.session, care.choices)  # per municipality, not per choice
    applications = {choice_id: one.application for choice_id, one in loaded.items()}
    positions = services.queue_positions(db.session, care, loaded=loaded, today=today())
    acting_for = _acting_for(family)
    if acting_for:  # a referrer (or the desk) reads the family's applications: each municipality's log says so
        role = Role.REFERRER if _actor_role(family) == "referrer" else Role.COORDINATOR
        # Whose eyes, for the family's download: the organisation, or the desk's municipality.
        desk = db.session.get(Tenant, family.desk_tenant_id) if role == Role.COORDINATOR and family.desk_tenant_id else None
        detail = {"organisation": family.referrer_organisation if desk is None else desk.name}
        for tenant in {one.tenant.id: one.tenant for one in loaded.values()}.values():
            record_view(db.session, tenant, action=audit.Action.VIEW_REQUEST, subject=care.id, family_id=family.id,
                        role=role, detail=detail)
    page = render_template("requests/detail.html", care=care, child=child, locations=_locations(care),
                           applications=applications, positions=positions, form=ConfirmForm(),
                           message_form=forms.MessageForm(), today=today(), acting_for=acting_for,
                           max_choices=services.max_choices(db.session),
                           search=switch_url(None, "catalog.search_page", **_search_for(care, family, child)))
    if acting_for:
        db.session.commit()
    return page


def _act(request_id: uuid.UUID, choice_id: uuid.UUID | None, action):
    care, family, child = _own_request(request_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    choice = _choice(care, choice_id) if choice_id else None
    try:
        message = action(care, family, child, choice)
        db.session.commit()
    except services.RequestError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        flash(message, "success")
    return redirect(url_for("requests.detail", request_id=request_id))


@bp.route("/<uuid:request_id>/keuzes/<uuid:choice_id>/aanvaarden", methods=["POST"])
@require(*FAMILY_SIDE)
def accept(request_id: uuid.UUID, choice_id: uuid.UUID):
    def action(care, family, child, choice):
        withdrawn = services.accept(db.session, care, family, choice, actor_id=current_user.id, now=utcnow(),
                                    today=today(), actor_role=_actor_role(family))
        return ngettext("U aanvaardde de plaats. %(num)s andere aanvraag werd ingetrokken.",
                        "U aanvaardde de plaats. %(num)s andere aanvragen werden ingetrokken.", len(withdrawn))

    return _act(request_id, choice_id, action)


@bp.route("/<uuid:request_id>/keuzes/<uuid:choice_id>/weigeren", methods=["POST"])
@require(*FAMILY_SIDE)
def decline(request_id: uuid.UUID, choice_id: uuid.UUID):
    def action(care, family, child, choice):
        services.decline(db.session, family, choice, actor_id=current_user.id, now=utcnow(),
                         actor_role=_actor_role(family))
        return _("U weigerde het aanbod.")

    return _act(request_id, choice_id, action)


@bp.route("/<uuid:request_id>/keuzes/<uuid:choice_id>/intrekken", methods=["POST"])
@require(*FAMILY_SIDE)
def withdraw(request_id: uuid.UUID, choice_id: uuid.UUID):
    def action(care, family, child, choice):
        services.withdraw(db.session, care, choice, actor_id=current_user.id, now=utcnow(),
                          actor_role=_actor_role(family))
        return _("De aanvraag bij deze locatie is ingetrokken.")

    return _act(request_id, choice_id, action)


@bp.route("/<uuid:request_id>/intrekken", methods=["POST"])
@require(*FAMILY_SIDE)
def withdraw_all(request_id: uuid.UUID):
    def action(care, family, child, choice):
        services.withdraw_request(db.session, care, actor_id=current_user.id, now=utcnow(),
                                  actor_role=_actor_role(family))
        return _("Uw aanvraag is ingetrokken bij alle locaties.")

    return _act(request_id, None, action)


@bp.route("/<uuid:request_id>/bevestigen", methods=["POST"])
@require(*FAMILY_SIDE)
def confirm(request_id: uuid.UUID):
    def action(care, family, child, choice):
        services.confirm(db.session, care, actor_id=current_user.id, actor_role=_actor_role(family),
                         now=clock.now())
        return _("Bedankt: uw aanvraag blijft lopen.")

    return _act(request_id, None, action)


@bp.route("/bevestig/<token>", methods=["GET", "POST"])
@public
def confirm_link(token: str):
    """The mailed one-click link: no login needed for whoever holds it. Opening it (GET: a mail
    scanner prefetches links) only shows one button; the button (POST) confirms. A link that is
    old, used, for another account's family or for a request confirmed since says so, and
    changes nothing."""
    secret, now = tokens.keys(current_app.config), clock.now()
    form = ConfirmForm()
    try:
        if request.method == "POST":
            if not form.validate_on_submit():
                abort(400)
            link = confirmations.confirm_by_link(db.session, secret, token, user=current_user, now=now)
            next_due = confirmations.next_due(db.session, link.care)
            db.session.commit()
            return render_template("requests/confirm_link.html", link=link, done=True, next_due=next_due)
        link = confirmations.check_link(db.session, secret, token, user=current_user, now=now)
    except confirmations.LinkError as error:
        db.session.rollback()
        return render_template("requests/confirm_link.html", problem=error.message, reason=error.reason), (
            410 if error.reason in ("expired", "used", "gone") else 409 if error.reason != "invalid" else 400)
    except services.RequestError as error:
        db.session.rollback()
        return render_template("requests/confirm_link.html", problem=error.message, reason="closed"), 409
    return render_template("requests/confirm_link.html", link=link, form=form, done=False)


@bp.route("/<uuid:request_id>/keuzes/<uuid:choice_id>/bericht", methods=["POST"])
@require(*FAMILY_SIDE)
def send_message(request_id: uuid.UUID, choice_id: uuid.UUID):
    care, family, child = _own_request(request_id)
    choice = _choice(care, choice_id)
    form = forms.MessageForm()
    if not form.validate_on_submit():
        flash(form.errors.get("text", [_("Schrijf een bericht.")])[0], "error")
        return redirect(url_for("requests.detail", request_id=request_id))
    try:
        services.message(db.session, choice, form.text.data, actor_id=current_user.id, now=utcnow(),
                         actor_role=_actor_role(family))
        db.session.commit()
    except services.RequestError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        flash(_("Uw bericht is verstuurd."), "success")
    return redirect(url_for("requests.detail", request_id=request_id))


@bp.route("/<uuid:request_id>/wijzigen", methods=["GET", "POST"])
@require(*FAMILY_SIDE)
def change(request_id: uuid.UUID):
    care, family, child = _own_request(request_id)
    if care.status != RequestStatus.OPEN:
        return redirect(url_for("requests.detail", request_id=care.id))
    form = forms.ChangeForm(obj=None if request.method == "POST" else _plan_defaults(care))
    if form.validate_on_submit():
        try:
            services.change_plan(db.session, care, child, start_date=form.start_date.data, care_plan=form.care_plan(),
                                 actor_id=current_user.id, now=utcnow(), today=today(),
                                 actor_role=_actor_role(family))
            db.session.commit()
        except services.RequestError as error:
            db.session.rollback()
            _error(form, error)
        else:
            flash(_("Uw wijziging is doorgegeven aan de locaties."), "success")
            return redirect(url_for("requests.detail", request_id=care.id))
    return render_template("requests/change.html", form=form, care=care, child=child), 200 if not form.errors else 422

