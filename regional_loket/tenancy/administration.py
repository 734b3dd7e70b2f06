"""What the region's administrators do to a municipality from the browser, at the tenancy level:
check a new municipality's fields (each refusal a translated message per field, nothing
written), rename its subdomain (the old one redirects and stays reserved), and tell which of its
fields a definition file (tenants/<slug>.toml) declares and which the database took over.

Functions take the session and what they need explicitly; the caller commits and audits.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from . import profiles, services
from .models import RetiredSubdomain, Tenant, TenantDomain, schema_for
from .resolver import RESERVED_SLUGS, SLUG_RE, split_host

# The definition fields an administrator's change takes over from the file (``flask tenants
# sync`` then reports a difference instead of overwriting it), besides the desk's own.
CREATED_HERE = ("name", "nis_code", "colour", "extra_domains")
# Definition file keys → what the page calls them (the fields a file can manage).
FILE_FIELDS = {
    "name": _l("naam"), "nis_code": _l("NIS-code"), "colour": _l("kleur"), "extra_domains": _l("extra domeinen"),
    "logo": _l("logo"), "desk": _l("contactgegevens van het loket"), "settings": _l("regels"),
    "postcodes": _l("postcodes"),
}


class AdministrationError(ValueError):
    """Input the administrator must correct: ``errors`` maps a field to its translated message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def reserved_names(session: Session) -> frozenset[str]:
    """Names no municipality may take: the platform's own hosts, plus the region's list
    (region setting ``reserved_subdomains``, e.g. ``["loket", "intranet"]``)."""
    extra = services.region_settings(session).get("reserved_subdomains") or []
    return RESERVED_SLUGS | {str(name).lower() for name in extra if isinstance(name, str)}


def subdomain_taken(session: Session, name: str, *, tenant_id: uuid.UUID | None = None) -> bool:
    """Whether ``name`` is a municipality's host label now, or was one (retired names stay
    reserved). A municipality may take back a name it retired itself (``tenant_id``)."""
    if session.scalar(select(Tenant.id).where(Tenant.subdomain == name, Tenant.id != tenant_id)
                      if tenant_id else select(Tenant.id).where(Tenant.subdomain == name)):
        return True
    retired = session.get(RetiredSubdomain, name)
    return retired is not None and retired.tenant_id != tenant_id


def _label_error(session: Session, value: str, *, tenant_id: uuid.UUID | None = None):
    if not SLUG_RE.match(value or ""):
        return _l("Gebruik 2 tot 40 kleine letters, cijfers en enkele koppeltekens; begin met een letter.")
    if value in reserved_names(session):
        return _l("“%(name)s” is voorbehouden voor het platform; kies een andere naam.", name=value)
    if subdomain_taken(session, value, tenant_id=tenant_id):
        return _l("“%(name)s” is al in gebruik (of was dat vroeger) bij een gemeente.", name=value)
    return None


def check_new(session: Session, *, slug: str, subdomain: str, name: str, nis_code: str, colour: str,
              domains: list[str], region_host: str, exclude_slugs: frozenset[str] = frozenset()) -> dict:
    """The fields of a municipality to create, checked against each other and the database:
    ``{field: translated message}``, empty when all is well. ``exclude_slugs``: slugs an
    unfinished provisioning already claims (they count as taken)."""
    errors = {}
    if not SLUG_RE.match(slug or ""):
        errors["slug"] = _l("Gebruik 2 tot 40 kleine letters, cijfers en enkele koppeltekens; begin met een letter.")
    elif slug in reserved_names(session):
        errors["slug"] = _l("“%(name)s” is voorbehouden voor het platform; kies een andere naam.", name=slug)
    elif (services.get_tenant(session, slug) is not None or slug in exclude_slugs
          or session.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema_for(slug)})):
        errors["slug"] = _l("Er bestaat al een gemeente met de korte naam “%(name)s”.", name=slug)
    if (message := _label_error(session, subdomain)) is not None:
        errors["subdomain"] = message
    name = (name or "").strip()
    if not name or len(name) > profiles.MAX_NAME:
        errors["name"] = _l("Vul een naam in van hoogstens %(n)s tekens.", n=profiles.MAX_NAME)
    if not services.NIS_RE.match(nis_code or ""):
        errors["nis_code"] = _l("Een NIS-code bestaat uit vijf cijfers, bv. 24038.")
    elif session.scalar(select(Tenant.id).where(Tenant.nis_code == nis_code)):
        errors["nis_code"] = _l("De NIS-code %(code)s hoort al bij een andere gemeente.", code=nis_code)
    if not services.COLOUR_RE.match(colour or ""):
        errors["colour"] = _l("Geef een kleur als #rrggbb, bijvoorbeeld #1d4f91.")
    elif (ratio := profiles.contrast_with_white(colour)) < profiles.MIN_CONTRAST:
        errors["colour"] = _l("Witte tekst op deze kleur heeft een contrast van %(ratio)s:1; minstens 4,5:1 is nodig "
                              "om leesbaar te zijn. Kies een donkerdere kleur.", ratio=f"{ratio:.1f}")
    if (message := domains_error(session, domains, region_host=region_host)) is not None:
        errors["domains"] = message
    return errors


