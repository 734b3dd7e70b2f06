"""The municipality's settings, kept by its desk: name and brand colour, logo, rules (maximum
choices, response time, days to answer an offer, confirmation interval, the call list's and the
stale free places' horizons), the portal's texts and the accessibility statement.

Every page acts on ``g.tenant`` only (a tenant id in the form is never read), hands the input to
``tenancy.profiles``, which checks everything before writing and audits the change, and shows
a refusal next to its field with nothing written.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    FileField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from ..accounts import Role, require
from ..database import utcnow
from ..extensions import db
from ..languages import CODES as LANGUAGE_CODES
from ..tenancy import profiles
from ..tenancy import services as tenancy_services
from ..validators import EmailAddress, PhoneNumber
from ..web.input import DateField, IntegerField, accepts_files
from .views import bp

DESK = (Role.COORDINATOR, Role.ADMIN)
LANGUAGE_LABELS = {"nl": _l("Nederlands"), "fr": _l("Frans"), "en": _l("Engels")}


# --- forms ------------------------------------------------------------------------------------


class IdentityForm(FlaskForm):
    name = StringField(_l("Naam van de gemeente"), validators=[InputRequired(_l("Vul een naam in."))])
    colour = StringField(_l("Huiskleur"), validators=[InputRequired(_l("Vul een kleur in."))],
                         description=_l("Als #rrggbb, bijvoorbeeld #1d4f91. Witte tekst moet erop leesbaar zijn "
                                        "(contrast minstens 4,5:1)."))


class RulesForm(FlaskForm):
    max_choices = IntegerField(_l("Hoogstens zoveel keuzes per aanvraag bij locaties in deze gemeente"),
                               validators=[Optional()])
    response_days = IntegerField(_l("Antwoordtermijn voor opvanglocaties (dagen)"),
                                 validators=[InputRequired(_l("Vul een aantal dagen in."))])
    offer_days = IntegerField(_l("Dagen die een gezin heeft om op een aanbod te antwoorden"),
                              validators=[InputRequired(_l("Vul een aantal dagen in."))])
    confirm_interval_months = IntegerField(_l("Gezinnen bevestigen hun aanvraag om de zoveel maanden"),
                                           validators=[InputRequired(_l("Vul een aantal maanden in."))])
    confirm_grace_days = IntegerField(
        _l("Een niet bevestigde aanvraag wordt inactief na zoveel dagen (de aanvragen worden gepauzeerd)"),
        validators=[InputRequired(_l("Vul een aantal dagen in."))])
    call_months_before_start = IntegerField(
        _l("Bellijst: gezinnen zonder aanbod zoveel maanden voor de gewenste start"),
        validators=[InputRequired(_l("Vul een aantal maanden in."))])
    stale_free_places_weeks = IntegerField(_l("Vrije plaatsen gelden als verouderd na zoveel weken"),
                                           validators=[InputRequired(_l("Vul een aantal weken in."))])


def _per_language(name: str, label, field_class, **kwargs) -> dict:
    return {f"{name}_{code}": field_class(_l("%(what)s (%(language)s)", what=label, language=LANGUAGE_LABELS[code]),
                                          **kwargs) for code in LANGUAGE_CODES}


TextsForm = type("TextsForm", (FlaskForm,), {
    **_per_language("welcome", _l("Welkomsttekst"), TextAreaField, validators=[Optional()],
                    description=_l("Op de startpagina van de gemeente, onder de vaste inleiding.")),
    "address": StringField(_l("Adres van het loket"), validators=[Optional()]),
    "phone": TelField(_l("Telefoon van het loket"), validators=[
        Optional(), Length(max=40, message=_l("Hoogstens 40 tekens.")), PhoneNumber()]),
    "email": EmailField(_l("E-mailadres van het loket"), validators=[
        Optional(), Length(max=254, message=_l("Hoogstens 254 tekens.")), EmailAddress()]),
    **_per_language("hours", _l("Openingsuren"), StringField, validators=[Optional()]),
})

AccessibilityForm = type("AccessibilityForm", (FlaskForm,), {
    "status": SelectField(_l("Nalevingsstatus"), choices=[SelectChoice("", "—"), *(SelectChoice(code, label) for code, label in profiles.COMPLIANCE.items())]),
    "assessed_on": DateField(_l("Datum van de beoordeling"), validators=[Optional()]),
    "feedback_email": EmailField(_l("E-mailadres voor feedback"), validators=[
        Optional(), Length(max=254, message=_l("Hoogstens 254 tekens.")), EmailAddress()]),
    "feedback_phone": TelField(_l("Telefoon voor feedback"), validators=[
        Optional(), Length(max=40, message=_l("Hoogstens 40 tekens.")), PhoneNumber()]),
    **_per_language("known_issues", _l("Wat nog niet toegankelijk is"), TextAreaField, validators=[Optional()]),
})


class LogoForm(FlaskForm):
    logo = FileField(_l("Logo"), description=_l("PNG of JPEG, hoogstens %(kib)s KiB en %(px)s × %(px)s pixels.",
                                                 kib=profiles.MAX_LOGO_BYTES // 1024, px=profiles.MAX_LOGO_SIDE))


class ConfirmForm(FlaskForm):
    pass


# --- pages ------------------------------------------------------------------------------------


@bp.app_template_global()
def settings_to_do(tenant) -> int:
    """What the desk's home counts: required parts still missing (the accessibility statement)."""
    profile = profiles.profile_of(db.session, tenant)
    return 0 if profile is not None and (profile.accessibility or {}).get("status") else 1


