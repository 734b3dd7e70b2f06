"""Region administration: every route here is for administrators, on the regional host."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms import SelectChoice

from ..accounts import Role, User, can, require
from ..accounts import services as account_services
from ..accounts.forms import ConfirmForm
from ..audit.web import record_act
from ..catalog.picker import location_options
from ..extensions import db
from ..tenancy import Hosts, Tenant, serves
from ..tenancy import services as tenancy_services
from ..web import register_back_office
from .forms import GrantForm

bp = Blueprint("admin", __name__, url_prefix="/beheer/regio", template_folder="templates")
serves(bp, Hosts.REGION)
PER_PAGE = 25


@register_back_office
def _link(user, tenant):
    if tenant is None and can(user, Role.ADMIN):
        return [(_("Regiobeheer"), url_for("admin.dashboard"))]
    return []


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        return 1


@bp.route("/")
@require(Role.ADMIN)
def dashboard():
    from .services import municipalities

    rows = municipalities(db.session)
    return render_template("admin/dashboard.html", rows=rows, tenants=[row.tenant for row in rows])


@bp.route("/gebruikers")
@require(Role.ADMIN)
def users():
    query = request.args.get("q", "")[:100]
    page = _page()
    rows, total = account_services.search_users(db.session, query, page=page, per_page=PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    return render_template("admin/users.html", rows=rows, total=total, q=query, page=page, pages=pages)


def _user(user_id: uuid.UUID) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        abort(404)
    return user


@bp.route("/gebruikers/<uuid:user_id>", methods=["GET", "POST"])
@require(Role.ADMIN)
def user(user_id: uuid.UUID):
    person = _user(user_id)
    tenants = tenancy_services.list_tenants(db.session, include_archived=False)
    form = GrantForm(tenant=request.args.get("gemeente", ""))
    form.tenant.choices = [SelectChoice("", "—")] + [SelectChoice(t.slug, t.name) for t in tenants]
    # Choose the municipality, then its locations: the picker offers the chosen one's only.
    chosen = next((t for t in tenants if t.slug == form.tenant.data), None)
    form.locations.offer(location_options(db.session, chosen) if chosen else [])
    staff = form.role.data == Role.PROVIDER_STAFF
    form.locations.required = staff and chosen is not None
    if "show_locations" not in request.form and form.validate_on_submit():
        tenant = chosen if form.tenant.data else None
        try:
            if form.tenant.data and tenant is None:
                raise ValueError(form.tenant.data)
            membership = account_services.grant(
                db.session, person, form.role.data, tenant=tenant, organisation=form.organisation.data or None,
                location_ids=form.locations.data if staff else ())
        except ValueError:
            db.session.rollback()
            form.tenant.errors.append(
                _("Coördinatoren en medewerkers horen bij een gemeente; de andere rollen niet."))
        else:
            if tenant is not None:
                _audit(tenant, "membership.grant", person, role=membership.role,
                       locations=[str(i) for i in membership.location_ids])
            db.session.commit()
            flash(_("De rol is toegekend."), "success")
            return redirect(url_for("admin.user", user_id=person.id))
    names = {t.id: t.name for t in tenancy_services.list_tenants(db.session)}
    return render_template("admin/user.html", person=person, form=form, confirm=ConfirmForm(), tenant_names=names), \
        200 if not form.errors else 422


def _audit(tenant, action: str, person: User, **detail) -> None:
    """A change to a municipality's team goes into that municipality's audit log."""
    record_act(db.session, tenant, action=action, subject=person.id, detail=detail, role=Role.ADMIN.value)


@bp.route("/gebruikers/<uuid:user_id>/sessies-beeindigen", methods=["POST"])
@require(Role.ADMIN)
def revoke(user_id: uuid.UUID):
    person = _user(user_id)
    if ConfirmForm().validate_on_submit():
        count = account_services.revoke_sessions(db.session, person.id)
        db.session.commit()
        flash(ngettext("%(num)s sessie beëindigd.", "%(num)s sessies beëindigd.", count), "success")
    return redirect(url_for("admin.user", user_id=person.id))


@bp.route("/gebruikers/<uuid:user_id>/actief", methods=["POST"])
@require(Role.ADMIN)
def toggle_active(user_id: uuid.UUID):
    person = _user(user_id)
    if person.id == current_user.id:
        flash(_("U kunt uw eigen account niet blokkeren."), "error")
    elif ConfirmForm().validate_on_submit():
        try:
            account_services.set_active(db.session, person, not person.active)
        except account_services.LastAdminError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Het account is geblokkeerd.") if not person.active else _("Het account is weer actief."),
                  "success")
    return redirect(url_for("admin.user", user_id=person.id))


@bp.route("/gebruikers/<uuid:user_id>/rollen/<uuid:membership_id>/verwijderen", methods=["POST"])
@require(Role.ADMIN)
def remove_role(user_id: uuid.UUID, membership_id: uuid.UUID):
    person = _user(user_id)
    if ConfirmForm().validate_on_submit():
        removed = next((m for m in person.memberships if m.id == membership_id), None)
        removed = (removed.role, removed.tenant_id) if removed is not None else None
        try:
            account_services.remove_membership(db.session, person, membership_id)
            if removed is not None and removed[1] is not None:
                _audit(db.session.get(Tenant, removed[1]), "membership.remove", person, role=removed[0])
        except LookupError:
            abort(404)
        except account_services.LastAdminError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("De rol is ingetrokken."), "success")
    return redirect(url_for("admin.user", user_id=person.id))
