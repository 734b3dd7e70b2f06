"""Referrers (toeleiders: social services, family support) file requests for a family, with its
consent, and follow them up. Their pages live on the regional portal."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, EmailField, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..accounts import require
from ..accounts.forms import LANGUAGE_CHOICES
from ..accounts.models import Role
from ..care_requests.models import CareRequest
from ..database import utcnow
from ..extensions import db
from ..tenancy import region_only
from ..validators import EmailAddress, PhoneNumber
from ..web import register_back_office
from . import services

bp = Blueprint("referrer", __name__, url_prefix="/toeleider", template_folder="templates")


@register_back_office
def _link(user, tenant):
    if tenant is None and services.referrer_organisations(user):
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


@bp.route("/")
@require(Role.REFERRER)
@region_only
def home():
    families = services.families_filed_by(db.session, current_user)
    requests = {}
    if families:
        for care in db.session.scalars(select(CareRequest).where(
                CareRequest.family_id.in_([f.id for f in families])).order_by(CareRequest.created_at.desc())):
            requests.setdefault(care.family_id, []).append(care)
    return render_template("families/referrer_home.html", families=families, requests=requests)


@bp.route("/gezin", methods=["GET", "POST"])
@require(Role.REFERRER)
@region_only
def file():
    form = FileForm()
    form.organisation.choices = sorted(services.referrer_organisations(current_user))
    if form.validate_on_submit():
        try:
            family = services.file_family(
                db.session, current_user, organisation=form.organisation.data,
                guardian_name=form.guardian_name.data, guardian_email=form.guardian_email.data,
                phone=form.phone.data, language=form.language.data, now=utcnow(),
                consent_note=form.consent_note.data)
            db.session.commit()
        except services.FamilyError as error:
            db.session.rollback()
            getattr(form, error.field or "guardian_name").errors.append(str(error.message))
        else:
            return redirect(url_for("requests.new", gezin=family.id))
    return render_template("families/referrer_file.html", form=form), 422 if form.errors else 200
