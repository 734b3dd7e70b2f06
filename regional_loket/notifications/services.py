"""Writing notifications to the outbox, and rendering them in the recipient's language.

:func:`notify` only adds a row to the caller's transaction. The mail exists exactly when that
transaction commits: a rollback takes it away with the change that caused it. After the
commit, a delivery job is enqueued as a shortcut; when Redis is down that fails quietly and
the periodic relay (``jobs.relay_outbox``) picks the row up later. Nothing is lost either way.
"""

from __future__ import annotations

import json
import re
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from jinja2 import TemplateNotFound
from sqlalchemy import and_, delete, event, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, scoped_session

from ..extensions import db
from ..tenancy import services as tenancy_services
from .models import Notification, NotificationState

TEMPLATE_NAME = re.compile(r"[a-z][a-z0-9_]{0,79}")
TEMPLATE_PARTS = ("subject.txt", "txt", "html")
MAX_KEY_LENGTH = 200
MAX_EMAIL_LENGTH = 254
# session.info key: [(session transaction, app, notification id)] added and not yet committed.
_PENDING = "notifications.pending"


def notify(
    session: Session,
    *,
    recipient_email: str,
    language: str,
    template: str,
    data: dict,
    idempotency_key: str,
    recipient_user_id: uuid.UUID | None = None,
    tenant_slug: str | None = None,
) -> Notification | None:
    """Add a notification to the caller's transaction (no commit). Returns the new row, or
    None when a notification with this ``idempotency_key`` already exists.

    ``language`` outside the app's LANGUAGES falls back to Dutch. A template that does not
    exist, a malformed address or data that is not JSON raise ValueError at once: those are
    programming errors and must not surface hours later in a worker.
    Reads the app's configuration through ``current_app`` (never the request).
    """
    app = current_app._get_current_object()
    check_template(app, template)
    email = (recipient_email or "").strip()
    if "@" not in email or len(email) > MAX_EMAIL_LENGTH or any(c in email for c in "\r\n\t <>,"):
        raise ValueError(f"not a single e-mail address: {recipient_email!r}")
    if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
        raise ValueError(f"idempotency_key must be 1 to {MAX_KEY_LENGTH} characters")
    data = dict(data or {})
    try:
        json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"notification data must be JSON: {exc}") from exc

    # INSERT … ON CONFLICT DO NOTHING: the unique key decides, also against a concurrent
    # transaction adding the same key (which then waits for ours and adds nothing).
    statement = (
        insert(Notification)
        .values(
            id=uuid.uuid4(), recipient_email=email, recipient_user_id=recipient_user_id,
            language=recipient_language(app, language), template=template, data=data,
            idempotency_key=idempotency_key, tenant_slug=tenant_slug,
            state=NotificationState.PENDING.value, attempts=0,
        )
        .on_conflict_do_nothing(index_elements=[Notification.idempotency_key])
        .returning(Notification)
    )
    notification = session.scalars(statement).one_or_none()
    if notification is not None:
        _remember(session, app, notification.id)
    return notification


