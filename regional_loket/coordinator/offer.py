"""The local offer: the coordinator lists, creates and edits the municipality's locations, takes
them out of the offer and back, and keeps the organisers who run them.

The rules and the audit line are ``catalog.services``'; these views turn forms into values and
answer. Another municipality's location or organiser is not in the bound schema: 404.
"""

from __future__ import annotations

import re
import uuid
from datetime import time

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..accounts import Role, require
from ..applications import queries
from ..catalog import Location, Organiser
from ..catalog import services as offer
from ..catalog.labels import KIND_LABELS, LANGUAGE_LABELS, TARIFF_LABELS, WEEKDAY_LABELS
from ..database import utcnow
from ..extensions import db
from ..validators import EmailAddress, EnterpriseNumber, HttpUrl, PhoneNumber
from ..web.input import DecimalField, IntegerField, parse_ascii_int
from .views import bp

PER_PAGE = 25
DESK = (Role.COORDINATOR, Role.ADMIN)
STATUS_FILTERS = ("all", "active", "inactive")
_HOUR = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


FILL_IN = _l("Vul dit veld in.")


def _required(message=FILL_IN):
    return DataRequired(message)


class LocationForm(FlaskForm):
    name = StringField(_l("Naam"), validators=[_required(), Length(max=160, message=_l("Hoogstens 160 tekens."))])
    # Checked by catalog.services (an organiser deleted meanwhile gets a message of its own).
    organiser_id = SelectField(_l("Organisator"), validate_choice=False,
                               description=_l("Een locatie hoort bij hoogstens één organisator."))
    kind = SelectField(_l("Soort opvang"), choices=[SelectChoice(code, label) for code, label in KIND_LABELS.items()])
    street = StringField(_l("Straat"), validators=[_required(), Length(max=160, message=_l("Hoogstens 160 tekens."))])
    number = StringField(_l("Huisnummer"), validators=[_required(), Length(max=20, message=_l("Hoogstens 20 tekens."))])
    postcode = StringField(_l("Postcode"), validators=[_required()])
    locality = StringField(_l("Gemeente of deelgemeente"), validators=[
        _required(), Length(max=80, message=_l("Hoogstens 80 tekens."))])
    lat = DecimalField(_l("Breedtegraad"), places=None, validators=[
        InputRequired(_l("Vul de coördinaat in, of klik op de kaart."))], description=_l("Bijvoorbeeld 50.9085"))
    lon = DecimalField(_l("Lengtegraad"), places=None, validators=[
        InputRequired(_l("Vul de coördinaat in, of klik op de kaart."))], description=_l("Bijvoorbeeld 4.6715"))
    licensed_places = IntegerField(_l("Erkende plaatsen"), validators=[
        InputRequired(_l("Vul het aantal erkende plaatsen in.")),
        NumberRange(0, offer.MAX_PLACES, message=_l("0 tot 500."))])
    min_age_months = IntegerField(_l("Vanaf leeftijd (maanden)"), validators=[
        InputRequired(_l("Vul een leeftijd in maanden in.")), NumberRange(0, offer.MAX_AGE_MONTHS, message=_l(
            "Vul een leeftijd van 0 tot %(max)s maanden in.", max=offer.MAX_AGE_MONTHS))])
    max_age_months = IntegerField(_l("Tot leeftijd (maanden)"), validators=[
        InputRequired(_l("Vul een leeftijd in maanden in.")), NumberRange(0, offer.MAX_AGE_MONTHS, message=_l(
            "Vul een leeftijd van 0 tot %(max)s maanden in.", max=offer.MAX_AGE_MONTHS))])
    opening_days = CheckboxesField(_l("Open op"), coerce=int,
                                   choices=[SelectChoice(day, label) for day, label in WEEKDAY_LABELS.items()])
    opens_at = StringField(_l("Open vanaf (uu:mm)"), validators=[_required(_l("Vul een uur in, bv. 07:00."))])
    closes_at = StringField(_l("Open tot (uu:mm)"), validators=[_required(_l("Vul een uur in, bv. 18:00."))])
    closures = TextAreaField(_l("Sluitingsperiodes"), validators=[Length(max=2000)],
                             description=_l("Eén per regel: begin, einde en reden, bv. 2026-07-20 2026-08-07 zomersluiting"))
    languages = CheckboxesField(_l("Talen"), choices=[SelectChoice(c, label) for c, label in LANGUAGE_LABELS.items()])
    tariff = SelectField(_l("Prijs"), choices=[SelectChoice(code, label) for code, label in TARIFF_LABELS.items()])
    day_price = DecimalField(_l("Dagprijs bij vrije prijs (euro)"), places=2, validators=[
        Optional(), NumberRange(0, 200, message=_l("Tussen 0 en 200 euro."))])
    special_care = BooleanField(_l("Opvang voor kinderen met een specifieke zorgbehoefte"))
    description_nl = TextAreaField(_l("Beschrijving (Nederlands)"), validators=[Length(max=2000)])
    description_fr = TextAreaField(_l("Beschrijving (Frans)"), validators=[Length(max=2000)])
    description_en = TextAreaField(_l("Beschrijving (Engels)"), validators=[Length(max=2000)])
    website = URLField(_l("Website"), validators=[
        Optional(), Length(max=300, message=_l("Hoogstens 300 tekens.")), HttpUrl()],
        description=_l("Bijvoorbeeld: https://www.voorbeeld.be"))
    phone = TelField(_l("Telefoon"), validators=[
        Optional(), Length(max=40, message=_l("Hoogstens 40 tekens.")), PhoneNumber()])
    email = EmailField(_l("E-mailadres"), validators=[
        Optional(), Length(max=254, message=_l("Hoogstens 254 tekens.")), EmailAddress()])
    accepts_online = BooleanField(_l("Aanvaardt online aanvragen"))

    def __init__(self, *args, organisers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.organiser_id.choices = [SelectChoice("", _l("— geen organisator —"))] + [
            SelectChoice(str(i), name) for i, name in organisers]


class OrganiserForm(FlaskForm):
    name = StringField(_l("Naam"), validators=[_required(), Length(max=160, message=_l("Hoogstens 160 tekens."))])
    enterprise_number = StringField(_l("Ondernemingsnummer (KBO)"), validators=[Optional(), EnterpriseNumber()],
                                    description=_l("Tien cijfers, bv. 0123.456.749"))
    email = EmailField(_l("E-mailadres"), validators=[
        Optional(), Length(max=254, message=_l("Hoogstens 254 tekens.")), EmailAddress()])
    phone = TelField(_l("Telefoon"), validators=[
        Optional(), Length(max=40, message=_l("Hoogstens 40 tekens.")), PhoneNumber()])


class ConfirmForm(FlaskForm):
    """A destructive action's form: ``confirm`` is set only by the confirmation page's button;
    ``seen`` carries the number of open applications the page showed."""

    confirm = StringField()
    seen = StringField()


# --- helpers ---------------------------------------------------------------------------------------


def _page() -> int:
    return min(max(parse_ascii_int(request.args.get("page")) or 1, 1), 10_000)


def _location(location_id: uuid.UUID) -> Location:
    place = db.session.get(Location, location_id)
    if place is None:
        abort(404)
    return place


def _organiser(organiser_id: uuid.UUID) -> Organiser:
    organiser = db.session.get(Organiser, organiser_id)
    if organiser is None:
        abort(404)
    return organiser


def _open_applications(location: Location) -> int:
    # Paused ones too: their families may confirm and come back to this location.
    return queries.open_counts(db.session, include_paused=True).get(location.id, 0)


def _location_data(place: Location) -> dict:
    return {
        "name": place.name, "organiser_id": str(place.organiser_id or ""), "kind": place.kind,
        "street": place.street, "number": place.number, "postcode": place.postcode, "locality": place.locality,
        "lat": place.lat, "lon": place.lon, "licensed_places": place.licensed_places,
        "min_age_months": place.min_age_months, "max_age_months": place.max_age_months,
        "opening_days": list(place.opening_days), "opens_at": place.opens_at.strftime("%H:%M"),
        "closes_at": place.closes_at.strftime("%H:%M"), "closures": offer.format_closures(place.closures),
        "languages": list(place.languages), "tariff": place.tariff, "day_price": place.day_price,
        "special_care": place.special_care, "description_nl": place.description.get("nl", ""),
        "description_fr": place.description.get("fr", ""), "description_en": place.description.get("en", ""),
        "website": place.website or "", "phone": place.phone or "", "email": place.email or "",
        "accepts_online": place.accepts_online,
    }


NEW_LOCATION = {"kind": "group", "opening_days": [1, 2, 3, 4, 5], "opens_at": "07:00", "closes_at": "18:00",
                "languages": ["nl"], "tariff": "income", "min_age_months": 0, "max_age_months": 36,
                "accepts_online": True}


def _location_values(form: LocationForm) -> dict | None:
    """The form as the service's values; None when a field could not be read (its error set)."""
    values = {key: getattr(form, key).data for key in (
        "name", "kind", "street", "number", "postcode", "locality", "licensed_places", "min_age_months",
        "max_age_months", "opening_days", "languages", "tariff", "day_price", "special_care", "website", "phone",
        "email", "accepts_online")}
    try:
        values["organiser_id"] = uuid.UUID(form.organiser_id.data) if form.organiser_id.data else None
    except ValueError:
        form.organiser_id.errors = [*form.organiser_id.errors, _("Kies een organisator uit de lijst.")]
    values["lat"], values["lon"] = (float(form.lat.data) if form.lat.data is not None else None,
                                    float(form.lon.data) if form.lon.data is not None else None)
    values["description"] = {lang: getattr(form, f"description_{lang}").data or ""
                             for lang in offer.DESCRIPTION_LANGUAGES}
    for name in ("opens_at", "closes_at"):
        field = getattr(form, name)
        text = (field.data or "").strip()
        if _HOUR.fullmatch(text):
            values[name] = time.fromisoformat(text)
        elif not field.errors:
            field.errors = [*field.errors, _("Gebruik een uur als 07:30.")]
    try:
        values["closures"] = offer.parse_closures(form.closures.data)
    except ValueError:
        if not form.closures.errors:
            form.closures.errors = [*form.closures.errors,
                                    _("Schrijf elke periode als: 2026-07-20 2026-08-07 reden.")]
    return None if form.errors else values


def _show_errors(form, error: offer.OfferError) -> None:
    """The service's refusals next to their fields (descriptions: next to the Dutch one)."""
    for key, message in error.errors.items():
        target = form.description_nl if key == "description" else form[key]
        target.errors = [*target.errors, message]


# --- locations -------------------------------------------------------------------------------------


@bp.route("/aanbod/")
@require(*DESK)
def offer_locations():
    q = request.args.get("q", "")[:100]
    status = request.args.get("status", "all")
    status = status if status in STATUS_FILTERS else "all"
    sort = request.args.get("sort", "name")
    sort = sort if sort in offer.SORTS else "name"
    page = _page()
    rows, total = offer.list_locations(db.session, q=q, status=status, sort=sort, page=page, per_page=PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    return render_template("coordinator/offer/locations.html", rows=rows, total=total, q=q, status=status,
                           sort=sort, page=page, pages=pages,
                           open_counts=queries.open_counts(db.session, include_paused=True))


def _save_location(form: LocationForm, place: Location | None):
    """Validate and save the form; returns the response or None to show the form again."""
    if not form.validate_on_submit():
        _location_values(form)  # the hours and closures say what is wrong too
        return None
    values = _location_values(form)
    if values is None:
        return None
    def save():
        if place is None:
            made = offer.create_location(db.session, values, actor_id=current_user.id, now=utcnow())
            return made, _("De locatie is aangemaakt en staat meteen in het zoekresultaat.")
        changed = offer.update_location(db.session, place, values, actor_id=current_user.id, now=utcnow())
        return place, (_("De wijzigingen zijn bewaard en staan meteen in het zoekresultaat.") if changed
                       else _("Er was niets gewijzigd."))

    return _commit(form, save, lambda saved: url_for("coordinator.offer_location", location_id=saved.id))


def _commit(form, save, url_of):
    """Run ``save`` (→ the saved row and the message to flash); commit and go to ``url_of(row)``,
    or roll back and return None so the form is shown again with the refusal next to its field."""
    try:
        saved, message = save()
    except offer.OfferError as error:
        db.session.rollback()
        _show_errors(form, error)
        return None
    db.session.commit()
    flash(message, "success")
    return redirect(url_of(saved))


@bp.route("/aanbod/nieuw", methods=["GET", "POST"])
@require(*DESK)
def offer_new():
    form = LocationForm(organisers=offer.organiser_choices(db.session))
    if request.method == "GET":
        form.process(data=NEW_LOCATION)
    else:
        answer = _save_location(form, None)
        if answer is not None:
            return answer
    return render_template("coordinator/offer/location.html", form=form, place=None,
                           centre=offer.map_centre(db.session)), \
        422 if form.errors else 200


@bp.route("/aanbod/<uuid:location_id>", methods=["GET", "POST"])
@require(*DESK)
def offer_location(location_id: uuid.UUID):
    place = _location(location_id)
    form = LocationForm(organisers=offer.organiser_choices(db.session))
    if request.method == "GET":
        form.process(data=_location_data(place))
    else:
        answer = _save_location(form, place)
        if answer is not None:
            return answer
        place = _location(location_id)  # reloaded after the rollback
    return render_template("coordinator/offer/location.html", form=form, place=place, centre=None,
                           open_count=_open_applications(place)), 422 if form.errors else 200


@bp.route("/aanbod/<uuid:location_id>/deactiveren", methods=["GET", "POST"])
@require(*DESK)
def offer_deactivate(location_id: uuid.UUID):
    place = _location(location_id)
    form = ConfirmForm()
    open_count = _open_applications(place)
    problem = None
    if not place.active:
        return redirect(url_for("coordinator.offer_location", location_id=place.id))
    if form.validate_on_submit():
        seen = parse_ascii_int(form.seen.data) if form.confirm.data == "yes" else None
        try:
            offer.set_active(db.session, place, False, actor_id=current_user.id, now=utcnow(),
                             open_applications=open_count, confirmed_open=seen)
        except offer.OfferError as error:
            db.session.rollback()
            place = _location(location_id)
            problem = error.errors["confirm"]
        else:
            db.session.commit()
            flash(_("De locatie is niet meer actief: ze staat niet meer in het zoekresultaat en aanvaardt geen "
                    "nieuwe aanvragen."), "success")
            return redirect(url_for("coordinator.offer_location", location_id=location_id))
    return render_template("coordinator/offer/deactivate.html", place=place, form=form, open_count=open_count,
                           problem=problem), 422 if problem or form.errors else 200


@bp.route("/aanbod/<uuid:location_id>/activeren", methods=["POST"])
@require(*DESK)
def offer_activate(location_id: uuid.UUID):
    place = _location(location_id)
    if ConfirmForm().validate_on_submit():
        if offer.set_active(db.session, place, True, actor_id=current_user.id, now=utcnow()):
            db.session.commit()
            flash(_("De locatie is weer actief en staat meteen in het zoekresultaat."), "success")
    return redirect(url_for("coordinator.offer_location", location_id=location_id))


# --- organisers ------------------------------------------------------------------------------------


@bp.route("/aanbod/organisatoren/")
@require(*DESK)
def offer_organisers():
    q = request.args.get("q", "")[:100]
    page = _page()
    rows, total = offer.list_organisers(db.session, q=q, page=page, per_page=PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    return render_template("coordinator/offer/organisers.html", rows=rows, total=total, q=q, page=page, pages=pages)


def _save_organiser(form: OrganiserForm, organiser: Organiser | None):
    if not form.validate_on_submit():
        return None
    values = {key: getattr(form, key).data for key in offer.ORGANISER_FIELDS}
    def save():
        if organiser is None:
            return (offer.create_organiser(db.session, values, actor_id=current_user.id, now=utcnow()),
                    _("De organisator is aangemaakt."))
        changed = offer.update_organiser(db.session, organiser, values, actor_id=current_user.id, now=utcnow())
        return organiser, _("De wijzigingen zijn bewaard.") if changed else _("Er was niets gewijzigd.")

    return _commit(form, save, lambda saved: url_for("coordinator.offer_organiser", organiser_id=saved.id))


@bp.route("/aanbod/organisatoren/nieuw", methods=["GET", "POST"])
@require(*DESK)
def offer_organiser_new():
    form = OrganiserForm()
    if request.method == "POST":
        answer = _save_organiser(form, None)
        if answer is not None:
            return answer
    return render_template("coordinator/offer/organiser.html", form=form, organiser=None), \
        422 if form.errors else 200


@bp.route("/aanbod/organisatoren/<uuid:organiser_id>", methods=["GET", "POST"])
@require(*DESK)
def offer_organiser(organiser_id: uuid.UUID):
    organiser = _organiser(organiser_id)
    form = OrganiserForm(obj=organiser if request.method == "GET" else None)
    if request.method == "POST":
        answer = _save_organiser(form, organiser)
        if answer is not None:
            return answer
        organiser = _organiser(organiser_id)
    return render_template("coordinator/offer/organiser.html", form=form, organiser=organiser), \
        422 if form.errors else 200


@bp.route("/aanbod/organisatoren/<uuid:organiser_id>/verwijderen", methods=["GET", "POST"])
@require(*DESK)
def offer_organiser_delete(organiser_id: uuid.UUID):
    organiser = _organiser(organiser_id)
    form = ConfirmForm()
    problem = None
    if form.validate_on_submit() and form.confirm.data == "yes":
        name = organiser.name
        try:
            offer.delete_organiser(db.session, organiser, actor_id=current_user.id, now=utcnow())
        except offer.OfferError as error:
            db.session.rollback()
            organiser = _organiser(organiser_id)
            problem = error.errors["delete"]
        else:
            db.session.commit()
            flash(_("%(name)s is verwijderd.", name=name), "success")
            return redirect(url_for("coordinator.offer_organisers"))
    elif request.method == "POST":
        problem = _("Bevestig het verwijderen met de knop.")
    return render_template("coordinator/offer/organiser_delete.html", organiser=organiser, form=form,
                           problem=problem), 422 if problem else 200
