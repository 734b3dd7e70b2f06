"""What a municipality's desk sets itself: its name and brand colour, its logo, its rules
(``TenantSettings``), the portal's texts and its accessibility statement.

Each function takes the session, the tenant, the acting user's id and the time, checks
everything before it writes anything (a refusal raises :class:`ProfileError` with a translated
message per field, and nothing changed), and writes one audit line in the municipality's own
log. Fields the definitions (tenants/*.toml) also hold — name, colour, the desk's contact,
settings — are marked as managed by the desk, so ``flask tenants sync`` reports a difference
instead of overwriting the desk's choice (``services.sync_definitions``).
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from ..languages import CODES as LANGUAGE_CODES
from ..languages import DEFAULT as DEFAULT_LANGUAGE
from . import services
from .binding import tenant_scope
from .models import AuditEntry, MunicipalityProfile, Tenant, TenantLogo, TenantSettings

# --- refusals -------------------------------------------------------------------------------


class ProfileError(ValueError):
    """Input the desk must correct: ``errors`` maps a field name to its translated message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- name and colour --------------------------------------------------------------------------

# WCAG 2.x: normal text needs 4.5:1. Pages write white text on the brand colour (buttons, the
# header), so a lighter colour would make them unreadable.
MIN_CONTRAST = 4.5
MAX_NAME = 120


def contrast_with_white(colour: str) -> float:
    """The WCAG contrast ratio of white text on ``#rrggbb`` (1 to 21)."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    return 1.05 / (luminance + 0.05)


def update_identity(session: Session, tenant: Tenant, *, actor_id: uuid.UUID | None, name: str, colour: str,
                    now: datetime) -> dict:
    """The municipality's display name and brand colour; returns what changed."""
    name, colour = (name or "").strip(), (colour or "").strip().lower()
    errors = {}
    if not name or len(name) > MAX_NAME:
        errors["name"] = _l("Vul een naam in van hoogstens %(n)s tekens.", n=MAX_NAME)
    if not services.COLOUR_RE.match(colour):
        errors["colour"] = _l("Geef een kleur als #rrggbb, bijvoorbeeld #1d4f91.")
    elif (ratio := contrast_with_white(colour)) < MIN_CONTRAST:
        errors["colour"] = _l("Witte tekst op deze kleur heeft een contrast van %(ratio)s:1; minstens 4,5:1 is nodig "
                              "om leesbaar te zijn. Kies een donkerdere kleur.", ratio=f"{ratio:.1f}")
    if errors:
        raise ProfileError(errors)
    changed = {k: [getattr(tenant, k), v] for k, v in (("name", name), ("colour", colour)) if getattr(tenant, k) != v}
    for key, (_old, new) in changed.items():
        setattr(tenant, key, new)
    _manage(session, tenant, list(changed), now)
    _audit(session, tenant, actor_id, "settings.identity", changed, now)
    return changed


# --- rules (TenantSettings) -------------------------------------------------------------------

# The range the desk may choose for each rule: wide enough for every real municipality, narrow
# enough that a typo (210 days instead of 21) is caught. max_choices' upper bound is the region's.
SETTING_RANGES = {
    "response_days": (1, 90),
    "offer_days": (1, 30),
    "confirm_interval_months": (1, 12),
    "confirm_grace_days": (7, 90),
    "max_choices": (1, None),
    "call_months_before_start": (1, 12),
    "stale_free_places_weeks": (1, 26),
}


def setting_range(session: Session, key: str) -> tuple[int, int]:
    low, high = SETTING_RANGES[key]
    return low, high if high is not None else services.max_choices(session)


