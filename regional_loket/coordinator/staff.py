"""Provider staff of the municipality: the coordinator invites people by e-mail to some of the
municipality's locations, changes their locations and revokes them; the invitee's link creates
or links an account. The invitations themselves are accounts' (``accounts.invitations``);
these are the pages, every change audited in the tenant's log."""

from __future__ import annotations

import uuid

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField
from wtforms.validators import DataRequired, Length

from .. import audit, languages
from ..accounts import Role, public, require, tokens
from ..accounts import invitations as invites
from ..accounts import services as account_services
from ..accounts.forms import LANGUAGE_CHOICES, ConfirmForm, NewStaffAccountForm
from ..audit.web import record_act
from ..catalog.picker import LocationsField, location_options, names_of
from ..database import utcnow
from ..extensions import db
from ..validators import EmailAddress
from ..web.input import parse_ascii_int
from ..web.urls import portal_url
from .views import bp

PER_PAGE = 25
DESK = (Role.COORDINATOR, Role.ADMIN)


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mailadres"), validators=[
        DataRequired(_l("Vul het e-mailadres in.")),
        Length(max=254, message=_l("Een e-mailadres heeft hoogstens 254 tekens.")), EmailAddress()],
        render_kw={"autocomplete": "off", "spellcheck": "false"})
    language = SelectField(_l("Taal van de uitnodiging"), choices=LANGUAGE_CHOICES,
                           description=_l("De e-mail en de eerste pagina zijn in deze taal."))
    locations = LocationsField(_l("Locaties"), description=_l("De locaties waarvan deze persoon de aanvragen "
                                                               "behandelt."))


class LocationsForm(FlaskForm):
    locations = LocationsField(_l("Locaties"))


def _audit(action: str, subject, **detail) -> None:
    """One change in this municipality's audit log, by the signed-in coordinator. Ids only in
    ``detail`` (the audit rule): the address is the invitation's, found by its id."""
    record_act(db.session, g.tenant, action=action, subject=subject,
               detail={key: [str(v) for v in value] if isinstance(value, list) else value
                       for key, value in detail.items()})


def _page() -> int:
    return max(1, min(parse_ascii_int(request.args.get("page")) or 1, 10_000))


@bp.app_template_global("staff_count")
def staff_count(tenant) -> int:
    """For the desk's home: staff and open invitations of ``tenant``."""
    return invites.staff_page(db.session, tenant, page=1, per_page=1)[1]


@bp.route("/medewerkers")
@require(*DESK)
def staff():
    page = _page()
    rows, total = invites.staff_page(db.session, g.tenant, page=page, per_page=PER_PAGE)
    names = {option.id: option.name for option in location_options(db.session, g.tenant)}
    return render_template("coordinator/staff/list.html", rows=rows, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)), names=names, now=utcnow(), confirm=ConfirmForm())


@bp.route("/medewerkers/uitnodigen", methods=["GET", "POST"])
@require(*DESK)
def invite_staff():
    form = InviteForm(language=languages.or_default(str(get_locale() or "")))
    options = location_options(db.session, g.tenant)
    form.locations.offer(options)
    if form.validate_on_submit():
        now = utcnow()
        try:
            invitation = invites.invite(db.session, g.tenant, email=form.email.data, language=form.language.data,
                                        location_ids=form.locations.data, actor_id=current_user.id, now=now)
        except invites.InvitationError as error:
            db.session.rollback()
            form[error.field].errors.append(error.message)
        else:
            _mail(invitation, options)
            _audit("staff.invite", invitation.id, language=invitation.language, locations=invitation.location_ids)
            db.session.commit()
            flash(_("De uitnodiging is verstuurd naar %(email)s.", email=invitation.email), "success")
            return redirect(url_for("coordinator.staff"))
    return render_template("coordinator/staff/invite.html", form=form), 200 if not form.errors else 422


def _mail(invitation, options) -> None:
    token = invites.token_for(invitation, tokens.keys(current_app.config))
    invites.send(db.session, invitation, tenant=g.tenant, inviter=current_user.name,
                 url=portal_url(g.tenant, "coordinator.accept_invitation", token=token),
                 location_names=names_of(options, invitation.location_ids))


def _member(membership_id: uuid.UUID):
    found = invites.staff_member(db.session, g.tenant, membership_id)
    if found is None:
        abort(404)
    return found


@bp.route("/medewerkers/<uuid:membership_id>", methods=["GET", "POST"])
@require(*DESK)
def edit_staff(membership_id: uuid.UUID):
    person, membership = _member(membership_id)
    form = LocationsForm(data={"locations": list(membership.location_ids)})
    form.locations.offer(location_options(db.session, g.tenant))
    if form.validate_on_submit():
        before, after = invites.set_locations(membership, form.locations.data)
        if set(before) != set(after):
            _audit("staff.locations_change", person.id, before=before, after=after)
        db.session.commit()
        flash(_("De locaties van %(name)s zijn bewaard.", name=person.name or person.email), "success")
        return redirect(url_for("coordinator.staff"))
    return render_template("coordinator/staff/edit.html", form=form, person=person, membership=membership), \
        200 if not form.errors else 422


