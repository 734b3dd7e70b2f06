"""Assisted intake at the desk: the coordinator opens a dossier for a family without e-mail
(a phone number or a postal address is enough), records how the family consented, and files
its request in the shared request wizard on the regional portal (``?gezin=``), the same one
referrers use (``families.services.file_family`` and ``may_act_for`` serve both). Afterwards a
summary to hand over — printable, and as a PDF — with the choices, what happens next and a
claim code with which the family takes the dossier over online (``/gezin/overnemen``).

Pages: ``/beheer/intake`` (the families this desk filed), ``/nieuw`` (the intake form),
``/<family>`` (the family's hub), ``/<family>/overdracht`` (a new code and the summary, shown
once: only the code's hash is kept) and ``/<family>/overdracht.pdf`` (the same, the code
posted back and checked). A family another desk filed is a 404."""

from __future__ import annotations

import math
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from flask import Response, abort, g, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from .. import audit
from ..accounts import Role, require
from ..accounts.forms import LANGUAGE_CHOICES, ConfirmForm
from ..applications import status_label
from ..audit.web import record_act, record_view
from ..care_requests import services as request_services
from ..database import utcnow
from ..extensions import db
from ..families import Family
from ..families import services as family_services
from ..validators import PhoneNumber
from ..web.input import parse_ascii_int
from ..web.urls import portal_url, switch_url
from .views import bp

PER_PAGE = 20
DESK = (Role.COORDINATOR, Role.ADMIN)


class IntakeForm(FlaskForm):
    guardian_name = StringField(_l("Naam van de ouder of voogd"), validators=[
        DataRequired(_l("Vul de naam van de ouder in.")), Length(max=120, message=_l("Hoogstens 120 tekens."))])
    phone = TelField(_l("Telefoon van het gezin"), validators=[
        Optional(), Length(max=40, message=_l("Hoogstens 40 tekens.")), PhoneNumber()],
        description=_l("Een telefoonnummer of een postadres is nodig: zo bereikt het loket het gezin."))
    street = StringField(_l("Straat"), validators=[Optional(), Length(max=160, message=_l("Hoogstens 160 tekens."))])
    number = StringField(_l("Huisnummer"), validators=[Optional(), Length(max=20, message=_l("Hoogstens 20 tekens."))])
    postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=4, message=_l("Hoogstens 4 tekens."))])
    locality = StringField(_l("Gemeente"), validators=[Optional(), Length(max=80, message=_l("Hoogstens 80 tekens."))])
    language = SelectField(_l("Taal van het gezin"), choices=LANGUAGE_CHOICES, default="nl")
    consent = BooleanField(
        _l("Het gezin geeft toestemming dat het loket voor hen een dossier opent, hun aanvraag indient bij de "
           "gekozen opvanglocaties en hun gegevens alleen daarvoor met die locaties deelt."),
        validators=[DataRequired(_l("Zonder toestemming van het gezin kunt u niet verder."))])
    consent_method = SelectField(
        _l("Hoe gaf het gezin toestemming?"),
        choices=[SelectChoice("", _l("Kies …"))] + [SelectChoice(code, label) for code, label
                                                     in family_services.CONSENT_METHODS.items()],
        validators=[DataRequired(_l("Kies hoe het gezin toestemming gaf."))])
    consent_note = TextAreaField(_l("Opmerking bij de toestemming (niet verplicht)"),
                                 validators=[Optional(), Length(max=500, message=_l("Hoogstens 500 tekens."))])


class PdfForm(FlaskForm):
    code = HiddenField()


@bp.app_template_global("intake_count")
def intake_count(tenant) -> int:
    """For the desk's home: how many dossiers this desk opened."""
    return family_services.desk_family_count(db.session, tenant.id)


def _audit(action: str, family: Family, now: datetime, **detail) -> None:
    record_act(db.session, g.tenant, action=action, subject=f"family:{family.id}", family_id=family.id,
               detail={key: str(value) for key, value in detail.items()}, now=now)