def update_settings(session: Session, tenant: Tenant, *, actor_id: uuid.UUID | None, values: dict,
                    now: datetime) -> dict:
    """Set some of the municipality's rules (keys of ``SETTING_RANGES``; ``max_choices`` may be
    None: the region's maximum). Every value is checked first; returns what changed."""
    errors = {}
    for key, value in values.items():
        if key not in SETTING_RANGES:
            raise KeyError(key)  # a programming error, not input
        if key == "max_choices" and value is None:
            continue
        low, high = setting_range(session, key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[key] = (_l("Kies een getal van %(low)s tot %(high)s: de regio laat hoogstens %(high)s keuzes per "
                              "aanvraag toe.", low=low, high=high) if key == "max_choices"
                           else _l("Kies een getal van %(low)s tot %(high)s.", low=low, high=high))
    if errors:
        raise ProfileError(errors)
    data = dict(tenant.settings_data or {})
    current = tenant.settings
    changed = {}
    for key, value in values.items():
        if getattr(current, key) != value:
            changed[key] = [getattr(current, key), value]
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    TenantSettings.from_json(data)  # the accessor reads it back, or this is a bug
    tenant.settings_data = data
    _manage(session, tenant, [f"settings.{k}" for k in values], now)
    _audit(session, tenant, actor_id, "settings.rules", changed, now)
    return changed


# --- portal texts -----------------------------------------------------------------------------

MAX_WELCOME = 2000
MAX_DESK_LINE = 200
DESK_FIELDS = ("address", "phone", "email", "hours")


def profile_of(session: Session, tenant: Tenant) -> MunicipalityProfile | None:
    return session.get(MunicipalityProfile, tenant.id)


def welcome_text(session: Session, tenant: Tenant) -> dict:
    """The portal's welcome text per language ({} when the desk wrote none)."""
    profile = profile_of(session, tenant)
    return dict(profile.welcome) if profile is not None else {}


def _per_language(texts: dict | None) -> dict:
    return {code: text.strip() for code, text in (texts or {}).items()
            if code in LANGUAGE_CODES and isinstance(text, str) and text.strip()}


def update_portal_texts(session: Session, tenant: Tenant, *, actor_id: uuid.UUID | None, welcome: dict,
                        address: str, phone: str, email: str, hours: dict, now: datetime) -> list[str]:
    """The welcome text and the hours per language, the desk's address, phone and e-mail
    (phone and e-mail already normalised by the form's validators). Returns the changed fields."""
    welcome, hours = _per_language(welcome), _per_language(hours)
    errors = {}
    for code, text in welcome.items():
        if len(text) > MAX_WELCOME:
            errors[f"welcome_{code}"] = _l("Hoogstens %(n)s tekens.", n=MAX_WELCOME)
    for code, text in hours.items():
        if len(text) > MAX_DESK_LINE:
            errors[f"hours_{code}"] = _l("Hoogstens %(n)s tekens.", n=MAX_DESK_LINE)
    if hours and DEFAULT_LANGUAGE not in hours:
        # Pages fall back to Dutch (web.formatting.translated), so it must be there.
        errors[f"hours_{DEFAULT_LANGUAGE}"] = _l("Vul de openingsuren ook in het Nederlands in.")
    for key, text in (("address", address), ("phone", phone), ("email", email)):
        if len(text or "") > MAX_DESK_LINE:
            errors[key] = _l("Hoogstens %(n)s tekens.", n=MAX_DESK_LINE)
    if errors:
        raise ProfileError(errors)
    desk = dict(tenant.desk or {})
    for key, value in (("address", (address or "").strip()), ("phone", (phone or "").strip()),
                       ("email", (email or "").strip()), ("hours", hours)):
        if value:
            desk[key] = value
        else:
            desk.pop(key, None)
    changed = [f"desk.{k}" for k in DESK_FIELDS if (tenant.desk or {}).get(k) != desk.get(k)]
    tenant.desk = desk
    profile = _profile(session, tenant, now)
    if profile.welcome != welcome:
        changed.append("welcome")
        profile.welcome = welcome
    _manage(session, tenant, [f"desk.{k}" for k in DESK_FIELDS], now)
    _audit(session, tenant, actor_id, "settings.portal_texts", {"fields": changed}, now)
    return changed


# --- accessibility statement ------------------------------------------------------------------

COMPLIANCE = {
    "full": _l("volledig conform"),
    "partial": _l("gedeeltelijk conform"),
    "none": _l("niet conform"),
}
MAX_ISSUES = 4000


def accessibility_statement(session: Session, tenant: Tenant | None) -> dict:
    """The statement a host shows: the municipality's (its desk's contact as the feedback
    contact until it wrote one), or on the regional portal the region's ``accessibility``
    setting, else a default with the region's contact address. Keys: status (a COMPLIANCE code
    or None: not assessed yet), assessed_on (date or None), feedback_email, feedback_phone,
    known_issues {language: text}."""
    if tenant is not None:
        profile = profile_of(session, tenant)
        stored = dict(profile.accessibility) if profile is not None else {}
        fallback = {"feedback_email": (tenant.desk or {}).get("email"), "feedback_phone": (tenant.desk or {}).get("phone")}
    else:
        region = services.region_settings(session)
        stored = region.get("accessibility") if isinstance(region.get("accessibility"), dict) else {}
        fallback = {"feedback_email": region.get("contact_email"), "feedback_phone": None}
    assessed = stored.get("assessed_on")
    try:
        assessed = date.fromisoformat(assessed) if assessed else None
    except (TypeError, ValueError):
        assessed = None
    has_contact = stored.get("feedback_email") or stored.get("feedback_phone")
    return {
        "status": stored.get("status") if stored.get("status") in COMPLIANCE else None,
        "assessed_on": assessed,
        "feedback_email": stored.get("feedback_email") if has_contact else fallback["feedback_email"],
        "feedback_phone": stored.get("feedback_phone") if has_contact else fallback["feedback_phone"],
        "known_issues": _per_language(stored.get("known_issues")),
    }


def update_accessibility(session: Session, tenant: Tenant, *, actor_id: uuid.UUID | None, status: str,
                         assessed_on: date | None, feedback_email: str, feedback_phone: str, known_issues: dict,
                         now: datetime) -> None:
    """The municipality's accessibility statement (phone and e-mail normalised by the form)."""
    known_issues = _per_language(known_issues)
    errors = {}
    if status not in COMPLIANCE:
        errors["status"] = _l("Kies in welke mate de website conform is.")
    if assessed_on is None:
        errors["assessed_on"] = _l("Vul de datum van de beoordeling in.")
    elif assessed_on > now.date():
        errors["assessed_on"] = _l("De datum van de beoordeling ligt niet in de toekomst.")
    if not (feedback_email or "").strip() and not (feedback_phone or "").strip():
        errors["feedback_email"] = _l("Geef een e-mailadres of telefoonnummer waar bezoekers een probleem kunnen "
                                      "melden: de wet vraagt een contactpunt.")
    for code, text in known_issues.items():
        if len(text) > MAX_ISSUES:
            errors[f"known_issues_{code}"] = _l("Hoogstens %(n)s tekens.", n=MAX_ISSUES)
    if status != "full" and not known_issues.get(DEFAULT_LANGUAGE):
        errors[f"known_issues_{DEFAULT_LANGUAGE}"] = _l(
            "Beschrijf in het Nederlands wat nog niet toegankelijk is: de website is niet volledig conform.")
    if errors:
        raise ProfileError(errors)
    profile = _profile(session, tenant, now)
    profile.accessibility = {
        "status": status, "assessed_on": assessed_on.isoformat(),
        "feedback_email": (feedback_email or "").strip() or None,
        "feedback_phone": (feedback_phone or "").strip() or None, "known_issues": known_issues,
    }
    _audit(session, tenant, actor_id, "settings.accessibility", {"status": status}, now)


# --- logo -------------------------------------------------------------------------------------

MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_SIDE = 2000  # pixels, each way: the header shows it 48 px high
_PNG = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (they carry the dimensions); C4, C8 and CC are other segments.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def sniff_image(data: bytes) -> tuple[str, int, int] | None:
    """(content type, width, height) read from the bytes themselves — never the file name or
    the type the browser claims — for a PNG or JPEG; None for anything else (SVG included: it
    can carry scripts)."""
    if data.startswith(_PNG) and len(data) >= 33 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return ("image/png", width, height) if b"IEND" in data[-12:] else None
    if data.startswith(b"\xff\xd8\xff"):
        position = 2
        while position + 4 <= len(data):
            if data[position] != 0xFF:
                return None
            marker = data[position + 1]
            if marker == 0xFF:  # fill byte
                position += 1
                continue
            if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
                position += 2
                continue
            (length,) = struct.unpack(">H", data[position + 2:position + 4])
            if marker in _SOF and position + 9 <= len(data):
                height, width = struct.unpack(">HH", data[position + 5:position + 9])
                return "image/jpeg", width, height
            if marker in (0xDA, 0xD9) or length < 2:  # image data or end without a frame header
                return None
            position += 2 + length
    return None


def save_logo(session: Session, tenant: Tenant, *, actor_id: uuid.UUID | None, data: bytes,
              now: datetime) -> TenantLogo:
    """Store an uploaded logo (PNG or JPEG, at most 512 KiB and 2000 px each way)."""
    if not data:
        raise ProfileError({"logo": _l("Kies een bestand.")})
    if len(data) > MAX_LOGO_BYTES:
        raise ProfileError({"logo": _l("Het bestand is te groot (%(size)s KiB); hoogstens %(max)s KiB.",
                                       size=len(data) // 1024, max=MAX_LOGO_BYTES // 1024)})
    sniffed = sniff_image(data)
    if sniffed is None:
        raise ProfileError({"logo": _l("Dit bestand is geen PNG- of JPEG-afbeelding. Andere soorten (ook SVG) "
                                       "aanvaarden we niet.")})
    content_type, width, height = sniffed
    if not (1 <= width <= MAX_LOGO_SIDE and 1 <= height <= MAX_LOGO_SIDE):
        raise ProfileError({"logo": _l("De afbeelding is %(w)s × %(h)s pixels; hoogstens %(max)s × %(max)s.",
                                       w=width, h=height, max=MAX_LOGO_SIDE)})
    digest = hashlib.sha256(data).hexdigest()
    logo = session.get(TenantLogo, tenant.id) or TenantLogo(tenant_id=tenant.id)
    logo.content, logo.content_type, logo.sha256 = data, content_type, digest
    logo.width, logo.height, logo.uploaded_at = width, height, now
    session.add(logo)
    _audit(session, tenant, actor_id, "settings.logo",
           {"sha256": digest, "content_type": content_type, "bytes": len(data), "width": width, "height": height}, now)
    session.expire(tenant, ["uploaded_logo"])
    return logo


def remove_logo(session: Session, tenant: Tenant, *, actor_id: uuid.UUID | None, now: datetime) -> bool:
    """Remove the uploaded logo (the definition's file, if any, shows again)."""
    logo = session.get(TenantLogo, tenant.id)
    if logo is None:
        return False
    session.delete(logo)
    _audit(session, tenant, actor_id, "settings.logo_removed", {"sha256": logo.sha256}, now)
    session.flush()
    session.expire(tenant, ["uploaded_logo"])
    return True


def uploaded_logo(session: Session, tenant: Tenant, *, content: bool = True) -> TenantLogo | None:
    """The uploaded logo, with its bytes unless ``content=False`` (one statement), if any."""
    query = select(TenantLogo).where(TenantLogo.tenant_id == tenant.id)
    return session.scalar(query.options(undefer(TenantLogo.content)) if content else query)


# --- shared steps -----------------------------------------------------------------------------


def _profile(session: Session, tenant: Tenant, now: datetime) -> MunicipalityProfile:
    profile = profile_of(session, tenant)
    if profile is None:
        profile = MunicipalityProfile(tenant_id=tenant.id, managed=[], welcome={}, accessibility={}, updated_at=now)
        session.add(profile)
    profile.updated_at = now
    return profile


def _manage(session: Session, tenant: Tenant, fields: list[str], now: datetime) -> None:
    """From now on these definition fields are the desk's (``flask tenants sync`` keeps them)."""
    if not fields:
        return
    profile = _profile(session, tenant, now)
    managed = set(profile.managed or [])
    if not set(fields) <= managed:
        profile.managed = sorted(managed | set(fields))


def _audit(session: Session, tenant: Tenant, actor_id, action: str, detail: dict, now: datetime) -> None:
    with tenant_scope(session, tenant):
        session.add(AuditEntry(actor_id=actor_id, action=action, subject=f"tenant:{tenant.slug}",
                               detail=detail, at=now))
