"""Account forms. Every message is translated and says what to do."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from .. import languages
from ..validators import EmailAddress, PhoneNumber
from . import passwords

LANGUAGE_CHOICES = [SelectChoice(code, name) for code, name in languages.NAMES.items()]


def _strong_password(form, field):
    email = getattr(form, "email", None)
    name = getattr(form, "name", None)
    found = passwords.problems(
        field.data or "",
        email=(email.data or "") if email is not None else getattr(form, "account_email", ""),
        name=(name.data or "") if name is not None else getattr(form, "account_name", ""),
    )
    if found:
        raise ValidationError(found[0])


def _email_field(label=None):
    return EmailField(
        label or _l("E-mailadres"),
        validators=[DataRequired(_l("Vul uw e-mailadres in.")),
                    Length(max=254, message=_l("Een e-mailadres heeft hoogstens 254 tekens.")),
                    EmailAddress()],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


def _new_password_fields():
    password = PasswordField(
        _l("Wachtwoord"),
        validators=[InputRequired(_l("Kies een wachtwoord.")), _strong_password],
        description=passwords.RULE,
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Herhaal het wachtwoord"),
        validators=[InputRequired(_l("Herhaal uw wachtwoord.")),
                    EqualTo("password", _l("De twee wachtwoorden zijn niet gelijk."))],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


def _name_field():
    return StringField(
        _l("Naam"),
        validators=[DataRequired(_l("Vul uw naam in.")),
                    Length(max=120, message=_l("Een naam heeft hoogstens 120 tekens."))],
        render_kw={"autocomplete": "name"},
    )


def _phone_field():
    return TelField(
        _l("Telefoon (niet verplicht)"),
        validators=[Optional(), Length(max=40, message=_l("Een telefoonnummer heeft hoogstens 40 tekens.")),
                    PhoneNumber()],
        render_kw={"autocomplete": "tel"},
    )


class RegisterForm(FlaskForm):
    name = _name_field()
    email = _email_field()
    phone = _phone_field()
    language = SelectField(_l("Taal voor e-mails"), choices=LANGUAGE_CHOICES, default="nl")
    password, confirm = _new_password_fields()
    consent = BooleanField(
        _l("Ik ga akkoord dat het loket mijn gegevens gebruikt om mijn opvangvraag te behandelen."),
        validators=[DataRequired(_l("Zonder uw akkoord kunnen we geen account maken."))],
    )


class LoginForm(FlaskForm):
    email = _email_field()
    password = PasswordField(_l("Wachtwoord"), validators=[InputRequired(_l("Vul uw wachtwoord in."))],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Aangemeld blijven op dit toestel (30 dagen)"))


class EmailOnlyForm(FlaskForm):
    email = _email_field()


class ResetPasswordForm(FlaskForm):
    password, confirm = _new_password_fields()


class ProfileForm(FlaskForm):
    name = _name_field()
    phone = _phone_field()
    language = SelectField(_l("Taal"), choices=LANGUAGE_CHOICES)


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Huidig wachtwoord"), validators=[InputRequired(_l("Vul uw huidig wachtwoord in."))],
                            render_kw={"autocomplete": "current-password"})
    password, confirm = _new_password_fields()


class ChangeEmailForm(FlaskForm):
    email = _email_field(_l("Nieuw e-mailadres"))
    current = PasswordField(_l("Huidig wachtwoord"), validators=[InputRequired(_l("Vul uw huidig wachtwoord in."))],
                            render_kw={"autocomplete": "current-password"})


class DeleteAccountForm(FlaskForm):
    current = PasswordField(_l("Huidig wachtwoord"), validators=[InputRequired(_l("Vul uw huidig wachtwoord in."))],
                            render_kw={"autocomplete": "current-password"})
    confirm = BooleanField(_l("Ja, verwijder mijn account definitief."),
                           validators=[DataRequired(_l("Vink aan dat u uw account wilt verwijderen."))])


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token travels."""


class NewStaffAccountForm(FlaskForm):
    """An invited staff member's new account: the address is the invitation's (set
    ``account_email`` so the password may not contain it)."""

    name = _name_field()
    password, confirm = _new_password_fields()


def mail_preferences_form(mails, wanted: dict[str, bool], formdata=None) -> FlaskForm:
    """One checkbox per optional mail the person receives (``preferences.applicable``), ticked
    when wanted. Built per request: which mails apply depends on the person's roles.
    ``formdata`` is the POST's form, given explicitly: a form with every box unticked posts no
    field at all, and Flask-WTF would then show the stored choices instead of reading "off"."""

    class MailPreferencesForm(FlaskForm):
        pass

    for mail in mails:
        setattr(MailPreferencesForm, mail.kind, BooleanField(mail.label, description=mail.hint))
    return MailPreferencesForm(formdata=formdata, data=wanted)
