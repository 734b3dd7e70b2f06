"""A municipality's coordinators, administered by the region: list them (with open invitations),
invite one by e-mail in the person's language (accounts.invitations, role coordinator: the same
rows, links and acceptance page as provider staff), resend or cancel an invitation, revoke a
coordinator. Every change is audited in the municipality's log.

The last coordinator: an active municipality keeps at least one active coordinator, so someone
answers its desk; revoking the last one is refused until another has accepted an invitation.
An archived municipality may lose its last one (nobody works its desk any more)."""

from __future__ import annotations

import uuid

from flask import abort, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..accounts import Role, require, tokens
from ..accounts import invitations as invites
from ..accounts import services as account_services
from ..accounts.forms import ConfirmForm
from ..audit.web import record_act
from ..extensions import db
from ..tenancy import services as tenancy_services
from ..web.urls import portal_url
from .forms import CoordinatorInviteForm
from .views import bp

MAX_LISTED = 200  # a municipality has a handful; the page lists them all up to this


def rows(tenant):
    """The coordinators and open coordinator invitations of ``tenant`` (one statement each)."""
    return invites.staff_page(db.session, tenant, page=1, per_page=MAX_LISTED, role=Role.COORDINATOR)


def _tenant(slug: str):
    tenant = tenancy_services.get_tenant(db.session, slug)
    if tenant is None:
        abort(404)
    return tenant


def _audit(tenant, action: str, subject, **detail) -> None:
    record_act(db.session, tenant, action=action, subject=subject, detail=detail, role=Role.ADMIN.value)


def mail(tenant, invitation) -> None:
    token = invites.token_for(invitation, tokens.keys(current_app.config))
    invites.send(db.session, invitation, tenant=tenant, inviter=current_user.name,
                 url=portal_url(tenant, "coordinator.accept_invitation", token=token))


@bp.route("/gemeenten/<slug>/coordinatoren/uitnodigen", methods=["POST"])
@require(Role.ADMIN)
def invite_coordinator(slug: str):
    from .municipalities import municipality

    tenant = _tenant(slug)
    form = CoordinatorInviteForm()
    if tenant.is_archived:
        flash(_("Een gearchiveerde gemeente krijgt geen nieuwe coördinatoren; herstel ze eerst."), "error")
        return redirect(url_for("admin.municipality", slug=tenant.slug))
    if form.validate_on_submit():
        try:
            invitation = invites.invite(db.session, tenant, email=form.email.data, language=form.language.data,
                                        role=Role.COORDINATOR, actor_id=current_user.id, now=clock.now())
        except invites.InvitationError as error:
            db.session.rollback()
            form.email.errors = [*form.email.errors, error.message]
        else:
            mail(tenant, invitation)
            _audit(tenant, "coordinator.invite", invitation.id, language=invitation.language)
            db.session.commit()
            flash(_("De uitnodiging is verstuurd naar %(email)s.", email=invitation.email), "success")
            return redirect(url_for("admin.municipality", slug=tenant.slug))
    return municipality(slug, invite_form=form)


def _invitation(tenant, invitation_id: uuid.UUID):
    invitation = invites.open_invitation(db.session, tenant, invitation_id, role=Role.COORDINATOR)
    if invitation is None:
        abort(404)
    return invitation


@bp.route("/gemeenten/<slug>/coordinatoren/uitnodigingen/<uuid:invitation_id>/opnieuw", methods=["POST"])
@require(Role.ADMIN)
def resend_coordinator_invitation(slug: str, invitation_id: uuid.UUID):
    tenant = _tenant(slug)
    invitation = _invitation(tenant, invitation_id)
    if ConfirmForm().validate_on_submit():
        invites.resend(invitation, now=clock.now())
        mail(tenant, invitation)
        _audit(tenant, "coordinator.invitation_resend", invitation.id)
        db.session.commit()
        flash(_("De uitnodiging is opnieuw verstuurd naar %(email)s.", email=invitation.email), "success")
    return redirect(url_for("admin.municipality", slug=tenant.slug))


@bp.route("/gemeenten/<slug>/coordinatoren/uitnodigingen/<uuid:invitation_id>/annuleren", methods=["POST"])
@require(Role.ADMIN)
def cancel_coordinator_invitation(slug: str, invitation_id: uuid.UUID):
    tenant = _tenant(slug)
    invitation = _invitation(tenant, invitation_id)
    if ConfirmForm().validate_on_submit():
        invites.cancel(invitation, now=clock.now())
        _audit(tenant, "coordinator.invitation_cancel", invitation.id)
        db.session.commit()
        flash(_("De uitnodiging voor %(email)s is geannuleerd.", email=invitation.email), "success")
    return redirect(url_for("admin.municipality", slug=tenant.slug))


@bp.route("/gemeenten/<slug>/coordinatoren/<uuid:membership_id>/intrekken", methods=["POST"])
@require(Role.ADMIN)
def revoke_coordinator(slug: str, membership_id: uuid.UUID):
    tenant = _tenant(slug)
    found = invites.coordinator_member(db.session, tenant, membership_id)
    if found is None:
        abort(404)
    person, membership = found
    if ConfirmForm().validate_on_submit():
        last = person.is_active and invites.active_coordinators(db.session, tenant) <= 1
        if last and not tenant.is_archived:
            flash(_("%(name)s moet minstens één actieve coördinator houden. Nodig eerst iemand anders uit; trek "
                    "deze rol in zodra die de uitnodiging aanvaardde.", name=tenant.name), "error")
        else:
            account_services.remove_membership(db.session, person, membership.id)
            _audit(tenant, "coordinator.revoke", person.id)
            db.session.commit()
            flash(_("%(email)s is geen coördinator van %(name)s meer.", email=person.email, name=tenant.name),
                  "success")
    return redirect(url_for("admin.municipality", slug=tenant.slug))
