from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..accounts.forms import LANGUAGE_CHOICES
from ..catalog.picker import LocationsField

ROLE_CHOICES = [
    SelectChoice("coordinator", _l("Coördinator van een gemeente")),
    SelectChoice("provider_staff", _l("Medewerker van een opvanglocatie")),
    SelectChoice("referrer", _l("Toeleider")),
    SelectChoice("admin", _l("Regiobeheerder")),
    SelectChoice("parent", _l("Ouder")),
]


class GrantForm(FlaskForm):
    role = SelectField(_l("Rol"), choices=ROLE_CHOICES, validators=[DataRequired(_l("Kies een rol."))])
    tenant = SelectField(_l("Gemeente (voor coördinatoren en medewerkers)"), choices=[], validate_choice=False)
    # Offered once a municipality is chosen (the picker shows only that municipality's locations).
    locations = LocationsField(_l("Locaties (voor medewerkers)"), required=False)
    organisation = StringField(_l("Organisatie (voor toeleiders)"), validators=[
        Optional(), Length(max=160, message=_l("Hoogstens 160 tekens."))])


# --- municipalities ---------------------------------------------------------------------------
# Checks against the database (taken, reserved) are tenancy.administration's; these only keep
# absurd input out (lengths), with the same translated messages on every field.


class MunicipalityForm(FlaskForm):
    name = StringField(_l("Naam"), validators=[DataRequired(_l("Vul een naam in.")),
                                               Length(max=120, message=_l("Hoogstens 120 tekens."))])
    slug = StringField(_l("Korte naam (slug)"), validators=[DataRequired(_l("Vul een korte naam in.")),
                                                            Length(max=40, message=_l("Hoogstens 40 tekens."))],
                       description=_l("Kleine letters, cijfers en koppeltekens, bv. tielt-winge. Ligt vast: het "
                                      "databankschema draagt deze naam."),
                       render_kw={"autocomplete": "off", "spellcheck": "false"})
    subdomain = StringField(_l("Subdomein"), validators=[Optional(), Length(max=40, message=_l("Hoogstens 40 tekens."))],
                            description=_l("Leeg: de korte naam. Het adres wordt <subdomein>.<domein van de regio>."),
                            render_kw={"autocomplete": "off", "spellcheck": "false"})
    nis_code = StringField(_l("NIS-code"), validators=[DataRequired(_l("Vul de NIS-code in.")),
                                                       Length(max=5, message=_l("Een NIS-code bestaat uit vijf cijfers, "
                                                                                "bv. 24038."))],
                           render_kw={"inputmode": "numeric", "autocomplete": "off"})
    colour = StringField(_l("Kleur"), default="#1d4f91", validators=[
        DataRequired(_l("Vul een kleur in.")), Length(max=7, message=_l("Geef een kleur als #rrggbb, bijvoorbeeld "
                                                                        "#1d4f91."))],
        description=_l("Als #rrggbb; witte tekst moet er leesbaar op zijn."))
    domains = TextAreaField(_l("Extra domeinen"), validators=[Optional(), Length(max=1000, message=_l(
        "Hoogstens 1000 tekens."))], description=_l("Eén per regel, bv. kinderopvang.gemeente.be (mag leeg)."))
    coordinator_email = EmailField(_l("E-mailadres van de eerste coördinator"), validators=[
        DataRequired(_l("Vul het e-mailadres in.")), Length(max=254, message=_l("Hoogstens 254 tekens."))],
        render_kw={"autocomplete": "off", "spellcheck": "false"})
    coordinator_language = SelectField(_l("Taal van de uitnodiging"), choices=LANGUAGE_CHOICES,
                                       description=_l("De e-mail en de eerste pagina zijn in deze taal."))


class ArchiveForm(FlaskForm):
    reason = TextAreaField(_l("Reden"), validators=[DataRequired(_l("Geef een reden op.")),
                                                    Length(max=500, message=_l("Hoogstens 500 tekens."))],
                           description=_l("Voor het auditlog van de gemeente."))


class RenameForm(FlaskForm):
    subdomain = StringField(_l("Nieuw subdomein"), validators=[DataRequired(_l("Vul een subdomein in.")),
                                                               Length(max=40, message=_l("Hoogstens 40 tekens."))],
                            render_kw={"autocomplete": "off", "spellcheck": "false"})


class CoordinatorInviteForm(FlaskForm):
    email = EmailField(_l("E-mailadres"), validators=[
        DataRequired(_l("Vul het e-mailadres in.")), Length(max=254, message=_l("Hoogstens 254 tekens."))],
        render_kw={"autocomplete": "off", "spellcheck": "false"})
    language = SelectField(_l("Taal van de uitnodiging"), choices=LANGUAGE_CHOICES,
                           description=_l("De e-mail en de eerste pagina zijn in deze taal."))
