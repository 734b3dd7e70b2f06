"""The family's side of requests: drafting, submitting to several municipalities in one
transaction, answering offers, withdrawing, changing, confirming, messaging.

Every cross-municipality write goes through ``tenant_scope`` inside the caller's transaction,
so a failure while writing the third municipality's application leaves nothing anywhere.
Each application's own change is ``applications.services``' (which checks its transition
table); what is about the whole request stays here ("accepting withdraws the other choices").
``_follow`` listens to every application change: it keeps ``Choice.status`` in step, sets the
request's status by the one rule (``request_status``) and tells the family what the provider
(or the clock) did.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import force_locale, format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..applications import (
    ACTIVE,
    OPEN_STATUSES,
    WAITING,
    ActorRole,
    Application,
    Change,
    EventKind,
    LifecycleError,
    Status,
    StatusNote,
    listen,
    ranking,
)
from ..applications import services as applications
from ..catalog import CatalogLocation, Location
from ..families import Child, Family
from ..months import add_months, age_group_at, age_in_months, month_start
from ..notifications.services import notify
from ..tenancy import Tenant, TenantStatus
from ..tenancy.binding import tenant_scope
from ..tenancy.services import max_choices
from .labels import FAMILY_NEWS
from .models import DAY_CARE, CareRequest, Choice, RequestStatus

DUPLICATE_WINDOW = timedelta(days=183)  # two open requests for one child this close are one request


class RequestError(ValueError):
    """A refused request operation: a translated message, and the form field it is about."""

    def __init__(self, message, field: str | None = None, *, existing: uuid.UUID | None = None):
        # Translated now, as a plain string: a lazy string counts as safe HTML in templates,
        # and some messages repeat what a user typed.
        super().__init__(str(message))
        self.message, self.field, self.existing = str(message), field, existing


# --- checks ----------------------------------------------------------------------------------


def check_plan(child: Child, start_date: date | None, care_plan: dict, *, today: date) -> None:
    if start_date is None:
        raise RequestError(_l("Kies een startdatum."), "start_date")
    if start_date < today:
        raise RequestError(_l("De startdatum ligt in het verleden."), "start_date")
    if child.reference_date and start_date < child.reference_date:
        raise RequestError(_l("De startdatum ligt voor de (verwachte) geboortedatum."), "start_date")
    if start_date > add_months(today, 36):
        raise RequestError(_l("Kies een startdatum in de komende drie jaar."), "start_date")
    if set(care_plan) - {str(d) for d in range(1, 8)} or any(v not in DAY_CARE for v in care_plan.values()):
        raise RequestError(_l("Kies per dag: geen, halve dag of volle dag."), "care_plan")
    if not any(v != "none" for v in care_plan.values()):
        raise RequestError(_l("Kies minstens één dag opvang."), "care_plan")


def why_not_choosable(session: Session, location_id: uuid.UUID, child: Child | None,
                      start_date: date | None) -> object | None:
    """A translated reason why this location cannot be chosen, or None when it can."""
    row = session.execute(
        select(CatalogLocation, Tenant.status).join(Tenant, Tenant.id == CatalogLocation.tenant_id)
        .where(CatalogLocation.location_id == location_id)
    ).first()
    if row is None or not row[0].active:
        return _l("Deze opvanglocatie bestaat niet (meer).")
    location, tenant_status = row
    if tenant_status != TenantStatus.ACTIVE:
        return _l("Deze gemeente neemt niet meer deel aan het loket.")
    if not location.accepts_online:
        return _l("Deze locatie aanvaardt geen online aanvragen. Neem contact op met de locatie of het loket.")
    if child is not None and start_date is not None and child.reference_date is not None:
        months = age_in_months(child.reference_date, start_date)
        if not location.min_age_months <= max(months, 0) <= location.max_age_months:
            return _l("Uw kind is bij de start %(age)s maanden; deze locatie vangt kinderen op van %(min)s tot "
                      "%(max)s maanden.", age=max(months, 0), min=location.min_age_months,
                      max=location.max_age_months)
    return None


def find_duplicate(session: Session, child: Child, start_date: date, *, exclude: uuid.UUID | None = None
                   ) -> CareRequest | None:
    """An open request of the same child (by national number when known, else by name, birth or
    due date and guardian) for about the same start."""
    query = (
        select(CareRequest).join(Child, Child.id == CareRequest.child_id)
        .where(CareRequest.status == RequestStatus.OPEN)
    )
    if child.national_number_digest:
        query = query.where(Child.national_number_digest == child.national_number_digest)
    else:
        query = query.where(
            Child.family_id == child.family_id,
            Child.first_name.ilike(child.first_name), Child.last_name.ilike(child.last_name),
            (Child.birth_date == child.birth_date) if child.birth_date else (Child.due_date == child.due_date),
        )
    if exclude is not None:
        query = query.where(CareRequest.id != exclude)
    for candidate in session.scalars(query):
        if candidate.start_date and abs(candidate.start_date - start_date) <= DUPLICATE_WINDOW:
            return candidate
    return None


# --- drafting --------------------------------------------------------------------------------


def draft(session: Session, family: Family, child: Child, *, actor_id: uuid.UUID) -> CareRequest:
    request = CareRequest(family_id=family.id, child_id=child.id, status=RequestStatus.DRAFT,
                          care_plan={str(d): "full" for d in range(1, 6)}, created_by_user_id=actor_id)
    session.add(request)
    session.flush()
    return request


def set_plan(request: CareRequest, child: Child, *, start_date: date, flexibility_weeks: int, care_plan: dict,
             keep_higher_choices: bool, today: date) -> None:
    check_plan(child, start_date, care_plan, today=today)
    if not 0 <= flexibility_weeks <= 26:
        raise RequestError(_l("Hoeveel weken kan de start verschuiven? Kies 0 tot 26."), "flexibility_weeks")
    request.start_date, request.flexibility_weeks = start_date, flexibility_weeks
    request.care_plan, request.keep_higher_choices = dict(care_plan), keep_higher_choices


def add_choice(session: Session, request: CareRequest, child: Child, location_id: uuid.UUID) -> Choice:
    """Add a location to a draft. A submitted request takes one through ``add_to_open_request``,
    which also sends it: a choice without an application would reach no provider."""
    if request.status != RequestStatus.DRAFT:
        raise RequestError(_l("Deze aanvraag werd al ingediend."), "location")
    return _new_choice(session, request, child, location_id)


def _new_choice(session: Session, request: CareRequest, child: Child, location_id: uuid.UUID) -> Choice:
    if any(c.location_id == location_id for c in request.choices):
        raise RequestError(_l("Deze locatie staat al in uw keuzes."), "location")
    if len(request.choices) >= max_choices(session):
        raise RequestError(_l("U kunt hoogstens %(max)s locaties kiezen.", max=max_choices(session)), "location")
    reason = why_not_choosable(session, location_id, child, request.start_date)
    if reason is not None:
        raise RequestError(reason, "location")
    tenant_id = session.scalar(select(CatalogLocation.tenant_id).where(CatalogLocation.location_id == location_id))
    # The region's maximum holds for the request; a municipality may allow fewer of its own.
    tenant = session.get(Tenant, tenant_id)
    own_limit = max_choices(session, tenant)
    if sum(c.tenant_id == tenant_id for c in request.choices) >= own_limit:
        raise RequestError(_l("U kunt hoogstens %(max)s locaties in %(municipality)s kiezen.", max=own_limit,
                              municipality=tenant.name), "location")
    choice = Choice(location_id=location_id, tenant_id=tenant_id, rank=len(request.choices) + 1)
    request.choices.append(choice)
    session.flush()
    return choice


def move_choice(request: CareRequest, choice_id: uuid.UUID, offset: int) -> None:
    ordered = list(request.choices)
    index = next(i for i, c in enumerate(ordered) if c.id == choice_id)
    target = min(max(index + offset, 0), len(ordered) - 1)
    ordered.insert(target, ordered.pop(index))
    for rank, choice in enumerate(ordered, 1):
        choice.rank = rank


def remove_choice(session: Session, request: CareRequest, choice_id: uuid.UUID) -> None:
    request.choices = [c for c in request.choices if c.id != choice_id]
    session.flush()
    for rank, choice in enumerate(request.choices, 1):
        choice.rank = rank


# --- submitting ------------------------------------------------------------------------------


def snapshot(family: Family, child: Child, request: CareRequest, location: Location) -> dict:
    """What the provider of ``location`` needs to decide — and nothing more: no national number,
    no other choices, no address beyond the postcode."""
    months = age_in_months(child.reference_date, request.start_date)
    return {
        "child": {"first_name": child.first_name, "last_name": child.last_name,
                  "birth_date": child.birth_date.isoformat() if child.birth_date else None,
                  "due_date": child.due_date.isoformat() if child.due_date else None,
                  "age_months_at_start": months, "extra_care_needs": child.extra_care_needs},
        "start_date": request.start_date.isoformat(), "flexibility_weeks": request.flexibility_weeks,
        "care_plan": dict(request.care_plan),
        "declarations": {"needs_care_for_work": family.needs_care_for_work, "single_parent": family.single_parent,
                         "low_income": family.low_income, "foster_child": child.foster_child,
                         "sibling_here": location.id in (child.sibling_location_ids or [])},
        "contact": {"guardians": [g.name for g in family.guardians if g.user_id or g.accepted_at] or
                    [g.name for g in family.guardians[:1]],
                    "phone": family.phone, "postcode": family.postcode, "language": family.language},
        "referrer": family.referrer_organisation,
    }


def submit(session: Session, request: CareRequest, family: Family, child: Child, *, actor_id: uuid.UUID,
           actor_role: str = "family", now: datetime, today: date) -> None:
    """Open the request and write one application per choice into each location's own
    municipality, all in the caller's transaction."""
    if request.status != RequestStatus.DRAFT:
        raise RequestError(_l("Deze aanvraag werd al ingediend."))
    check_plan(child, request.start_date, request.care_plan, today=today)
    if not request.choices:
        raise RequestError(_l("Kies minstens één opvanglocatie."), "location")
    if len(request.choices) > max_choices(session):
        raise RequestError(_l("U kunt hoogstens %(max)s locaties kiezen.", max=max_choices(session)), "location")
    if len({c.location_id for c in request.choices}) != len(request.choices):
        raise RequestError(_l("Eén locatie staat twee keer in uw keuzes."), "location")
    if not family.postcode:
        raise RequestError(_l("Vul eerst uw adres in."), "postcode")
    duplicate = find_duplicate(session, child, request.start_date, exclude=request.id)
    if duplicate is not None:
        raise RequestError(_l("Er loopt al een aanvraag voor %(name)s rond die startdatum.", name=child.first_name),
                           existing=duplicate.id)
    for choice in request.choices:
        reason = why_not_choosable(session, choice.location_id, child, request.start_date)
        if reason is not None:
            raise RequestError(reason, "location")

    tenants = {t.id: t for t in session.scalars(select(Tenant).where(
        Tenant.id.in_({c.tenant_id for c in request.choices})))}
    for choice in request.choices:
        _send(session, tenants[choice.tenant_id], request, family, child, choice, actor_id=actor_id,
              actor_role=actor_role, now=now)
    request.status, request.submitted_at, request.confirmed_at = RequestStatus.OPEN, now, now
    session.flush()
    tell_family(session, family, "request_submitted", f"submitted:{request.id}", actor_role=actor_role,
                child=child.first_name, count=len(request.choices), url=request_url(request.id))


