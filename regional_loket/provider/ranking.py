"""Ranking of a location's waiting list: deterministic and explained.

For locations with an income-related tariff, the region's priority policy in force applies: its
criteria in order, then the provider's own criteria, then the tie-break (submission time). Other
locations rank by their own criteria and the tie-break. The explanation is the same text for
staff and family.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..requests.models import Application, Status
from .models import PriorityPolicy

WAITING = (Status.SUBMITTED, Status.IN_REVIEW, Status.WAITLISTED)

CRITERIA = {
    "care_for_work": _l("opvang nodig voor werk, werk zoeken of opleiding"),
    "single_parent": _l("alleenstaande ouder"),
    "low_income": _l("inkomen onder de grens"),
    "foster_child": _l("pleegkind"),
    "sibling_here": _l("broer of zus in deze opvang"),
}
_DECLARATION = {"care_for_work": "needs_care_for_work", "single_parent": "single_parent",
                "low_income": "low_income", "foster_child": "foster_child", "sibling_here": "sibling_here"}


def policy_in_force(session: Session, on: date) -> PriorityPolicy | None:
    """The version in force on ``on``. An annulled version is kept for history but never
    applied: an annulment works back in time, so its period falls to the version before it."""
    candidates = select(PriorityPolicy).where(PriorityPolicy.effective_from <= on,
                                              PriorityPolicy.annulled.is_(False))
    return session.scalar(
        candidates.where(or_(PriorityPolicy.effective_until.is_(None), PriorityPolicy.effective_until >= on))
        .order_by(PriorityPolicy.effective_from.desc()).limit(1)
    ) or session.scalar(candidates.order_by(PriorityPolicy.effective_from.desc()).limit(1))


def meets(application: Application, criterion: str) -> bool:
    """The family's declarations answer the region's criteria; staff's flags the provider's own."""
    if criterion in _DECLARATION:
        return bool(application.snapshot.get("declarations", {}).get(_DECLARATION[criterion]))
    return bool((application.flags or {}).get(criterion))


@dataclass(frozen=True)
class Ranked:
    application: Application
    position: int
    met: tuple[str, ...]
    explanation: str


def criteria_for(location, policy: PriorityPolicy | None) -> list[str]:
    """The policy's criteria (income-related tariff only), then the provider's own."""
    own = [c["code"] for c in (getattr(location, "extra_criteria", None) or [])]
    regional = list(policy.criteria) if policy is not None and location.tariff == "income" else []
    return regional + [c for c in own if c not in regional]


def rank(applications: list[Application], criteria: list[str], labels: dict | None = None) -> list[Ranked]:
    """Order one list (one location, start month and age group) and explain every place."""
    labels = labels or {}
    met_by = {a.id: tuple(c for c in criteria if meets(a, c)) for a in applications}
    ordered = sorted(applications, key=lambda a: (
        tuple(c not in met_by[a.id] for c in criteria), a.submitted_at, str(a.id)))
    # Translated once per list, filled in per row: a list may hold a thousand applications.
    with_criteria = str(_l("Plaats %(position)s. Voldoet aan: %(criteria)s. Bij gelijke voorrang telt het "
                           "moment van aanvragen."))
    without = str(_l("Plaats %(position)s. Voldoet aan geen voorrangsregel; de volgorde is die van het moment "
                     "van aanvragen.") if criteria else _l("Plaats %(position)s, in volgorde van het moment van "
                                                             "aanvragen."))
    names = {c: str(labels.get(c) or CRITERIA.get(c, c)) for c in criteria}
    ranked = []
    for position, application in enumerate(ordered, 1):
        met = met_by[application.id]
        if met:
            text = with_criteria % {"position": position, "criteria": ", ".join(names[c] for c in met)}
        else:
            text = without % {"position": position}
        ranked.append(Ranked(application, position, met, text))
    return ranked


def waiting_list(session: Session, location, start_month: date, age_group: str, *, today: date) -> list[Ranked]:
    """The ranked list of one location for one start month and age group (bound tenant)."""
    applications = list(session.scalars(select(Application).where(
        Application.location_id == location.id, Application.start_month == start_month,
        Application.age_group == age_group, Application.status.in_(WAITING))))
    criteria = criteria_for(location, policy_in_force(session, today))
    labels = {c["code"]: c.get("label") for c in (getattr(location, "extra_criteria", None) or [])}
    return rank(applications, criteria, labels)


def explain(session: Session, application: Application, *, today: date | None = None) -> Ranked | None:
    """This application's place in its list and why (bound tenant); None when not waiting."""
    from ..catalog.models import Location

    location = session.get(Location, application.location_id)
    for ranked in waiting_list(session, location, application.start_month, application.age_group,
                               today=today or date.today()):
        if ranked.application.id == application.id:
            return ranked
    return None
