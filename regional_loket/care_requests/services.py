"""The family's side of requests: drafting, submitting to several municipalities in one
transaction, answering offers, withdrawing, changing, confirming, messaging.

Every cross-municipality write goes through ``tenant_scope`` inside the caller's transaction,
so a failure while writing the third municipality's application leaves nothing anywhere.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..catalog.models import AGE_GROUP_MONTHS, CatalogLocation, Location
from ..catalog.search import add_months, month_start
from ..families.models import Child, Family
from ..notifications.services import notify
from ..tenancy.binding import tenant_scope
from ..tenancy.models import RegionSetting, Tenant, TenantStatus
from .models import (
    DAY_CARE,
    OPEN_STATUSES,
    Application,
    ApplicationEvent,
    CareRequest,
    Choice,
    EventKind,
    RequestStatus,
    Status,
    StatusNote,
)

DEFAULT_MAX_CHOICES = 5
DUPLICATE_WINDOW = timedelta(days=183)  # two open requests for one child this close are one request


class RequestError(ValueError):
    """A refused request operation: a translated message, and the form field it is about."""

    def __init__(self, message, field: str | None = None, *, existing: uuid.UUID | None = None):
        # Translated now, as a plain string: a lazy string counts as safe HTML in templates,
        # and some messages repeat what a user typed.
        super().__init__(str(message))
        self.message, self.field, self.existing = str(message), field, existing


def max_choices(session: Session) -> int:
    setting = session.get(RegionSetting, "max_choices")
    try:
        return max(1, int(setting.value)) if setting is not None else DEFAULT_MAX_CHOICES
    except (TypeError, ValueError):
        return DEFAULT_MAX_CHOICES


def age_in_months(child: Child, on: date) -> int:
    born = child.reference_date
    months = (on.year - born.year) * 12 + on.month - born.month
    return months - (1 if on.day < born.day else 0)


def age_group(months: int, kind: str) -> str:
    if kind == "out_of_school":
        return "school"
    for group, (low, high) in AGE_GROUP_MONTHS.items():
        if group != "school" and low <= max(months, 0) <= high:
            return group
    return "school"


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
        months = age_in_months(child, start_date)
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
    months = age_in_months(child, request.start_date)
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


def _event(application: Application, kind: str, *, actor_id, actor_role: str, to_status=None, from_status=None,
           text: str | None = None, detail: dict | None = None, now: datetime) -> ApplicationEvent:
    event = ApplicationEvent(kind=kind, actor_id=actor_id, actor_role=actor_role, from_status=from_status,
                             to_status=to_status, text=text, detail=detail or {}, at=now)
    application.events.append(event)
    return event


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
    tell_family(session, family, "request_submitted", f"submitted:{request.id}",
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
        application = Application(
            request_id=request.id, location_id=location.id, rank=choice.rank, status=Status.SUBMITTED,
            snapshot=snapshot(family, child, request, location), submitted_at=now,
            start_month=month_start(request.start_date),
            age_group=age_group(age_in_months(child, request.start_date), location.kind),
        )
        _event(application, EventKind.STATUS, actor_id=actor_id, actor_role=actor_role,
               to_status=Status.SUBMITTED, now=now)
        session.add(application)
        session.flush()
    choice.application_id, choice.status = application.id, Status.SUBMITTED
    return application


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
    tell_family(session, family, "choice_added", f"added:{choice.id}", child=child.first_name,
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


def tell_family(session: Session, family: Family, template: str, key: str, **data) -> None:
    """One e-mail per guardian with an address, in the family's language."""
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


def load_application(session: Session, choice: Choice) -> Loaded:
    tenant = session.get(Tenant, choice.tenant_id)
    with tenant_scope(session, tenant):
        application = session.get(Application, choice.application_id)
        application.events  # noqa: B018 — load the history while this tenant is bound
    return Loaded(choice, tenant, application)


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
        with tenant_scope(session, tenant):
            rows = {a.id: a for a in session.scalars(
                select(Application).where(Application.id.in_([c.application_id for c in mine]))
                .options(selectinload(Application.events)))}
        loaded.update({c.id: Loaded(c, tenant, rows[c.application_id]) for c in mine if c.application_id in rows})
    return loaded