def domains_error(session: Session, domains: list[str], *, region_host: str):
    region = (split_host(region_host) or ("",))[0]
    for domain in domains:
        parsed = split_host(domain)
        if parsed is None or parsed[1] is not None or "." not in parsed[0]:
            return _l("“%(domain)s” is geen geldige domeinnaam (bv. kinderopvang.gemeente.be).", domain=domain)
        if region and (parsed[0] == region or parsed[0].endswith("." + region)):
            return _l("“%(domain)s” valt onder het domein van de regio; kies daarvoor het subdomein.", domain=domain)
        if session.get(TenantDomain, parsed[0]) is not None:
            return _l("Het domein %(domain)s hoort al bij een andere gemeente.", domain=domain)
    if len(set(domains)) != len(domains):
        return _l("Elk domein maar één keer.")
    return None


def rename_subdomain(session: Session, tenant: Tenant, new: str, *, now: datetime) -> str:
    """Give ``tenant`` the host label ``new``; the old label is kept as a retired name (its host
    redirects, nobody else may take it). Taking back one's own retired name releases it.
    Returns the old label."""
    new = (new or "").strip().lower()
    if new == tenant.subdomain:
        raise AdministrationError({"subdomain": _l("Dat is al het subdomein van deze gemeente.")})
    if (message := _label_error(session, new, tenant_id=tenant.id)) is not None:
        raise AdministrationError({"subdomain": message})
    old = tenant.subdomain
    own = session.get(RetiredSubdomain, new)
    if own is not None:
        session.delete(own)
    session.add(RetiredSubdomain(subdomain=old, tenant_id=tenant.id, retired_at=now))
    tenant.subdomain = new
    session.flush()
    return old


def retired_subdomains(session: Session, tenant: Tenant) -> list[str]:
    return list(session.scalars(select(RetiredSubdomain.subdomain).where(RetiredSubdomain.tenant_id == tenant.id)
                                .order_by(RetiredSubdomain.subdomain)))


def renamed_to(session: Session, subdomain: str) -> Tenant | None:
    """The municipality that used ``subdomain`` before a rename (its host redirects there)."""
    return session.scalar(select(Tenant).join(RetiredSubdomain, RetiredSubdomain.tenant_id == Tenant.id)
                          .where(RetiredSubdomain.subdomain == subdomain))


def manage(session: Session, tenant: Tenant, fields, now: datetime) -> None:
    """From now on these definition fields are the database's: ``flask tenants sync`` reports a
    file that differs instead of overwriting them (as for the desk's changes)."""
    profiles._manage(session, tenant, list(fields), now)


def managed_fields(session: Session, tenant: Tenant) -> list[str]:
    """The definition fields the database took over (by the desk or an administrator)."""
    return sorted(services._managed(session, tenant))


def definition_fields(directory: str | Path | None, slug: str) -> list[str] | None:
    """The fields ``tenants/<slug>.toml`` declares (keys of FILE_FIELDS), or None when the
    municipality has no definition file. Read from the file itself, not validated: a page must
    not fail on a file an operator is editing."""
    import tomllib

    if not directory:
        return None
    path = Path(directory) / f"{slug}.toml"
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return []
    return [key for key in FILE_FIELDS if key in data]
