"""What provider staff do with an application. Each action is an event in its history, the
family's mirror follows, and the family is told — all in the caller's transaction.

No overbooking: an offer takes one free place of the application's start month and age group
under a row lock (``SELECT … FOR UPDATE``); of two staff offering the last place at once,
the second waits for the first and then finds none left.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..care_requests import services as requests
from ..care_requests.labels import REJECT_REASONS, status_label
from ..care_requests.models import Application, CareRequest, Choice, EventKind, Status, StatusNote
from ..catalog.labels import AGE_GROUP_LABELS
from ..catalog.models import Availability, Location
from ..families.models import Family
from ..tenancy.binding import tenant_scope

DEFAULT_OFFER_DAYS = 7


class ActionError(ValueError):
    """A refused action: a translated message; nothing was changed. ``stale`` marks a page that
    acted on an outdated version (someone else acted first): the caller answers 409, not 422,
    whatever the language of the message."""

    def __init__(self, message, field: str | None = None, *, stale: bool = False):
        super().__init__(str(message))
        self.message, self.field = str(message), field  # plain: never marked safe HTML
        self.stale = stale


def _loaded(session: Session, tenant, application: Application, *, version: int | None) -> requests.Loaded:
    if version is not None and application.version != version:
        raise ActionError(_l("Iemand anders heeft deze aanvraag intussen gewijzigd. Bekijk de nieuwe toestand en "
                             "probeer opnieuw."), stale=True)
    choice = session.scalar(select(Choice).where(Choice.application_id == application.id))
    return requests.Loaded(choice, tenant, application)


def _tell(session: Session, loaded: requests.Loaded, status_label) -> None:
    care = session.get(CareRequest, loaded.choice.request_id)
    family = session.get(Family, care.family_id)
    with tenant_scope(session, loaded.tenant):
        location = session.get(Location, loaded.application.location_id)
    requests.tell_family(
        session, family, "application_update", f"update:{loaded.application.id}:{loaded.application.version}",
        child=loaded.application.snapshot["child"]["first_name"], location=location.name,
        status=str(status_label), url=requests.request_url(care.id))


def _move(session: Session, tenant, application: Application, to_status: str, *, actor_id, now: datetime,
          allowed: tuple, version: int | None, text: str | None = None, label=None) -> requests.Loaded:
    loaded = _loaded(session, tenant, application, version=version)
    if application.status not in allowed:
        raise ActionError(_l("Dat kan niet meer: de aanvraag is intussen %(status)s.",
                             status=status_label(application.status)))
    requests.set_status(session, loaded, to_status, actor_id=actor_id, actor_role="provider", now=now, text=text)
    session.flush()
    if label is not None:
        _tell(session, loaded, label)
    return loaded


def mark_in_review(session, tenant, application, *, actor_id, now, version=None):
    return _move(session, tenant, application, Status.IN_REVIEW, actor_id=actor_id, now=now, version=version,
                 allowed=(Status.SUBMITTED,), label=_l("in behandeling"))


def waitlist(session, tenant, application, *, actor_id, now, version=None):
    return _move(session, tenant, application, Status.WAITLISTED, actor_id=actor_id, now=now, version=version,
                 allowed=(Status.SUBMITTED, Status.IN_REVIEW), label=_l("op de wachtlijst"))


def reject(session, tenant, application, *, reason: str, text: str | None, actor_id, now, version=None):
    if reason not in REJECT_REASONS:
        raise ActionError(_l("Kies een reden."), "reason")
    if reason == "other" and not (text or "").strip():
        raise ActionError(_l("Licht de reden toe."), "text")
    # Check the page's version before touching the row: every flush counts as a new version.
    _loaded(session, tenant, application, version=version)
    loaded = _move(session, tenant, application, Status.REJECTED, actor_id=actor_id, now=now, version=None,
                   allowed=(Status.SUBMITTED, Status.IN_REVIEW, Status.WAITLISTED), text=(text or "").strip() or None,
                   label=None)
    with tenant_scope(session, tenant):
        application.reject_reason = reason
    session.flush()
    _tell(session, loaded, _l("afgewezen"))
    return loaded


def offer(session: Session, tenant, application: Application, *, month: date | None = None, deadline: date | None,
          actor_id: uuid.UUID, now: datetime, today: date, version: int | None = None) -> requests.Loaded:
    """Offer a place: hold one free place of the month (default: the wanted start month) and
    age group, with a response deadline (default: the municipality's offer days)."""
    loaded = _loaded(session, tenant, application, version=version)
    if application.status not in (Status.SUBMITTED, Status.IN_REVIEW, Status.WAITLISTED):
        raise ActionError(_l("Dat kan niet meer: de aanvraag is intussen %(status)s.",
                             status=status_label(application.status)))
    deadline = deadline or today + timedelta(days=int(tenant.setting("offer_days", DEFAULT_OFFER_DAYS)))
    if deadline < today:
        raise ActionError(_l("De antwoordtermijn ligt in het verleden."), "deadline")
    month = month or application.start_month
    with tenant_scope(session, tenant):
        slot = session.scalar(
            select(Availability).where(Availability.location_id == application.location_id,
                                       Availability.month == month,
                                       Availability.age_group == application.age_group).with_for_update())
        if slot is None or slot.free_places < 1:
            raise ActionError(_l("Er is geen vrije plaats meer voor die maand en leeftijdsgroep. Pas eerst de vrije "
                                 "plaatsen aan."), "month")
        slot.free_places -= 1
        application.held_month, application.held_age_group = month, application.age_group
        application.offer_deadline = deadline
    requests.set_status(session, loaded, Status.OFFERED, actor_id=actor_id, actor_role="provider", now=now,
                        detail={"month": month.isoformat(), "deadline": deadline.isoformat()})
    session.flush()
    _tell(session, loaded, _l("een plaats aangeboden"))
    return loaded


def cancel_offer(session, tenant, application, *, actor_id, now, version=None):
    loaded = _loaded(session, tenant, application, version=version)
    if application.status != Status.OFFERED:
        raise ActionError(_l("Er staat geen aanbod open."))
    requests._release_hold(session, loaded)
    with tenant_scope(session, tenant):
        application.offer_deadline = None
    requests.set_status(session, loaded, Status.WAITLISTED, actor_id=actor_id, actor_role="provider", now=now,
                        text=StatusNote.OFFER_CANCELLED)
    session.flush()
    _tell(session, loaded, _l("het aanbod is ingetrokken; u staat weer op de wachtlijst"))
    return loaded


def record_phone_acceptance(session, tenant, application, *, actor_id, now, today, version=None):
    """The family accepted by phone: the same as accepting online, recorded by staff."""
    loaded = _loaded(session, tenant, application, version=version)
    care = session.get(CareRequest, loaded.choice.request_id)
    family = session.get(Family, care.family_id)
    try:
        requests.accept(session, care, family, loaded.choice, actor_id=actor_id, now=now, today=today)
    except requests.RequestError as error:
        raise ActionError(error.message) from error
    return loaded


def criterion_code(label: str) -> str:
    """'Kind van een personeelslid' → 'kind-van-een-personeelslid' (stable as long as the label)."""
    from ..catalog.mirror import fold

    return re.sub(r"[^a-z0-9]+", "-", fold(label)).strip("-")[:60] or "criterium"


def set_flags(session, tenant, application, flags: dict, *, actor_id, now, version=None):
    """Mark which of the location's own criteria this application meets."""
    _loaded(session, tenant, application, version=version)
    with tenant_scope(session, tenant):
        application.flags = {code: bool(value) for code, value in flags.items()}
        requests._event(application, EventKind.NOTE, actor_id=actor_id, actor_role="provider", now=now,
                        text=None, detail={"flags": application.flags})


def note(session, tenant, application, *, text: str, actor_id, now):
    text = (text or "").strip()
    if not text or len(text) > 2000:
        raise ActionError(_l("Een notitie heeft 1 tot 2000 tekens."), "text")
    with tenant_scope(session, tenant):
        requests._event(application, EventKind.NOTE, actor_id=actor_id, actor_role="provider", text=text, now=now)


def message(session, tenant, application, *, text: str, actor_id, now):
    text = (text or "").strip()
    if not text or len(text) > 2000:
        raise ActionError(_l("Een bericht heeft 1 tot 2000 tekens."), "text")
    with tenant_scope(session, tenant):
        requests._event(application, EventKind.MESSAGE_PROVIDER, actor_id=actor_id, actor_role="provider",
                        text=text, now=now)
    loaded = _loaded(session, tenant, application, version=None)
    _tell(session, loaded, _l("een nieuw bericht van de locatie"))


def expire_offers(session: Session, tenant, *, today: date, now: datetime) -> int:
    """Offers past their deadline expire and give their place back (run by the scheduler)."""
    with tenant_scope(session, tenant):
        stale = list(session.scalars(select(Application).where(
            Application.status == Status.OFFERED, Application.offer_deadline < today)))
    for application in stale:
        loaded = _loaded(session, tenant, application, version=None)
        requests._release_hold(session, loaded)
        requests.set_status(session, loaded, Status.EXPIRED, actor_id=None, actor_role="system", now=now)
        _tell(session, loaded, _l("het aanbod is verlopen"))
    return len(stale)


# --- free places, profile, figures --------------------------------------------------------------


def held_places(session: Session, location: Location) -> dict[tuple[date, str], int]:
    """Places held by open offers, per month and age group (bound tenant)."""
    rows = session.execute(
        select(Application.held_month, Application.held_age_group, func.count())
        .where(Application.location_id == location.id, Application.status == Status.OFFERED,
               Application.held_month.is_not(None))
        .group_by(Application.held_month, Application.held_age_group))
    return {(month, group): count for month, group, count in rows}


def set_free_places(session: Session, location: Location, totals: dict[tuple[date, str], int]) -> int:
    """Staff enter the free places per month and age group, counting the places that open
    offers hold; what is stored (and searched) is what remains free. Returns rows changed."""
    held = held_places(session, location)
    problems = []
    for (month, group), total in totals.items():
        if total < 0 or total > location.licensed_places:
            problems.append(_l("%(month)s: kies 0 tot %(max)s plaatsen.", month=month.strftime("%m/%Y"),
                               max=location.licensed_places))
        elif total < held.get((month, group), 0):
            problems.append(ngettext("%(month)s: %(num)s plaats is al aangeboden; minder kan niet.",
                                     "%(month)s: %(num)s plaatsen zijn al aangeboden; minder kan niet.",
                                     held[(month, group)], month=month.strftime("%m/%Y")))
    if problems:
        raise ActionError(problems[0], "grid")
    existing = {(a.month, a.age_group): a for a in location.availability}
    changed = 0
    for (month, group), total in totals.items():
        free = total - held.get((month, group), 0)
        slot = existing.get((month, group))
        if slot is None:
            if free:
                location.availability.append(Availability(month=month, age_group=group, free_places=free))
                changed += 1
        elif slot.free_places != free:
            slot.free_places = free
            changed += 1
    session.flush()
    return changed


def vulnerable_share(session: Session, location_ids: list | None, *, year: int) -> tuple[int, int]:
    """(placements from vulnerable families, all placements) accepted this year: the 20 % norm
    for locations with an income-related tariff. Vulnerable: low income, single parent or
    foster child, as declared."""
    query = select(Application).where(
        Application.status == Status.ACCEPTED,
        func.extract("year", Application.answered_at) == year)
    if location_ids is not None:
        query = query.where(Application.location_id.in_(location_ids))
    placements = list(session.scalars(query))
    vulnerable = sum(
        1 for a in placements
        if any(a.snapshot.get("declarations", {}).get(k) for k in ("low_income", "single_parent", "foster_child")))
    return vulnerable, len(placements)


# Lazy: the header is read in the language of whoever downloads the export.
EXPORT_COLUMNS = (_l("positie"), _l("status"), _l("voornaam"), _l("familienaam"), _l("geboortedatum"),
                  _l("verwacht"), _l("start"), _l("maand"), _l("leeftijdsgroep"), _l("opvangplan"), _l("voorrang"),
                  _l("ingediend"), _l("telefoon"), _l("postcode"))


def export_rows(ranked_groups, *, explain) -> list[list]:
    """One row per application under EXPORT_COLUMNS; web.exports makes the cells safe."""
    rows = []
    for ranked in ranked_groups:
        a = ranked.application
        snap = a.snapshot
        child = snap.get("child", {})
        plan = ", ".join(f"{d}:{v}" for d, v in sorted(snap.get("care_plan", {}).items()) if v != "none")
        rows.append([ranked.position, status_label(a.status), child.get("first_name"), child.get("last_name"),
                     child.get("birth_date") or "", child.get("due_date") or "", snap.get("start_date"),
                     a.start_month.strftime("%Y-%m"), AGE_GROUP_LABELS.get(a.age_group, a.age_group), plan,
                     explain(ranked),
                     a.submitted_at.strftime("%Y-%m-%d %H:%M"), snap.get("contact", {}).get("phone") or "",
                     snap.get("contact", {}).get("postcode") or ""])
    return rows
