"""The application's state machine, as data: which transitions exist, from which statuses, to
which, and which actor roles may trigger each. Every status change goes through
:func:`transition`, which checks this table, changes the status, writes the history event and
tells the listeners; anything not in the table is refused with a translated
:class:`LifecycleError` before anything changed.

``docs/ARCHITECTURE.md`` shows the same table (``markdown_table()``; a test keeps them equal).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ..tenancy.binding import tenant_scope
from .models import Application, ApplicationEvent
from .vocabulary import ACTIVE, CLOSED_STATUSES, WAITING, ActorRole, EventKind, Status, status_label

FAMILY_SIDE = frozenset({ActorRole.FAMILY, ActorRole.REFERRER, ActorRole.DESK})
STAFF = frozenset({ActorRole.PROVIDER})

# What a refusal says, per kind of transition: the page shows it as it is.
_GONE = _l("Dat kan niet meer: de aanvraag is intussen %(status)s.")
_NO_OFFER = _l("Dit aanbod staat niet (meer) open.")


@dataclass(frozen=True)
class Transition:
    name: str
    from_: frozenset[str]  # empty: the application does not exist yet (creation)
    to: str
    by: frozenset[str]  # actor roles (vocabulary.ActorRole)
    refused: object = _GONE  # the message when the status is not one of ``from_``; %(status)s
    what: object = ""  # one line for the docs


TRANSITIONS: tuple[Transition, ...] = (
    Transition("submit", frozenset(), Status.SUBMITTED, FAMILY_SIDE,
               what="the request is submitted, or a choice added to an open one"),
    Transition("mark_in_review", frozenset({Status.SUBMITTED}), Status.IN_REVIEW, STAFF),
    Transition("waitlist", frozenset({Status.SUBMITTED, Status.IN_REVIEW}), Status.WAITLISTED, STAFF),
    Transition("offer", frozenset(WAITING), Status.OFFERED, STAFF,
               what="holds one free place of the month and age group"),
    Transition("cancel_offer", frozenset({Status.OFFERED}), Status.WAITLISTED, STAFF,
               refused=_l("Er staat geen aanbod open."), what="gives the place back"),
    Transition("reject", frozenset(WAITING), Status.REJECTED, STAFF, what="with a reason"),
    Transition("accept", frozenset({Status.OFFERED}), Status.ACCEPTED, FAMILY_SIDE | STAFF, refused=_NO_OFFER,
               what="before the deadline; staff record an acceptance by phone"),
    Transition("decline", frozenset({Status.OFFERED}), Status.DECLINED, FAMILY_SIDE, refused=_NO_OFFER,
               what="gives the place back"),
    Transition("withdraw", frozenset(ACTIVE), Status.WITHDRAWN, FAMILY_SIDE | {ActorRole.SYSTEM},
               refused=_l("Deze aanvraag is al afgesloten."),
               what="gives back a held place; system: accepted elsewhere, higher choice accepted, family erased"),
    Transition("expire", frozenset({Status.OFFERED}), Status.EXPIRED, frozenset({ActorRole.SYSTEM}),
               refused=_NO_OFFER, what="past the deadline (daily job, 00:05); gives the place back"),
)
BY_NAME = {t.name: t for t in TRANSITIONS}


class LifecycleError(ValueError):
    """A refused change: a translated message; nothing was changed. ``kind`` says why, for
    machines: ``stale`` (the page showed an older version: someone acted first — answer 409),
    ``status`` (not allowed from the current status), ``actor`` (not by this role), ``input``
    (a field the caller filled in; ``field`` names it)."""

    def __init__(self, message, field: str | None = None, *, kind: str = "input"):
        super().__init__(str(message))
        self.message, self.field, self.kind = str(message), field, kind  # plain: never marked safe HTML

    @property
    def stale(self) -> bool:
        return self.kind == "stale"


def check_version(application: Application, version: int | None) -> None:
    """Refuse a page that acted on an outdated version. Check before touching the row: each
    flush is a new version."""
    if version is not None and application.version != version:
        raise LifecycleError(_l("Iemand anders heeft deze aanvraag intussen gewijzigd. Bekijk de nieuwe toestand en "
                                "probeer opnieuw."), kind="stale")


def allowed(name: str, status: str | None, role: str) -> bool:
    """Whether the table lets ``role`` do ``name`` now (templates use it to show buttons)."""
    spec = BY_NAME[name]
    return role in spec.by and (status in spec.from_ if spec.from_ else status is None)


def check(name: str, status: str | None, role: str) -> Transition:
    """The transition, or a LifecycleError when the table does not allow it."""
    spec = BY_NAME[name]
    if spec.from_ and status not in spec.from_ or not spec.from_ and status is not None:
        raise LifecycleError(str(spec.refused) % {"status": status_label(status)}, kind="status")
    if role not in spec.by:
        raise LifecycleError(_l("Dit mag u niet doen met deze aanvraag."), kind="actor")
    return spec


# --- what happened, and who is told --------------------------------------------------------------


@dataclass
class Change:
    """One thing that happened to an application: a transition (``name`` from TRANSITIONS,
    ``to_status`` set) or another event (``name`` = the event kind, ``to_status`` None)."""

    name: str
    tenant: object
    application: Application
    event: ApplicationEvent
    actor_id: uuid.UUID | None
    actor_role: str
    now: datetime
    from_status: str | None = None
    to_status: str | None = None
    detail: dict = field(default_factory=dict)


Listener = Callable[[Session, Change], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> Listener:
    """Call ``listener(session, change)`` after every change, in the caller's transaction and
    with no tenant bound: ``care_requests`` keeps the family's ``Choice`` and request in step
    and tells the family; ``staff`` tells provider staff what the family side did. Registering
    twice is harmless."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def emit(session: Session, change: Change) -> None:
    for listener in _listeners:
        listener(session, change)


