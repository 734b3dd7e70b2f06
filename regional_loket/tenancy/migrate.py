"""The two Alembic tracks: ``migrations/shared`` (regional tables, version table in ``shared``)
and ``migrations/tenant`` (one version table inside every tenant schema).

Migrating every tenant reads all tenant versions in one query and only touches the tenants
that are behind, so a deploy with nothing to apply costs one round trip, however many
municipalities the region has. Never called at application start-up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from ..database import SHARED_SCHEMA
from ..settings import PROJECT_ROOT
from .models import SCHEMA_PREFIX

MIGRATIONS = PROJECT_ROOT / "migrations"
SHARED_TRACK = MIGRATIONS / "shared"
TENANT_TRACK = MIGRATIONS / "tenant"
VERSION_TABLE = "alembic_version"


@cache
def script_directory(location: str | Path) -> ScriptDirectory:
    """Parsed once per process: revision files are read on first use and kept."""
    return ScriptDirectory(str(location))


def head(location: str | Path = TENANT_TRACK) -> str:
    return script_directory(location).get_current_head()


def quote_schema(schema: str) -> str:
    # Schemas are derived from validated slugs, quoting is belt and braces.
    if not schema.startswith((SCHEMA_PREFIX, SHARED_SCHEMA)) or '"' in schema:
        raise ValueError(f"not a platform schema: {schema!r}")
    return f'"{schema}"'


def _run(connection: Connection, script: ScriptDirectory, schema: str, destination: str) -> list[str]:
    """Upgrade the schema bound by the caller to ``destination`` inside the caller's
    transaction; returns the revisions applied, oldest first."""
    applied: list[str] = []

    def steps(heads, _context):
        return script._upgrade_revs(destination, heads)

    context = MigrationContext.configure(
        connection,
        opts={
            "script": script,
            "fn": steps,
            "version_table_schema": schema,
            "on_version_apply": [lambda step, **_: applied.append(step.up_revision_id)],
        },
    )
    with Operations.context(context):
        context.run_migrations()
    return applied


def upgrade_shared(engine: Engine, location: str | Path = SHARED_TRACK) -> list[str]:
    script = script_directory(location)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {SHARED_SCHEMA}")
        connection.exec_driver_sql(f"SET LOCAL search_path TO {SHARED_SCHEMA}")
        return _run(connection, script, SHARED_SCHEMA, "heads")


def upgrade_tenant(connection: Connection, schema: str, location: str | Path = TENANT_TRACK) -> list[str]:
    """Upgrade one tenant schema inside the caller's transaction.

    Tenant migration scripts name no schema: ``SET LOCAL`` points the search path at this
    tenant for this transaction only, so it ends with the transaction on the pooled connection.
    """
    connection.exec_driver_sql(f"SET LOCAL search_path TO {quote_schema(schema)}")
    return _run(connection, script_directory(location), schema, "heads")


def stamp_tenant(connection: Connection, schema: str, location: str | Path = TENANT_TRACK) -> None:
    """Record that ``schema`` (built from the models) stands at head."""
    context = MigrationContext.configure(connection, opts={"version_table_schema": schema})
    context.stamp(script_directory(location), "heads")


def read_versions(connection: Connection, schemas: Iterable[str]) -> dict[str, str | None]:
    """Every tenant's version in one query; a schema without a version table maps to None."""
    schemas = list(schemas)
    versions: dict[str, str | None] = dict.fromkeys(schemas)
    if not schemas:
        return versions
    present = connection.execute(
        text(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = :table AND n.nspname = ANY(:schemas)"
        ),
        {"table": VERSION_TABLE, "schemas": schemas},
    ).scalars().all()
    if present:
        union = " UNION ALL ".join(
            f"SELECT '{schema}' AS schema, version_num FROM {quote_schema(schema)}.{VERSION_TABLE}"
            for schema in sorted(present)
        )
        for schema, version in connection.exec_driver_sql(union):
            versions[schema] = version
    return versions


@dataclass
class TenantOutcome:
    slug: str
    schema: str
    before: str | None
    applied: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def line(self) -> str:
        if self.error:
            return f"{self.slug}: FAILED at {self.before or 'base'}: {self.error}"
        if not self.applied:
            return f"{self.slug}: up to date ({self.before})"
        return (
            f"{self.slug}: {self.before or 'base'} → {self.applied[-1]} "
            f"({len(self.applied)} migration{'s' if len(self.applied) != 1 else ''}, "
            f"{self.seconds * 1000:.0f} ms)"
        )


@dataclass
class MigrationReport:
    shared_applied: list[str]
    outcomes: list[TenantOutcome]

    @property
    def failed(self) -> list[TenantOutcome]:
        return [o for o in self.outcomes if o.error]

    @property
    def upgraded(self) -> list[TenantOutcome]:
        return [o for o in self.outcomes if o.applied and not o.error]


def migrate_all(
    engine: Engine,
    *,
    parallel: int = 1,
    report: Callable[[str], None] = print,
    tenant_location: str | Path = TENANT_TRACK,
    shared_location: str | Path = SHARED_TRACK,
) -> MigrationReport:
    """Upgrade ``shared``, then every tenant that is behind. A failing tenant is reported and
    rolled back on its own; the others still finish."""
    shared_applied = upgrade_shared(engine, shared_location)
    report(f"shared: {'applied ' + ', '.join(shared_applied) if shared_applied else 'up to date'}")

    target = head(tenant_location)
    with engine.connect() as connection:
        tenants = connection.execute(
            text(f"SELECT slug FROM {SHARED_SCHEMA}.tenants ORDER BY slug")
        ).scalars().all()
        schemas = {slug: SCHEMA_PREFIX + slug.replace("-", "_") for slug in tenants}
        versions = read_versions(connection, schemas.values())

    outcomes: list[TenantOutcome] = []
    pending: list[TenantOutcome] = []
    for slug, schema in schemas.items():
        outcome = TenantOutcome(slug, schema, versions[schema])
        outcomes.append(outcome)
        if outcome.before != target:
            pending.append(outcome)
    current = len(outcomes) - len(pending)
    report(f"tenants: {len(outcomes)}, at head {target}: {current}, to upgrade: {len(pending)}")

    def work(outcome: TenantOutcome) -> TenantOutcome:
        started = time.perf_counter()
        try:
            with engine.begin() as connection:
                outcome.applied = upgrade_tenant(connection, outcome.schema, tenant_location)
        except Exception as exc:  # noqa: BLE001 — one tenant's failure must not stop the others
            outcome.applied = []
            outcome.error = " ".join(str(exc).split())[:300]
        outcome.seconds = time.perf_counter() - started
        return outcome

    done = 0
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        for future in as_completed([pool.submit(work, o) for o in pending]):
            done += 1
            report(f"[{done}/{len(pending)}] {future.result().line}")

    result = MigrationReport(shared_applied, outcomes)
    if result.failed:
        report("failed: " + ", ".join(o.slug for o in result.failed))
    return result