def _send(session: Session, tenant: Tenant, request: CareRequest, family: Family, child: Child, choice: Choice, *,
          actor_id, actor_role: str, now: datetime) -> Application:
    """Write the application of one choice into its location's municipality, with its first
    history event, and mirror it on the choice: the same at submission and when a choice is
    added to an open request."""
    with tenant_scope(session, tenant):
        location = session.get(Location, choice.location_id)
        if location is None or not location.active or not location.accepts_online:
            raise RequestError(_l("Een gekozen locatie aanvaardt intussen geen aanvragen meer."), "location")
        shared = snapshot(family, child, request, location)
    # The choice points at its application before it exists, so the listener finds it.
    choice.application_id = uuid.uuid4()
    with _refused():
        return applications.create(
            session, tenant, location=location, request_id=request.id, rank=choice.rank, snapshot=shared,
            start_month=month_start(request.start_date),
            age_group=age_group_at(child.reference_date, request.start_date, location.kind),
            actor_id=actor_id, actor_role=actor_role, now=now, application_id=choice.application_id)


def add_to_open_request(session: Session, request: CareRequest, family: Family, child: Child,
                        location_id: uuid.UUID, *, actor_id: uuid.UUID, actor_role: str = "family", now: datetime,
                        today: date) -> Choice:
    """Add a location to a request that was already submitted: the new choice (last in rank,
    within the maximum) reaches its provider as an application at once, exactly as at
    submission, in the caller's transaction."""
    if request.status != RequestStatus.OPEN:
        raise RequestError(_l("Deze aanvraag loopt niet meer. Begin een nieuwe aanvraag."), "location")
    check_plan(child, request.start_date, request.care_plan, today=today)
    choice = _new_choice(session, request, child, location_id)
    _send(session, session.get(Tenant, choice.tenant_id), request, family, child, choice, actor_id=actor_id,
          actor_role=actor_role, now=now)
    session.flush()
    location_name = session.scalar(select(CatalogLocation.name).where(CatalogLocation.location_id == location_id))
    tell_family(session, family, "choice_added", f"added:{choice.id}", actor_role=actor_role,
                tenant=session.get(Tenant, choice.tenant_id), child=child.first_name,
                location=location_name, url=request_url(request.id))
    return choice


