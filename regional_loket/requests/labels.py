"""Translated labels of the request domain's codes."""

from flask_babel import lazy_gettext as _l

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
