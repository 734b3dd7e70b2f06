"""Operations on tenants. Each takes the session it works in; the caller owns the transaction,
so a failure anywhere leaves nothing half-created (PostgreSQL DDL is transactional)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sqlalchemy import Dialect, create_mock_engine, func, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, selectinload

from ..database import TENANT_PLACEHOLDER, utcnow
from ..extensions import db
from ..languages import CODES as LANGUAGE_CODES
from ..languages import DEFAULT as DEFAULT_LANGUAGE
from . import migrate
from .models import (
    MunicipalityProfile,
    Postcode,
    RegionSetting,
    RetiredSubdomain,
    SettingsError,
    Tenant,
    TenantDomain,
    TenantSettings,
    TenantStatus,
    schema_for,
)
from .resolver import RESERVED_SLUGS, SLUG_RE, HostKind, HostMatch, split_host

NIS_RE = re.compile(r"^\d{5}$")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class TenantError(ValueError):
    """A tenant operation was refused; the message says why, for the operator."""


def tenant_tables():
    return [t for t in db.metadata.sorted_tables if t.schema == TENANT_PLACEHOLDER]


def get_tenant(session: Session, slug: str) -> Tenant | None:
    return session.scalar(select(Tenant).where(Tenant.slug == slug))


def find_tenant(session: Session, match: HostMatch) -> Tenant | None:
    """The tenant a classified host names, if any (one indexed lookup)."""
    if match.kind is HostKind.SUBDOMAIN:
        return session.scalar(select(Tenant).where(Tenant.subdomain == match.key))
    if match.kind is HostKind.DOMAIN:
        return session.scalar(
            select(Tenant).join(TenantDomain).where(TenantDomain.domain == match.key)
        )
    return None


def list_tenants(session: Session, *, include_archived: bool = True, with_postcodes: bool = False) -> list[Tenant]:
    """Municipalities by name; ``with_postcodes`` loads every one's postcodes in one more
    statement (read lazily, they cost a statement per municipality)."""
    query = select(Tenant).order_by(Tenant.name)
    if with_postcodes:
        query = query.options(selectinload(Tenant.postcodes))
    if not include_archived:
        query = query.where(Tenant.status == TenantStatus.ACTIVE)
    return list(session.scalars(query))


@dataclass(frozen=True)
class DirectoryEntry:
    """An active municipality as the region's home page lists it."""

    slug: str
    subdomain: str
    name: str
    postcodes: tuple[str, ...]  # each code once, ascending (a code may have several localities)


def directory(session: Session) -> list[DirectoryEntry]:
    """Every active municipality by name with its postcodes, in one statement whatever their
    number (the home page read each tenant's postcodes lazily: one SELECT per municipality)."""
    codes = func.array_agg(aggregate_order_by(Postcode.code.distinct(), Postcode.code))
    rows = session.execute(
        select(Tenant.slug, Tenant.subdomain, Tenant.name, codes.filter(Postcode.code.is_not(None)))
        .outerjoin(Postcode, Postcode.tenant_id == Tenant.id)
        .where(Tenant.status == TenantStatus.ACTIVE)
        .group_by(Tenant.id)
        .order_by(Tenant.name)
    )
    return [DirectoryEntry(slug, subdomain, name, tuple(postcodes or ())) for slug, subdomain, name, postcodes in rows]


def active_names(session: Session) -> list:
    """(slug, name) of every active municipality by name: what a filter list needs, without
    loading hundreds of whole tenants."""
    return session.execute(select(Tenant.slug, Tenant.name).where(Tenant.status == TenantStatus.ACTIVE)
                           .order_by(Tenant.name)).all()


def validate_slug(slug: str) -> str:
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise TenantError(
            f"invalid slug {slug!r}: 2–40 characters, lowercase letters, digits and single "
            "hyphens, starting with a letter"
        )
    if slug in RESERVED_SLUGS:
        raise TenantError(f"slug {slug!r} is reserved")
    return slug


