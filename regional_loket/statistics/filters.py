"""The dashboards' filters, read from the query string once for the page, its exports and the
yearly report: a period of months, and for a municipality a location, a kind of care and an age
group. Anything wrong is a translated message for its field, and no figure is computed."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..months import add_months, month_start, months_between
from ..vocabulary import AgeGroup, age_group_label, kind_label
from .dashboard import MAX_MONTHS, Period, Scope

MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
FIELDS = ("van", "tot", "locatie", "soort", "leeftijd")
FILTER_LABELS = {"van": _l("Van"), "tot": _l("Tot en met"), "locatie": _l("Locatie"), "soort": _l("Soort opvang"),
                 "leeftijd": _l("Leeftijdsgroep")}


@dataclass
class Chosen:
    period: Period
    scope: Scope
    values: dict  # what the query string said, for the export links (empty ones left out)
    problems: dict = field(default_factory=dict)  # field → message
    location: object | None = None
    kind: str | None = None

    def month_value(self, name: str) -> str:
        """What the month field ``van`` or ``tot`` shows: as typed, else the period's month."""
        chosen = self.period.since if name == "van" else self.period.until
        return self.values.get(name, chosen.strftime("%Y-%m"))

    def describe(self, location_names: dict) -> list[tuple[str, str]]:
        """The period and filters in words, for the top of every export."""
        lines = [(str(FILTER_LABELS["van"]), self.period.since.strftime("%Y-%m")),
                 (str(FILTER_LABELS["tot"]), self.period.until.strftime("%Y-%m"))]
        if self.location is not None:
            lines.append((str(FILTER_LABELS["locatie"]), location_names.get(self.location, "")))
        if self.kind:
            lines.append((str(FILTER_LABELS["soort"]), kind_label(self.kind)))
        if self.scope.age_group:
            lines.append((str(FILTER_LABELS["leeftijd"]), age_group_label(self.scope.age_group)))
        return lines


def _month(text: str) -> date | None:
    found = MONTH.match(text)
    if not found or not 1 <= int(found.group(2)) <= 12 or not 2000 <= int(found.group(1)) <= 2100:
        return None
    return date(int(found.group(1)), int(found.group(2)), 1)


def read(args, *, today: date, tenant_id: uuid.UUID | None = None, locations=()) -> Chosen:
    """``locations``: the municipality's (id, name, kind) options, or none for the region."""
    values = {name: args.get(name, "").strip() for name in FIELDS if args.get(name, "").strip()}
    problems: dict[str, str] = {}
    default = Period.last_months(today)
    since = until = None
    if "van" in values and (since := _month(values["van"])) is None:
        problems["van"] = _("Geef een maand als JJJJ-MM, bv. %(example)s.", example=default.since.strftime("%Y-%m"))
    if "tot" in values and (until := _month(values["tot"])) is None:
        problems["tot"] = _("Geef een maand als JJJJ-MM, bv. %(example)s.", example=default.until.strftime("%Y-%m"))
    since = since or (add_months(until, -11) if until else default.since)
    until = until or (add_months(since, 11) if "van" in values and since else default.until)
    if not problems:
        if until < since:
            problems["tot"] = _("De laatste maand ligt vóór de eerste.")
        elif months_between(since, until) + 1 > MAX_MONTHS:
            problems["tot"] = _("Kies hoogstens %(n)s maanden.", n=MAX_MONTHS)
    location = kind = None
    location_ids = None
    options = list(locations)
    if "locatie" in values:
        try:
            location = uuid.UUID(values["locatie"])
        except ValueError:
            location = None
        if location is None or all(option.id != location for option in options):
            problems["locatie"] = _("Kies een locatie uit de lijst.")
        else:
            location_ids = (location,)
    if "soort" in values:
        kind = values["soort"]
        kinds = {option.kind for option in options}
        if kind not in kinds:
            problems["soort"] = _("Kies een soort opvang uit de lijst.")
        else:
            of_kind = tuple(option.id for option in options if option.kind == kind)
            location_ids = of_kind if location_ids is None else tuple(set(location_ids) & set(of_kind))
    age_group = values.get("leeftijd")
    if age_group and age_group not in {g.value for g in AgeGroup}:
        problems["leeftijd"] = _("Kies een leeftijdsgroep uit de lijst.")
    return Chosen(Period(month_start(since), month_start(until)),
                  Scope(tenant_id=tenant_id, location_ids=location_ids, age_group=age_group or None),
                  values, problems, location, kind)
