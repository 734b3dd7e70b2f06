"""Ranking of a location's waiting list: deterministic and explained.

For locations with an income-related tariff, the region's priority policy in force applies: its
criteria in order, then the provider's own criteria, then the tie-break (submission time). Other
locations rank by their own criteria and the tie-break. The explanation is the same text for
staff and family.

One implementation, in SQL: a window function numbers every list (location, start month, age
group) of the waiting applications; filters, paging and the single application of
:func:`explain` apply outside it, so a position is always the place in the whole list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Text, cast, false, func, literal_column, or_, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, array
from sqlalchemy.orm import Session, aliased

from ..catalog import Location
from .models import Application, PriorityPolicy
from .vocabulary import WAITING

CRITERIA = {
    "care_for_work": _l("opvang nodig voor werk, werk zoeken of opleiding"),
    "single_parent": _l("alleenstaande ouder"),
    "low_income": _l("inkomen onder de grens"),
    "foster_child": _l("pleegkind"),
    "sibling_here": _l("broer of zus in deze opvang"),
}
# How equal priority is decided: what ``_ranked`` orders by after the criteria. A policy
# version names one of these; the submission time is the only one the law knows today.
TIE_BREAKS = {"submitted_at": _l("het moment van aanvragen")}
_DECLARATION = {"care_for_work": "needs_care_for_work", "single_parent": "single_parent",
                "low_income": "low_income", "foster_child": "foster_child", "sibling_here": "sibling_here"}
_TRUE = literal_column("'true'::jsonb", JSONB)


def policy_in_force(session: Session, on: date) -> PriorityPolicy | None:
    """The version in force on ``on``. An annulled version is kept for history but never
    applied: an annulment works back in time, so its period falls to the version before it."""
    candidates = select(PriorityPolicy).where(PriorityPolicy.effective_from <= on,
                                              PriorityPolicy.annulled.is_(False))
    return session.scalar(
        candidates.where(or_(PriorityPolicy.effective_until.is_(None), PriorityPolicy.effective_until >= on))
        .order_by(PriorityPolicy.effective_from.desc()).limit(1)
    ) or session.scalar(candidates.order_by(PriorityPolicy.effective_from.desc()).limit(1))


def policy_name(policy: PriorityPolicy, language: str | None = None) -> str:
    """The version's name in the reader's language (Dutch, then any, as fallback)."""
    names = policy.name or {}
    language = language or str(get_locale() or "nl")
    return str(names.get(language) or names.get("nl") or next(iter(names.values()), "") or policy.code)


def criteria_for(location, policy: PriorityPolicy | None) -> list[str]:
    """The policy's criteria (income-related tariff only), then the provider's own."""
    own = [c["code"] for c in (getattr(location, "extra_criteria", None) or [])]
    regional = list(policy.criteria) if policy is not None and location.tariff == "income" else []
    return regional + [c for c in own if c not in regional]


@dataclass(frozen=True)
class Ranked:
    application: Application
    position: int
    met: tuple[str, ...]  # the criteria met, as codes
    explanation: str
    reasons: tuple[str, ...] = ()  # the same criteria as the explanation names them


def _meets(criterion: str):
    """The family's declarations answer the region's criteria; staff's flags the provider's own.
    Met only when the value is JSON ``true``: compared as JSONB, a malformed value (a string,
    a number) never raises and never counts; a missing one is false."""
    if criterion in _DECLARATION:
        value = Application.snapshot["declarations"][_DECLARATION[criterion]]
    else:
        value = Application.flags[criterion]
    return func.coalesce(value == _TRUE, false())


def _ranked(location, criteria: Sequence[str], *where):
    """The location's waiting applications (narrowed by ``where``), each numbered in its list,
    with one ``met_<i>`` column per criterion."""
    met = [_meets(c) for c in criteria]
    position = func.row_number().over(
        partition_by=(Application.start_month, Application.age_group),
        order_by=[*(m.desc() for m in met), Application.submitted_at,
                  cast(Application.id, Text).collate("C")])
    columns = [position.label("position"), *(m.label(f"met_{i}") for i, m in enumerate(met))]
    # A paused application (its request not confirmed in time) is on no list until it resumes.
    return select(Application, *columns).where(
        Application.location_id == location.id, Application.status.in_(WAITING), Application.paused_at.is_(None),
        *where,
    ).subquery("ranked")


class _Ranking:
    """One call's ranking of a location: the criteria in force, their names and the two texts,
    translated once per call and filled in per row (a list may hold a thousand applications)."""

    def __init__(self, session: Session, location, today: date, policy: PriorityPolicy | None = None):
        self.location = location
        policy = policy or policy_in_force(session, today)
        self.criteria = criteria_for(location, policy)
        labels = {c["code"]: c.get("label") for c in (getattr(location, "extra_criteria", None) or [])}
        self.names = {c: str(labels.get(c) or CRITERIA.get(c, c)) for c in self.criteria}
        self.with_criteria = str(_l("Plaats %(position)s. Voldoet aan: %(criteria)s. Bij gelijke voorrang telt "
                                    "het moment van aanvragen."))
        self.without = str(_l("Plaats %(position)s. Voldoet aan geen voorrangsregel; de volgorde is die van het "
                              "moment van aanvragen.") if self.criteria else _l(
            "Plaats %(position)s, in volgorde van het moment van aanvragen."))
        # Which version of the region's rules ranked this list: staff and the family read the
        # same sentence, so a change of rules on a given date is never a mystery. Escaped as
        # "%%": the texts above are filled in per row.
        self.policy = policy if self.criteria and policy is not None and location.tariff == "income" else None
        if self.policy is not None:
            version = str(_l("Voorrangsregels: %(name)s, van toepassing sinds %(date)s.",
                             name=policy_name(self.policy), date=format_date(self.policy.effective_from, "long")))
            version = " " + version.replace("%", "%%")
            self.with_criteria += version
            self.without += version

    def select(self, *where):
        """(the ranked subquery, the Application mapped onto it, the statement): filters on the
        mapped Application go outside the numbering; ``total`` counts the rows they leave."""
        ranked = _ranked(self.location, self.criteria, *where)
        row = aliased(Application, ranked)
        met = [ranked.c[f"met_{i}"] for i in range(len(self.criteria))]
        return ranked, row, select(row, ranked.c.position, func.count().over().label("total"), *met)

    def rows(self, result) -> tuple[list[Ranked], int | None]:
        """The result as Ranked rows, each explained, and the total (None without rows)."""
        rows, total = [], None
        for application, position, count, *met in result:
            total = count
            rows.append(self.explained(application, position, met))
        return rows, total

    def explained(self, application: Application, position: int, met: Sequence[bool]) -> Ranked:
        codes = tuple(c for c, m in zip(self.criteria, met, strict=True) if m)
        reasons = tuple(self.names[c] for c in codes)
        if reasons:
            text = self.with_criteria % {"position": position, "criteria": ", ".join(reasons)}
        else:
            text = self.without % {"position": position}
        return Ranked(application, position, codes, text, reasons)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_page(session: Session, location, start_month: date, age_group: str, *, today: date,
              status: str | None = None, day: str | None = None, name: str | None = None,
              offset: int = 0, limit: int | None = 50) -> tuple[list[Ranked], int]:
    """One page of one list (bound tenant): the rows from ``offset`` (at most ``limit``) and how
    many rows pass the filters. Filters narrow what is shown, never the positions: ``status``
    (one of WAITING), ``day`` (ISO weekday "1"–"5" with care planned), ``name`` (part of the
    child's first and last name, in any case)."""
    ranking = _Ranking(session, location, today)
    ranked, row, statement = ranking.select(Application.start_month == start_month,
                                            Application.age_group == age_group)
    filters = []
    if status:
        filters.append(row.status == status)
    if day:
        filters.append(func.coalesce(row.snapshot["care_plan"][day].astext, "none") != "none")
    if name:
        child = row.snapshot["child"]
        full = func.concat_ws(" ", child["first_name"].astext, child["last_name"].astext)
        filters.append(full.ilike(f"%{_escape_like(name)}%", escape="\\"))
    statement = statement.where(*filters).order_by(ranked.c.position).offset(offset)
    rows, total = ranking.rows(session.execute(statement if limit is None else statement.limit(limit)))
    if total is None:  # nothing on this page; past the end there may still be rows before it
        total = session.scalar(select(func.count()).select_from(ranked).where(*filters)) if offset else 0
    return rows, total


def all_lists(session: Session, location, *, today: date) -> list[Ranked]:
    """Every list of the location, ranked and explained, in one statement: by start month,
    age group and position (exports)."""
    ranking = _Ranking(session, location, today)
    ranked, _row, statement = ranking.select()
    return ranking.rows(session.execute(
        statement.order_by(ranked.c.start_month, ranked.c.age_group, ranked.c.position)))[0]


def explain(session: Session, application: Application, *, today: date | None = None,
            policy: PriorityPolicy | None = None) -> Ranked | None:
    """This application's place in its list and why (bound tenant); None when not waiting.
    ``policy``: the one in force on ``today``, when the caller explains several at once."""
    location = session.get(Location, application.location_id)
    ranking = _Ranking(session, location, today or date.today(), policy)
    ranked, _row, statement = ranking.select(Application.start_month == application.start_month,
                                             Application.age_group == application.age_group)
    rows, _total = ranking.rows(session.execute(statement.where(ranked.c.id == application.id)))
    return rows[0] if rows else None


def explain_many(session: Session, applications: Sequence[Application], *, today: date,
                 policy: PriorityPolicy | None = None) -> dict:
    """Each application's place in its own list and why, by application id (bound tenant; the
    waiting ones only): ONE statement whatever their number, so a family's page with choices at
    several locations of a municipality costs no more than with one. Each location keeps its own
    criteria; their marks travel as one boolean array, so the lists' numberings can be UNION-ed."""
    rankings: dict = {}
    selects = []
    for application in applications:
        ranking = rankings.get(application.location_id)
        if ranking is None:
            ranking = rankings[application.location_id] = _Ranking(
                session, session.get(Location, application.location_id), today, policy)
        ranked = _ranked(ranking.location, ranking.criteria, Application.start_month == application.start_month,
                         Application.age_group == application.age_group)
        met = [ranked.c[f"met_{i}"] for i in range(len(ranking.criteria))]
        marks = array(met) if met else cast(literal_column("'{}'"), ARRAY(Boolean))
        selects.append(select(ranked.c.id, ranked.c.position, marks.label("met")).where(ranked.c.id == application.id))
    if not selects:
        return {}
    by_id = {application.id: application for application in applications}
    statement = selects[0] if len(selects) == 1 else union_all(*selects)
    return {
        application_id: rankings[by_id[application_id].location_id].explained(by_id[application_id], position, met)
        for application_id, position, met in session.execute(statement)
    }
