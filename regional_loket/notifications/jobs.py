"""Delivering the outbox: ``deliver`` (one mail) and ``relay_outbox`` (the safety net).

Exactly once, as far as SMTP allows:

- ``deliver`` locks its row (``FOR UPDATE SKIP LOCKED``, state ``pending``) for the whole SMTP
  conversation and marks it sent in the same transaction. A second job for the same row finds
  it locked or no longer pending and sends nothing.
- A worker killed mid-delivery leaves the row pending: its transaction dies with its database
  connection. The relay enqueues it again; it is sent once.
- The one gap SMTP leaves: the server accepted the message and the worker died (or the
  database failed) before the commit. The row is then delivered again, with the same
  Message-ID (derived from the idempotency key), so mail clients can recognise the duplicate.
- Failures are retried by the relay with a growing delay, not by rq: the row is the truth,
  the queue only a shortcut.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
import uuid
from collections import Counter
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import Flask
from sqlalchemy import func, select, update

from .. import clock, jobs
from ..database import utcnow
from ..extensions import db
from . import services
from .models import Notification, NotificationState
from .services import render

log = logging.getLogger(__name__)

# Delay before the next attempt after the 1st, 2nd, … failure; the last value repeats.
# Most mail-server outages are a restart or a fail-over of a minute or two: the first tries come
# every 10 to 60 s (the relay runs every scheduler round, 30 s, so that is the real grain), so
# such an outage delays a mail by at most half a minute to a minute after the server is back
# (30, 120, 600 s made a 74 s outage cost two minutes more). A longer outage is tried less and
# less often, and the row gives up after ~28 hours (the sum). Each row's delays are stretched by
# a fixed 0–25 % of its own (``JITTER``), so a backlog that failed together is not retried in
# one burst against a server that just came back. ``flask notifications send-pending`` sends
# the waiting ones at once when an operator knows the server is back.
BACKOFF_SECONDS = (10, 20, 30, 30, 60, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 43200)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1  # then "failed": an operator looks (flask notifications list)
JITTER = 0.25
RELAY_BATCH = 500
SMTP_TIMEOUT = 10
# Without an SMTP server, look again this much later (nothing is counted as an attempt).
NO_SMTP_RECHECK_SECONDS = 60
NO_SMTP = "no SMTP server configured"
# rq: a waiting delivery job expires after a day (the relay enqueues the row again anyway).
JOB_OPTIONS = {"ttl": 24 * 3600, "result_ttl": 3600, "job_timeout": 120}


def backoff(attempts: int, key: uuid.UUID | str | None = None) -> timedelta:
    """The wait after ``attempts`` failures; with ``key`` (the row's id) stretched by that row's
    own fixed share of ``JITTER`` (the same row always waits the same)."""
    seconds = BACKOFF_SECONDS[min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1]
    if key is not None:
        share = int(hashlib.sha256(str(key).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        seconds *= 1 + JITTER * share
    return timedelta(seconds=round(seconds, 3))


def enqueue_delivery(app: Flask, notification_id: uuid.UUID | str) -> bool:
    """Best effort; False when Redis is unreachable. One job id per row, so the relay and the
    post-commit hook do not queue the same row twice."""
    return jobs.enqueue(app, deliver, str(notification_id), job_id=f"deliver-{notification_id}",
                        **JOB_OPTIONS)


# --- the jobs ----------------------------------------------------------------------------


def deliver(notification_id: str) -> str:
    """Send one notification if it is still pending and due. Never raises for a mail problem:
    the outcome is written to the row. Returns "sent", "retry", "failed", "pending" (no SMTP
    server) or "skipped" (already handled, being handled, or not due)."""
    return deliver_now(jobs.job_app(), notification_id)


def relay_outbox() -> int:
    """Enqueue a delivery for every pending notification that is due; returns how many.

    Not recorded in ``job_runs``: it runs every scheduler round (2,880 times a day), and its
    health is the outbox itself (pending, overdue, failed: the health page and /metrics) and its
    last success in Redis; a row per round would bury the runs that matter."""
    return relay(jobs.job_app())


def purge_old_notifications() -> int:
    """Retention: finished notifications older than ``NOTIFICATION_RETENTION_DAYS`` go."""
    return purge(jobs.job_app())


# --- the work, on an explicit app ---------------------------------------------------------


def deliver_now(app: Flask, notification_id: str | uuid.UUID) -> str:
    try:
        key = uuid.UUID(str(notification_id))
    except ValueError:
        log.error("deliver: not a notification id: %r", notification_id)
        return "skipped"
    with app.app_context():
        session = db.session
        notification = session.scalars(
            select(Notification)
            .where(Notification.id == key, Notification.state == NotificationState.PENDING,
                   Notification.next_attempt_at <= func.now())
            .with_for_update(skip_locked=True)
        ).one_or_none()
        if notification is None:
            session.rollback()
            return "skipped"
        outcome = _attempt(app, notification)
        session.commit()
        return outcome


def _attempt(app: Flask, notification: Notification) -> str:
    """One delivery attempt while the row is locked; records the outcome on the row."""
    if not app.config.get("SMTP_HOST"):
        # Development without a mail sink: keep the mail, say why it waits, look again later.
        level = logging.ERROR if app.config.get("ENV") == "production" else logging.WARNING
        app.logger.log(level, "notification %s waits: %s (set SMTP_HOST)", notification.id, NO_SMTP)
        notification.last_error = NO_SMTP
        notification.next_attempt_at = func.now() + timedelta(seconds=NO_SMTP_RECHECK_SECONDS)
        return "pending"
    try:
        message = build_message(app, notification, *render(app, notification))
        send(app, message)
    except smtplib.SMTPRecipientsRefused as exc:
        if all(code >= 500 for code, _ in exc.recipients.values()):
            # The server says the address itself is wrong: retrying cannot help.
            return _record_failure(app, notification, exc, permanent=True)
        return _record_failure(app, notification, exc)
    except Exception as exc:  # noqa: BLE001 — every other failure (SMTP, network, template) is retried
        return _record_failure(app, notification, exc)
    notification.state = NotificationState.SENT
    notification.sent_at = func.now()
    notification.last_error = None
    return "sent"


def _record_failure(app: Flask, notification: Notification, exc: Exception, *, permanent: bool = False) -> str:
    notification.attempts += 1
    notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if permanent or notification.attempts >= MAX_ATTEMPTS:
        notification.state = NotificationState.FAILED
        app.logger.error("notification %s failed for good after %d attempt(s): %s",
                         notification.id, notification.attempts, notification.last_error)
        return "failed"
    delay = backoff(notification.attempts, notification.id)
    notification.next_attempt_at = func.now() + delay
    app.logger.warning("notification %s: attempt %d failed, retried in %s: %s", notification.id,
                       notification.attempts, delay, notification.last_error)
    return "retry"


def relay(app: Flask, *, limit: int = RELAY_BATCH) -> int:
    with app.app_context():
        # SKIP LOCKED leaves out rows a worker is delivering right now. The locks are released
        # at once (commit) so the deliveries enqueued below can take them.
        ids = db.session.scalars(
            select(Notification.id)
            .where(Notification.state == NotificationState.PENDING,
                   Notification.next_attempt_at <= func.now())
            .order_by(Notification.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        db.session.commit()
    enqueued = 0
    for notification_id in ids:
        if not enqueue_delivery(app, notification_id):
            break  # Redis is down; the next round tries again
        enqueued += 1
    if ids:
        app.logger.info("relay: %d of %d due notification(s) enqueued", enqueued, len(ids))
    return enqueued


def send_pending(app: Flask, *, scheduled_too: bool = False) -> tuple[int, Counter]:
    """Make the pending notifications that wait for a retry due now, and deliver every due one
    in this process (``flask notifications send-pending``): for the operator who knows the mail
    server is back and wants nothing to wait for its back-off. With ``scheduled_too``, also the
    ones never tried yet that were scheduled for later. In this process, not through the queue:
    it works while Redis is down too, and each row is locked as a worker's delivery locks it,
    so a worker at the same moment sends nothing twice. Returns (made due, outcome → count)."""
    with app.app_context():
        waiting = (Notification.state == NotificationState.PENDING) & (Notification.next_attempt_at > func.now())
        if not scheduled_too:
            waiting &= (Notification.attempts > 0) | Notification.last_error.is_not(None)
        made_due = len(db.session.execute(
            update(Notification).where(waiting).values(next_attempt_at=func.now()).returning(Notification.id)
        ).all())
        ids = db.session.scalars(
            select(Notification.id)
            .where(Notification.state == NotificationState.PENDING, Notification.next_attempt_at <= func.now())
            .order_by(Notification.next_attempt_at)
        ).all()
        db.session.commit()
    outcomes = Counter(deliver_now(app, notification_id) for notification_id in ids)
    return made_due, outcomes


# --- SMTP --------------------------------------------------------------------------------


def message_id(idempotency_key: str, mail_from: str) -> str:
    """The same key always yields the same Message-ID, so a resend is recognisably the same mail."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}.notification@{domain}>"


def build_message(app: Flask, notification: Notification, subject: str, text: str, html: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = app.config["MAIL_FROM"]
    message["To"] = notification.recipient_email
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id(notification.idempotency_key, app.config["MAIL_FROM"])
    # RFC 3834: no vacation replies to a robot.
    message["Auto-Submitted"] = "auto-generated"
    # Quoted-printable keeps the text readable in the raw message (and to spam filters).
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    # After the body: set_content() drops every Content-* header set before it.
    message["Content-Language"] = notification.language
    return message


def send(app: Flask, message: EmailMessage) -> None:
    config = app.config
    smtp = smtplib.SMTP(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), timeout=SMTP_TIMEOUT)
    try:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(message)
    finally:
        # Once the server accepted the message, a failing QUIT must not make it look unsent.
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


PURGE = "purge-notifications"


def purge(app: Flask, *, now: datetime | None = None) -> int:
    days = int(app.config["NOTIFICATION_RETENTION_DAYS"])
    with app.app_context(), jobs.recorded(app, PURGE) as run:
        count = services.purge_finished(db.session, before=(now or clock.now(app)) - timedelta(days=days))
        db.session.commit()
        run.count("purged", count)
    if count:
        log.info("purged %d finished notification(s) older than %d days", count, days)
    return count
