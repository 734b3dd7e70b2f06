"""Changing the offer: creating, editing, (de)activating locations and keeping their organisers.

The municipality's schema is bound by the caller. Every change is checked here as a whole
(the form checks each field's format; the rules between fields live here, so no caller can
store ages the wrong way round), written with an audit line naming the changed fields, and
mirrored into the regional catalog by ``mirror``'s flush hook in the same transaction.
Nothing is committed here.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .. import languages
from ..accounts.services import normalise_email
from ..tenancy import AuditEntry
from ..validators import normalise_enterprise_number, normalise_http_url, normalise_phone
from ..vocabulary import Kind
from .labels import LANGUAGE_LABELS
from .models import Location, Organiser, Tariff

# A point must lie in or near Belgium: a swapped latitude/longitude lands in the sea or Africa.
LATITUDES, LONGITUDES = (49.4, 51.6), (2.4, 6.5)
MAX_PLACES, MAX_AGE_MONTHS, MAX_PRICE = 500, 155, Decimal(200)
DESCRIPTION_LANGUAGES = languages.CODES  # a description per language of the site

# What a coordinator edits on a location (``organiser`` text follows ``organiser_id``).
EDITABLE = ("name", "organiser_id", "kind", "street", "number", "postcode", "locality", "lat", "lon",
            "licensed_places", "min_age_months", "max_age_months", "opening_days", "opens_at", "closes_at",
            "closures", "languages", "tariff", "day_price", "special_care", "description", "website", "phone",
            "email", "accepts_online")


class OfferError(ValueError):
    """Refused input: ``errors`` maps a field name to its translated message; nothing changed."""

    def __init__(self, errors: dict[str, object]):
        super().__init__("; ".join(str(m) for m in errors.values()))
        self.errors = {field: str(message) for field, message in errors.items()}


# --- reading -------------------------------------------------------------------------------------

SORTS = {
    "name": (Location.name, Location.id),
    "locality": (Location.locality, Location.name, Location.id),
    "kind": (Location.kind, Location.name, Location.id),
    "places": (Location.licensed_places.desc(), Location.name, Location.id),
}


def list_locations(session: Session, *, q: str = "", status: str = "all", sort: str = "name", page: int = 1,
                   per_page: int = 25) -> tuple[list[Location], int]:
    """One page of the municipality's locations and the number that match: ``status`` is
    ``active``, ``inactive`` or ``all``; ``q`` is part of the name (case ignored)."""
    where = []
    if status in ("active", "inactive"):
        where.append(Location.active.is_(status == "active"))
    if q.strip():
        where.append(func.lower(Location.name).contains(q.strip().lower(), autoescape=True))
    total = session.scalar(select(func.count()).select_from(Location).where(*where))
    rows = session.scalars(select(Location).where(*where).order_by(*SORTS.get(sort, SORTS["name"]))
                           .limit(per_page).offset((max(page, 1) - 1) * per_page))
    return list(rows), total


def list_organisers(session: Session, *, q: str = "", page: int = 1, per_page: int = 25) -> tuple[list, int]:
    """One page of organisers by name, each as ``(organiser, number of locations)``."""
    where = [or_(func.lower(Organiser.name).contains(q.strip().lower(), autoescape=True),
                 Organiser.enterprise_number.contains(q.strip(), autoescape=True))] if q.strip() else []
    total = session.scalar(select(func.count()).select_from(Organiser).where(*where))
    count = select(func.count()).where(Location.organiser_id == Organiser.id).scalar_subquery()
    rows = session.execute(select(Organiser, count).where(*where).order_by(Organiser.name, Organiser.id)
                           .limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return [tuple(row) for row in rows], total


def map_centre(session: Session) -> list[float] | None:
    """Where the map to place a new location starts: the middle of the existing ones."""
    lat, lon = session.execute(select(func.avg(Location.lat), func.avg(Location.lon))).one()
    return None if lat is None else [round(lat, 5), round(lon, 5)]


def organiser_choices(session: Session) -> list[tuple[uuid.UUID, str]]:
    return list(session.execute(select(Organiser.id, Organiser.name).order_by(Organiser.name)).tuples())


# --- locations -------------------------------------------------------------------------------------


def create_location(session: Session, values: dict, *, actor_id: uuid.UUID | None, now: datetime) -> Location:
    """A new location (active) from ``values`` (every key of ``EDITABLE``)."""
    clean = _checked_location(session, values)
    location = Location(**clean, organiser=_organiser_name(session, clean["organiser_id"]), active=True,
                        extra_criteria=[])
    session.add(location)
    session.flush()
    _audit(session, actor_id, "location.create", location, {k: [None, _plain(v)] for k, v in clean.items()}, now)
    return location


def update_location(session: Session, location: Location, values: dict, *, actor_id: uuid.UUID | None,
                    now: datetime) -> dict:
    """Apply ``values`` (keys of ``EDITABLE``); returns the changed fields as ``{field: [old, new]}``
    (empty when nothing changed: then nothing is written)."""
    clean = _checked_location(session, {**{k: getattr(location, k) for k in EDITABLE}, **values})
    changes = {k: [_plain(getattr(location, k)), _plain(v)] for k, v in clean.items() if getattr(location, k) != v}
    if not changes:
        return {}
    for key, value in clean.items():
        setattr(location, key, value)
    location.organiser = _organiser_name(session, location.organiser_id)
    session.flush()
    _audit(session, actor_id, "location.update", location, changes, now)
    return changes


def set_active(session: Session, location: Location, active: bool, *, actor_id: uuid.UUID | None, now: datetime,
               open_applications: int = 0, confirmed_open: int | None = None) -> bool:
    """Take a location out of the offer, or back in. Its open applications stay as they are
    (staff keep handling them; families see the location takes no new requests, and none can
    be made). Deactivating with open applications needs ``confirmed_open``: the number the
    coordinator was shown; when more are open by now, the coordinator is asked again. Returns
    whether anything changed."""
    if location.active == active:
        return False
    if not active and open_applications and (confirmed_open is None or confirmed_open < open_applications):
        raise OfferError({"confirm": lazy_ngettext("Bevestig eerst: deze locatie heeft %(num)s open aanvraag.",
                                                   "Bevestig eerst: deze locatie heeft %(num)s open aanvragen.",
                                                   open_applications)})
    location.active = active
    session.flush()
    detail = {"active": [not active, active]}
    if not active:
        detail["open_applications"] = open_applications
    _audit(session, actor_id, "location.activate" if active else "location.deactivate", location, detail, now)
    return True


def _checked_location(session: Session, values: dict) -> dict:
    clean = {key: values.get(key) for key in EDITABLE}
    errors: dict[str, object] = {}
    for key, limit in (("name", 160), ("street", 160), ("number", 20), ("locality", 80)):
        clean[key] = (clean[key] or "").strip()
        if not clean[key]:
            errors[key] = _l("Vul dit veld in.")
        elif len(clean[key]) > limit:
            errors[key] = _l("Hoogstens %(num)s tekens.", num=limit)
    clean["postcode"] = (clean["postcode"] or "").strip()
    if not (len(clean["postcode"]) == 4 and clean["postcode"].isascii() and clean["postcode"].isdigit()):
        errors["postcode"] = _l("Een postcode heeft vier cijfers, bv. 3020.")
    if clean["kind"] not in tuple(Kind):
        errors["kind"] = _l("Kies een soort opvang.")
    if clean["organiser_id"] is not None and session.get(Organiser, clean["organiser_id"]) is None:
        errors["organiser_id"] = _l("Deze organisator bestaat niet (meer).")
    for key, (low, high) in (("lat", LATITUDES), ("lon", LONGITUDES)):
        if clean[key] is None:
            errors[key] = _l("Vul de coördinaat in, of klik op de kaart.")
        elif not low <= float(clean[key]) <= high:
            errors[key] = _l("Deze coördinaat ligt niet in België (tussen %(low)s en %(high)s).", low=low, high=high)
        else:
            clean[key] = round(float(clean[key]), 6)
    places = clean["licensed_places"]
    if places is None or not 0 <= places <= MAX_PLACES:
        errors["licensed_places"] = _l("Vul 0 tot %(max)s erkende plaatsen in.", max=MAX_PLACES)
    low, high = clean["min_age_months"], clean["max_age_months"]
    if low is None or not 0 <= low <= MAX_AGE_MONTHS:
        errors["min_age_months"] = _l("Vul een leeftijd van 0 tot %(max)s maanden in.", max=MAX_AGE_MONTHS)
    if high is None or not 0 <= high <= MAX_AGE_MONTHS:
        errors["max_age_months"] = _l("Vul een leeftijd van 0 tot %(max)s maanden in.", max=MAX_AGE_MONTHS)
    elif low is not None and low > high:
        errors["max_age_months"] = _l("De hoogste leeftijd ligt niet onder de laagste.")
    days = sorted(set(clean["opening_days"] or []))
    if not days or any(d not in range(1, 8) for d in days):
        errors["opening_days"] = _l("Kies minstens één dag waarop de locatie open is.")
    clean["opening_days"] = days
    opens, closes = clean["opens_at"], clean["closes_at"]
    if not isinstance(opens, time):
        errors["opens_at"] = _l("Gebruik een uur als 07:30.")
    if not isinstance(closes, time):
        errors["closes_at"] = _l("Gebruik een uur als 18:00.")
    elif isinstance(opens, time) and opens >= closes:
        errors["closes_at"] = _l("Het sluitingsuur ligt na het openingsuur.")
    clean["closures"] = list(clean["closures"] or [])
    for closure in clean["closures"]:
        if not _valid_closure(closure):
            errors["closures"] = _l("Elke sluitingsperiode begint voor ze eindigt, met een reden van hoogstens "
                                    "100 tekens.")
            break
    languages = list(dict.fromkeys(clean["languages"] or []))
    if not languages or any(code not in LANGUAGE_LABELS for code in languages):
        errors["languages"] = _l("Kies minstens één taal.")
    clean["languages"] = languages
    if clean["tariff"] == Tariff.INCOME:
        clean["day_price"] = None
    elif clean["tariff"] == Tariff.FREE:
        price = clean["day_price"]
        if price is None or not 0 < Decimal(price) <= MAX_PRICE:
            errors["day_price"] = _l("Geef bij een vrije prijs de dagprijs, tot %(max)s euro.", max=MAX_PRICE)
        else:
            clean["day_price"] = Decimal(price).quantize(Decimal("0.01"))
    else:
        errors["tariff"] = _l("Kies een prijs.")
    description = {lang: (clean["description"] or {}).get(lang, "").strip() for lang in DESCRIPTION_LANGUAGES}
    if any(len(text) > 2000 for text in description.values()):
        errors["description"] = _l("Hoogstens 2000 tekens per taal.")
    clean["description"] = {lang: text for lang, text in description.items() if text}
    for key, normalise, message in (
            ("website", normalise_http_url, _l("Geef een webadres dat begint met https:// of http://, bv. "
                                               "https://www.voorbeeld.be.")),
            ("phone", normalise_phone, _l("Dit is geen geldig telefoonnummer, bv. 016 12 34 56 of +32 470 12 34 56.")),
            ("email", normalise_email, _l("Dit is geen geldig e-mailadres, bv. naam@voorbeeld.be."))):
        text = (clean[key] or "").strip()
        clean[key] = normalise(text) if text else None
        if text and clean[key] is None:
            errors[key] = message
    clean["special_care"], clean["accepts_online"] = bool(clean["special_care"]), bool(clean["accepts_online"])
    if errors:
        raise OfferError(errors)
    return clean


def parse_closures(text: str | None) -> list[dict]:
    """Closure periods typed one per line as ``2026-07-20 2026-08-07 reason``; ValueError for a
    line that is not."""
    closures = []
    for line in (text or "").splitlines():
        parts = line.split(maxsplit=2)
        if not parts:
            continue
        if len(parts) < 2 or not (parts[0].isascii() and parts[1].isascii()):
            raise ValueError(line)
        start, end = date.fromisoformat(parts[0]), date.fromisoformat(parts[1])
        if end < start:
            raise ValueError(line)
        closures.append({"from": start.isoformat(), "to": end.isoformat(), "reason": parts[2] if len(parts) > 2 else ""})
    return closures


def format_closures(closures: list[dict]) -> str:
    return "\n".join(f"{c['from']} {c['to']} {c.get('reason') or ''}".strip() for c in closures or [])


def _valid_closure(closure) -> bool:
    try:
        return (date.fromisoformat(closure["from"]) <= date.fromisoformat(closure["to"])
                and len(closure.get("reason") or "") <= 100)
    except (TypeError, KeyError, ValueError, AttributeError):
        return False


def _organiser_name(session: Session, organiser_id: uuid.UUID | None) -> str:
    organiser = session.get(Organiser, organiser_id) if organiser_id else None
    return organiser.name if organiser else ""


# --- organisers ------------------------------------------------------------------------------------

ORGANISER_FIELDS = ("name", "enterprise_number", "email", "phone")


def create_organiser(session: Session, values: dict, *, actor_id: uuid.UUID | None, now: datetime) -> Organiser:
    clean = _checked_organiser(session, values, None)
    organiser = Organiser(**clean)
    session.add(organiser)
    session.flush()
    _audit(session, actor_id, "organiser.create", organiser, {k: [None, v] for k, v in clean.items()}, now)
    return organiser


def update_organiser(session: Session, organiser: Organiser, values: dict, *, actor_id: uuid.UUID | None,
                     now: datetime) -> dict:
    """Apply ``values``; a new name is copied onto its locations (and so into the catalog)."""
    clean = _checked_organiser(session, {**{k: getattr(organiser, k) for k in ORGANISER_FIELDS}, **values},
                               organiser.id)
    changes = {k: [getattr(organiser, k), v] for k, v in clean.items() if getattr(organiser, k) != v}
    if not changes:
        return {}
    for key, value in clean.items():
        setattr(organiser, key, value)
    if "name" in changes:
        for location in organiser.locations:
            location.organiser = organiser.name
    session.flush()
    _audit(session, actor_id, "organiser.update", organiser, changes, now)
    return changes


def delete_organiser(session: Session, organiser: Organiser, *, actor_id: uuid.UUID | None, now: datetime) -> None:
    """Only an organiser without locations can go: its locations would lose who runs them."""
    count = len(organiser.locations)
    if count:
        raise OfferError({"delete": lazy_ngettext(
            "%(name)s heeft nog %(num)s locatie. Koppel die eerst aan een andere organisator; er is niets "
            "verwijderd.",
            "%(name)s heeft nog %(num)s locaties. Koppel die eerst aan een andere organisator; er is niets "
            "verwijderd.", count, name=organiser.name)})
    _audit(session, actor_id, "organiser.delete", organiser,
           {k: [getattr(organiser, k), None] for k in ORGANISER_FIELDS}, now)
    session.delete(organiser)
    session.flush()


def _checked_organiser(session: Session, values: dict, own_id: uuid.UUID | None) -> dict:
    errors: dict[str, object] = {}
    clean = {k: (values.get(k) or "").strip() for k in ORGANISER_FIELDS}
    if not clean["name"]:
        errors["name"] = _l("Vul dit veld in.")
    elif len(clean["name"]) > 160:
        errors["name"] = _l("Hoogstens %(num)s tekens.", num=160)
    for key, normalise, message in (
            ("enterprise_number", normalise_enterprise_number,
             _l("Dit is geen geldig ondernemingsnummer: tien cijfers, bv. 0123.456.749.")),
            ("phone", normalise_phone, _l("Dit is geen geldig telefoonnummer, bv. 016 12 34 56 of +32 470 12 34 56.")),
            ("email", normalise_email, _l("Dit is geen geldig e-mailadres, bv. naam@voorbeeld.be."))):
        text = clean[key]
        clean[key] = normalise(text) if text else None
        if text and clean[key] is None:
            errors[key] = message
    if clean["enterprise_number"] and "enterprise_number" not in errors:
        other = session.scalar(select(Organiser).where(Organiser.enterprise_number == clean["enterprise_number"],
                                                       Organiser.id != own_id) if own_id else
                               select(Organiser).where(Organiser.enterprise_number == clean["enterprise_number"]))
        if other is not None:
            errors["enterprise_number"] = _l("Dit ondernemingsnummer hoort al bij %(name)s.", name=other.name)
    if errors:
        raise OfferError(errors)
    return clean


# --- the audit line ---------------------------------------------------------------------------------


def _plain(value):
    """A value as JSON can hold it (for the audit line)."""
    if isinstance(value, (time, date)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    return value


def _audit(session: Session, actor_id, action: str, subject, detail: dict, now: datetime) -> None:
    # The audit package (which sits above catalog) reads these rows; its record() fills the
    # same columns. Detail: the changed fields as [old, new].
    session.add(AuditEntry(actor_id=actor_id, action=action, subject=str(subject.id), detail=detail, at=now))
    session.flush()


__all__ = ["EDITABLE", "ORGANISER_FIELDS", "OfferError", "create_location", "create_organiser", "delete_organiser",
           "format_closures", "list_locations", "list_organisers", "map_centre", "organiser_choices",
           "parse_closures", "set_active", "update_location", "update_organiser"]
