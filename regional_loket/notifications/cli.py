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


@notifications.command("send-pending")
@click.option("--all", "scheduled_too", is_flag=True,
              help="Also the notifications never tried yet that were scheduled for later.")
@with_appcontext
def send_pending_command(scheduled_too):
    """Send now what waits for a retry (after a mail-server outage), in this process: the
    back-off no longer holds it. Due notifications go along; failed ones stay failed."""
    made_due, outcomes = jobs.send_pending(current_app._get_current_object(), scheduled_too=scheduled_too)
    click.echo(f"made due: {made_due}")
    click.echo("  ".join(f"{outcome}: {outcomes.get(outcome, 0)}"
                         for outcome in ("sent", "retry", "failed", "pending", "skipped")))


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
