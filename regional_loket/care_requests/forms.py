"""The request wizard's forms. Works without JavaScript; every message is translated."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..validators import PhoneNumber
from ..web.input import DateField, IntegerField

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


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (the template renders each option with its label)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class FamilyForm(FlaskForm):
    street = StringField(_l("Straat"), validators=[DataRequired(_l("Vul uw straat in.")), Length(max=160)])
    number = StringField(_l("Huisnummer"), validators=[DataRequired(_l("Vul uw huisnummer in.")), Length(max=20)])
    postcode = StringField(_l("Postcode"), validators=[DataRequired(_l("Vul uw postcode in.")), Length(max=4)])
    locality = StringField(_l("Gemeente"), validators=[DataRequired(_l("Vul uw gemeente in.")), Length(max=80)])
    phone = TelField(_l("Telefoon"), validators=[Optional(), Length(max=40, message=_l("Hoogstens 40 tekens.")),
                                                 PhoneNumber()], render_kw={"autocomplete": "tel"})
    needs_care_for_work = BooleanField(_l("We hebben opvang nodig om te werken, werk te zoeken of een opleiding te volgen"))
    single_parent = BooleanField(_l("Ik ben een alleenstaande ouder"))
    low_income = BooleanField(_l("Ons gezinsinkomen ligt onder de grens voor voorrang"))
    # The request's chosen locations (choices set by the view): where a brother or sister goes.
    siblings = CheckboxesField(_l("Gaat een broer of zus van uw kind al naar een van deze locaties?"), choices=[],
                               description=_l("Kruis de locaties aan waar een broer of zus nu al naar de opvang "
                                              "gaat."))
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


# A referrer filing for a family reads about "the family" and "the child", never "my child".
_FOR_THE_FAMILY = {
    "birth_date": {"description": _l("Of, als het kindje nog niet geboren is, de verwachte datum hieronder.")},
    "extra_care_needs": {"label": _l("Het kind heeft een extra zorgvraag")},
    "keep_higher_choices": {
        "label": _l("Als het gezin een plaats aanvaardt, blijven de hoger gerangschikte keuzes open"),
        "description": _l("Zonder dit vinkje trekken we bij het aanvaarden alle andere aanvragen van het gezin in.")},
    "street": {"required": _l("Vul de straat van het gezin in.")},
    "number": {"required": _l("Vul het huisnummer van het gezin in.")},
    "postcode": {"required": _l("Vul de postcode van het gezin in.")},
    "locality": {"required": _l("Vul de gemeente van het gezin in.")},
    "needs_care_for_work": {
        "label": _l("Het gezin heeft opvang nodig om te werken, werk te zoeken of een opleiding te volgen")},
    "single_parent": {"label": _l("De ouder is alleenstaand")},
    "low_income": {"label": _l("Het gezinsinkomen ligt onder de grens voor voorrang")},
    "siblings": {"label": _l("Gaat een broer of zus van het kind al naar een van deze locaties?")},
    "consent": {
        "label": _l("Het gezin geeft toestemming om deze gegevens te delen met de gekozen opvanglocaties, alleen "
                    "voor deze aanvraag."),
        "required": _l("Zonder toestemming van het gezin kunnen we de aanvraag niet doorsturen.")},
}


def speak_of_the_family(form: FlaskForm) -> FlaskForm:
    """Reword ``form`` (this instance only) for a referrer who fills it in for a family."""
    for name, wording in _FOR_THE_FAMILY.items():
        field = form._fields.get(name)
        if field is None:
            continue
        if "label" in wording:
            field.label.text = wording["label"]
        if "description" in wording:
            field.description = wording["description"]
        if "required" in wording:
            # A new list of validators for this field only: the class's validators are shared.
            field.validators = [DataRequired(wording["required"]) if isinstance(v, DataRequired) else v
                                for v in field.validators]
    return form
