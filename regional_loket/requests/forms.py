"""The request wizard's forms. Works without JavaScript; every message is translated."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

DAY_CHOICES = [SelectChoice("none", _l("geen opvang")), SelectChoice("half", _l("halve dag")),
               SelectChoice("full", _l("volle dag"))]
WEEKDAYS = [("1", _l("Maandag")), ("2", _l("Dinsdag")), ("3", _l("Woensdag")), ("4", _l("Donderdag")),
            ("5", _l("Vrijdag"))]


class ChildForm(FlaskForm):
    child = RadioField(_l("Voor welk kind?"), choices=[], validate_choice=False)
    first_name = StringField(_l("Voornaam"), validators=[Optional(), Length(max=80, message=_l("Hoogstens 80 tekens."))])
    last_name = StringField(_l("Familienaam"), validators=[Optional(), Length(max=80, message=_l("Hoogstens 80 tekens."))])
    birth_date = DateField(_l("Geboortedatum"), validators=[Optional()],
                           description=_l("Of, als uw kindje nog niet geboren is, de verwachte datum hieronder."))
    due_date = DateField(_l("Verwachte geboortedatum"), validators=[Optional()])
    national_number = StringField(
        _l("Rijksregisternummer van het kind (niet verplicht)"),
        validators=[Optional(), Length(max=20, message=_l("Hoogstens 20 tekens."))],
        description=_l("Alleen gebruikt om dubbele aanvragen te vermijden. Opvanglocaties zien het nooit."))
    foster_child = BooleanField(_l("Dit is een pleegkind"))
    extra_care_needs = BooleanField(_l("Mijn kind heeft een extra zorgvraag"))


class PlanForm(FlaskForm):
    start_date = DateField(_l("Gewenste startdatum"), validators=[InputRequired(_l("Kies een startdatum."))],
                           format="%Y-%m-%d")
    flexibility_weeks = IntegerField(
        _l("Hoeveel weken mag de start later vallen?"), default=0,
        validators=[InputRequired(_l("Vul een aantal weken in (0 als het niet kan).")),
                    NumberRange(0, 26, message=_l("Kies 0 tot 26 weken."))])
    day_1 = SelectField(WEEKDAYS[0][1], choices=DAY_CHOICES, default="full")
    day_2 = SelectField(WEEKDAYS[1][1], choices=DAY_CHOICES, default="full")
    day_3 = SelectField(WEEKDAYS[2][1], choices=DAY_CHOICES, default="full")
    day_4 = SelectField(WEEKDAYS[3][1], choices=DAY_CHOICES, default="full")
    day_5 = SelectField(WEEKDAYS[4][1], choices=DAY_CHOICES, default="full")
    keep_higher_choices = BooleanField(
        _l("Als ik een plaats aanvaard, wil ik mijn hoger gerangschikte keuzes open houden"),
        description=_l("Zonder dit vinkje trekken we bij het aanvaarden al uw andere aanvragen in."))

    def care_plan(self) -> dict:
        return {day: getattr(self, f"day_{day}").data for day, _ in WEEKDAYS}


class FamilyForm(FlaskForm):
    street = StringField(_l("Straat"), validators=[DataRequired(_l("Vul uw straat in.")), Length(max=160)])
    number = StringField(_l("Huisnummer"), validators=[DataRequired(_l("Vul uw huisnummer in.")), Length(max=20)])
    postcode = StringField(_l("Postcode"), validators=[DataRequired(_l("Vul uw postcode in.")), Length(max=4)])
    locality = StringField(_l("Gemeente"), validators=[DataRequired(_l("Vul uw gemeente in.")), Length(max=80)])
    phone = TelField(_l("Telefoon"), validators=[Optional(), Length(max=40, message=_l("Hoogstens 40 tekens."))])
    needs_care_for_work = BooleanField(_l("We hebben opvang nodig om te werken, werk te zoeken of een opleiding te volgen"))
    single_parent = BooleanField(_l("Ik ben een alleenstaande ouder"))
    low_income = BooleanField(_l("Ons gezinsinkomen ligt onder de grens voor voorrang"))
    consent = BooleanField(
        _l("Ik geef toestemming om deze gegevens te delen met de gekozen opvanglocaties, alleen voor deze aanvraag."),
        validators=[DataRequired(_l("Zonder uw toestemming kunnen we de aanvraag niet doorsturen."))])


class MessageForm(FlaskForm):
    text = TextAreaField(_l("Uw bericht"), validators=[DataRequired(_l("Schrijf een bericht.")),
                                                       Length(max=2000, message=_l("Hoogstens 2000 tekens."))])


class ChangeForm(FlaskForm):
    start_date = DateField(_l("Gewenste startdatum"), validators=[InputRequired(_l("Kies een startdatum."))])
    day_1 = SelectField(WEEKDAYS[0][1], choices=DAY_CHOICES)
    day_2 = SelectField(WEEKDAYS[1][1], choices=DAY_CHOICES)
    day_3 = SelectField(WEEKDAYS[2][1], choices=DAY_CHOICES)
    day_4 = SelectField(WEEKDAYS[3][1], choices=DAY_CHOICES)
    day_5 = SelectField(WEEKDAYS[4][1], choices=DAY_CHOICES)

    care_plan = PlanForm.care_plan
