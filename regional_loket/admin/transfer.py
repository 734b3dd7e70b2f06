# ruff: noqa: S608 — SQL here names tables and columns from the metadata (and schemas from validated
# slugs); every value is a bound parameter.
"""A municipality leaving the region (or asking for its data): ``flask tenants export SLUG FILE``
writes one archive with everything of it, ``flask tenants import FILE`` restores it into another
deployment of the same versions.

The archive is a gzipped tar: ``manifest.json`` (format, slug, the shared and tenant schema
versions, the row count per table) and one JSON-lines file per table, ``tenant/<table>.jsonl`` for
every table of the municipality's schema (its audit log included) and ``shared/<table>.jsonl`` for
its rows in ``shared``:

- the municipality itself, its extra domains, postcodes, profile (texts, managed fields), uploaded
  logo, retired subdomains, and its catalog rows (locations, availability);
- the families that only ever asked there (every choice of every request of theirs is in this
  municipality), with their children, guardians, consents, claim codes, requests and choices.

Not carried, on purpose: user accounts and memberships (one login is the region's, not a
municipality's: staff and coordinators are invited again in the new deployment; a guardian's link
to an account is cleared on import when that account does not exist there), invitations, the
outbox, job runs; and requests of families that also asked elsewhere (they stay with the region:
the municipality keeps their applications, each with the snapshot of what it needed to decide).

Rows are read and written by PostgreSQL itself (``row_to_json`` / ``json_populate_recordset``), so
every column type (uuid, jsonb, arrays, bytea, timestamps) round-trips exactly. The tables are
addressed by name from the metadata: an export is about tables, not about any domain's rules.
Import runs in the caller's transaction: all or nothing.
"""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Table, text
from sqlalchemy.orm import Session

from ..database import SHARED_SCHEMA
from ..extensions import db
from ..tenancy import Tenant, schema_for
from ..tenancy import migrate as migrations
from ..tenancy import services as tenancy_services

FORMAT = 1
# Families with at least one choice, every one of them in this municipality.
_ONLY_HERE = ("SELECT r.family_id FROM shared.requests r JOIN shared.choices c ON c.request_id = r.id "
              "GROUP BY r.family_id HAVING bool_and(c.tenant_id = :t)")
# shared table → which of its rows belong to the municipality (parents before children).
SHARED_ROWS: tuple[tuple[str, str], ...] = (
    ("tenants", "id = :t"),
    ("tenant_domains", "tenant_id = :t"),
    ("postcodes", "tenant_id = :t"),
    ("municipality_profiles", "tenant_id = :t"),
    ("tenant_logos", "tenant_id = :t"),
    ("retired_subdomains", "tenant_id = :t"),
    ("catalog_locations", "tenant_id = :t"),
    ("catalog_availability", "location_id IN (SELECT location_id FROM shared.catalog_locations WHERE tenant_id = :t)"),
    ("families", f"id IN ({_ONLY_HERE})"),
    ("children", f"family_id IN ({_ONLY_HERE})"),
    ("guardians", f"family_id IN ({_ONLY_HERE})"),
    ("consents", f"family_id IN ({_ONLY_HERE})"),
    ("claim_codes", f"family_id IN ({_ONLY_HERE})"),
    ("requests", f"family_id IN ({_ONLY_HERE})"),
    ("choices", f"request_id IN (SELECT id FROM shared.requests WHERE family_id IN ({_ONLY_HERE}))"),  # nosec B608: identifiers come from the metadata and validated slugs, quoted; values are bound
)


class TransferError(ValueError):
    """The archive cannot be written or restored here; the message says why (for the operator)."""


@dataclass
class Archive:
    manifest: dict
    shared: dict[str, list[dict]] = field(default_factory=dict)
    tenant: dict[str, list[dict]] = field(default_factory=dict)


def _shared_table(name: str) -> Table:
    return db.metadata.tables[f"{SHARED_SCHEMA}.{name}"]


def _quoted(schema: str, table: str) -> str:
    return f'{migrations.quote_schema(schema)}."{table}"'


