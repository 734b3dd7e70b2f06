from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

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
