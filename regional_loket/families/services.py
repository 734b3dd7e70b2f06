"""The family dossier: guardians, children, declarations, consent, export and erasure."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.services import normalise_email
from ..months import same_day_months_later
from ..tenancy import Postcode
from .models import Child, Consent, Family, Guardian


class FamilyError(ValueError):
    """Refused input; ``field`` names the form field, the message is translated."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = str(message)  # plain: never marked safe HTML
        self.field = field


NATIONAL_NUMBER = re.compile(r"^\d{11}$")


def national_number_valid(value: str) -> bool:
    """Belgian national register number: 11 digits, the last two a mod-97 check over the first
    nine (for people born from 2000 on, prefixed with a 2)."""
    digits = re.sub(r"[\s.\-]", "", value or "")
    if not NATIONAL_NUMBER.match(digits):
        return False
    body, check = int(digits[:9]), int(digits[9:])
    return 97 - body % 97 == check or 97 - int("2" + digits[:9]) % 97 == check


def national_number_digest(value: str, *, pepper: str) -> str:
    digits = re.sub(r"[\s.\-]", "", value)
    return hmac.new(pepper.encode(), digits.encode(), hashlib.sha256).hexdigest()


def family_of(session: Session, user_id: uuid.UUID) -> Family | None:
    return session.scalar(select(Family).join(Guardian).where(Guardian.user_id == user_id))


def ensure_family(session: Session, user, *, language: str) -> Family:
    """The family of this user; made on first use with the user as its first guardian."""
    family = family_of(session, user.id)
    if family is None:
        family = Family(language=language, guardians=[Guardian(user_id=user.id, name=user.name, email=user.email)])
        session.add(family)
        session.flush()
    return family


def is_guardian(family: Family, user_id: uuid.UUID) -> bool:
    return any(g.user_id == user_id for g in family.guardians)


def home_tenant_id(session: Session, postcode: str) -> uuid.UUID | None:
    return session.scalar(select(Postcode.tenant_id).where(Postcode.code == postcode).limit(1))


def update_details(session: Session, family: Family, *, street: str, number: str, postcode: str, locality: str,
                   phone: str | None, needs_care_for_work: bool, single_parent: bool, low_income: bool) -> None:
    if not re.fullmatch(r"[1-9]\d{3}", postcode or ""):
        raise FamilyError(_l("Een postcode heeft 4 cijfers, bv. 3000."), "postcode")
    family.street, family.number, family.postcode, family.locality = street.strip(), number.strip(), postcode, locality.strip()
    family.phone = (phone or "").strip() or None
    family.home_tenant_id = home_tenant_id(session, postcode)
    family.needs_care_for_work, family.single_parent, family.low_income = needs_care_for_work, single_parent, low_income


def set_sibling_locations(child: Child, attended, *, among) -> None:
    """Say at which of ``among`` (the locations one request chose) a brother or sister of
    ``child`` already goes: those in ``attended`` are marked, the rest of ``among`` cleared.
    Locations outside ``among`` keep what another request said. Priority rules give a sibling
    precedence at that location (the snapshot's ``sibling_here``)."""
    among, attended = set(among), set(attended)
    if not attended <= among:
        raise FamilyError(_l("Kies alleen locaties uit deze aanvraag."), "siblings")
    kept = [location for location in (child.sibling_location_ids or []) if location not in among]
    # A new list, so the ORM sees the change (an in-place edit of an ARRAY is not tracked).
    child.sibling_location_ids = kept + sorted(attended, key=str)