def recipient_language(app: Flask, language: str | None) -> str:
    """``fr``, ``FR`` and ``fr-BE`` are French; anything the platform does not speak is Dutch."""
    code = str(language or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in app.config["LANGUAGES"] else app.config.get("BABEL_DEFAULT_LOCALE", "nl")


def check_template(app: Flask, template: str) -> None:
    """Raise ValueError unless ``email/<template>.subject.txt``, ``.txt`` and ``.html`` exist."""
    if not isinstance(template, str) or not TEMPLATE_NAME.fullmatch(template):
        raise ValueError(f"invalid e-mail template name {template!r}")
    for part in TEMPLATE_PARTS:
        try:
            app.jinja_env.get_template(f"email/{template}.{part}")
        except TemplateNotFound as exc:
            raise ValueError(f"e-mail template {template!r} lacks email/{template}.{part}") from exc


def get_notification(session: Session, notification_id: uuid.UUID) -> Notification | None:
    return session.get(Notification, notification_id)


def list_notifications(session: Session, *, state: str | None = None, limit: int = 50) -> list[Notification]:
    """Newest first, for operators."""
    query = select(Notification).order_by(Notification.created_at.desc()).limit(limit)
    if state:
        query = query.where(Notification.state == state)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Backlog:
    pending: int
    failed: int
    oldest_pending_seconds: float  # 0 when nothing waits


def outbox_backlog(session: Session) -> Backlog:
    """What monitoring watches: mails waiting, mails given up on, and how long the oldest
    waiting one has waited (database time). One statement on the state index (sent rows are
    never scanned)."""
    pending = Notification.state == NotificationState.PENDING
    oldest = func.min(Notification.created_at).filter(pending)
    row = session.execute(
        select(
            func.count().filter(pending),
            func.count().filter(Notification.state == NotificationState.FAILED),
            func.coalesce(func.extract("epoch", func.now() - oldest), 0),
        ).where(Notification.state.in_((NotificationState.PENDING, NotificationState.FAILED)))
    ).one()
    return Backlog(row[0], row[1], float(row[2]))


def overdue_count(session: Session, *, before: datetime) -> int:
    """Mails still pending that were written before ``before`` (the health page: they should
    have gone out by now). On the state index, like :func:`outbox_backlog`."""
    return session.scalar(select(func.count()).where(
        Notification.state == NotificationState.PENDING, Notification.created_at < before)) or 0


# --- rendering ---------------------------------------------------------------------------

_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")


def purge_finished(session: Session, *, before: datetime) -> int:
    """Delete sent and finally failed notifications last touched before ``before``: a mail keeps
    the recipient's address and what it said about their child, and once delivered (or given
    up on) the outbox has no reason to keep it. Pending ones are never purged. Returns how many."""
    return session.execute(delete(Notification).where(or_(
        and_(Notification.state == NotificationState.SENT, Notification.sent_at < before),
        and_(Notification.state == NotificationState.FAILED, Notification.updated_at < before),
    ))).rowcount


def render(app: Flask, notification: Notification) -> tuple[str, str, str]:
    """(subject, text, html) of ``notification`` in its recipient's language.

    Templates are rendered straight from the app's Jinja environment, without the web
    layer's context processors: a mail has no request, no host and no logged-in user.
    """
    context = (nullcontext() if has_app_context() and current_app._get_current_object() is app
               else app.app_context())
    with context, force_locale(notification.language):
        tenant = (tenancy_services.get_tenant(db.session, notification.tenant_slug)
                  if notification.tenant_slug else None)
        brand = (_("Loket Kinderopvang %(name)s", name=tenant.name) if tenant is not None
                 else _("Regionaal Loket Kinderopvang"))
        values = {
            "data": notification.data or {},
            "brand": brand,
            "tenant": tenant,
            "colour": tenant.colour if tenant is not None else app.config.get("REGION_COLOUR", "#1d4f91"),
            "language": notification.language,
            "recipient_email": notification.recipient_email,
        }
        env = app.jinja_env
        name = f"email/{notification.template}"
        # A header is one line: whatever the template or the data hold, never a line break.
        subject = " ".join(env.get_template(f"{name}.subject.txt").render(values).split())
        values["subject"] = subject
        text = _BLANK_LINES.sub("\n\n", env.get_template(f"{name}.txt").render(values)).strip() + "\n"
        html = env.get_template(f"{name}.html").render(values)
    return subject, text, html


# --- enqueue after commit ----------------------------------------------------------------


def _session(session) -> Session:
    return session() if isinstance(session, scoped_session) else session


def _remember(session, app: Flask, notification_id: uuid.UUID) -> None:
    session = _session(session)
    # The innermost transaction: if that savepoint rolls back, the row is gone again.
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((transaction, app, notification_id))


def _within(transaction, ancestor) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction) -> None:
    entries = session.info.get(_PENDING)
    if entries:
        session.info[_PENDING] = [e for e in entries if not _within(e[0], previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _forget_on_close(session: Session, transaction) -> None:
    # The outermost transaction ended without a commit (closed, or rolled back): forget all.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_commit")
def _enqueue_committed(session: Session) -> None:
    # A released savepoint is not durable yet; only the outermost commit is.
    if session.in_nested_transaction() or not session.info.get(_PENDING):
        return
    entries = session.info.pop(_PENDING)
    from .jobs import enqueue_delivery

    for _transaction, app, notification_id in entries:
        try:
            if not enqueue_delivery(app, notification_id):
                break  # Redis is down: the relay delivers the rest, no use waiting per row
        except Exception:  # noqa: BLE001 — the caller's commit succeeded; never fail it now
            app.logger.exception("could not enqueue notification %s; the relay will", notification_id)
            break
