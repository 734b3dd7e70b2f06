"""What the family is told when the provider (or the clock) changes one of its applications:
the words of the "news about your application" mail, keyed by the change's name (a
transition of ``applications.TRANSITIONS``, or an event kind). Status labels, event notes and
refusal reasons are ``applications.vocabulary``'s."""

from flask_babel import lazy_gettext as _l

from ..applications import EventKind

FAMILY_NEWS = {
    "mark_in_review": _l("in behandeling"),
    "waitlist": _l("op de wachtlijst"),
    "reject": _l("afgewezen"),
    "offer": _l("een plaats aangeboden"),
    "cancel_offer": _l("het aanbod is ingetrokken; u staat weer op de wachtlijst"),
    "expire": _l("het aanbod is verlopen"),
    EventKind.MESSAGE_PROVIDER: _l("een nieuw bericht van de locatie"),
}