@bp.route("/instellingen/")
@require(*DESK)
def settings_home():
    tenant = g.tenant
    return render_template("coordinator/settings/index.html", settings=tenant.settings,
                           region_max=tenancy_services.max_choices(db.session),
                           statement=profiles.accessibility_statement(db.session, tenant),
                           logo=profiles.uploaded_logo(db.session, tenant, content=False) if tenant.uploaded_logo else None)


@bp.route("/instellingen/gemeente", methods=["GET", "POST"])
@require(*DESK)
def settings_identity():
    tenant = g.tenant
    return _edit(IdentityForm, "identity", {"name": tenant.name, "colour": tenant.colour},
                 lambda data: profiles.update_identity(db.session, tenant, actor_id=current_user.id, name=data["name"],
                                                       colour=data["colour"], now=utcnow()))


@bp.route("/instellingen/regels", methods=["GET", "POST"])
@require(*DESK)
def settings_rules():
    tenant = g.tenant
    keys = list(profiles.SETTING_RANGES)
    form = RulesForm()
    for key in keys:  # the hints say the ranges the service checks (written once, there)
        low, high = profiles.setting_range(db.session, key)
        form[key].description = (_("Van %(low)s tot %(high)s; leeg: het maximum van de regio (%(high)s).",
                                   low=low, high=high) if key == "max_choices"
                                 else _("Van %(low)s tot %(high)s.", low=low, high=high))
    return _edit(form, "rules", {k: getattr(tenant.settings, k) for k in keys},
                 lambda data: profiles.update_settings(db.session, tenant, actor_id=current_user.id,
                                                       values={k: data[k] for k in keys}, now=utcnow()))


@bp.route("/instellingen/teksten", methods=["GET", "POST"])
@require(*DESK)
def settings_texts():
    tenant = g.tenant
    desk = tenant.desk or {}
    hours = desk.get("hours") if isinstance(desk.get("hours"), dict) else {"nl": desk.get("hours") or ""}
    welcome = profiles.welcome_text(db.session, tenant)
    initial = {"address": desk.get("address", ""), "phone": desk.get("phone", ""), "email": desk.get("email", ""),
               **{f"welcome_{c}": welcome.get(c, "") for c in LANGUAGE_CODES},
               **{f"hours_{c}": hours.get(c, "") for c in LANGUAGE_CODES}}
    return _edit(TextsForm, "texts", initial, lambda data: profiles.update_portal_texts(
        db.session, tenant, actor_id=current_user.id, address=data["address"] or "", phone=data["phone"] or "",
        email=data["email"] or "", welcome={c: data[f"welcome_{c}"] for c in LANGUAGE_CODES},
        hours={c: data[f"hours_{c}"] for c in LANGUAGE_CODES}, now=utcnow()))


