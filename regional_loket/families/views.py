"""The family dossier on the regional portal: guardians, children, privacy."""

from __future__ import annotations

import json
import uuid

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts import Role, passwords, require
from ..database import utcnow
from ..extensions import db
from ..notifications.services import notify
from ..tenancy import Hosts, serves
from ..web.urls import portal_url
from . import forms, privacy, services
from .models import Guardian

bp = Blueprint("families", __name__, url_prefix="/gezin", template_folder="templates")
serves(bp, Hosts.REGION)


def _family():
    return services.ensure_family(db.session, current_user, language=str(get_locale() or "nl"))


@bp.route("/", methods=["GET", "POST"])
@require(Role.PARENT)
def dossier():
    family = _family()
    form = forms.InviteForm()
    if form.validate_on_submit():
        try:
            guardian = services.invite_guardian(db.session, family, name=form.name.data, email=form.email.data,
                                                now=utcnow())
        except services.FamilyError as error:
            db.session.rollback()
            form.email.errors.append(str(error.message))
        else:
            notify(db.session, recipient_email=guardian.email, language=family.language, template="guardian_invite",
                   idempotency_key=f"invite:{guardian.id}",
                   data={"name": guardian.name, "inviter": current_user.name,
                         "url": portal_url(None, "families.accept", guardian_id=guardian.id)})
            db.session.commit()
            flash(_("We stuurden een uitnodiging naar %(email)s.", email=guardian.email), "success")
            return redirect(url_for("families.dossier"))
    db.session.commit()  # a first visit creates the family
    return render_template("families/dossier.html", family=family, form=form), 200 if not form.errors else 422


@bp.route("/uitnodiging/<uuid:guardian_id>", methods=["GET", "POST"])
@require(Role.PARENT)
def accept(guardian_id: uuid.UUID):
    guardian = db.session.get(Guardian, guardian_id)
    # Only the invited address may accept: the link alone is not enough.
    if guardian is None or guardian.email != current_user.email:
        abort(404)
    if request.method == "POST":
        try:
            services.accept_invitation(db.session, guardian, current_user, now=utcnow())
            db.session.commit()
        except services.FamilyError as error:
            db.session.rollback()
            flash(str(error.message), "error")
            return redirect(url_for("families.dossier"))
        flash(_("U beheert nu samen de aanvragen van dit gezin."), "success")
        return redirect(url_for("requests.overview"))
    return render_template("families/accept.html", guardian=guardian)


@bp.route("/overnemen", methods=["GET", "POST"])
@require(Role.PARENT)
def claim():
    """A family filed at a municipality's desk takes its dossier over with the code on its
    summary: this account becomes its guardian and follows its requests (rate limited)."""
    form = forms.ClaimForm()
    if form.validate_on_submit():
        try:
            services.claim_family(db.session, current_user, form.code.data, now=utcnow())
            db.session.commit()
        except services.FamilyError as error:
            db.session.rollback()
            form.code.errors.append(str(error.message))
        else:
            flash(_("Het dossier van uw gezin staat nu in uw account: hier ziet u de aanvragen en hun verloop."),
                  "success")
            return redirect(url_for("requests.overview"))
    return render_template("families/claim.html", form=form), 422 if form.errors else 200


@bp.route("/gegevens")
@require(Role.PARENT)
def my_data():
    family = services.family_of(db.session, current_user.id)
    data = privacy.export(db.session, family) if family else {}
    if request.args.get("formaat") == "json":
        response = Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json")
        response.headers["Content-Disposition"] = 'attachment; filename="mijn-gegevens-loket-kinderopvang.json"'
        return response
    return render_template("families/my_data.html", data=data)


@bp.route("/wissen", methods=["GET", "POST"])
@require(Role.PARENT)
def erase():
    family = services.family_of(db.session, current_user.id)
    if family is None:
        return redirect(url_for("families.dossier"))
    form = forms.EraseForm()
    if form.validate_on_submit():
        if not passwords.verify_password(current_user.password_hash, form.current.data):
            form.current.errors.append(_("Uw wachtwoord klopt niet."))
        else:
            count = privacy.erase(db.session, family, actor_id=current_user.id, now=utcnow())
            db.session.commit()
            flash(ngettext("De gegevens van uw gezin zijn gewist, ook bij %(num)s aanvraag van opvanglocaties.",
                           "De gegevens van uw gezin zijn gewist, ook bij %(num)s aanvragen van opvanglocaties.",
                           count), "success")
            return redirect(url_for("web.home"))
    return render_template("families/erase.html", form=form), 200 if not form.errors else 422