def discard_draft(session: Session, request: CareRequest) -> None:
    """Remove a draft that will never be submitted (its child's other request runs already)."""
    if request.status != RequestStatus.DRAFT:
        raise RequestError(_l("Deze aanvraag werd al ingediend."))
    session.delete(request)
    session.flush()


def will_be_mailed(family: Family) -> bool:
    """Whether ``tell_family`` reaches anyone in this family: a guardian with an address."""
    return any(guardian.email for guardian in family.guardians)


def request_url(request_id: uuid.UUID) -> str:
    from ..web.urls import portal_url

    return portal_url(None, "requests.detail", request_id=request_id)


# Who hears the news of a family that no one can mail (filed at a desk without an e-mail
# address): the desk's call list registers here (``coordinator``, which this package does not
# import). Like ``applications.listen``: kept per process, registering twice is harmless.
Unreachable = Callable[..., None]
_unreachable: list[Unreachable] = []


def when_unreachable(handler: Unreachable) -> Unreachable:
    """Have ``handler(session, family, template=…, key=…, data=…, tenant=…, actor_role=…)`` take
    the news ``tell_family`` cannot mail, in the caller's transaction."""
    if handler not in _unreachable:
        _unreachable.append(handler)
    return handler


def tell_family(session: Session, family: Family, template: str, key: str, *, tenant: Tenant | None = None,
                actor_role: str | None = None, **data) -> None:
    """One e-mail per guardian with an address, in the family's language. A family without any
    address is told by phone instead: the news goes to the ``when_unreachable`` handlers (the
    desk's call list) with ``tenant``, the municipality of the application it is about, and
    ``actor_role``, who caused it."""
    if not will_be_mailed(family):
        for handler in _unreachable:
            handler(session, family, template=template, key=key, data=data, tenant=tenant, actor_role=actor_role)
        return
    for guardian in family.guardians:
        if guardian.email:
            notify(session, recipient_email=guardian.email, recipient_user_id=guardian.user_id,
                   language=family.language, template=template, idempotency_key=f"{key}:{guardian.id}",
                   data={"name": guardian.name, **data})


