"""Reading and keeping the yearly figures. Everything is checked before anything is written:
a refused form leaves the table as it was (``ParameterError`` names each field's problem).

A year that is past is history: estimates and declarations made with it stay explainable, so
only the current year and later ones are added or corrected. The figures of a year apply to
a later year that has none yet (``tariff_for`` / ``threshold_for``: the latest year up to it),
and the pages say so."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import IncomeTariff, LowIncomeThreshold

YEARS_AHEAD = 5  # how far ahead figures may be entered
SOURCE_MAX = 500
MONEY_MAX = Decimal("999999.99")  # Numeric(8, 2)
INCOME_MAX = Decimal("9999999999.99")  # Numeric(12, 2)

# Decimals each figure keeps (its column's scale): more would be rounded away silently.
_PLACES = {"part_day_below_hours": 1, "long_day_above_hours": 1, "part_day_share": 1, "full_day_share": 1,
           "long_day_share": 1}
TARIFF_FIELDS = ("minimum", "lowest_minimum", "maximum", "child_reduction", "income_lower", "income_upper",
                 "part_day_below_hours", "long_day_above_hours", "part_day_share", "full_day_share",
                 "long_day_share")


class ParameterError(ValueError):
    """Refused input: ``errors`` maps a form field to its translated message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotEditable(LookupError):
    """A past year's figures stay as they were."""


def editable(year: int, today: date) -> bool:
    return year >= today.year


# --- reading -----------------------------------------------------------------------------


def tariffs(session: Session) -> list[IncomeTariff]:
    return list(session.scalars(select(IncomeTariff).order_by(IncomeTariff.year.desc())))


def thresholds(session: Session) -> list[LowIncomeThreshold]:
    return list(session.scalars(select(LowIncomeThreshold).order_by(LowIncomeThreshold.year.desc())))


def tariff_for(session: Session, year: int) -> IncomeTariff | None:
    """The parameters of ``year``, or of the latest year before it (None: none that early)."""
    return session.scalar(select(IncomeTariff).where(IncomeTariff.year <= year)
                          .order_by(IncomeTariff.year.desc()).limit(1))


def threshold_for(session: Session, year: int) -> LowIncomeThreshold | None:
    """The low-income threshold of ``year``, or of the latest year before it."""
    return session.scalar(select(LowIncomeThreshold).where(LowIncomeThreshold.year <= year)
                          .order_by(LowIncomeThreshold.year.desc()).limit(1))


# --- checking ----------------------------------------------------------------------------


def _check_year(session: Session, model, year, today: date, editing) -> dict:
    if not isinstance(year, int):
        return {"year": str(_l("Vul een jaartal in."))}
    if not today.year <= year <= today.year + YEARS_AHEAD:
        return {"year": str(_l("Kies het huidige jaar of een van de %(n)s volgende (%(first)s–%(last)s).",
                               n=YEARS_AHEAD, first=today.year, last=today.year + YEARS_AHEAD))}
    taken = session.scalar(select(model.id).where(model.year == year))
    if taken is not None and (editing is None or taken != editing.id):
        return {"year": str(_l("Voor %(year)s bestaan al gegevens; pas die aan.", year=year))}
    return {}


def _check_source(source) -> tuple[str, dict]:
    source = (source or "").strip()
    if not source:
        return source, {"source": str(_l("Vermeld de bron van de cijfers."))}
    if len(source) > SOURCE_MAX:
        return source, {"source": str(_l("Hoogstens %(max)s tekens.", max=SOURCE_MAX))}
    return source, {}


