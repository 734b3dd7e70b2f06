"""Applications (aanvragen) in each municipality's schema: their lifecycle as a table of
transitions, every change with its history event, holding and releasing free places, the
read queries (ranked lists, open and overdue counts, summaries) and offer expiry.

It knows nothing of the family's request: ``care_requests`` listens to its changes
(``listen``) to keep ``Choice.status`` and the request in step. Callers use ``services``,
``queries`` and ``ranking``, and the names below.
"""

from flask import Blueprint, Flask

from .lifecycle import (
    BY_NAME,
    TRANSITIONS,
    Change,
    LifecycleError,
    Transition,
    allowed,
    check_version,
    listen,
)
from .models import Application, ApplicationEvent, PriorityPolicy
from .vocabulary import (
    ACTIVE,
    AWAITING_ANSWER,
    CLOSED_STATUSES,
    EVENT_LABELS,
    OPEN_STATUSES,
    PAUSED_LABEL,
    REJECT_REASONS,
    WAITING,
    ActorRole,
    EventKind,
    Status,
    StatusNote,
    event_label,
    event_note,
    reject_reason_label,
    status_label,
    status_note_label,
    status_tone,
)

__all__ = [
    "ACTIVE", "AWAITING_ANSWER", "BY_NAME", "CLOSED_STATUSES", "EVENT_LABELS", "OPEN_STATUSES", "PAUSED_LABEL",
    "REJECT_REASONS", "TRANSITIONS", "WAITING", "ActorRole", "Application", "ApplicationEvent", "Change", "EventKind",
    "LifecycleError", "PriorityPolicy", "Status", "StatusNote", "Transition", "allowed", "check_version",
    "event_label", "event_note", "init_app", "listen", "reject_reason_label", "status_label", "status_note_label",
    "status_tone",
]

# No routes: the blueprint puts templates/email/ (the staff's mails) on the template path.
bp = Blueprint("applications", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    """The vocabulary for templates: ``{{ status|status_label }}``, ``status|status_tone`` (the
    badge), ``event_note(event)``, ``reject_reason_label(code)``, ``open_statuses``,
    ``waiting_statuses``, and ``transition_allowed(name, status, role)`` to show only the
    buttons the table allows; and the staff's mails (``staff``, a listener)."""
    from .. import jobs
    from . import staff  # noqa: F401 — registers its listener
    from .jobs import EXPIRY, REMINDERS, expire_offers_everywhere, remind_offers_everywhere

    app.register_blueprint(bp)
    # A deadline is a date (the day itself counts): offers become due at the region's midnight.
    jobs.register_periodic(app, expire_offers_everywhere, daily_at="00:05", name=EXPIRY)
    jobs.register_periodic(app, remind_offers_everywhere, daily_at="08:00", name=REMINDERS)
    app.jinja_env.filters["status_label"] = status_label
    app.jinja_env.filters["status_tone"] = status_tone
    app.jinja_env.filters["status_note_label"] = status_note_label
    app.jinja_env.globals.update(status_label=status_label, event_note=event_note, event_label=event_label,
                                 paused_label=PAUSED_LABEL,
                                 reject_reason_label=reject_reason_label, transition_allowed=allowed,
                                 open_statuses=OPEN_STATUSES, waiting_statuses=WAITING)