def _desk_family(family_id: uuid.UUID) -> Family:
    family = family_services.desk_family(db.session, g.tenant.id, family_id)
    if family is None:
        abort(404)
    return family


@bp.route("/intake")
@require(*DESK)
def intake_list():
    page = max(parse_ascii_int(request.args.get("pagina")) or 1, 1)
    families, total = family_services.desk_families(db.session, g.tenant.id, page=page, per_page=PER_PAGE)
    return render_template("coordinator/intake/list.html", families=families, total=total, page=page,
                           pages=max(math.ceil(total / PER_PAGE), 1))


@bp.route("/intake/nieuw", methods=["GET", "POST"])
@require(*DESK)
def intake_new():
    form = IntakeForm()
    if form.validate_on_submit():
        now = utcnow()
        try:
            family = family_services.file_family(
                db.session, current_user, desk_tenant_id=g.tenant.id, guardian_name=form.guardian_name.data,
                phone=form.phone.data, street=form.street.data, number=form.number.data,
                postcode=form.postcode.data, locality=form.locality.data, language=form.language.data, now=now,
                consent_method=form.consent_method.data, consent_note=form.consent_note.data)
        except family_services.FamilyError as error:
            db.session.rollback()
            getattr(form, error.field or "guardian_name").errors.append(str(error.message))
        else:
            _audit("intake.family_filed", family, now, consent_method=form.consent_method.data)
            db.session.commit()
            return redirect(url_for("coordinator.intake_family", family_id=family.id))
    return render_template("coordinator/intake/new.html", form=form), 422 if form.errors else 200


@bp.route("/intake/<uuid:family_id>")
@require(*DESK)
def intake_family(family_id: uuid.UUID):
    family = _desk_family(family_id)
    record_view(db.session, g.tenant, action=audit.Action.VIEW_FAMILY, subject=family.id, family_id=family.id)
    cares = request_services.requests_of_family(db.session, family.id)
    page = render_template(
        "coordinator/intake/family.html", family=family, cares=cares,
        locations=request_services.choice_locations(db.session, cares),
        children={c.id: c for c in family.children}, consent=family_services.filing_consent(family),
        consent_label=_consent_label, wizard=switch_url(None, "requests.new", gezin=family.id),
        detail_url=lambda care: switch_url(None, "requests.detail", request_id=care.id),
        form=ConfirmForm())
    db.session.commit()  # the read's audit entry, after rendering
    return page


def _consent_label(method: str | None) -> str:
    return str(family_services.CONSENT_METHODS.get(method, method or ""))


# --- the summary and its claim code ---------------------------------------------------------


@dataclass
class Summary:
    """What the family takes home, written once for the page and the PDF (translated here)."""

    title: str
    family: list[str]
    requests: list[tuple[str, list[str]]] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    claim_intro: str = ""
    code: str = ""
    claim_validity: str = ""
    desk: str = ""


