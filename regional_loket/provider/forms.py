from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..applications import REJECT_REASONS
from ..validators import EmailAddress, HttpUrl, PhoneNumber
from ..web.input import DateField, DecimalField, IntegerField


class ActionForm(FlaskForm):
    """Every action on an application carries the version the page showed (stale pages fail)."""

    version = IntegerField(validators=[InputRequired()])


class OfferForm(ActionForm):
    month = DateField(_l("Vanaf welke maand?"), format="%Y-%m", validators=[Optional()])
    deadline = DateField(_l("Antwoord uiterlijk op"), validators=[Optional()])


class RejectForm(ActionForm):
    reason = SelectField(_l("Reden"), choices=[SelectChoice("", "—")] + [
        SelectChoice(code, label) for code, label in REJECT_REASONS.items()])
    text = TextAreaField(_l("Toelichting voor het gezin"), validators=[
        Optional(), Length(max=1000, message=_l("Hoogstens 1000 tekens."))])


class TextForm(FlaskForm):
    text = TextAreaField(_l("Tekst"), validators=[DataRequired(_l("Schrijf iets.")),
                                                  Length(max=2000, message=_l("Hoogstens 2000 tekens."))])


class ProfileForm(FlaskForm):
    description_nl = TextAreaField(_l("Beschrijving (Nederlands)"), validators=[Length(max=2000)])
    description_fr = TextAreaField(_l("Beschrijving (Frans)"), validators=[Length(max=2000)])
    description_en = TextAreaField(_l("Beschrijving (Engels)"), validators=[Length(max=2000)])
    opens_at = StringField(_l("Open vanaf (uu:mm)"), validators=[DataRequired(_l("Vul een uur in, bv. 07:00."))])
    closes_at = StringField(_l("Open tot (uu:mm)"), validators=[DataRequired(_l("Vul een uur in, bv. 18:00."))])
    closures = TextAreaField(_l("Sluitingsperiodes (één per regel: 2026-07-20 2026-08-07 reden)"),
                             validators=[Length(max=2000)])
    languages = StringField(_l("Talen (codes, gescheiden door komma's, bv. nl, fr)"), validators=[Length(max=60)])
    tariff = SelectField(_l("Prijs"), choices=[SelectChoice("income", _l("Inkomenstarief")),
                                                SelectChoice("free", _l("Vrije prijs"))])
    day_price = DecimalField(_l("Dagprijs bij vrije prijs (euro)"), places=2, validators=[
        Optional(), NumberRange(0, 200, message=_l("Tussen 0 en 200 euro."))])
    licensed_places = IntegerField(_l("Erkende plaatsen"), validators=[
        InputRequired(_l("Vul het aantal erkende plaatsen in.")), NumberRange(0, 500, message=_l("0 tot 500."))])
    phone = TelField(_l("Telefoon"), validators=[
        Optional(), Length(max=40, message=_l("Hoogstens 40 tekens.")), PhoneNumber()])
    email = EmailField(_l("E-mailadres"), validators=[
        Optional(), Length(max=254, message=_l("Hoogstens 254 tekens.")), EmailAddress()])
    website = URLField(_l("Website"), validators=[
        Optional(), Length(max=300, message=_l("Hoogstens 300 tekens.")), HttpUrl()],
        description=_l("Bijvoorbeeld: https://www.voorbeeld.be"))
    accepts_online = BooleanField(_l("Aanvaardt online aanvragen"))
    extra_criteria = TextAreaField(
        _l("Eigen voorrangscriteria, na die van de regio (één per regel, hoogstens 5)"),
        description=_l("Bijvoorbeeld: kind van een personeelslid. U duidt ze per aanvraag aan."),
        validators=[Length(max=600, message=_l("Hoogstens 600 tekens."))])
