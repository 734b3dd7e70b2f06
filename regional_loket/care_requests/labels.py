"""Translated labels of the request domain's codes."""

import re

from flask_babel import lazy_gettext as _l

from .models import StatusNote

REJECT_REASONS = {
    "no_place": _l("Geen plaats voor de gevraagde periode"),
    "age": _l("De leeftijd van het kind past niet bij de opvang"),
    "care_plan": _l("Het opvangplan past niet bij de openingsuren of -dagen"),
    "care_needs": _l("We kunnen de nodige zorg niet bieden"),
    "duplicate": _l("Dubbele aanvraag"),
    "other": _l("Andere reden"),
}


def reject_reason_label(code: str | None) -> str:
    return str(REJECT_REASONS.get(code or "", REJECT_REASONS["other"]))


STATUS_LABELS = {
    "submitted": _l("ingediend"), "in_review": _l("in behandeling"), "waitlisted": _l("op de wachtlijst"),
    "offered": _l("plaats aangeboden"), "accepted": _l("aanvaard"), "declined": _l("geweigerd door het gezin"),
    "expired": _l("aanbod verlopen"), "rejected": _l("afgewezen"), "withdrawn": _l("ingetrokken"),
}


def status_label(code: str) -> str:
    return str(STATUS_LABELS.get(code, code))


# The codes a status event's text holds when the system changed the status (models.StatusNote).
STATUS_NOTE_LABELS = {
    StatusNote.OFFER_CANCELLED: _l("het aanbod werd ingetrokken"),
    StatusNote.ACCEPTED_ELSEWHERE: _l("een plaats bij een andere keuze werd aanvaard"),
    StatusNote.HIGHER_CHOICE_ACCEPTED: _l("een plaats bij een hogere keuze werd aanvaard"),
    StatusNote.FAMILY_ERASED: _l("de gegevens van het gezin werden gewist"),
}
_CODE = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)+")


def event_note(event) -> str:
    """What a status event says besides the status: the label of a system code, or the words
    staff typed (a rejection's explanation). A code without a label is left out, never shown."""
    text = (event.text or "").strip()
    if not text:
        return ""
    if text in STATUS_NOTE_LABELS:
        return str(STATUS_NOTE_LABELS[text])
    if event.actor_role == "system" or _CODE.fullmatch(text):
        return ""
    return text