def _validate_fields(name: str, nis_code: str, colour: str | None) -> None:
    if not name or not name.strip() or len(name) > 120:
        raise TenantError("name is required (at most 120 characters)")
    if not NIS_RE.match(nis_code or ""):
        raise TenantError(f"invalid NIS code {nis_code!r}: five digits")
    if colour is not None and not COLOUR_RE.match(colour):
        raise TenantError(f"invalid colour {colour!r}: #rrggbb")


def _validate_settings(settings: dict | None) -> dict:
    """The settings as given (kept as written, so a later sync sees no change), once they
    read as TenantSettings."""
    try:
        TenantSettings.from_json(settings)
    except SettingsError as exc:
        raise TenantError(str(exc)) from exc
    return dict(settings or {})


def _validate_domain(domain: str) -> str:
    parsed = split_host(domain)
    if parsed is None or parsed[1] is not None or "." not in parsed[0]:
        raise TenantError(f"invalid domain {domain!r}")
    return parsed[0]


def create_tenant(
    session: Session,
    *,
    slug: str,
    name: str,
    nis_code: str,
    colour: str | None = None,
    desk: dict | None = None,
    settings: dict | None = None,
    domains: list[str] | tuple[str, ...] = (),
    subdomain: str | None = None,
) -> Tenant:
    """Register a municipality and build its schema at the current head, in the caller's
    transaction: tables from the models, then the version stamp (no replay of history).
    ``subdomain``: its host's label, the slug unless given."""
    validate_slug(slug)
    subdomain = subdomain or slug
    if subdomain != slug:
        validate_slug(subdomain)
    _validate_fields(name, nis_code, colour)
    settings = _validate_settings(settings)
    domains = [_validate_domain(d) for d in domains]
    if get_tenant(session, slug) is not None:
        raise TenantError(f"tenant {slug!r} already exists")
    if session.scalar(select(Tenant.id).where(Tenant.subdomain == subdomain)) or session.get(
            RetiredSubdomain, subdomain) is not None:
        raise TenantError(f"subdomain {subdomain!r} is taken (or was used before and stays reserved)")
    if session.scalar(select(Tenant.id).where(Tenant.nis_code == nis_code)):
        raise TenantError(f"NIS code {nis_code} already belongs to another tenant")
    for domain in domains:
        if session.get(TenantDomain, domain) is not None:
            raise TenantError(f"domain {domain!r} already belongs to another tenant")
    schema = schema_for(slug)
    if session.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}):
        raise TenantError(f"schema {schema} already exists in the database")

    tenant = Tenant(
        slug=slug,
        subdomain=subdomain,
        name=name.strip(),
        nis_code=nis_code,
        status=TenantStatus.ACTIVE,
        colour=colour or "#1d4f91",
        desk=desk or {},
        settings_data=settings,
        domains=[TenantDomain(domain=d) for d in domains],
    )
    session.add(tenant)
    session.flush()
    create_schema(session, tenant)
    return tenant


def create_schema(session: Session, tenant: Tenant) -> None:
    """Build ``tenant``'s schema at the current head in the caller's transaction (its row
    exists): tables from the models, then the version stamp. Also what an import restores into.

    The DDL is the one ``metadata.create_all`` emits for the tenant tables, rendered once per
    process (``schema_ddl``) and sent as one batch: two round trips per tenant instead of one
    per table and index, a catalog check per table and Alembic's stamp (≈35)."""
    connection = session.connection()
    quoted = migrate.quote_schema(tenant.schema)
    ddl = schema_ddl(connection.dialect).replace(f"{_TEMPLATE_SCHEMA}.", f"{quoted}.")
    # no_parameters: the batch goes to the driver as it is, so a '%' in a default stays literal.
    connection.execution_options(no_parameters=True).exec_driver_sql(f"CREATE SCHEMA {quoted};\n{ddl}")
    migrate.stamp_tenant(connection, tenant.schema)


# A stand-in schema name the DDL is rendered with, replaced by the tenant's (quoted) schema.
# Legal unquoted and never part of a table, column, index or constraint name.
_TEMPLATE_SCHEMA = "__tenant_template__"