# --- answering -------------------------------------------------------------------------------


@dataclass
class Loaded:
    choice: Choice
    tenant: Tenant
    application: Application


@contextmanager
def _refused():
    """The family's side speaks RequestError: a refused transition becomes one, message kept."""
    try:
        yield
    except LifecycleError as error:
        raise RequestError(error.message, error.field) from error


def load_application(session: Session, choice: Choice) -> Loaded:
    tenant = session.get(Tenant, choice.tenant_id)
    return Loaded(choice, tenant, applications.load(session, tenant, choice.application_id))


def load_applications(session: Session, choices) -> dict[uuid.UUID, Loaded]:
    """The applications behind these choices (by choice id) with their history: two statements
    per municipality however many choices are in it (the request page; one by one it was
    three per choice). Keep the result while using it: it holds the tenants, which the
    session's identity map only references weakly."""
    submitted = [c for c in choices if c.application_id]
    if not submitted:
        return {}
    tenants = session.scalars(select(Tenant).where(Tenant.id.in_({c.tenant_id for c in submitted}))).all()
    loaded = {}
    for tenant in tenants:
        mine = [c for c in submitted if c.tenant_id == tenant.id]
        rows = applications.load_many(session, tenant, [c.application_id for c in mine])
        loaded.update({c.id: Loaded(c, tenant, rows[c.application_id]) for c in mine if c.application_id in rows})
    return loaded