def add_child(session: Session, family: Family, *, first_name: str, last_name: str, birth_date: date | None,
              due_date: date | None, national_number: str | None, pepper: str, today: date,
              foster_child: bool = False, extra_care_needs: bool = False) -> Child:
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    if not first_name or len(first_name) > 80:
        raise FamilyError(_l("Vul de voornaam van uw kind in (hoogstens 80 tekens)."), "first_name")
    if not last_name or len(last_name) > 80:
        raise FamilyError(_l("Vul de familienaam van uw kind in (hoogstens 80 tekens)."), "last_name")
    if (birth_date is None) == (due_date is None):
        raise FamilyError(_l("Geef een geboortedatum of, voor een kindje dat nog niet geboren is, een verwachte datum."),
                          "birth_date")
    if birth_date is not None and birth_date > today:
        raise FamilyError(_l("Een geboortedatum kan niet in de toekomst liggen."), "birth_date")
    if birth_date is not None and birth_date.year < today.year - 13:
        raise FamilyError(_l("Kinderopvang is er voor kinderen tot 12 jaar."), "birth_date")
    if due_date is not None and not (today <= due_date <= same_day_months_later(today, 10)):
        raise FamilyError(_l("Een verwachte geboortedatum ligt vandaag of hoogstens 10 maanden vooruit."), "due_date")
    digest = None
    if national_number:
        if not national_number_valid(national_number):
            raise FamilyError(_l("Dit rijksregisternummer klopt niet: 11 cijfers met een geldige controle."),
                              "national_number")
        digest = national_number_digest(national_number, pepper=pepper)
    child = Child(first_name=first_name, last_name=last_name, birth_date=birth_date, due_date=due_date,
                  national_number_digest=digest, foster_child=foster_child, extra_care_needs=extra_care_needs,
                  sibling_location_ids=[])
    family.children.append(child)
    session.flush()
    return child


def record_consent(family: Family, purpose: str, *, user_id: uuid.UUID | None, now: datetime,
                   note: str | None = None) -> Consent:
    consent = Consent(purpose=purpose, given_at=now, given_by_user_id=user_id, note=note)
    family.consents.append(consent)
    return consent


def invite_guardian(session: Session, family: Family, *, name: str, email: str, now: datetime) -> Guardian:
    address = normalise_email(email)
    if address is None:
        raise FamilyError(_l("Dit is geen geldig e-mailadres, bv. naam@voorbeeld.be."), "email")
    if len(family.guardians) >= 2:
        raise FamilyError(_l("Een gezin heeft hoogstens twee ouders of voogden in het loket."), "email")
    if any(g.email == address for g in family.guardians):
        raise FamilyError(_l("Deze persoon is al uitgenodigd."), "email")
    guardian = Guardian(name=name.strip()[:120], email=address, invited_at=now)
    family.guardians.append(guardian)
    session.flush()
    return guardian


def accept_invitation(session: Session, guardian: Guardian, user, *, now: datetime) -> None:
    if guardian.user_id is not None or family_of(session, user.id) is not None:
        raise FamilyError(_l("Deze uitnodiging kan niet meer gebruikt worden."))
    guardian.user_id, guardian.accepted_at, guardian.name = user.id, now, user.name


# --- referrers (toeleiders) -------------------------------------------------------------------


def referrer_organisations(user) -> set[str]:
    return {m.organisation for m in getattr(user, "memberships", []) if m.role == "referrer" and m.organisation}


def may_act_for(user, family: Family) -> bool:
    """A guardian of the family, or a referrer of the organisation that filed for it."""
    return is_guardian(family, user.id) or (
        family.referrer_organisation is not None and family.referrer_organisation in referrer_organisations(user))


def families_filed_by(session: Session, user) -> list[Family]:
    organisations = referrer_organisations(user)
    if not organisations:
        return []
    return list(session.scalars(select(Family).where(Family.referrer_organisation.in_(organisations))
                                .order_by(Family.created_at.desc())))


def file_family(session: Session, referrer, *, organisation: str, guardian_name: str, guardian_email: str | None,
                phone: str | None, language: str, now: datetime, consent_note: str | None) -> Family:
    """A referrer opens a dossier for a family, with the family's consent on record."""
    if organisation not in referrer_organisations(referrer):
        raise FamilyError(_l("U bent geen toeleider van deze organisatie."))
    name = (guardian_name or "").strip()
    if not name or len(name) > 120:
        raise FamilyError(_l("Vul de naam van de ouder in (hoogstens 120 tekens)."), "guardian_name")
    email = None
    if guardian_email:
        email = normalise_email(guardian_email)
        if email is None:
            raise FamilyError(_l("Dit is geen geldig e-mailadres, bv. naam@voorbeeld.be."), "guardian_email")
    family = Family(language=language, referrer_organisation=organisation, phone=(phone or "").strip() or None,
                    guardians=[Guardian(name=name, email=email or "", invited_at=now if email else None)])
    record_consent(family, "referrer_files", user_id=referrer.id, now=now, note=consent_note)
    session.add(family)
    session.flush()
    return family
