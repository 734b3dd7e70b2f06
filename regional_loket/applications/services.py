"""Everything that happens to an application, one function per transition (table:
``lifecycle.TRANSITIONS``) and per other event (messages, notes, flags, a changed plan), each
taking the session, the tenant, the application, the actor and the time; all in the caller's
transaction. Listeners (``lifecycle.listen``) follow every change: ``care_requests`` keeps
the family's ``Choice`` and request in step and tells the family; ``staff`` tells provider
staff what the family side did.

No overbooking: an offer takes one free place of the month and age group under a row lock
(``SELECT … FOR UPDATE``); of two staff offering the last place at once, the second waits for
the first and then finds none left. Every way out of an offer (or of an accepted place) —
cancel, decline, expiry, withdrawal, erasure — gives the place back.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..catalog import Availability, Location
from ..months import age_group_at, age_in_months, month_start
from ..tenancy import AuditEntry
from ..tenancy.binding import tenant_scope
from .lifecycle import Change, LifecycleError, check, check_version, emit, event, transition
from .models import Application, ApplicationEvent
from .vocabulary import REJECT_REASONS, WAITING, ActorRole, EventKind, Status, StatusNote

MAX_TEXT = 2000


# --- loading -------------------------------------------------------------------------------------


def load(session: Session, tenant, application_id: uuid.UUID) -> Application | None:
    """One application of ``tenant`` with its history (read while the tenant is bound)."""
    with tenant_scope(session, tenant):
        application = session.get(Application, application_id)
        if application is not None:
            application.events  # noqa: B018 — load the history while this tenant is bound
    return application


def load_many(session: Session, tenant, application_ids) -> dict[uuid.UUID, Application]:
    """Applications of ``tenant`` by id, with their histories: two statements however many."""
    with tenant_scope(session, tenant):
        return {a.id: a for a in session.scalars(
            select(Application).where(Application.id.in_(list(application_ids)))
            .options(selectinload(Application.events)))}


# --- creation ------------------------------------------------------------------------------------


def create(session: Session, tenant, *, location, request_id: uuid.UUID, rank: int, snapshot: dict,
           start_month: date, age_group: str, actor_id, actor_role: str, now: datetime,
           application_id: uuid.UUID | None = None) -> Application:
    """The ``submit`` transition: a new application at ``location`` (of ``tenant``) with its
    first history event. ``application_id`` lets the caller point at it before it exists."""
    check("submit", None, actor_role)
    with tenant_scope(session, tenant):
        application = Application(
            id=application_id or uuid.uuid4(), request_id=request_id, location_id=location.id, rank=rank,
            status=Status.SUBMITTED, snapshot=snapshot, submitted_at=now, start_month=start_month,
            age_group=age_group)
        row = event(application, EventKind.STATUS, actor_id=actor_id, actor_role=actor_role,
                    to_status=Status.SUBMITTED, now=now)
        session.add(application)
        session.flush()
    emit(session, Change("submit", tenant, application, row, actor_id, actor_role, now, None, Status.SUBMITTED))
    return application


# --- holding free places (the application's tenant bound) --------------------------------------


def _take_place(session: Session, application: Application, month: date) -> None:
    slot = session.scalar(
        select(Availability).where(Availability.location_id == application.location_id,
                                   Availability.month == month,
                                   Availability.age_group == application.age_group).with_for_update())
    if slot is None or slot.free_places < 1:
        raise LifecycleError(_l("Er is geen vrije plaats meer voor die maand en leeftijdsgroep. Pas eerst de vrije "
                                "plaatsen aan."), "month")
    slot.free_places -= 1
    application.held_month, application.held_age_group = month, application.age_group


def _release_hold(session: Session, application: Application) -> None:
    """Give back the free place an offer (or an accepted place) holds; nothing when none."""
    if application.held_month is None:
        return
    slot = session.scalar(select(Availability).where(
        Availability.location_id == application.location_id, Availability.month == application.held_month,
        Availability.age_group == application.held_age_group).with_for_update())
    if slot is not None:
        slot.free_places += 1
    application.held_month = application.held_age_group = None


# --- the provider's transitions -----------------------------------------------------------------


def mark_in_review(session: Session, tenant, application: Application, *, actor_id, now: datetime,
                   version: int | None = None, actor_role: str = ActorRole.PROVIDER) -> Change:
    return transition(session, tenant, application, "mark_in_review", actor_id=actor_id, actor_role=actor_role,
                      now=now, version=version)


def waitlist(session: Session, tenant, application: Application, *, actor_id, now: datetime,
             version: int | None = None, actor_role: str = ActorRole.PROVIDER) -> Change:
    return transition(session, tenant, application, "waitlist", actor_id=actor_id, actor_role=actor_role, now=now,
                      version=version)


def reject(session: Session, tenant, application: Application, *, reason: str, text: str | None, actor_id,
           now: datetime, version: int | None = None, actor_role: str = ActorRole.PROVIDER) -> Change:
    """Refuse with a reason (and words of one's own: required for "other")."""
    if reason not in REJECT_REASONS:
        raise LifecycleError(_l("Kies een reden."), "reason")
    text = (text or "").strip() or None
    if reason == "other" and not text:
        raise LifecycleError(_l("Licht de reden toe."), "text")

    def apply(row: Application) -> None:
        row.reject_reason = reason

    return transition(session, tenant, application, "reject", actor_id=actor_id, actor_role=actor_role, now=now,
                      version=version, text=text, apply=apply)


def offer(session: Session, tenant, application: Application, *, month: date | None = None, deadline: date | None,
          actor_id, now: datetime, today: date, version: int | None = None,
          actor_role: str = ActorRole.PROVIDER) -> Change:
    """Offer a place: hold one free place of the month (default: the wanted start month) and
    age group, with a response deadline (default: the municipality's offer days)."""
    deadline = deadline or today + timedelta(days=tenant.settings.offer_days)
    month = month or application.start_month

    def apply(row: Application) -> None:
        if row.paused_at is not None:
            raise LifecycleError(PAUSED_REFUSAL, kind="status")
        if deadline < today:
            raise LifecycleError(_l("De antwoordtermijn ligt in het verleden."), "deadline")
        _take_place(session, row, month)
        row.offer_deadline = deadline

    return transition(session, tenant, application, "offer", actor_id=actor_id, actor_role=actor_role, now=now,
                      version=version, detail={"month": month.isoformat(), "deadline": deadline.isoformat()},
                      apply=apply)


def cancel_offer(session: Session, tenant, application: Application, *, actor_id, now: datetime,
                 version: int | None = None, actor_role: str = ActorRole.PROVIDER) -> Change:
    def apply(row: Application) -> None:
        _release_hold(session, row)
        row.offer_deadline = None

    return transition(session, tenant, application, "cancel_offer", actor_id=actor_id, actor_role=actor_role,
                      now=now, version=version, text=StatusNote.OFFER_CANCELLED, apply=apply)


# --- the family's transitions (request-level rules live in care_requests) ------------------------


def accept(session: Session, tenant, application: Application, *, actor_id, actor_role: str, now: datetime,
           today: date, version: int | None = None, note: str | None = None) -> Change:
    """Accept an offer before its deadline; the place it holds stays taken. ``note``: how the
    family consented when someone acts for it (the desk, by phone), kept on the event."""
    def apply(row: Application) -> None:
        if row.offer_deadline and row.offer_deadline < today:
            raise LifecycleError(_l("De termijn om op dit aanbod te antwoorden is verstreken."), kind="status")

    return transition(session, tenant, application, "accept", actor_id=actor_id, actor_role=actor_role, now=now,
                      version=version, text=note, apply=apply)


def decline(session: Session, tenant, application: Application, *, actor_id, actor_role: str, now: datetime,
            version: int | None = None, note: str | None = None) -> Change:
    return transition(session, tenant, application, "decline", actor_id=actor_id, actor_role=actor_role, now=now,
                      version=version, text=note, apply=lambda row: _release_hold(session, row))


def withdraw(session: Session, tenant, application: Application, *, actor_id, actor_role: str, now: datetime,
             note: str | None = None, version: int | None = None) -> Change:
    """Withdraw an open application or an accepted place, giving back what it holds. ``note``:
    a ``StatusNote`` when the system withdraws (accepted elsewhere, family erased …)."""
    return transition(session, tenant, application, "withdraw", actor_id=actor_id, actor_role=actor_role, now=now,
                      version=version, text=note, apply=lambda row: _release_hold(session, row))


# --- the clock -----------------------------------------------------------------------------------


def expire(session: Session, tenant, application: Application, *, now: datetime) -> Change:
    return transition(session, tenant, application, "expire", actor_id=None, actor_role=ActorRole.SYSTEM, now=now,
                      apply=lambda row: _release_hold(session, row))


def expire_offers(session: Session, tenant, *, today: date, now: datetime) -> int:
    """Offers past their deadline expire and give their place back (run by the scheduler)."""
    with tenant_scope(session, tenant):
        stale = list(session.scalars(select(Application).where(
            Application.status == Status.OFFERED, Application.offer_deadline < today)))
    for application in stale:
        expire(session, tenant, application, now=now)
    return len(stale)


# Days before an offer's deadline the family is reminded (the deadline day itself counts).
OFFER_REMINDER_DAYS = 2
# An offer made less than this long ago is not reminded of: its own mail is that recent.
OFFER_REMINDER_QUIET = timedelta(hours=24)


def remind_offers(session: Session, tenant, *, today: date, now: datetime,
                  days: int = OFFER_REMINDER_DAYS) -> int:
    """Offers whose deadline is at most ``days`` away get one ``reminder`` event each (the
    family's side tells the family: ``care_requests`` listens). Once per offer: the event
    names the offer's own status event, and an offer already reminded is left alone, so a
    second run (or a rerun after a crash) reminds nobody twice. Returns how many were reminded."""
    with tenant_scope(session, tenant):
        due = list(session.scalars(select(Application).where(
            Application.status == Status.OFFERED, Application.offer_deadline >= today,
            Application.offer_deadline <= today + timedelta(days=days))))
        if not due:
            return 0
        events = session.execute(
            select(ApplicationEvent.application_id, ApplicationEvent.id, ApplicationEvent.kind,
                   ApplicationEvent.at, ApplicationEvent.detail)
            .where(ApplicationEvent.application_id.in_([a.id for a in due]),
                   ((ApplicationEvent.kind == EventKind.STATUS) & (ApplicationEvent.to_status == Status.OFFERED))
                   | (ApplicationEvent.kind == EventKind.REMINDER))
            .order_by(ApplicationEvent.at)).all()
    offered, reminded = {}, set()
    for application_id, event_id, kind, at, detail in events:
        if kind == EventKind.STATUS:
            offered[application_id] = (event_id, at)  # the latest offer wins (ordered by time)
        else:
            reminded.add((application_id, (detail or {}).get("offer_event")))
    count = 0
    for application in due:
        offer_event, offered_at = offered.get(application.id, (None, None))
        if offer_event is None or (application.id, str(offer_event)) in reminded:
            continue
        if offered_at > now - OFFER_REMINDER_QUIET:
            continue
        _record(session, tenant, application, EventKind.REMINDER, actor_id=None, actor_role=ActorRole.SYSTEM,
                now=now, detail={"offer_event": str(offer_event), "deadline": application.offer_deadline.isoformat()})
        count += 1
    return count


# --- paused while the family's request is inactive ---------------------------------------------

PAUSED_REFUSAL = _l("Deze aanvraag is gepauzeerd: het gezin bevestigde zijn aanvraag niet op tijd. Ze komt terug "
                    "op de wachtlijst zodra het gezin bevestigt.")


def pause(session: Session, tenant, application: Application, *, now: datetime) -> Change | None:
    """Take a waiting application out of the ranked lists while its request is inactive (the
    system, after a missed confirmation): the status stays, ``paused_at`` is set, a ``paused``
    event tells the timelines, the listeners and the audit log. Nothing when it is not
    waiting or already paused. An offer is left alone: it has its own deadline."""
    if application.status not in WAITING or application.paused_at is not None:
        return None
    with tenant_scope(session, tenant):
        application.paused_at = now
    return _record(session, tenant, application, EventKind.PAUSED, actor_id=None, actor_role=ActorRole.SYSTEM,
                   now=now)


def resume(session: Session, tenant, application: Application, *, actor_id, actor_role: str,
           now: datetime) -> Change | None:
    """The family confirmed: back in its list. ``submitted_at`` never moved, so the ranking puts
    it back at its original place (before everything submitted later). A paused application
    that closed meanwhile (withdrawn, rejected) loses the mark without an event."""
    if application.paused_at is None:
        return None
    with tenant_scope(session, tenant):
        application.paused_at = None
    if application.status not in WAITING:
        return None
    return _record(session, tenant, application, EventKind.RESUMED, actor_id=actor_id, actor_role=actor_role,
                   now=now)


# --- events that change no status ---------------------------------------------------------------


def _record(session: Session, tenant, application: Application, kind: str, *, actor_id, actor_role: str,
            now: datetime, text: str | None = None, detail: dict | None = None) -> Change:
    with tenant_scope(session, tenant):
        row = event(application, kind, actor_id=actor_id, actor_role=actor_role, text=text, detail=detail, now=now)
    change = Change(kind, tenant, application, row, actor_id, actor_role, now, detail=detail or {})
    emit(session, change)
    return change


def _checked_text(text: str | None, message) -> str:
    text = (text or "").strip()
    if not text or len(text) > MAX_TEXT:
        raise LifecycleError(message, "text")
    return text


def set_flags(session: Session, tenant, application: Application, flags: dict, *, actor_id, now: datetime,
              version: int | None = None) -> Change:
    """Mark which of the location's own criteria this application meets."""
    check_version(application, version)
    with tenant_scope(session, tenant):
        application.flags = {code: bool(value) for code, value in flags.items()}
    return _record(session, tenant, application, EventKind.NOTE, actor_id=actor_id, actor_role=ActorRole.PROVIDER,
                   now=now, detail={"flags": application.flags})


def note(session: Session, tenant, application: Application, *, text: str, actor_id, now: datetime) -> Change:
    """An internal staff note, never shown to the family."""
    text = _checked_text(text, _l("Een notitie heeft 1 tot 2000 tekens."))
    return _record(session, tenant, application, EventKind.NOTE, actor_id=actor_id, actor_role=ActorRole.PROVIDER,
                   now=now, text=text)


def message(session: Session, tenant, application: Application, *, text: str, actor_id, now: datetime) -> Change:
    """A message from the provider to the family."""
    text = _checked_text(text, _l("Een bericht heeft 1 tot 2000 tekens."))
    return _record(session, tenant, application, EventKind.MESSAGE_PROVIDER, actor_id=actor_id,
                   actor_role=ActorRole.PROVIDER, now=now, text=text)


def message_from_family(session: Session, tenant, application: Application, *, text: str, actor_id,
                        actor_role: str, now: datetime) -> Change:
    """A message from the family to the provider (the family's side checked its length)."""
    return _record(session, tenant, application, EventKind.MESSAGE_FAMILY, actor_id=actor_id,
                   actor_role=actor_role, now=now, text=text)


def change_plan(session: Session, tenant, application: Application, *, start_date: date, care_plan: dict,
                reference_date: date | None, before: dict, actor_id, actor_role: str, now: datetime,
                note: str | None = None) -> Change:
    """The family moved the start or changed the care plan: an open application follows — its
    start month, its age group at the new start (``reference_date``: the child's birth or due
    date) and the age in its snapshot, so the ranking and the place an offer takes are the
    new ones. A place an offer already holds stays held (``held_age_group``)."""
    after = {"start_date": start_date.isoformat(), "care_plan": dict(care_plan)}
    with tenant_scope(session, tenant):
        application.start_month = month_start(start_date)
        child = dict(application.snapshot.get("child", {}))
        if reference_date is not None:
            kind = session.get(Location, application.location_id).kind
            application.age_group = age_group_at(reference_date, start_date, kind)
            child["age_months_at_start"] = age_in_months(reference_date, start_date)
        application.snapshot = {**application.snapshot, **after, "child": child}
    return _record(session, tenant, application, EventKind.CHANGE, actor_id=actor_id, actor_role=actor_role,
                   now=now, text=note, detail={"before": before, "after": after})


# --- erasure -------------------------------------------------------------------------------------

ERASED = {"erased": True}
_PERSONAL_EVENTS = (EventKind.MESSAGE_FAMILY, EventKind.MESSAGE_PROVIDER, EventKind.NOTE, EventKind.CHANGE)
_NOTE_CODES = frozenset(StatusNote)


def anonymise(session: Session, tenant, applications: list[Application], *, now: datetime) -> int:
    """A family's data were erased: keep these applications (the provider's lists and figures
    stay true) without anything personal — the snapshot but the age, the words of messages and
    notes, the family as actor — and write an audit line without personal data. Withdraw what
    is still running first. Returns how many were anonymised."""
    with tenant_scope(session, tenant):
        for application in applications:
            age = application.snapshot.get("child", {}).get("age_months_at_start")
            application.snapshot = {**ERASED, "age_months_at_start": age}
            for row in application.events:
                if row.kind in _PERSONAL_EVENTS:
                    row.text, row.detail = None, {}
                elif row.text is not None and row.text not in _NOTE_CODES:
                    # A status change's own words (a refusal explained, how the desk took the
                    # family's consent) may say who the family is; the system's codes do not.
                    row.text = None
                if row.actor_role == ActorRole.FAMILY:
                    row.actor_id = None
        session.add(AuditEntry(action="family_erased", subject=None, actor_id=None,
                               detail={"applications": len(applications)}, at=now))
    return len(applications)