def _choice_of(session: Session, application_id: uuid.UUID) -> Choice | None:
    """The choice behind an application: from the session when it holds it (the family's pages
    do), else one query. Read from the instance's dict: an expired choice is not reloaded."""
    for instance in list(session.identity_map.values()):
        if isinstance(instance, Choice) and vars(instance).get("application_id") == application_id:
            return instance
    return session.scalar(select(Choice).where(Choice.application_id == application_id))


def request_status(request: CareRequest) -> str:
    """The request's status as its choices make it — the one rule, applied after every
    application change (``_follow``):

    - placed: a choice is accepted and, with "keep my higher-ranked choices open", no choice
      ranked above the best accepted one is still open;
    - open: some choice is still open (an inactive request — not confirmed in time — stays
      inactive until the family confirms it);
    - withdrawn: every choice ended without an acceptance;
    - a draft stays a draft (its choices have no applications yet)."""
    if request.status == RequestStatus.DRAFT:
        return RequestStatus.DRAFT
    sent = [c for c in request.choices if c.application_id is not None]
    accepted = [c.rank for c in sent if c.status == Status.ACCEPTED]
    open_ranks = [c.rank for c in sent if c.status in OPEN_STATUSES]
    if accepted and not (request.keep_higher_choices and any(rank < min(accepted) for rank in open_ranks)):
        return RequestStatus.PLACED
    if open_ranks:
        return RequestStatus.INACTIVE if request.status == RequestStatus.INACTIVE else RequestStatus.OPEN
    return RequestStatus.WITHDRAWN


def family_id_of(session: Session, request_id: uuid.UUID):
    """The family a request belongs to (the audit log's lookup: an application names its
    request only); None when the request is gone."""
    care = session.get(CareRequest, request_id)  # usually in the identity map already
    return care.family_id if care is not None else None


@listen
def _follow(session: Session, change: Change) -> None:
    """After every application change: the family's mirror follows, the request's status
    follows its choices (``request_status``, nowhere else), and the family hears what the
    provider or the clock did (``labels.FAMILY_NEWS``), or that an offer's deadline is near."""
    if change.name == EventKind.REMINDER:
        _remind(session, change)
        return
    if change.to_status is None and change.name not in FAMILY_NEWS:
        return
    choice = _choice_of(session, change.application.id)
    if choice is None:  # an application without a request (erased, or written by hand)
        return
    if change.to_status is not None:
        choice.status = change.to_status
        care = choice.request
        care.status = request_status(care)
    if change.name in FAMILY_NEWS:
        _tell(session, choice, change, FAMILY_NEWS[change.name])


def _tell(session: Session, choice: Choice, change: Change, news) -> None:
    care = session.get(CareRequest, choice.request_id)
    family = session.get(Family, care.family_id)
    with tenant_scope(session, change.tenant):
        location = session.get(Location, change.application.location_id)
    application = change.application
    # Keyed on the event: a message after a status mail is news of its own (the version does
    # not move for a message, so a key on it swallowed the second mail).
    # ``news``: the change's name, so the call list can say it in the family's language later.
    tell_family(
        session, family, "application_update", f"update:{change.event.id}", tenant=change.tenant,
        actor_role=change.actor_role, child=application.snapshot["child"]["first_name"], location=location.name,
        status=str(news), news=change.name, url=request_url(care.id))


def _remind(session: Session, change: Change) -> None:
    """An offer's deadline is near (the scheduler's ``reminder`` event): the family is told by
    mail, or on the desk's call list, once — keyed on the reminder event, which itself exists
    once per offer (``applications.services.remind_offers``)."""
    choice = _choice_of(session, change.application.id)
    if choice is None:
        return
    care = session.get(CareRequest, choice.request_id)
    family = session.get(Family, care.family_id)
    application = change.application
    with tenant_scope(session, change.tenant):
        location = session.get(Location, application.location_id)
    # The date in the family's words: the call list shows the data as they are, too.
    with force_locale(family.language):
        deadline = format_date(application.offer_deadline, "long")
    tell_family(
        session, family, "offer_reminder", f"reminder:{change.event.id}", tenant=change.tenant,
        actor_role=change.actor_role, child=application.snapshot["child"]["first_name"], location=location.name,
        deadline=deadline, url=request_url(care.id))