@cache
def schema_ddl(dialect: Dialect) -> str:
    """The statements ``metadata.create_all`` runs for a new tenant's tables, in its order,
    with the tenant schema written as ``_TEMPLATE_SCHEMA``. Rendered from the models, so it
    is what ``create_all`` under the translate map built before (``tests/test_migrations.py``
    compares a schema built this way with one migrated from base)."""
    statements: list[str] = []

    def collect(element, *_multiparams, **_params) -> None:
        compiled = element.compile(dialect=dialect, schema_translate_map={TENANT_PLACEHOLDER: _TEMPLATE_SCHEMA},
                                   render_schema_translate=True)
        statements.append(str(compiled).strip())

    mock = create_mock_engine(f"{dialect.name}+{dialect.driver}://", collect)
    db.metadata.create_all(mock, tables=tenant_tables(), checkfirst=False)
    if not statements or any(f"{_TEMPLATE_SCHEMA}." not in s for s in statements):
        raise RuntimeError("tenant DDL rendered without the template schema")  # SQLAlchemy changed
    return ";\n".join(statements)


def archive_tenant(session: Session, slug: str) -> Tenant:
    """Archived municipalities keep their schema (and history) but no longer serve pages."""
    tenant = _existing(session, slug)
    if tenant.is_archived:
        raise TenantError(f"tenant {slug!r} is already archived")
    tenant.status = TenantStatus.ARCHIVED
    tenant.archived_at = utcnow()
    return tenant


def restore_tenant(session: Session, slug: str) -> Tenant:
    tenant = _existing(session, slug)
    if not tenant.is_archived:
        raise TenantError(f"tenant {slug!r} is not archived")
    tenant.status = TenantStatus.ACTIVE
    tenant.archived_at = None
    return tenant


def _existing(session: Session, slug: str) -> Tenant:
    tenant = get_tenant(session, slug)
    if tenant is None:
        raise TenantError(f"no tenant {slug!r}")
    return tenant


# --- declarative definitions (tenants/*.toml) ---------------------------------------------


@dataclass
class Definition:
    slug: str
    name: str
    nis_code: str
    colour: str | None
    desk: dict
    settings: dict
    domains: list[str]
    postcodes: list[dict]
    streets: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    logo: str | None = None  # a file in the definitions folder, e.g. "logos/herent.svg"


@dataclass
class RegionDefinition:
    region: dict
    municipalities: list[Definition]


LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}


def _logo_path(directory: Path, relative: str) -> Path | None:
    """The logo file, if ``relative`` names an SVG or PNG inside the definitions folder."""
    path = (Path(directory) / relative).resolve()
    if path.suffix.lower() in LOGO_TYPES and path.is_file() and Path(directory).resolve() in path.parents:
        return path
    return None


def logo_file(directory: str | Path, tenant: Tenant) -> Path | None:
    return _logo_path(Path(directory), tenant.logo) if tenant.logo else None




def _desk(desk: dict, file_name: str) -> dict:
    """The desk's fields: each a text, or a text per language (``hours = {nl = "…", fr = "…"}``)
    with Dutch required — pages show the reader's language and fall back to Dutch."""
    if not isinstance(desk, dict):
        raise TenantError(f"{file_name}: [desk] must be a table")
    for key, value in desk.items():
        if isinstance(value, dict):
            unknown = set(value) - set(LANGUAGE_CODES)
            if unknown or not isinstance(value.get(DEFAULT_LANGUAGE), str) or not all(
                    isinstance(v, str) for v in value.values()):
                raise TenantError(f"{file_name}: desk.{key} needs a Dutch text ({DEFAULT_LANGUAGE}) and texts "
                                  f"only in {', '.join(LANGUAGE_CODES)}")
        elif not isinstance(value, str):
            raise TenantError(f"{file_name}: desk.{key} must be a text")
    return dict(desk)