def shared_version(session: Session) -> str | None:
    return session.execute(text(f"SELECT version_num FROM {SHARED_SCHEMA}.{migrations.VERSION_TABLE}")).scalar()  # nosec B608: identifiers come from the metadata and validated slugs, quoted; values are bound


def read(session: Session, tenant: Tenant) -> Archive:
    """Every row the archive carries, as JSON objects, read in the caller's transaction."""
    manifest = {
        "format": FORMAT, "slug": tenant.slug, "tenant_id": str(tenant.id),
        "shared_version": shared_version(session),
        "tenant_version": migrations.read_versions(session.connection(), [tenant.schema])[tenant.schema],
        "tables": {},
    }
    archive = Archive(manifest)
    for name, where in SHARED_ROWS:
        key = "shared/" + name
        archive.shared[name] = _rows(session, f"SELECT row_to_json(x) FROM {_quoted(SHARED_SCHEMA, name)} x "  # nosec B608: identifiers come from the metadata and validated slugs, quoted; values are bound
                                              f"WHERE {where}", tenant)
        manifest["tables"][key] = len(archive.shared[name])
    for table in tenancy_services.tenant_tables():
        key = "tenant/" + table.name
        archive.tenant[table.name] = _rows(session, f"SELECT row_to_json(x) FROM {_quoted(tenant.schema, table.name)} x",  # nosec B608: identifiers come from the metadata and validated slugs, quoted; values are bound
                                           tenant)
        manifest["tables"][key] = len(archive.tenant[table.name])
    return archive


def _rows(session: Session, sql: str, tenant: Tenant) -> list[dict]:
    rows = session.execute(text(sql), {"t": tenant.id}).scalars().all()
    # A stable order: the archive of the same data is the same archive.
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))


def export(session: Session, slug: str, path: str | Path, *, now: datetime) -> dict:
    """Write ``slug``'s archive to ``path``; returns its manifest."""
    tenant = tenancy_services.get_tenant(session, slug)
    if tenant is None:
        raise TransferError(f"no municipality {slug!r}")
    archive = read(session, tenant)
    archive.manifest["exported_at"] = now.isoformat()
    with tarfile.open(path, "w:gz") as tar:
        _add(tar, "manifest.json", json.dumps(archive.manifest, indent=2, sort_keys=True))
        for prefix, tables in (("shared", archive.shared), ("tenant", archive.tenant)):
            for name, rows in tables.items():
                _add(tar, f"{prefix}/{name}.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    return archive.manifest


def _add(tar: tarfile.TarFile, name: str, content: str) -> None:
    data = content.encode("utf-8")
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def load(path: str | Path) -> Archive:
    """Read an archive back (refusing anything that is not one of ours)."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            files = {member.name: tar.extractfile(member).read().decode("utf-8")
                     for member in tar.getmembers() if member.isfile()}
    except (OSError, tarfile.TarError, UnicodeDecodeError) as error:
        raise TransferError(f"not a readable archive: {error}") from error
    try:
        manifest = json.loads(files["manifest.json"])
    except (KeyError, ValueError) as error:
        raise TransferError("the archive has no manifest.json") from error
    if manifest.get("format") != FORMAT:
        raise TransferError(f"archive format {manifest.get('format')!r}; this deployment reads {FORMAT}")
    archive = Archive(manifest)
    for key in manifest.get("tables", {}):
        prefix, _, name = key.partition("/")
        rows = [json.loads(line) for line in files.get(f"{key}.jsonl", "").splitlines() if line.strip()]
        (archive.shared if prefix == "shared" else archive.tenant)[name] = rows
    return archive


def restore(session: Session, archive: Archive) -> Tenant:
    """Write the archive's rows into this database, in the caller's transaction. Refused
    (TransferError, nothing written) when the municipality, its schema, NIS code or a host name
    exists here, or when the schema versions differ from this deployment's."""
    manifest = archive.manifest
    slug = manifest.get("slug") or ""
    tenant_rows = archive.shared.get("tenants") or []
    if len(tenant_rows) != 1 or tenant_rows[0].get("slug") != slug:
        raise TransferError("the archive holds no municipality")
    here_shared, here_tenant = shared_version(session), migrations.head()
    if manifest.get("shared_version") != here_shared or manifest.get("tenant_version") != here_tenant:
        raise TransferError(
            f"schema versions differ: archive shared {manifest.get('shared_version')}, tenant "
            f"{manifest.get('tenant_version')}; this deployment shared {here_shared}, tenant {here_tenant}. "
            "Migrate the older side first.")
    row = tenant_rows[0]
    if tenancy_services.get_tenant(session, slug) is not None:
        raise TransferError(f"municipality {slug!r} already exists here")
    if session.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema_for(slug)}):
        raise TransferError(f"schema {schema_for(slug)} already exists here")
    clash = session.execute(text(
        "SELECT 'NIS code ' || nis_code FROM shared.tenants WHERE nis_code = :nis UNION ALL "
        "SELECT 'subdomain ' || subdomain FROM shared.tenants WHERE subdomain = ANY(:names) UNION ALL "
        "SELECT 'subdomain ' || subdomain FROM shared.retired_subdomains WHERE subdomain = ANY(:names) UNION ALL "
        "SELECT 'domain ' || domain FROM shared.tenant_domains WHERE domain = ANY(:domains)"),
        {"nis": row["nis_code"], "names": [row["subdomain"], *(r["subdomain"] for r in
                                                               archive.shared.get("retired_subdomains", []))],
         "domains": [r["domain"] for r in archive.shared.get("tenant_domains", [])]}).scalars().first()
    if clash:
        raise TransferError(f"{clash} already belongs to a municipality here")

    for name, _where in SHARED_ROWS:
        _insert(session, SHARED_SCHEMA, _shared_table(name), archive.shared.get(name) or [])
    tenant = session.get(Tenant, uuid.UUID(str(row["id"])))
    tenancy_services.create_schema(session, tenant)
    for table in tenancy_services.tenant_tables():
        _insert(session, tenant.schema, table, archive.tenant.get(table.name) or [])
    _reset_identities(session, tenant)
    session.flush()
    return tenant


