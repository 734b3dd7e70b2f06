"""The region's priority policy versions, as the administrators keep them: listed with their
periods, added (and, while still to come, corrected) with checks that keep the history true.

A version that is in force or past is never changed here: rankings already made under it must
stay explainable. A new version starts after today and never on or inside another version's
period; it is open-ended: the next version's start ends it (``ranking.policy_in_force`` takes
the latest start on or before the day)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import languages
from .models import PriorityPolicy
from .ranking import CRITERIA, TIE_BREAKS, policy_in_force

NAME_MAX = 200


class PolicyError(ValueError):
    """Refused input: ``errors`` maps a form field to its translated message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Version:
    policy: PriorityPolicy
    until: date | None  # its own end, or the day before the next version starts
    state: str  # "in_force", "future", "past", "annulled"

    @property
    def editable(self) -> bool:
        return self.state == "future"


STATE_LABELS = {"in_force": _l("van kracht"), "future": _l("gepland"), "past": _l("voorbij"),
                "annulled": _l("vernietigd")}


def versions(session: Session, *, today: date) -> list[Version]:
    """Every version, newest start first, with its period and where it stands today."""
    rows = list(session.scalars(select(PriorityPolicy).order_by(PriorityPolicy.effective_from,
                                                                PriorityPolicy.code)))
    current = policy_in_force(session, today)
    starts = sorted({p.effective_from for p in rows if not p.annulled})
    found = []
    for policy in rows:
        until = policy.effective_until
        if until is None and not policy.annulled:
            later = [s for s in starts if s > policy.effective_from]
            until = later[0] - timedelta(days=1) if later else None
        if policy.annulled:
            state = "annulled"
        elif current is not None and policy.id == current.id:
            state = "in_force"
        elif policy.effective_from > today:
            state = "future"
        else:
            state = "past"
        found.append(Version(policy, until, state))
    return list(reversed(found))


def check(session: Session, values: dict, *, today: date, editing: PriorityPolicy | None = None) -> dict:
    """The values of a version (name per language, ordered criteria codes, tie-break, start),
    cleaned; PolicyError with every problem at once. ``editing``: the version being corrected."""
    errors: dict[str, str] = {}
    names = {code: (values.get(f"name_{code}") or "").strip() for code in languages.CODES}
    if not names["nl"]:
        errors["name_nl"] = str(_l("Geef de versie een naam."))
    for code, text in names.items():
        if len(text) > NAME_MAX:
            errors[f"name_{code}"] = str(_l("Hoogstens %(max)s tekens.", max=NAME_MAX))
    criteria = [c for c in values.get("criteria") or [] if c]
    if not criteria:
        errors["criteria"] = str(_l("Kies minstens één criterium."))
    elif any(c not in CRITERIA for c in criteria):
        errors["criteria"] = str(_l("Kies de criteria uit de lijst."))
    elif len(set(criteria)) != len(criteria):
        errors["criteria"] = str(_l("Elk criterium mag maar één keer in de volgorde staan."))
    tie_break = values.get("tie_break")
    if tie_break not in TIE_BREAKS:
        errors["tie_break"] = str(_l("Kies hoe gelijke voorrang beslecht wordt."))
    start = values.get("effective_from")
    if not isinstance(start, date):
        errors["effective_from"] = str(_l("Vul een geldige datum in."))
    elif start <= today:
        errors["effective_from"] = str(_l("Een nieuwe versie begint na vandaag (ten vroegste %(date)s).",
                                          date=(today + timedelta(days=1)).isoformat()))
    else:
        clash = _clash(session, start, editing)
        if clash is not None:
            errors["effective_from"] = clash
    if errors:
        raise PolicyError(errors)
    return {"name": {code: text for code, text in names.items() if text}, "criteria": criteria,
            "tie_break": tie_break, "effective_from": start}


def _clash(session: Session, start: date, editing: PriorityPolicy | None) -> str | None:
    """Why ``start`` would overlap another version: the same start, or inside a closed period."""
    others = select(PriorityPolicy)
    if editing is not None:
        others = others.where(PriorityPolicy.id != editing.id)
    for other in session.scalars(others):
        if other.effective_from == start:
            return str(_l("Op %(date)s begint al een andere versie.", date=start.isoformat()))
        if other.effective_until is not None and other.effective_from < start <= other.effective_until:
            return str(_l("Die datum valt in de periode van een andere versie (%(start)s tot %(end)s).",
                          start=other.effective_from.isoformat(), end=other.effective_until.isoformat()))
    return None


def add(session: Session, values: dict, *, today: date) -> PriorityPolicy:
    """A new version from the form's values (checked here; nothing is written when refused)."""
    clean = check(session, values, today=today)
    policy = PriorityPolicy(id=uuid.uuid4(), code=f"region_{clean['effective_from']:%Y%m%d}", name=clean["name"],
                            effective_from=clean["effective_from"], effective_until=None,
                            criteria=clean["criteria"], tie_break=clean["tie_break"], annulled=False)
    session.add(policy)
    session.flush()
    return policy


class NotEditable(LookupError):
    """The version is in force, past or annulled: it stays as it was."""


def update(session: Session, policy: PriorityPolicy, values: dict, *, today: date) -> dict:
    """Correct a version that has not started yet; returns what changed ({field: [before, after]})."""
    if policy.annulled or policy.effective_from <= today:
        raise NotEditable(policy.id)
    clean = check(session, values, today=today, editing=policy)
    changes = {}
    for field in ("name", "criteria", "tie_break", "effective_from"):
        before, after = getattr(policy, field), clean[field]
        if before != after:
            changes[field] = [before.isoformat() if isinstance(before, date) else before,
                              after.isoformat() if isinstance(after, date) else after]
            setattr(policy, field, after)
    policy.code = f"region_{policy.effective_from:%Y%m%d}"
    session.flush()
    return changes
