"""``flask notifications …``: look into the outbox and push it along."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from . import jobs, services
from .models import NotificationState


@click.group(help="The e-mail outbox.")
def notifications():
    pass


@notifications.command("relay")
@with_appcontext
def relay_command():
    """Enqueue a delivery for every pending notification that is due (what the scheduler does)."""
    count = jobs.relay(current_app._get_current_object())
    click.echo(f"enqueued: {count}")


@notifications.command("purge")
@with_appcontext
def purge_command():
    """Delete sent and failed notifications older than NOTIFICATION_RETENTION_DAYS (what the
    scheduler does every hour)."""
    count = jobs.purge(current_app._get_current_object())
    click.echo(f"purged: {count}")


@notifications.command("list")
@click.option("--state", type=click.Choice([s.value for s in NotificationState]), default=None,
              help="Only notifications in this state.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@with_appcontext
def list_command(state, limit):
    """The newest notifications: when, state, attempts, recipient, template, last error."""
    rows = services.list_notifications(db.session, state=state, limit=limit)
    for n in rows:
        line = (f"{n.created_at:%Y-%m-%d %H:%M:%S}  {n.id}  {n.state:<7}  {n.attempts}  "
                f"{n.recipient_email}  {n.template}  {n.language}")
        if n.state == NotificationState.PENDING:
            line += f"  next {n.next_attempt_at:%Y-%m-%d %H:%M:%S}"
        if n.last_error:
            line += f"  [{n.last_error[:120]}]"
        click.echo(line)
    click.echo(f"{len(rows)} notification(s)")