@bp.route("/medewerkers/<uuid:membership_id>/intrekken", methods=["GET", "POST"])
@require(*DESK)
def revoke_staff(membership_id: uuid.UUID):
    """Asks first (a page, so it works without JavaScript); the person keeps their account and
    any other role, and loses these pages at their next request."""
    person, membership = _member(membership_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        locations = list(membership.location_ids)
        account_services.remove_membership(db.session, person, membership.id)
        _audit("staff.revoke", person.id, locations=locations)
        db.session.commit()
        flash(_("%(name)s is geen medewerker meer.", name=person.name or person.email), "success")
        return redirect(url_for("coordinator.staff"))
    names = names_of(location_options(db.session, g.tenant), membership.location_ids)
    return render_template("coordinator/staff/revoke.html", form=form, person=person, names=names)


def _invitation(invitation_id: uuid.UUID):
    invitation = invites.open_invitation(db.session, g.tenant, invitation_id)
    if invitation is None:
        abort(404)
    return invitation


@bp.route("/medewerkers/uitnodigingen/<uuid:invitation_id>/opnieuw", methods=["POST"])
@require(*DESK)
def resend_invitation(invitation_id: uuid.UUID):
    invitation = _invitation(invitation_id)
    if ConfirmForm().validate_on_submit():
        invites.resend(invitation, now=utcnow())
        _mail(invitation, location_options(db.session, g.tenant))
        _audit("staff.invitation_resend", invitation.id)
        db.session.commit()
        flash(_("De uitnodiging is opnieuw verstuurd naar %(email)s.", email=invitation.email), "success")
    return redirect(url_for("coordinator.staff"))


@bp.route("/medewerkers/uitnodigingen/<uuid:invitation_id>/annuleren", methods=["POST"])
@require(*DESK)
def cancel_invitation(invitation_id: uuid.UUID):
    invitation = _invitation(invitation_id)
    if ConfirmForm().validate_on_submit():
        invites.cancel(invitation, now=utcnow())
        _audit("staff.invitation_cancel", invitation.id)
        db.session.commit()
        flash(_("De uitnodiging voor %(email)s is geannuleerd.", email=invitation.email), "success")
    return redirect(url_for("coordinator.staff"))


# --- the invitee's link ---------------------------------------------------------------------


@bp.route("/uitnodiging/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token: str):
    """The link in the invitation mail. No account for the address yet: choose a name and a
    password. An account: log in as its owner, then accept. Either way the result is a staff
    membership here with the invitation's locations."""
    now = utcnow()
    try:
        invitation, payload = invites.read_token(db.session, tokens.keys(current_app.config), token,
                                                 tenant=g.tenant, now=now)
    except tokens.TokenError as error:
        return render_template("coordinator/staff/invitation_problem.html", reason=error.reason), 400
    names = names_of(location_options(db.session, g.tenant), invitation.location_ids)
    account = invites.account_for(db.session, invitation)
    if account is None:
        return _accept_as_new(invitation, payload, names, now=now)
    if not current_user.is_authenticated:
        if account.verified_at is None and account.is_active:
            account.verified_at = now  # the link reached this mailbox, as a verification link does
            db.session.commit()
        login = portal_url(None, "accounts.login", next=request.base_url)
        return render_template("coordinator/staff/accept.html", invitation=invitation, names=names,
                               account=account, login=login)
    if current_user.id != account.id:
        return render_template("coordinator/staff/accept.html", invitation=invitation, names=names,
                               account=account, other=current_user), 403
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            invites.accept_as(db.session, g.tenant, invitation, payload, current_user._get_current_object(), now=now)
        except tokens.TokenError as error:
            db.session.rollback()
            return render_template("coordinator/staff/invitation_problem.html", reason=error.reason), 400
        _accepted(invitation, current_user.id)
        db.session.commit()
        if invitation.role == Role.COORDINATOR:
            flash(_("U bent nu coördinator van %(name)s.", name=g.tenant.name), "success")
        else:
            flash(_("U bent nu medewerker van %(name)s.", name=g.tenant.name), "success")
        return redirect(url_for(_home(invitation)))
    return render_template("coordinator/staff/accept.html", invitation=invitation, names=names, account=account,
                           form=form)


def _accept_as_new(invitation, payload, names, *, now):
    form = NewStaffAccountForm()
    form.account_email = invitation.email
    if form.validate_on_submit():
        try:
            user, _membership = invites.accept_as_new(db.session, g.tenant, invitation, payload, name=form.name.data,
                                                      password=form.password.data, now=now)
        except account_services.AccountError as error:
            db.session.rollback()
            form.name.errors.append(str(error))
        except tokens.TokenError as error:
            db.session.rollback()
            return render_template("coordinator/staff/invitation_problem.html", reason=error.reason), 400
        else:
            _accepted(invitation, user.id)
            db.session.commit()
            # Log in on the region's page, which brings the login back here to the provider's pages.
            return render_template("coordinator/staff/accepted.html", email=user.email,
                                   login=portal_url(None, "accounts.login", next=portal_url(g.tenant, _home(invitation))))
    return render_template("coordinator/staff/accept.html", invitation=invitation, names=names, form=form,
                           new_account=True), 200 if not form.errors else 422


def _home(invitation) -> str:
    """Where the invitee starts: the desk for a coordinator (invited by an administrator), the
    provider's pages for staff."""
    return "coordinator.dashboard" if invitation.role == Role.COORDINATOR else "provider.home"


def _accepted(invitation, user_id: uuid.UUID) -> None:
    # The invitee is the actor here (maybe not logged in yet), not the coordinator.
    audit.record_change(db.session, g.tenant, actor_id=user_id, actor_role=invitation.role,
                        action="staff.invitation_accept", subject=invitation.id, host=request.host, now=utcnow(),
                        detail={"user": str(user_id), "locations": [str(i) for i in invitation.location_ids]})
