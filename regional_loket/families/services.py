"""The family dossier: guardians, children, declarations, consent, export and erasure."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..accounts.services import normalise_email
from ..months import same_day_months_later
from ..tenancy import Postcode
from ..validators import normalise_phone
from .models import Child, ClaimCode, Consent, Family, Guardian


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
                   note: str | None = None, method: str | None = None) -> Consent:
    consent = Consent(purpose=purpose, given_at=now, given_by_user_id=user_id, note=note, method=method)
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


# --- filing for a family: referrers (toeleiders) and the municipality's desk ------------------
#
# One implementation for both: a referrer's organisation or a municipality's desk opens the
# dossier with the family's consent on record, and from then on its people act for the family
# in the shared request wizard (``may_act_for``), recorded with their role (``acting_role``).

CONSENT_METHODS = {
    "in_person": _l("persoonlijk, aan het loket"),
    "phone": _l("telefonisch"),
    "paper": _l("op papier, ondertekend"),
}


def referrer_organisations(user) -> set[str]:
    return {m.organisation for m in getattr(user, "memberships", []) if m.role == "referrer" and m.organisation}


def desk_tenant_ids(user) -> set[uuid.UUID]:
    """The municipalities whose desk this user staffs (a coordinator's memberships)."""
    return {m.tenant_id for m in getattr(user, "memberships", []) if m.role == "coordinator" and m.tenant_id}


def acting_role(user, family: Family) -> str | None:
    """How ``user`` may act for ``family``: ``family`` (a guardian), ``referrer`` (of the
    organisation that filed for it), ``desk`` (a coordinator of the municipality whose desk
    filed it), or None. The roles are the applications' actor roles, written in the history."""
    if is_guardian(family, user.id):
        return "family"
    if family.referrer_organisation is not None and family.referrer_organisation in referrer_organisations(user):
        return "referrer"
    if family.desk_tenant_id is not None and family.desk_tenant_id in desk_tenant_ids(user):
        return "desk"
    return None


def may_act_for(user, family: Family) -> bool:
    """A guardian of the family, a referrer of the organisation that filed for it, or a
    coordinator of the desk that filed it."""
    return acting_role(user, family) is not None


def families_filed_by(session: Session, user) -> list[Family]:
    """The families this user's referrer organisations filed for (the referrer's home)."""
    organisations = referrer_organisations(user)
    if not organisations:
        return []
    return list(session.scalars(select(Family).where(Family.referrer_organisation.in_(organisations))
                                .order_by(Family.created_at.desc())))


def families_acting_for(session: Session, user) -> list[Family]:
    """Every family filed by this user's organisations or desks, newest first."""
    organisations, desks = referrer_organisations(user), desk_tenant_ids(user)
    clauses = ([Family.referrer_organisation.in_(organisations)] if organisations else []) + (
        [Family.desk_tenant_id.in_(desks)] if desks else [])
    if not clauses:
        return []
    return list(session.scalars(select(Family).where(or_(*clauses)).order_by(Family.created_at.desc())))


def desk_families(session: Session, tenant_id: uuid.UUID, *, page: int = 1, per_page: int = 20
                  ) -> tuple[list[Family], int]:
    """The families this municipality's desk filed, newest first, one page, and their number."""
    where = Family.desk_tenant_id == tenant_id
    total = desk_family_count(session, tenant_id)
    rows = session.scalars(select(Family).where(where).order_by(Family.created_at.desc(), Family.id)
                           .limit(per_page).offset((max(page, 1) - 1) * per_page))
    return list(rows), total


def desk_family_count(session: Session, tenant_id: uuid.UUID) -> int:
    return session.scalar(select(func.count()).select_from(Family).where(Family.desk_tenant_id == tenant_id)) or 0


def desk_family(session: Session, tenant_id: uuid.UUID, family_id: uuid.UUID) -> Family | None:
    """A family this desk filed, or None (another desk's family is indistinguishable from none)."""
    family = session.get(Family, family_id)
    return family if family is not None and family.desk_tenant_id == tenant_id else None


def filing_consent(family: Family) -> Consent | None:
    """The consent recorded when the family was filed for (the latest, if several)."""
    filed = [c for c in family.consents if c.purpose in ("referrer_files", "desk_files") and c.withdrawn_at is None]
    return filed[-1] if filed else None


def _postal_address(street: str | None, number: str | None, postcode: str | None, locality: str | None
                    ) -> tuple[str, str, str, str] | None:
    """A complete postal address, None when none is given; a partial one is refused."""
    parts = {"street": (street or "").strip(), "number": (number or "").strip(),
             "postcode": (postcode or "").strip(), "locality": (locality or "").strip()}
    if not any(parts.values()):
        return None
    messages = {"street": _l("Vul de straat in, of laat het hele adres leeg."),
                "number": _l("Vul het huisnummer in, of laat het hele adres leeg."),
                "postcode": _l("Vul de postcode in, of laat het hele adres leeg."),
                "locality": _l("Vul de gemeente in, of laat het hele adres leeg.")}
    for name, value in parts.items():
        if not value:
            raise FamilyError(messages[name], name)
    if not re.fullmatch(r"[1-9]\d{3}", parts["postcode"]):
        raise FamilyError(_l("Een postcode heeft 4 cijfers, bv. 3000."), "postcode")
    return parts["street"][:160], parts["number"][:20], parts["postcode"], parts["locality"][:80]


def file_family(session: Session, actor, *, organisation: str | None = None, desk_tenant_id: uuid.UUID | None = None,
                guardian_name: str, guardian_email: str | None = None, phone: str | None = None,
                street: str | None = None, number: str | None = None, postcode: str | None = None,
                locality: str | None = None, language: str, now: datetime, consent_note: str | None = None,
                consent_method: str | None = None) -> Family:
    """A referrer (for ``organisation``) or a municipality's desk (``desk_tenant_id``) opens a
    dossier for a family, with the family's consent on record. The desk files for families
    without e-mail: it must be able to reach them, so a phone number or a postal address is
    required, and it says how the family consented (``CONSENT_METHODS``)."""
    if (organisation is None) == (desk_tenant_id is None):
        raise ValueError("file for an organisation or a desk")
    if organisation is not None and organisation not in referrer_organisations(actor):
        raise FamilyError(_l("U bent geen toeleider van deze organisatie."))
    if desk_tenant_id is not None and desk_tenant_id not in desk_tenant_ids(actor):
        raise FamilyError(_l("U werkt niet aan het loket van deze gemeente."))
    name = (guardian_name or "").strip()
    if not name or len(name) > 120:
        raise FamilyError(_l("Vul de naam van de ouder in (hoogstens 120 tekens)."), "guardian_name")
    email = None
    if guardian_email:
        email = normalise_email(guardian_email)
        if email is None:
            raise FamilyError(_l("Dit is geen geldig e-mailadres, bv. naam@voorbeeld.be."), "guardian_email")
    number_typed = (phone or "").strip()
    phone = normalise_phone(number_typed) if number_typed else None
    if number_typed and phone is None:
        raise FamilyError(_l("Dit is geen geldig telefoonnummer, bv. 016 12 34 56 of +32 470 12 34 56."), "phone")
    address = _postal_address(street, number, postcode, locality)
    if consent_method is not None and consent_method not in CONSENT_METHODS:
        raise FamilyError(_l("Kies hoe het gezin toestemming gaf."), "consent_method")
    if desk_tenant_id is not None:
        if consent_method is None:
            raise FamilyError(_l("Kies hoe het gezin toestemming gaf."), "consent_method")
        if phone is None and address is None and email is None:
            raise FamilyError(_l("Geef een telefoonnummer of een postadres: zo kan het loket het gezin bereiken."),
                              "phone")
    family = Family(language=language, referrer_organisation=organisation, desk_tenant_id=desk_tenant_id,
                    phone=phone, guardians=[Guardian(name=name, email=email or "", invited_at=now if email else None)])
    if address is not None:
        family.street, family.number, family.postcode, family.locality = address
        family.home_tenant_id = home_tenant_id(session, family.postcode)
    record_consent(family, "desk_files" if desk_tenant_id is not None else "referrer_files", user_id=actor.id,
                   now=now, note=(consent_note or "").strip() or None, method=consent_method)
    session.add(family)
    session.flush()
    return family


# --- claim codes: a family filed at the desk takes its dossier over online ---------------------

CLAIM_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed from paper
CLAIM_LENGTH = 10
CLAIM_DAYS = 90


def _claim_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalise_claim_code(text: str | None) -> str:
    """What the family typed, as the code is kept: capitals, without spaces or dashes."""
    return re.sub(r"[\s\-.]", "", text or "").upper()


def format_claim_code(code: str) -> str:
    """``ABCDEFGHJK`` as ``ABCDE-FGHJK``: two groups are easier to copy from paper."""
    return "-".join(code[i:i + 5] for i in range(0, len(code), 5))


def issue_claim_code(session: Session, family: Family, *, actor_id: uuid.UUID | None, now: datetime) -> tuple[str, ClaimCode]:
    """A new claim code for ``family`` (shown once: only its SHA-256 is kept). Earlier unused
    codes stop working, so only the latest summary handed over counts."""
    for earlier in session.scalars(select(ClaimCode).where(ClaimCode.family_id == family.id,
                                                           ClaimCode.used_at.is_(None), ClaimCode.expires_at > now)):
        earlier.expires_at = now
    code = "".join(secrets.choice(CLAIM_ALPHABET) for _ in range(CLAIM_LENGTH))
    row = ClaimCode(family_id=family.id, digest=_claim_digest(code), created_at=now, created_by_user_id=actor_id,
                    expires_at=now + timedelta(days=CLAIM_DAYS))
    session.add(row)
    session.flush()
    return format_claim_code(code), row


def live_claim_code(session: Session, family: Family, code: str, *, now: datetime) -> ClaimCode | None:
    """The unused, unexpired claim code of this family that ``code`` is, or None."""
    row = session.scalar(select(ClaimCode).where(ClaimCode.digest == _claim_digest(normalise_claim_code(code))))
    if row is None or row.family_id != family.id or row.used_at is not None or row.expires_at <= now:
        return None
    return row


def claim_family(session: Session, user, code: str, *, now: datetime) -> Family:
    """A logged-in parent takes over the dossier ``code`` was handed out for: they become one of
    its guardians (their account's address is the family's from then on) and see its requests."""
    typed = normalise_claim_code(code)
    if not typed:
        raise FamilyError(_l("Vul de code in die u van het loket kreeg."), "code")
    row = session.scalar(select(ClaimCode).where(ClaimCode.digest == _claim_digest(typed)).with_for_update())
    if row is None:
        raise FamilyError(_l("Deze code kennen we niet. Kijk na of u ze juist overnam."), "code")
    if row.used_at is not None:
        raise FamilyError(_l("Deze code werd al gebruikt. Een code werkt maar één keer."), "code")
    if row.expires_at <= now:
        raise FamilyError(_l("Deze code is verlopen. Vraag het loket om een nieuwe."), "code")
    family = session.get(Family, row.family_id)
    own = family_of(session, user.id)
    if own is not None and own.id == family.id:
        raise FamilyError(_l("Dit dossier is al het uwe."), "code")
    if own is not None:
        if own.children:
            raise FamilyError(_l("Uw account hoort al bij een ander gezin. Neem contact op met het loket."), "code")
        session.delete(own)  # an empty dossier the account made on its first visit
        session.flush()
    guardian = next((g for g in family.guardians if g.user_id is None), None)
    if guardian is None:
        if len(family.guardians) >= 2:
            raise FamilyError(_l("Een gezin heeft hoogstens twee ouders of voogden in het loket."), "code")
        guardian = Guardian(name=user.name)
        family.guardians.append(guardian)
    guardian.user_id, guardian.email, guardian.name, guardian.accepted_at = user.id, user.email, user.name, now
    row.used_at, row.used_by_user_id = now, user.id
    session.flush()
    return family