def check_tariff(values: dict) -> dict[str, str]:
    """The problems of a set of tariff figures (all at once), by field."""
    errors: dict[str, str] = {}
    for name in TARIFF_FIELDS:
        value = values.get(name)
        if not isinstance(value, Decimal) or not value.is_finite():
            errors[name] = str(_l("Vul een getal in."))
        elif value < 0:
            errors[name] = str(_l("Vul een getal van 0 of meer in."))
        elif value > (INCOME_MAX if name.startswith("income") else MONEY_MAX):
            errors[name] = str(_l("Dat getal is te groot."))
        elif _too_precise(value, _PLACES.get(name, 2)):
            errors[name] = _precision_message(_PLACES.get(name, 2))
    if errors:
        return errors
    v = values
    if v["lowest_minimum"] <= 0:
        errors["lowest_minimum"] = str(_l("Het laagste minimum moet groter zijn dan 0."))
    elif v["lowest_minimum"] > v["minimum"]:
        errors["lowest_minimum"] = str(_l("Het laagste minimum ligt boven het minimum."))
    if v["minimum"] > v["maximum"]:
        errors["minimum"] = str(_l("Het minimum ligt boven het maximum."))
    if v["income_lower"] >= v["income_upper"]:
        errors["income_upper"] = str(_l("De inkomensgrenzen moeten stijgen: de bovengrens ligt boven de ondergrens."))
    if v["part_day_below_hours"] <= 0:
        errors["part_day_below_hours"] = str(_l("Het aantal uren moet groter zijn dan 0."))
    elif v["part_day_below_hours"] >= v["long_day_above_hours"]:
        errors["long_day_above_hours"] = str(_l("De uurgrenzen moeten stijgen: een lange dag duurt langer dan een "
                                                "korte."))
    elif v["long_day_above_hours"] > 24:
        errors["long_day_above_hours"] = str(_l("Een dag telt hoogstens 24 uur."))
    for name in ("part_day_share", "full_day_share", "long_day_share"):
        if v[name] <= 0:
            errors[name] = str(_l("Een aandeel moet groter zijn dan 0 %."))
        elif v[name] > 1000:
            errors[name] = str(_l("Dat getal is te groot."))
    if not errors and not v["part_day_share"] <= v["full_day_share"] <= v["long_day_share"]:
        errors["full_day_share"] = str(_l("De aandelen moeten stijgen met de duur van de dag."))
    return errors


def _too_precise(value: Decimal, places: int) -> bool:
    return value != value.quantize(Decimal(1).scaleb(-places))


def _precision_message(places: int) -> str:
    return str(_l("Hoogstens één cijfer na het decimaalteken.") if places == 1
               else _l("Hoogstens twee cijfers na het decimaalteken."))


def check_threshold(amount) -> dict[str, str]:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return {"amount": str(_l("Vul een getal in."))}
    if amount <= 0:
        return {"amount": str(_l("De grens moet groter zijn dan 0."))}
    if amount > INCOME_MAX:
        return {"amount": str(_l("Dat getal is te groot."))}
    if _too_precise(amount, 2):
        return {"amount": _precision_message(2)}
    return {}


# --- writing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    row: IncomeTariff | LowIncomeThreshold
    changes: dict  # {field: [before, after]} as text (for the audit line)


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value


def _apply(row, values: dict) -> dict:
    changes = {}
    for name, value in values.items():
        before = getattr(row, name, None)
        if before != value:
            changes[name] = [_plain(before), _plain(value)]
            setattr(row, name, value)
    return changes


def save_tariff(session: Session, values: dict, *, today: date, row: IncomeTariff | None = None) -> Saved:
    """Add a year's tariff (``row`` None) or correct one of this year or later. ``values``: the
    year, each of TARIFF_FIELDS as Decimal, and the source. Saved by a person: no longer seeded."""
    if row is not None and not editable(row.year, today):
        raise NotEditable(row.id)
    errors = _check_year(session, IncomeTariff, values.get("year"), today, row)
    source, problem = _check_source(values.get("source"))
    errors.update(problem)
    errors.update(check_tariff(values))
    if errors:
        raise ParameterError(errors)
    wanted = {"year": values["year"], **{name: values[name] for name in TARIFF_FIELDS}, "source": source,
              "seeded": False}
    if row is None:
        row = IncomeTariff(id=uuid.uuid4())
        session.add(row)
    changes = _apply(row, wanted)
    session.flush()
    return Saved(row, changes)


def save_threshold(session: Session, values: dict, *, today: date,
                   row: LowIncomeThreshold | None = None) -> Saved:
    """Add a year's low-income threshold or correct one of this year or later."""
    if row is not None and not editable(row.year, today):
        raise NotEditable(row.id)
    errors = _check_year(session, LowIncomeThreshold, values.get("year"), today, row)
    source, problem = _check_source(values.get("source"))
    errors.update(problem)
    errors.update(check_threshold(values.get("amount")))
    if errors:
        raise ParameterError(errors)
    if row is None:
        row = LowIncomeThreshold(id=uuid.uuid4())
        session.add(row)
    changes = _apply(row, {"year": values["year"], "amount": values["amount"], "source": source, "seeded": False})
    session.flush()
    return Saved(row, changes)
