"""The provider's own work besides the application lifecycle (which is
``applications.services``'): free places per month and age group, their own priority
criteria, recording an acceptance given by phone, the waiting-list export.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from flask_babel import format_date, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ..applications import ActorRole, Application, check_version, queries, status_label
from ..care_requests import services as requests
from ..catalog import Availability, Location
from ..vocabulary import age_group_label


class ActionError(ValueError):
    """A refused action (free places, a phone acceptance): a translated message; nothing was
    changed. Refused transitions raise ``applications.LifecycleError``, which has the same
    ``message``, ``field`` and ``stale``."""

    def __init__(self, message, field: str | None = None, *, stale: bool = False):
        super().__init__(str(message))
        self.message, self.field = str(message), field  # plain: never marked safe HTML
        self.stale = stale


def record_phone_acceptance(session: Session, tenant, application: Application, *, actor_id, now, today,
                            version: int | None = None):
    """The family accepted by phone: the same as accepting online (the other choices follow),
    recorded by staff and logged as theirs."""
    check_version(application, version)
    try:
        requests.accept_for_family(session, tenant, application, actor_id=actor_id, actor_role=ActorRole.PROVIDER,
                                   now=now, today=today)
    except requests.RequestError as error:
        raise ActionError(error.message) from error


def criterion_code(label: str) -> str:
    """'Kind van een personeelslid' → 'kind-van-een-personeelslid' (stable as long as the label)."""
    from ..catalog.mirror import fold

    return re.sub(r"[^a-z0-9]+", "-", fold(label)).strip("-")[:60] or "criterium"


# --- free places, profile, figures --------------------------------------------------------------


def set_free_places(session: Session, location: Location, totals: dict[tuple[date, str], int], *,
                    now: datetime) -> int:
    """Staff enter the free places per month and age group, counting the places that open
    offers hold; what is stored (and searched) is what remains free. Returns rows changed.
    Saving, even unchanged, is an update: staff vouch for the grid, so it is not stale."""
    held = queries.held_places(session, location)
    problems = []
    for (month, group), total in totals.items():
        if total < 0 or total > location.licensed_places:
            problems.append(_l("%(month)s: kies 0 tot %(max)s plaatsen.", month=format_date(month, "MMMM yyyy"),
                               max=location.licensed_places))
        elif total < held.get((month, group), 0):
            problems.append(ngettext("%(month)s: %(num)s plaats is al aangeboden; minder kan niet.",
                                     "%(month)s: %(num)s plaatsen zijn al aangeboden; minder kan niet.",
                                     held[(month, group)], month=format_date(month, "MMMM yyyy")))
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
    location.free_places_updated_at = now
    session.flush()
    return changed


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
                     a.start_month.strftime("%Y-%m"), age_group_label(a.age_group), plan,
                     explain(ranked),
                     a.submitted_at.strftime("%Y-%m-%d %H:%M"), snap.get("contact", {}).get("phone") or "",
                     snap.get("contact", {}).get("postcode") or ""])
    return rows