def load_definitions(directory: str | Path) -> RegionDefinition:
    """Read ``region.toml`` and one ``<slug>.toml`` per municipality; errors name the file."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TenantError(f"no tenants directory at {directory}")
    region: dict = {}
    municipalities: list[Definition] = []
    for path in sorted(directory.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise TenantError(f"{path.name}: {exc}") from exc
        if path.stem == "region":
            region = data.get("region", {})
            continue
        try:
            definition = Definition(
                slug=data["slug"],
                name=data["name"],
                nis_code=str(data["nis_code"]),
                colour=data.get("colour"),
                logo=data.get("logo"),
                desk=_desk(data.get("desk", {}), path.name),
                settings=_validate_settings(data.get("settings", {})),
                domains=list(data.get("extra_domains", [])),
                postcodes=[
                    {k: pc[k] for k in ("code", "name", "lat", "lon")} for pc in data.get("postcodes", [])
                ],
                streets={(pc["code"], pc["name"]): list(pc.get("streets", [])) for pc in data.get("postcodes", [])},
            )
        except (KeyError, TypeError) as exc:
            raise TenantError(f"{path.name}: missing or malformed field {exc}") from exc
        except TenantError as exc:
            raise TenantError(f"{path.name}: {exc}") from exc
        if definition.logo is not None and not _logo_path(directory, definition.logo):
            raise TenantError(f"{path.name}: logo {definition.logo!r} is not an .svg or .png file in {directory}")
        if definition.slug != path.stem:
            raise TenantError(f"{path.name}: slug {definition.slug!r} does not match the file name")
        validate_slug(definition.slug)
        _validate_fields(definition.name, definition.nis_code, definition.colour)
        municipalities.append(definition)
    return RegionDefinition(region, municipalities)


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    undeclared: list[str] = field(default_factory=list)
    # Fields the desk changed in its settings whose definition differs: kept, reported
    # ("herent colour: database '#0b3d6e', definition '#1d5f8a'").
    kept: list[str] = field(default_factory=list)


def sync_definitions(session: Session, definitions: RegionDefinition) -> SyncReport:
    """Make the database match the definitions, idempotently. Tenants that exist but are no
    longer declared are reported, never deleted: archiving is an explicit decision."""
    report = SyncReport()
    for key, value in definitions.region.items():
        setting = session.get(RegionSetting, key)
        if setting is None:
            session.add(RegionSetting(key=key, value=value))
        elif setting.value != value:
            setting.value = value

    declared = set()
    for d in definitions.municipalities:
        declared.add(d.slug)
        tenant = get_tenant(session, d.slug)
        if tenant is None:
            tenant = create_tenant(
                session, slug=d.slug, name=d.name, nis_code=d.nis_code, colour=d.colour,
                desk=d.desk, settings=d.settings, domains=d.domains,
            )
            tenant.logo = d.logo
            changed, created = _sync_postcodes(session, tenant, d.postcodes), True
        else:
            created = False
            changed = False
            wanted = {"name": d.name, "nis_code": d.nis_code, "desk": d.desk, "settings_data": d.settings,
                      "logo": d.logo, **({"colour": d.colour} if d.colour else {})}
            report.kept.extend(_keep_desk_changes(session, tenant, wanted))
            for attr, value in wanted.items():
                if getattr(tenant, attr) != value:
                    setattr(tenant, attr, value)
                    changed = True
            wanted_domains = {_validate_domain(x) for x in d.domains}
            have_domains = {x.domain for x in tenant.domains}
            if "extra_domains" in _managed(session, tenant):
                if have_domains != wanted_domains:
                    report.kept.append(f"{tenant.slug} extra_domains: database {sorted(have_domains)!r}, "
                                       f"definition {sorted(wanted_domains)!r}")
                wanted_domains = have_domains
            if have_domains != wanted_domains:
                tenant.domains = [TenantDomain(domain=x) for x in sorted(wanted_domains)]
                changed = True
            changed = _sync_postcodes(session, tenant, d.postcodes) or changed
        (report.created if created else report.updated if changed else report.unchanged).append(d.slug)
    report.undeclared = sorted(
        slug for slug in session.scalars(select(Tenant.slug)) if slug not in declared
    )
    session.flush()
    return report


def _keep_desk_changes(session: Session, tenant: Tenant, wanted: dict) -> list[str]:
    """Put back into ``wanted`` the fields the desk or the region's administrators manage
    (``MunicipalityProfile.managed``, set by tenancy.profiles and tenancy.administration): the
    database's value wins; a definition that differs is reported."""
    managed = _managed(session, tenant)
    kept = []

    def differs(label, have, want):
        if have != want:
            kept.append(f"{tenant.slug} {label}: database {have!r}, definition {want!r}")

    for attr in ("name", "colour", "nis_code"):
        if attr in managed and attr in wanted:
            differs(attr, getattr(tenant, attr), wanted[attr])
            wanted[attr] = getattr(tenant, attr)
    for attr, prefix in (("desk", "desk."), ("settings_data", "settings.")):
        have, want = dict(getattr(tenant, attr) or {}), dict(wanted[attr])
        for key in sorted(m.removeprefix(prefix) for m in managed if m.startswith(prefix)):
            differs(prefix + key, have.get(key), want.get(key))
            if key in have:
                want[key] = have[key]
            else:
                want.pop(key, None)
        wanted[attr] = want
    return kept


