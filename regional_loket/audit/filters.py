"""The audit log's filters and export rows, shared by the municipality's page
(``coordinator/audit.py``) and the region's (``admin/audit.py``): one form, read from the query
string, the same checks and messages, the same columns. Like ``audit.web`` it reads Flask's
request; the queries it feeds (``audit.queries``) take everything explicitly."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from flask import request
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from ..accounts import User
from ..accounts import services as account_services
from ..web.input import NOT_A_DATE, DateField
from . import queries
from .services import ACTION_LABELS, Kind, action_label, actor_role_label, kind_label

PAGE_SIZE = 50
# The query-string arguments the filters are read from (the pager and the export links keep them).
FIELDS = ("persoon", "gezin", "handeling", "soort", "van", "tot")


class _Day(DateField):
    """A day, with the site's own message for anything that is not one."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            self.data = None
            raise ValueError(str(NOT_A_DATE)) from error


class AuditFilterForm(FlaskForm):
    """The list's filters, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    persoon = StringField(_l("Persoon"), description=_l("E-mailadres of gebruikersnummer."),
                          validators=[Optional(), Length(max=254, message=_l("Hoogstens 254 tekens."))])
    gezin = StringField(_l("Gezin"), description=_l("Het dossiernummer van het gezin."),
                        validators=[Optional(), Length(max=36, message=_l("Hoogstens 36 tekens."))])
    handeling = SelectField(_l("Handeling"), choices=[], validate_choice=False)
    soort = SelectField(_l("Soort"), choices=[], validate_choice=False)
    van = _Day(_l("Van"), validators=[Optional()])
    tot = _Day(_l("Tot en met"), validators=[Optional()])


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


def read(session: Session, form: AuditFilterForm, present: list[str]) -> queries.Filters | None:
    """Offer the choices (every labelled action and the ``present`` ones), check the form and
    return its filters; None when a field is wrong (its message is set on the field)."""
    codes = sorted({*map(str, ACTION_LABELS), *present}, key=action_label)
    form.handeling.choices = [("", _("alle handelingen"))] + [(c, action_label(c)) for c in codes]
    form.soort.choices = [("", _("inzien en wijzigen"))] + [(k.value, kind_label(k)) for k in Kind]
    valid = form.validate()
    actor_ids, family_id = None, None
    person = (form.persoon.data or "").strip()
    if person and not form.persoon.errors:
        if (actor := _uuid(person)) is not None:
            actor_ids = (actor,)
        elif account_services.normalise_email(person) is not None:
            user = account_services.find_user(session, person)
            actor_ids = (user.id,) if user is not None else ()  # nobody: an empty list, no hint
        else:
            form.persoon.errors.append(_("Geef een e-mailadres of een gebruikersnummer."))
    family = (form.gezin.data or "").strip()
    if family and not form.gezin.errors and (family_id := _uuid(family)) is None:
        form.gezin.errors.append(_("Geef het dossiernummer van het gezin, zoals het in de lijst staat."))
    if form.handeling.data and form.handeling.data not in codes:
        form.handeling.errors.append(_("Kies een handeling uit de lijst."))
    if form.soort.data and form.soort.data not in {k.value for k in Kind}:
        form.soort.errors.append(_("Kies inzien of wijzigen."))
    if form.van.data and form.tot.data and form.tot.data < form.van.data:
        form.tot.errors.append(_("De einddatum ligt vóór de begindatum."))
    if not valid or any(field.errors for field in form):
        return None
    zone = get_timezone()  # a day is a day of the region's clock, not UTC's

    def moment(day):
        return datetime.combine(day, time(), tzinfo=zone) if day else None

    return queries.Filters(
        actor_ids=actor_ids, family_id=family_id, action=form.handeling.data or None,
        kind=form.soort.data or None, start=moment(form.van.data),
        end=moment(form.tot.data + timedelta(days=1)) if form.tot.data else None)


def requested_page() -> int:
    return max(1, min(request.args.get("pagina", 1, type=int), 10_000))


def paged(fetch) -> tuple[list, int, int, int]:
    """(rows, total, page, pages) of the requested page; ``fetch(offset, limit)`` returns (rows,
    total). Past the end (a filter narrowed the list) it shows the last page."""
    page = requested_page()
    rows, total = fetch((page - 1) * PAGE_SIZE, PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    if page > pages:
        page = pages
        rows, _total = fetch((page - 1) * PAGE_SIZE, PAGE_SIZE)
    return rows, total, page, pages


def kept(names=FIELDS) -> dict:
    """The filters the pager and the export links carry (empty ones left out)."""
    return {name: value for name in names if (value := request.args.get(name, "").strip())}


def people(session: Session, entries) -> dict:
    """The accounts the entries name (actor id → user), in one statement."""
    ids = {e.actor_id for e in entries if e.actor_id is not None}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


EXPORT_COLUMNS = (_l("tijdstip"), _l("soort"), _l("handeling"), _l("code"), _l("persoon"), _l("e-mailadres"),
                  _l("rol"), _l("onderwerp"), _l("gezin"), _l("host"))


def export_rows(entries, people_by_id: dict) -> list[list]:
    """One row per entry, in ``EXPORT_COLUMNS`` order, times in the region's clock."""
    zone = get_timezone()
    return [[e.at.astimezone(zone).replace(tzinfo=None), kind_label(e.kind), action_label(e.action), e.action,
             str(e.actor_id or ""), getattr(people_by_id.get(e.actor_id), "email", ""),
             actor_role_label(e.actor_role), e.subject or "", str(e.family_id or ""), e.host or ""]
            for e in entries]
