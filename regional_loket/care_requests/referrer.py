"""Referrers (toeleiders: social services, family support) file requests for a family, with its
consent, and follow them up. Their pages live on the regional portal. They are request pages
(a referrer opens the family's dossier on the way, then files and follows its requests), so they
live here and read the family dossier through ``families``' public services."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, EmailField, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..accounts import Role, require
from ..accounts.forms import LANGUAGE_CHOICES
from ..database import utcnow
from ..extensions import db
from ..families import services as family_services
from ..tenancy import Hosts, serves
from ..validators import EmailAddress, PhoneNumber
from ..web import register_back_office
from .models import CareRequest

bp = Blueprint("referrer", __name__, url_prefix="/toeleider", template_folder="templates")
serves(bp, Hosts.REGION)


@register_back_office
def _link(user, tenant):
    if tenant is None and family_services.referrer_organisations(user):
        return [(_l("Toeleiding"), url_for("referrer.home"))]
    return []


class FileForm(FlaskForm):
    organisation = SelectField(_l("Voor welke organisatie?"), choices=[])
    guardian_name = StringField(_l("Naam van de ouder of voogd"), validators=[
        DataRequired(_l("Vul de naam van de ouder in.")), Length(max=120, message=_l("Hoogstens 120 tekens."))])
    guardian_email = EmailField(_l("E-mailadres van de ouder (niet verplicht)"), validators=[
        Optional(), Length(max=254, message=_l("Hoogstens 254 tekens.")), EmailAddress()],
        description=_l("Met een e-mailadres krijgt het gezin bericht bij elk antwoord en kan het zelf meevolgen."))
    phone = TelField(_l("Telefoon van de ouder"), validators=[
        Optional(), Length(max=40, message=_l("Hoogstens 40 tekens.")), PhoneNumber()])
    language = SelectField(_l("Taal van het gezin"), choices=LANGUAGE_CHOICES, default="nl")
    consent = BooleanField(_l("Het gezin gaf toestemming dat wij deze aanvraag voor hen indienen en opvolgen."),
                           validators=[DataRequired(_l("Zonder toestemming van het gezin kunt u niet verder."))])
    consent_note = TextAreaField(_l("Hoe en wanneer gaf het gezin toestemming? (niet verplicht)"),
                                 validators=[Optional(), Length(max=500, message=_l("Hoogstens 500 tekens."))])


def _requests_by_family(session, family_ids: list) -> dict:
    """The requests of these families, newest first, by family id."""
    requests = {}
    if family_ids:
        for care in session.scalars(select(CareRequest).where(CareRequest.family_id.in_(family_ids))
                                    .order_by(CareRequest.created_at.desc())):
            requests.setdefault(care.family_id, []).append(care)
    return requests


@bp.route("/")
@require(Role.REFERRER)
def home():
    families = family_services.families_filed_by(db.session, current_user)
    requests = _requests_by_family(db.session, [f.id for f in families])
    return render_template("requests/referrer_home.html", families=families, requests=requests)


@bp.route("/gezin", methods=["GET", "POST"])
@require(Role.REFERRER)
def file():
    form = FileForm()
    form.organisation.choices = sorted(family_services.referrer_organisations(current_user))
    if form.validate_on_submit():
        try:
            family = family_services.file_family(
                db.session, current_user, organisation=form.organisation.data,
                guardian_name=form.guardian_name.data, guardian_email=form.guardian_email.data,
                phone=form.phone.data, language=form.language.data, now=utcnow(),
                consent_note=form.consent_note.data)
            db.session.commit()
        except family_services.FamilyError as error:
            db.session.rollback()
            getattr(form, error.field or "guardian_name").errors.append(str(error.message))
        else:
            return redirect(url_for("requests.new", gezin=family.id))
    return render_template("requests/referrer_file.html", form=form), 422 if form.errors else 200