def _managed(session: Session, tenant: Tenant) -> set[str]:
    """The definition fields the desk or an administrator took over (MunicipalityProfile.managed)."""
    profile = session.get(MunicipalityProfile, tenant.id)
    return set(profile.managed or []) if profile is not None else set()


def _sync_postcodes(session: Session, tenant: Tenant, wanted: list[dict]) -> bool:
    have = {(p.code, p.locality): p for p in tenant.postcodes}
    want = {(w["code"], w["name"]): w for w in wanted}
    changed = False
    for key, postcode in have.items():
        if key not in want:
            tenant.postcodes.remove(postcode)
            changed = True
    for key, w in want.items():
        postcode = have.get(key)
        if postcode is None:
            tenant.postcodes.append(Postcode(code=w["code"], locality=w["name"], lat=w["lat"], lon=w["lon"]))
            changed = True
        elif (postcode.lat, postcode.lon) != (w["lat"], w["lon"]):
            postcode.lat, postcode.lon = w["lat"], w["lon"]
            changed = True
    return changed


def region_settings(session: Session) -> dict:
    return {s.key: s.value for s in session.scalars(select(RegionSetting))}


DEFAULT_MAX_CHOICES = 5


def max_choices(session: Session, tenant: Tenant | None = None) -> int:
    """How many locations a family may choose in one request.

    The region decides (region setting ``max_choices``, default 5): a request spans
    municipalities, so only the region can say how many choices it holds in all, and that cap
    is the effective maximum of every request. A municipality may allow fewer of *its own*
    locations in one request (tenant setting ``max_choices``), never more: with ``tenant`` the
    answer is the smaller of the two. A malformed region value counts as the default."""
    setting = session.get(RegionSetting, "max_choices")
    try:
        region = max(1, int(setting.value)) if setting is not None else DEFAULT_MAX_CHOICES
    except (TypeError, ValueError):
        region = DEFAULT_MAX_CHOICES
    own = tenant.settings.max_choices if tenant is not None else None
    return region if own is None else min(own, region)


def postcodes_of(tenant_id):
    """The postcodes of a municipality, as a subquery (``Family.postcode.in_(postcodes_of(id))``):
    a family whose home postcode is one of them lives there."""
    return select(Postcode.code).where(Postcode.tenant_id == tenant_id)


def tenant_for_job(session: Session, slug) -> tuple[Tenant | None, str | None]:
    """The active municipality a job's argument names, or (None, why not): a malformed argument,
    an unknown or an archived municipality. A job then records a skipped run and does nothing."""
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        return None, f"bad-argument {str(slug)[:60]!r}"
    tenant = get_tenant(session, slug)
    if tenant is None:
        return None, "missing"
    if tenant.is_archived:
        return None, "archived"
    return tenant, None


def job_slug(slug) -> str | None:
    """What a job's run record may keep as its municipality: a slug, never a malformed argument."""
    return slug if isinstance(slug, str) and SLUG_RE.match(slug) else None