def _insert(session: Session, schema: str, table: Table, rows: list[dict]) -> None:
    """Insert ``rows`` as PostgreSQL reads them from JSON. Generated columns are computed again;
    a nullable reference to a row this deployment lacks (an account, another municipality)
    becomes NULL — the row is kept, the link is not."""
    if not rows:
        return
    target = _quoted(schema, table.name)
    columns, values = [], []
    for column in table.columns:
        if column.computed is not None:
            continue
        columns.append(f'"{column.name}"')
        value = f'r."{column.name}"'
        foreign = next(iter(column.foreign_keys), None)
        if foreign is not None and column.nullable and foreign.column.table.schema == SHARED_SCHEMA and (
                foreign.column.table.name in ("users", "tenants")):
            parent = _quoted(SHARED_SCHEMA, foreign.column.table.name)
            value = f'(SELECT p."{foreign.column.name}" FROM {parent} p WHERE p."{foreign.column.name}" = {value})'  # nosec B608: identifiers come from the metadata and validated slugs, quoted; values are bound
        values.append(value)
    session.execute(text(
        f"INSERT INTO {target} ({', '.join(columns)}) SELECT {', '.join(values)} "  # nosec B608: identifiers come from the metadata and validated slugs, quoted; values are bound
        f"FROM json_populate_recordset(NULL::{target}, CAST(:rows AS json)) r"), {"rows": json.dumps(rows)})


def _reset_identities(session: Session, tenant: Tenant) -> None:
    """Identity columns given explicit values: their sequences move past the highest one."""
    tables = [(SHARED_SCHEMA, _shared_table(name)) for name, _ in SHARED_ROWS]
    tables += [(tenant.schema, table) for table in tenancy_services.tenant_tables()]
    for schema, table in tables:
        for column in table.columns:
            if column.identity is not None:
                target = _quoted(schema, table.name)
                session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence(:table, :column), "  # nosec B608: identifiers come from the metadata and validated slugs, quoted; values are bound
                    f"GREATEST((SELECT max(\"{column.name}\") FROM {target}), 1))"),
                    {"table": target, "column": column.name})