@bp.route("/instellingen/toegankelijkheid", methods=["GET", "POST"])
@require(*DESK)
def settings_accessibility():
    tenant = g.tenant
    profile = profiles.profile_of(db.session, tenant)
    stored = (profile.accessibility if profile is not None else None) or {}
    statement = profiles.accessibility_statement(db.session, tenant)
    initial = {"status": stored.get("status", ""), "assessed_on": statement["assessed_on"],
               "feedback_email": statement["feedback_email"] or "", "feedback_phone": statement["feedback_phone"] or "",
               **{f"known_issues_{c}": statement["known_issues"].get(c, "") for c in LANGUAGE_CODES}}
    return _edit(AccessibilityForm, "accessibility", initial, lambda data: profiles.update_accessibility(
        db.session, tenant, actor_id=current_user.id, status=data["status"], assessed_on=data["assessed_on"],
        feedback_email=data["feedback_email"] or "", feedback_phone=data["feedback_phone"] or "",
        known_issues={c: data[f"known_issues_{c}"] for c in LANGUAGE_CODES}, now=utcnow()))


# The body may hold the logo and the form's token; above that Werkzeug answers 413.
UPLOAD_LIMIT = profiles.MAX_LOGO_BYTES + 16 * 1024


@bp.route("/instellingen/logo", methods=["GET", "POST"])
@accepts_files(fields=("logo",), max_bytes=UPLOAD_LIMIT)
@require(*DESK)
def settings_logo():
    tenant = g.tenant
    form = LogoForm()
    if form.validate_on_submit():
        upload = request.files.get("logo")
        # One byte more than allowed is enough to know it is too large.
        data = upload.read(profiles.MAX_LOGO_BYTES + 1) if upload else b""
        try:
            profiles.save_logo(db.session, tenant, actor_id=current_user.id, data=data, now=utcnow())
        except profiles.ProfileError as exc:
            db.session.rollback()
            _attach(form, exc)
        else:
            db.session.commit()
            flash(_("Het logo is bewaard en staat meteen op elke pagina van de gemeente."), "success")
            return redirect(url_for("coordinator.settings_logo"))
    return _page("logo", form, has_logo=bool(tenant.uploaded_logo), confirm=ConfirmForm())


@bp.route("/instellingen/logo/verwijderen", methods=["POST"])
@require(*DESK)
def settings_logo_remove():
    form = ConfirmForm()
    if form.validate_on_submit() and request.form.get("confirm") == "yes":
        if profiles.remove_logo(db.session, g.tenant, actor_id=current_user.id, now=utcnow()):
            db.session.commit()
            flash(_("Het opgeladen logo is verwijderd."), "success")
    else:
        flash(_("Vink aan dat u het logo wilt verwijderen."), "error")
    return redirect(url_for("coordinator.settings_logo"))


# --- one way through every form ---------------------------------------------------------------


def _edit(form, section: str, initial: dict, apply):
    """GET: the form with the current values. POST: the form's own checks, then ``apply`` (a
    tenancy.profiles function, which checks the rest and writes); a refusal is shown next to
    its field with nothing written, success is committed and shown on the same page."""
    form = form() if isinstance(form, type) else form
    if request.method == "GET":
        form.process(data=initial)
    elif form.validate_on_submit():
        try:
            apply({name: field.data for name, field in form._fields.items()})
        except profiles.ProfileError as exc:
            db.session.rollback()
            _attach(form, exc)
        else:
            db.session.commit()
            flash(_("De instellingen zijn bewaard."), "success")
            return redirect(url_for(f"coordinator.settings_{section}"))
    return _page(section, form)


def _attach(form, error: profiles.ProfileError) -> None:
    for name, message in error.errors.items():
        form[name].errors = [*form[name].errors, str(message)]


def _page(section: str, form, **context):
    status = 422 if form.errors else 200
    return render_template(f"coordinator/settings/{section}.html", form=form, section=section, **context), status
