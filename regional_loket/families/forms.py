from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from ..validators import EmailAddress


class InviteForm(FlaskForm):
    name = StringField(_l("Naam van de andere ouder of voogd"), validators=[
        DataRequired(_l("Vul een naam in.")), Length(max=120, message=_l("Hoogstens 120 tekens."))])
    email = EmailField(_l("Zijn of haar e-mailadres"), validators=[
        DataRequired(_l("Vul een e-mailadres in.")), Length(max=254, message=_l("Hoogstens 254 tekens.")),
        EmailAddress()])


class ClaimForm(FlaskForm):
    code = StringField(_l("Code van het loket"), validators=[
        DataRequired(_l("Vul de code in die u van het loket kreeg.")), Length(max=40, message=_l("Hoogstens 40 tekens."))],
        description=_l("10 letters en cijfers, bv. ABCDE-FGH23. Hoofdletters of streepjes maken niet uit."),
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})


class EraseForm(FlaskForm):
    current = PasswordField(_l("Uw wachtwoord"), validators=[InputRequired(_l("Vul uw wachtwoord in."))],
                            render_kw={"autocomplete": "current-password"})
    confirm = BooleanField(_l("Ja, wis alle gegevens van mijn gezin, ook bij de opvanglocaties."),
                           validators=[DataRequired(_l("Vink aan dat u alles wilt wissen."))])
