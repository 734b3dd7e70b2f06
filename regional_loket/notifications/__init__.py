"""Notifications: an outbox of e-mails in PostgreSQL, delivered by rq workers through SMTP.

Domains call :func:`services.notify` inside their own transaction and ship their templates as
``email/<name>.subject.txt``, ``email/<name>.txt`` and ``email/<name>.html`` (extending
``email/_layout.txt`` / ``email/_layout.html``) in their blueprint's template folder.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from ..jobs import register_periodic
from .models import Notification, NotificationState
from .services import notify, render

__all__ = ["Notification", "NotificationState", "init_app", "notify", "render"]

# No routes: the blueprint only puts templates/email/ (the layouts and `notice`) on the
# template path, next to the e-mail templates of the other domains.
bp = Blueprint("notifications", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    from . import cli
    from .jobs import PURGE, purge_old_notifications, relay_outbox

    app.register_blueprint(bp)
    app.cli.add_command(cli.notifications)
    # The safety net: every scheduler round, and once when a worker starts.
    register_periodic(app, relay_outbox, at_worker_start=True)
    register_periodic(app, purge_old_notifications, every=3600, name=PURGE)

    from ..dev import mailbox

    mailbox.init_app(app)  # development only; it checks that itself
