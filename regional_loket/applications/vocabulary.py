"""The words of the application lifecycle, once: statuses, who acts, event kinds, the codes a
status event may carry, refusal reasons — each with its one translated label, used by Python
(mails, exports, errors) and by templates (the ``status_label`` filter and globals registered
by :func:`regional_loket.applications.init_app`)."""

from __future__ import annotations

import enum
import re

from flask_babel import lazy_gettext as _l


class Status(enum.StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


OPEN_STATUSES = (Status.SUBMITTED, Status.IN_REVIEW, Status.WAITLISTED, Status.OFFERED)
CLOSED_STATUSES = (Status.ACCEPTED, Status.DECLINED, Status.EXPIRED, Status.REJECTED, Status.WITHDRAWN)
# On a waiting list: ranked, and what a provider may still offer a place to.
WAITING = (Status.SUBMITTED, Status.IN_REVIEW, Status.WAITLISTED)
# Waiting for the provider's first answer: what the response time (and "overdue") is about.
AWAITING_ANSWER = (Status.SUBMITTED, Status.IN_REVIEW)
# Still the family's: open, or a place they accepted (withdrawing gives it back).
ACTIVE = (*OPEN_STATUSES, Status.ACCEPTED)


class ActorRole(enum.StrEnum):
    """Who triggered a change (``ApplicationEvent.actor_role``)."""

    FAMILY = "family"
    REFERRER = "referrer"  # an organisation filing for a family
    DESK = "desk"  # the municipal desk, for a family at the counter or on the phone
    PROVIDER = "provider"  # staff of the location
    SYSTEM = "system"  # a rule or a job (accepted elsewhere, expiry, erasure)


class EventKind(enum.StrEnum):
    STATUS = "status"  # a change of status
    MESSAGE_FAMILY = "message_family"  # from the family to the provider
    MESSAGE_PROVIDER = "message_provider"  # from the provider to the family
    NOTE = "note"  # internal staff note, never shown to the family
    CHANGE = "change"  # start date or care plan changed by the family
    REMINDER = "reminder"  # the family was reminded of an offer's deadline (by the scheduler)
    PAUSED = "paused"  # the request went inactive (not confirmed in time): out of the ranked list
    RESUMED = "resumed"  # the family confirmed again: back in the list at its original place


# What an event that is not a status change says, on the timelines of staff and family.
EVENT_LABELS = {
    EventKind.PAUSED: _l("gepauzeerd: het gezin bevestigde de aanvraag niet op tijd"),
    EventKind.RESUMED: _l("weer actief: het gezin bevestigde de aanvraag; de plaats op de wachtlijst is de "
                          "oorspronkelijke"),
}
# The badge staff see on a paused application (its status stays what it was).
PAUSED_LABEL = _l("gepauzeerd")


def event_label(kind: str | None) -> str:
    return str(EVENT_LABELS.get(kind or "", ""))


class StatusNote(enum.StrEnum):
    """Why the system (or staff, by a button) changed a status: kept as a code in the status
    event's ``text`` and shown through ``STATUS_NOTE_LABELS``, never raw."""

    OFFER_CANCELLED = "offer-cancelled"  # staff withdrew the offer; back on the waiting list
    ACCEPTED_ELSEWHERE = "accepted-elsewhere"  # the family accepted a place at another choice
    HIGHER_CHOICE_ACCEPTED = "higher-choice-accepted"  # a higher-ranked choice was accepted later
    FAMILY_ERASED = "family-erased"  # the family's data were erased
    MUNICIPALITY_ARCHIVED = "municipality-archived"  # the municipality left the regional platform


# One wording per status, for the family and for staff alike.
STATUS_LABELS = {
    Status.SUBMITTED: _l("ingediend"), Status.IN_REVIEW: _l("in behandeling"),
    Status.WAITLISTED: _l("op de wachtlijst"), Status.OFFERED: _l("plaats aangeboden"),
    Status.ACCEPTED: _l("aanvaard"), Status.DECLINED: _l("geweigerd door het gezin"),
    Status.EXPIRED: _l("aanbod verlopen"), Status.REJECTED: _l("afgewezen"), Status.WITHDRAWN: _l("ingetrokken"),
}
# The badge colour of each status (NL Design System status-badge modifiers).
STATUS_TONES = {
    Status.OFFERED: "warning", Status.ACCEPTED: "success", Status.REJECTED: "danger",
    Status.WITHDRAWN: "inactive", Status.DECLINED: "inactive", Status.EXPIRED: "inactive",
}


def status_label(code: str | None) -> str:
    return str(STATUS_LABELS.get(code, code or ""))


def status_tone(code: str | None) -> str:
    return STATUS_TONES.get(code, "neutral")


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


# The codes a status event's text holds when the system changed the status (StatusNote).
STATUS_NOTE_LABELS = {
    StatusNote.OFFER_CANCELLED: _l("het aanbod werd ingetrokken"),
    StatusNote.ACCEPTED_ELSEWHERE: _l("een plaats bij een andere keuze werd aanvaard"),
    StatusNote.HIGHER_CHOICE_ACCEPTED: _l("een plaats bij een hogere keuze werd aanvaard"),
    StatusNote.FAMILY_ERASED: _l("de gegevens van het gezin werden gewist"),
    StatusNote.MUNICIPALITY_ARCHIVED: _l("de gemeente neemt niet meer deel aan het regionale loket"),
}
_CODE = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)+")


def status_note_label(code: str | None) -> str:
    """The label of a ``StatusNote`` code; nothing for anything else (never the raw code)."""
    return str(STATUS_NOTE_LABELS.get(code or "", ""))


def event_note(event) -> str:
    """What a status event says besides the status: the label of a system code, or the words
    staff typed (a rejection's explanation). A code without a label is left out, never shown."""
    text = (event.text or "").strip()
    if not text:
        return ""
    if text in STATUS_NOTE_LABELS:
        return status_note_label(text)
    if event.actor_role == ActorRole.SYSTEM or _CODE.fullmatch(text):
        return ""
    return text