def _summary(family: Family, code: str, expires_at: datetime) -> Summary:
    guardian = family.guardians[0] if family.guardians else None
    lines = [_("Ouder of voogd: %(name)s", name=guardian.name if guardian else "")]
    if family.phone:
        lines.append(_("Telefoon: %(phone)s", phone=family.phone))
    if family.postcode:
        lines.append(_("Adres: %(street)s %(number)s, %(postcode)s %(locality)s", street=family.street,
                       number=family.number, postcode=family.postcode, locality=family.locality))
    summary = Summary(title=_("Overdrachtsblad van het Loket Kinderopvang %(name)s", name=g.tenant.name),
                      family=lines)
    cares = request_services.requests_of_family(db.session, family.id)
    names = request_services.choice_locations(db.session, cares)
    children = {c.id: c for c in family.children}
    for care in cares:
        child = children.get(care.child_id)
        heading = _("Aanvraag voor %(child)s, start %(start)s", child=f"{child.first_name} {child.last_name}"
                    if child else "", start=format_date(care.start_date) if care.start_date else "")
        choices = []
        for choice in care.choices:
            location, municipality = names.get(choice.location_id, ("?", ""))
            choices.append(_("%(rank)s. %(location)s (%(municipality)s): %(status)s", rank=choice.rank,
                             location=location, municipality=municipality, status=status_label(choice.status)))
        summary.requests.append((heading, choices))
    summary.next_steps = [
        _("Elke gekozen opvanglocatie bekijkt de aanvraag en antwoordt zelf: een plaats, de wachtlijst of een "
          "weigering."),
        _("Zolang u het dossier niet online overneemt, belt het loket u bij elk antwoord."),
        _("Krijgt u een plaats aangeboden, dan antwoordt u binnen de termijn van het aanbod: bel het loket of "
          "antwoord online."),
    ]
    summary.claim_intro = _("Zelf online volgen? Maak een account op %(site)s, meld u aan en vul op %(url)s deze "
                            "code in:", site=portal_url(None), url=portal_url(None, "families.claim"))
    summary.code = code
    summary.claim_validity = _("De code werkt één keer en is geldig tot %(date)s. Daarna krijgt u bericht op het "
                               "e-mailadres van uw account.", date=format_date(expires_at.date()))
    summary.desk = _("Vragen? Het loket kinderopvang van %(name)s helpt u.", name=g.tenant.name)
    return summary


@bp.route("/intake/<uuid:family_id>/overdracht", methods=["POST"])
@require(*DESK)
def intake_summary(family_id: uuid.UUID):
    family = _desk_family(family_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    now = utcnow()
    code, row = family_services.issue_claim_code(db.session, family, actor_id=current_user.id, now=now)
    _audit("intake.claim_code_issued", family, now, claim_code=row.id)
    summary = _summary(family, code, row.expires_at)
    db.session.commit()
    # Shown once, on this answer (no-store: the visitor has a session); the PDF posts it back.
    return render_template("coordinator/intake/summary.html", family=family, summary=summary,
                           pdf_form=PdfForm(code=code))


@bp.route("/intake/<uuid:family_id>/overdracht.pdf", methods=["POST"])
@require(*DESK)
def intake_summary_pdf(family_id: uuid.UUID):
    family = _desk_family(family_id)
    form = PdfForm()
    now = utcnow()
    row = family_services.live_claim_code(db.session, family, form.code.data or "", now=now) \
        if form.validate_on_submit() else None
    if row is None:
        abort(404)  # a code that is not this family's live one prints nothing
    code = family_services.format_claim_code(family_services.normalise_claim_code(form.code.data))
    response = Response(summary_pdf(_summary(family, code, row.expires_at)), mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'attachment; filename="overdrachtsblad-loket-kinderopvang.pdf"'
    return response


# The PDF's built-in font (Helvetica) holds Latin-1 only: typographic marks become their plain
# forms and anything else a "?", so a name in another script never breaks the printout.
_PLAIN = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
                        "\u2026": "...", "\u00a0": " ", "\u202f": " "})


def _latin1(text: str) -> str:
    text = unicodedata.normalize("NFC", str(text).translate(_PLAIN))
    return text.encode("latin-1", "replace").decode("latin-1")


def summary_pdf(summary: Summary) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(_latin1(summary.title))
    pdf.add_page()

    def text(value: str, size: int = 11, style: str = "", height: float = 6) -> None:
        pdf.set_font("helvetica", style, size)
        pdf.multi_cell(0, height, _latin1(value), new_x="LMARGIN", new_y="NEXT")

    text(summary.title, 16, "B", 8)
    pdf.ln(2)
    for line in summary.family:
        text(line)
    for heading, choices in summary.requests:
        pdf.ln(3)
        text(heading, 12, "B")
        for line in choices:
            text(line)
    pdf.ln(3)
    text(_("Wat gebeurt er nu?"), 12, "B")
    for line in summary.next_steps:
        text("- " + line)
    pdf.ln(3)
    text(summary.claim_intro)
    pdf.ln(1)
    text(summary.code, 22, "B", 12)
    text(summary.claim_validity)
    pdf.ln(3)
    text(summary.desk)
    return bytes(pdf.output())