def accept(session: Session, request: CareRequest, family: Family, choice: Choice, *, actor_id, now: datetime,
           today: date, actor_role: str = ActorRole.FAMILY, note: str | None = None) -> list[Choice]:
    """Accept an offer. The family's other open applications are withdrawn in the same
    transaction — or, with "keep my higher-ranked choices open", only the lower ones; a higher
    choice accepted later releases the lower place. Returns the choices withdrawn.
    ``actor_role``/``note``: who acts for the family, with what consent (the desk, by phone) —
    the same for ``decline``, ``withdraw``, ``withdraw_request`` and ``change_plan``."""
    loaded = load_application(session, choice)
    with _refused():
        applications.accept(session, loaded.tenant, loaded.application, actor_id=actor_id, actor_role=actor_role,
                            now=now, today=today, note=note)
    withdrawn = []
    for other in request.choices:
        if other.id == choice.id or other.application_id is None:
            continue
        lower = other.rank > choice.rank
        if other.status in OPEN_STATUSES and (lower or not request.keep_higher_choices):
            note = StatusNote.ACCEPTED_ELSEWHERE
        elif other.status == Status.ACCEPTED and lower:
            # A lower place accepted earlier is released now that a higher choice is accepted.
            note = StatusNote.HIGHER_CHOICE_ACCEPTED
        else:
            continue
        other_loaded = load_application(session, other)
        applications.withdraw(session, other_loaded.tenant, other_loaded.application, actor_id=actor_id,
                              actor_role=ActorRole.SYSTEM, now=now, note=note)
        withdrawn.append(other)
    tell_family(session, family, "offer_accepted", f"accepted:{choice.application_id}", tenant=loaded.tenant,
                actor_role=actor_role, withdrawn=len(withdrawn), url=request_url(request.id))
    return withdrawn


def accept_for_family(session: Session, tenant: Tenant, application: Application, *, actor_id, actor_role: str,
                      now: datetime, today: date) -> list[Choice]:
    """Staff record an acceptance the family gave otherwise (by phone): the same as accepting
    online, request-level rules included, logged with who recorded it."""
    choice = _choice_of(session, application.id)
    care = session.get(CareRequest, choice.request_id)
    family = session.get(Family, care.family_id)
    return accept(session, care, family, choice, actor_id=actor_id, now=now, today=today, actor_role=actor_role)


def decline(session: Session, family: Family, choice: Choice, *, actor_id, now: datetime,
            actor_role: str = ActorRole.FAMILY, note: str | None = None) -> None:
    loaded = load_application(session, choice)
    with _refused():
        applications.decline(session, loaded.tenant, loaded.application, actor_id=actor_id,
                             actor_role=actor_role, now=now, note=note)


def withdraw(session: Session, request: CareRequest, choice: Choice, *, actor_id, now: datetime,
             actor_role: str = ActorRole.FAMILY, note: str | None = None) -> None:
    """Withdraw one choice (an open application or an accepted place); the request's status
    follows through ``_follow``."""
    loaded = load_application(session, choice)
    with _refused():
        applications.withdraw(session, loaded.tenant, loaded.application, actor_id=actor_id,
                              actor_role=actor_role, now=now, note=note)


def withdraw_request(session: Session, request: CareRequest, *, actor_id, now: datetime,
                     actor_role: str = ActorRole.FAMILY, note: str | None = None) -> None:
    """Withdraw every choice still running: the request ends withdrawn (``request_status``)."""
    for choice in request.choices:
        if choice.application_id and choice.status in ACTIVE:
            withdraw(session, request, choice, actor_id=actor_id, now=now, actor_role=actor_role, note=note)