def set_status(session: Session, loaded: Loaded, to_status: str, *, actor_id, actor_role: str, now: datetime,
               text: str | None = None, detail: dict | None = None) -> None:
    """Change an application's status, its history and the family's mirror, in one go."""
    with tenant_scope(session, loaded.tenant):
        application = loaded.application
        from_status = application.status
        application.status = to_status
        if to_status in (Status.ACCEPTED, Status.DECLINED, Status.REJECTED, Status.WITHDRAWN, Status.EXPIRED):
            application.answered_at = application.answered_at or now
        _event(application, EventKind.STATUS, actor_id=actor_id, actor_role=actor_role, from_status=from_status,
               to_status=to_status, text=text, detail=detail, now=now)
    loaded.choice.status = to_status


def _release_hold(session: Session, loaded: Loaded) -> None:
    """Give back the free place an offer (or an accepted place) held."""
    from ..catalog.models import Availability

    application = loaded.application
    if application.held_month is None:
        return
    with tenant_scope(session, loaded.tenant):
        slot = session.scalar(select(Availability).where(
            Availability.location_id == application.location_id, Availability.month == application.held_month,
            Availability.age_group == application.held_age_group).with_for_update())
        if slot is not None:
            slot.free_places += 1
        application.held_month = application.held_age_group = None


def accept(session: Session, request: CareRequest, family: Family, choice: Choice, *, actor_id, now: datetime,
           today: date) -> list[Choice]:
    """Accept an offer. The family's other open applications are withdrawn in the same
    transaction — or, with "keep my higher-ranked choices open", only the lower ones; a higher
    choice accepted later releases the lower place. Returns the choices withdrawn."""
    loaded = load_application(session, choice)
    if loaded.application.status != Status.OFFERED:
        raise RequestError(_l("Dit aanbod staat niet (meer) open."))
    if loaded.application.offer_deadline and loaded.application.offer_deadline < today:
        raise RequestError(_l("De termijn om op dit aanbod te antwoorden is verstreken."))
    set_status(session, loaded, Status.ACCEPTED, actor_id=actor_id, actor_role="family", now=now)
    withdrawn = []
    for other in request.choices:
        if other.id == choice.id or other.application_id is None:
            continue
        lower = other.rank > choice.rank
        if other.status in OPEN_STATUSES and (lower or not request.keep_higher_choices):
            other_loaded = load_application(session, other)
            if other_loaded.application.status == Status.OFFERED:
                _release_hold(session, other_loaded)
            set_status(session, other_loaded, Status.WITHDRAWN, actor_id=actor_id, actor_role="system", now=now,
                       text=StatusNote.ACCEPTED_ELSEWHERE)
            withdrawn.append(other)
        elif other.status == Status.ACCEPTED and lower:
            # A lower place accepted earlier is released now that a higher choice is accepted.
            other_loaded = load_application(session, other)
            _release_hold(session, other_loaded)
            set_status(session, other_loaded, Status.WITHDRAWN, actor_id=actor_id, actor_role="system", now=now,
                       text=StatusNote.HIGHER_CHOICE_ACCEPTED)
            withdrawn.append(other)
    still_open = any(c.status in OPEN_STATUSES for c in request.choices)
    request.status = RequestStatus.OPEN if still_open else RequestStatus.PLACED
    tell_family(session, family, "offer_accepted", f"accepted:{choice.application_id}",
                withdrawn=len(withdrawn), url=request_url(request.id))
    return withdrawn


def decline(session: Session, family: Family, choice: Choice, *, actor_id, now: datetime) -> None:
    loaded = load_application(session, choice)
    if loaded.application.status != Status.OFFERED:
        raise RequestError(_l("Dit aanbod staat niet (meer) open."))
    _release_hold(session, loaded)
    set_status(session, loaded, Status.DECLINED, actor_id=actor_id, actor_role="family", now=now)