def event(application: Application, kind: str, *, actor_id, actor_role: str, now: datetime, to_status=None,
          from_status=None, text: str | None = None, detail: dict | None = None) -> ApplicationEvent:
    """Append a history event (the application's tenant bound). Its id is set here, not at
    flush: listeners key notifications on it (one mail per event, never one per version)."""
    row = ApplicationEvent(id=uuid.uuid4(), kind=kind, actor_id=actor_id, actor_role=actor_role, from_status=from_status,
                           to_status=to_status, text=text, detail=detail or {}, at=now)
    application.events.append(row)
    return row


def transition(session: Session, tenant, application: Application, name: str, *, actor_id, actor_role: str,
               now: datetime, version: int | None = None, text: str | None = None, detail: dict | None = None,
               apply: Callable[[Application], None] | None = None) -> Change:
    """Move ``application`` by the transition ``name``: check the page's version and the table,
    run ``apply`` (what the transition changes besides the status: a hold, a deadline, a
    reason — it may refuse too, still before anything changed), set the status and
    ``answered_at``, write the event, tell the listeners."""
    check_version(application, version)
    spec = check(name, application.status, actor_role)
    with tenant_scope(session, tenant):
        if apply is not None:
            apply(application)
        from_status = application.status
        application.status = spec.to
        if spec.to in CLOSED_STATUSES:
            application.answered_at = application.answered_at or now
        row = event(application, EventKind.STATUS, actor_id=actor_id, actor_role=actor_role, from_status=from_status,
                    to_status=spec.to, text=text, detail=detail, now=now)
    change = Change(name, tenant, application, row, actor_id, actor_role, now, from_status, spec.to, detail or {})
    emit(session, change)
    return change


def markdown_table() -> str:
    """The table as docs/ARCHITECTURE.md shows it."""
    lines = ["| transition | from | to | by | notes |", "|---|---|---|---|---|"]
    order = list(Status) + list(ActorRole)  # statuses in lifecycle order, roles family side first
    for spec in TRANSITIONS:
        sources = ", ".join(f"`{s}`" for s in sorted(spec.from_, key=order.index)) or "—"
        roles = ", ".join(sorted(spec.by, key=order.index))
        lines.append(f"| `{spec.name}` | {sources} | `{spec.to}` | {roles} | {spec.what} |")
    return "\n".join(lines)