def change_plan(session: Session, request: CareRequest, child: Child, *, start_date: date, care_plan: dict,
                actor_id, now: datetime, today: date, actor_role: str = ActorRole.FAMILY,
                note: str | None = None) -> None:
    """Change start date or care plan; open applications follow, and their history says so."""
    check_plan(child, start_date, care_plan, today=today)
    before = {"start_date": request.start_date.isoformat(), "care_plan": dict(request.care_plan)}
    request.start_date, request.care_plan = start_date, dict(care_plan)
    for choice in request.choices:
        if choice.application_id and choice.status in OPEN_STATUSES:
            loaded = load_application(session, choice)
            applications.change_plan(session, loaded.tenant, loaded.application, start_date=start_date,
                                     care_plan=care_plan, reference_date=child.reference_date, before=before,
                                     actor_id=actor_id, actor_role=actor_role, now=now, note=note)


def confirm(session: Session, request: CareRequest, *, actor_id, now: datetime,
            actor_role: str = ActorRole.FAMILY) -> None:
    """The family still needs care (its page, the mailed link, or the desk by phone): the next
    confirmation is due an interval from now; an inactive request opens again and its paused
    applications return to their lists, at their original submission time (``resumed`` events)."""
    if request.status not in (RequestStatus.OPEN, RequestStatus.INACTIVE):
        raise RequestError(_l("Deze aanvraag loopt niet meer."))
    request.confirmed_at = now
    request.status, request.inactive_at = RequestStatus.OPEN, None
    for one in load_applications(session, request.choices).values():
        applications.resume(session, one.tenant, one.application, actor_id=actor_id, actor_role=actor_role,
                            now=now)


def message(session: Session, choice: Choice, text: str, *, actor_id, now: datetime,
            actor_role: str = ActorRole.FAMILY) -> None:
    text = (text or "").strip()
    if not text:
        raise RequestError(_l("Schrijf een bericht."), "text")
    if len(text) > 2000:
        raise RequestError(_l("Een bericht heeft hoogstens 2000 tekens."), "text")
    loaded = load_application(session, choice)
    applications.message_from_family(session, loaded.tenant, loaded.application, text=text, actor_id=actor_id,
                                     actor_role=actor_role, now=now)


def queue_positions(session: Session, request: CareRequest, *, loaded: dict[uuid.UUID, Loaded] | None = None,
                    today: date | None = None) -> dict[uuid.UUID, tuple[int, str]]:
    """Where each waiting application stands in its location's list for the same start month
    and age group (1 = first), with the explanation staff see too. ``loaded``: what
    :func:`load_applications` gave for this request, when the caller has it already.
    Per municipality: its locations and one statement for every waiting application's place;
    plus the policy once."""
    today = today or date.today()
    loaded = load_applications(session, request.choices) if loaded is None else loaded
    waiting = [one for one in loaded.values() if one.choice.status in WAITING]
    if not waiting:
        return {}
    policy = ranking.policy_in_force(session, today)
    positions = {}
    for tenant in {one.tenant.id: one.tenant for one in waiting}.values():
        mine = [one for one in waiting if one.tenant.id == tenant.id]
        with tenant_scope(session, tenant):
            # Held here so that explain_many() finds each location in the identity map.
            locations = session.scalars(select(Location).where(  # noqa: F841
                Location.id.in_({one.application.location_id for one in mine}))).all()
            ranked = ranking.explain_many(session, [one.application for one in mine], today=today, policy=policy)
        for one in mine:
            if one.application.id in ranked:
                place = ranked[one.application.id]
                positions[one.choice.id] = (place.position, place.explanation)
    return positions


# --- what the desk reads of a family's requests (the coordinator's intake pages) ---------------


def requests_of_family(session: Session, family_id: uuid.UUID) -> list[CareRequest]:
    """The family's submitted requests, newest first (drafts belong to the wizard)."""
    return list(session.scalars(select(CareRequest).where(
        CareRequest.family_id == family_id, CareRequest.status != RequestStatus.DRAFT)
        .order_by(CareRequest.created_at.desc())))


def choice_locations(session: Session, requests) -> dict[uuid.UUID, tuple[str, str]]:
    """(location name, municipality name) by location id, for the choices of these requests."""
    ids = {c.location_id for care in requests for c in care.choices}
    if not ids:
        return {}
    rows = session.execute(select(CatalogLocation.location_id, CatalogLocation.name, Tenant.name)
                           .join(Tenant, Tenant.id == CatalogLocation.tenant_id)
                           .where(CatalogLocation.location_id.in_(ids)))
    return {location_id: (name, municipality) for location_id, name, municipality in rows}