def withdraw(session: Session, request: CareRequest, choice: Choice, *, actor_id, now: datetime) -> None:
    loaded = load_application(session, choice)
    if loaded.application.status not in (*OPEN_STATUSES, Status.ACCEPTED):
        raise RequestError(_l("Deze aanvraag is al afgesloten."))
    _release_hold(session, loaded)
    set_status(session, loaded, Status.WITHDRAWN, actor_id=actor_id, actor_role="family", now=now)
    if not any(c.status in (*OPEN_STATUSES, Status.ACCEPTED) for c in request.choices):
        request.status = RequestStatus.WITHDRAWN


def withdraw_request(session: Session, request: CareRequest, *, actor_id, now: datetime) -> None:
    for choice in request.choices:
        if choice.application_id and choice.status in (*OPEN_STATUSES, Status.ACCEPTED):
            withdraw(session, request, choice, actor_id=actor_id, now=now)
    request.status = RequestStatus.WITHDRAWN


def change_plan(session: Session, request: CareRequest, child: Child, *, start_date: date, care_plan: dict,
                actor_id, now: datetime, today: date) -> None:
    """Change start date or care plan; open applications follow, and their history says so."""
    check_plan(child, start_date, care_plan, today=today)
    before = {"start_date": request.start_date.isoformat(), "care_plan": dict(request.care_plan)}
    request.start_date, request.care_plan = start_date, dict(care_plan)
    after = {"start_date": start_date.isoformat(), "care_plan": dict(care_plan)}
    for choice in request.choices:
        if choice.application_id and choice.status in OPEN_STATUSES:
            loaded = load_application(session, choice)
            with tenant_scope(session, loaded.tenant):
                application = loaded.application
                application.snapshot = {**application.snapshot, "start_date": after["start_date"],
                                        "care_plan": after["care_plan"]}
                application.start_month = month_start(start_date)
                _event(application, EventKind.CHANGE, actor_id=actor_id, actor_role="family",
                       detail={"before": before, "after": after}, now=now)


def confirm(request: CareRequest, *, now: datetime) -> None:
    if request.status not in (RequestStatus.OPEN, RequestStatus.INACTIVE):
        raise RequestError(_l("Deze aanvraag loopt niet meer."))
    request.confirmed_at = now
    request.status = RequestStatus.OPEN


def message(session: Session, choice: Choice, text: str, *, actor_id, now: datetime) -> None:
    text = (text or "").strip()
    if not text:
        raise RequestError(_l("Schrijf een bericht."), "text")
    if len(text) > 2000:
        raise RequestError(_l("Een bericht heeft hoogstens 2000 tekens."), "text")
    loaded = load_application(session, choice)
    with tenant_scope(session, loaded.tenant):
        _event(loaded.application, EventKind.MESSAGE_FAMILY, actor_id=actor_id, actor_role="family", text=text,
               now=now)


def queue_positions(session: Session, request: CareRequest, *, loaded: dict[uuid.UUID, Loaded] | None = None,
                    today: date | None = None) -> dict[uuid.UUID, tuple[int, str]]:
    """Where each waiting application stands in its location's list for the same start month
    and age group (1 = first), with the explanation staff see too. ``loaded``: what
    :func:`load_applications` gave for this request, when the caller has it already.
    One statement per waiting application (its place), plus the policy and, per municipality,
    its locations."""
    from ..provider.ranking import explain, policy_in_force

    today = today or date.today()
    loaded = load_applications(session, request.choices) if loaded is None else loaded
    waiting = [one for one in loaded.values()
               if one.choice.status in (Status.SUBMITTED, Status.IN_REVIEW, Status.WAITLISTED)]
    if not waiting:
        return {}
    policy = policy_in_force(session, today)
    positions = {}
    for tenant in {one.tenant.id: one.tenant for one in waiting}.values():
        mine = [one for one in waiting if one.tenant.id == tenant.id]
        with tenant_scope(session, tenant):
            # Held here so that explain() finds each location in the identity map.
            locations = session.scalars(select(Location).where(  # noqa: F841
                Location.id.in_({one.application.location_id for one in mine}))).all()
            for one in mine:
                ranked = explain(session, one.application, today=today, policy=policy)
                if ranked is not None:
                    positions[one.choice.id] = (ranked.position, ranked.explanation)
    return positions
