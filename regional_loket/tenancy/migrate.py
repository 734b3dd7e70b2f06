"""The two Alembic tracks: ``migrations/shared`` (regional tables, version table in ``shared``)
and ``migrations/tenant`` (one version table inside every tenant schema).

Migrating every tenant reads all tenant versions in one query per 250 tenants and only touches
the tenants that are behind, so a deploy with nothing to apply costs a few round trips, however
many municipalities the region has. Never called at application start-up.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, pool, text

from ..database import SHARED_SCHEMA
from ..resources import resource_path
from .models import SCHEMA_PREFIX

MIGRATIONS = resource_path("migrations")
SHARED_TRACK = MIGRATIONS / "shared"
TENANT_TRACK = MIGRATIONS / "tenant"
VERSION_TABLE = "alembic_version"
VERSIONS_PER_TRANSACTION = 250  # migrate_all's version reads: bounded locks, few round trips


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


class _KnownVersion(MigrationContext):
    """A migration context told the version it starts from. Alembic would look the version
    table up in the catalog and read it again for every tenant; ``migrate_all`` has just read
    every version in one query, and that lookup was most of the cost of migrating 285 tenants."""

    known: tuple[str, ...] = ()

    def get_current_heads(self) -> tuple[str, ...]:
        return self.known


_UNKNOWN = object()


def _run(connection: Connection, script: ScriptDirectory, schema: str, destination: str,
         current=_UNKNOWN) -> list[str]:
    """Upgrade the schema bound by the caller to ``destination`` inside the caller's
    transaction; returns the revisions applied, oldest first. ``current``: the version it is
    known to stand at (None: no version table yet), to spare Alembic looking it up."""
    applied: list[str] = []

    def steps(heads, _context):
        return script._upgrade_revs(destination, heads)

    opts = {
        "script": script,
        "fn": steps,
        "version_table_schema": schema,
        "on_version_apply": [lambda step, **_: applied.append(step.up_revision_id)],
    }
    if current is _UNKNOWN:
        context = MigrationContext.configure(connection, opts=opts)
    else:
        # Built directly: ``MigrationContext.configure`` always returns a plain
        # MigrationContext, whatever class it is called on, so the subclass would be ignored
        # and every tenant would pay the catalog lookup and version read again.
        context = _KnownVersion(connection.dialect, connection, opts)
        context.known = (current,) if current else ()
    with Operations.context(context):
        context.run_migrations()
    return applied


def upgrade_shared(engine: Engine, location: str | Path = SHARED_TRACK) -> list[str]:
    script = script_directory(location)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {SHARED_SCHEMA}")
        connection.exec_driver_sql(f"SET LOCAL search_path TO {SHARED_SCHEMA}")
        return _run(connection, script, SHARED_SCHEMA, "heads")


def upgrade_tenant(connection: Connection, schema: str, location: str | Path = TENANT_TRACK,
                   *, current=_UNKNOWN) -> list[str]:
    """Upgrade one tenant schema inside the caller's transaction.

    Tenant migration scripts name no schema: ``SET LOCAL`` points the search path at this
    tenant for this transaction only, so it ends with the transaction on the pooled connection.
    """
    connection.exec_driver_sql(f"SET LOCAL search_path TO {quote_schema(schema)}")
    return _run(connection, script_directory(location), schema, "heads", current=current)


def stamp_tenant(connection: Connection, schema: str, location: str | Path = TENANT_TRACK) -> None:
    """Record that the new ``schema`` (built from the models) stands at head: its version
    table as Alembic makes it (same name, column and key), written in one round trip instead
    of Alembic's catalog lookup, create and insert."""
    quoted, revision = quote_schema(schema), head(location)
    if "'" in revision:
        raise ValueError(f"unexpected revision id {revision!r}")
    connection.execution_options(no_parameters=True).exec_driver_sql(
        f"CREATE TABLE {quoted}.{VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
        f"CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num));\n"
        f"INSERT INTO {quoted}.{VERSION_TABLE} (version_num) VALUES ('{revision}')"  # noqa: S608  # nosec B608: quoted schema, revision id from our own track
    )


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
            f"SELECT '{schema}' AS schema, version_num FROM {quote_schema(schema)}.{VERSION_TABLE}"  # noqa: S608  # nosec B608: schema names come from validated slugs, quoted
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


_worker_engine: Engine | None = None


def _init_worker(url: str) -> None:
    """Runs in each forked worker: a connection of its own, never the parent's pooled ones."""
    global _worker_engine
    _worker_engine = create_engine(url, poolclass=pool.SingletonThreadPool)


def _upgrade_outcome(engine: Engine | None, outcome: TenantOutcome, location) -> TenantOutcome:
    started = time.perf_counter()
    try:
        with (engine or _worker_engine).begin() as connection:
            # Lock the version row first: the version read at the start is still the truth, or
            # another migrate run got here first and this one sees its result. In the same
            # round trip: this commit need not wait for the disk (see ``_make_durable``).
            if outcome.before is not None:
                current = connection.execute(text(
                    f"SELECT version_num, set_config('synchronous_commit', 'off', true) "  # noqa: S608  # nosec B608: a quoted schema name from a validated slug
                    f"FROM {quote_schema(outcome.schema)}.{VERSION_TABLE} FOR UPDATE"
                )).scalar()
            else:
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO off")
                current = None
            outcome.applied = upgrade_tenant(connection, outcome.schema, location, current=current)
    except Exception as exc:  # noqa: BLE001 — one tenant's failure must not stop the others
        outcome.applied = []
        outcome.error = " ".join(str(exc).split())[:300]
    outcome.seconds = time.perf_counter() - started
    return outcome


def _make_durable(engine: Engine) -> None:
    """Wait until every tenant's commit is on disk.

    Each tenant's transaction commits without waiting for its WAL to be flushed (an
    ``ALTER TABLE … ADD COLUMN`` and its commit took 6.0 ms with the wait, 3.6 ms without, on
    the 2-core test machine); the work stays atomic per tenant, and a crash could only lose
    the last few commits, which leave those tenants at their old version for the next run. This commit takes a transaction id, so
    it writes a commit record and, synchronous, waits until the WAL up to it (every tenant's
    commit before it) is flushed: when ``migrate_all`` returns, the whole run is durable."""
    with engine.begin() as connection:  # the server's own synchronous_commit, whatever it is
        connection.exec_driver_sql("SELECT txid_current()")


def _upgrade_batch(outcomes: list[TenantOutcome], location) -> list[TenantOutcome]:
    """Runs in a worker: several tenants, one after the other, on the worker's connection."""
    return [_upgrade_outcome(None, outcome, location) for outcome in outcomes]


# Tenants per task handed to a worker: one task per tenant cost the parent a wake-up, a
# pickle and a queue round trip each (1,000 at 1,000 tenants) on the CPUs the workers need;
# bounded, so progress still moves and the workers finish at about the same time.
MAX_BATCH = 25


def _batches(pending: list[TenantOutcome], workers: int) -> list[list[TenantOutcome]]:
    size = max(1, min(MAX_BATCH, len(pending) // (workers * 4)))
    return [pending[start:start + size] for start in range(0, len(pending), size)]


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
            text(f"SELECT slug FROM {SHARED_SCHEMA}.tenants ORDER BY slug")  # noqa: S608  # nosec B608: the schema name is a constant
        ).scalars().all()
        schemas = {slug: SCHEMA_PREFIX + slug.replace("-", "_") for slug in tenants}
        versions: dict[str, str | None] = {}
        names = list(schemas.values())
        for start in range(0, len(names), VERSIONS_PER_TRANSACTION):
            versions.update(read_versions(connection, names[start:start + VERSIONS_PER_TRANSACTION]))
            # Reading a version table locks it (and its key) until the transaction ends: 2,000
            # locks at 1,000 tenants, a third of a default server's lock table. Each tenant's
            # own transaction locks and checks its version again before migrating it.
            connection.commit()

    outcomes: list[TenantOutcome] = []
    pending: list[TenantOutcome] = []
    for slug, schema in schemas.items():
        outcome = TenantOutcome(slug, schema, versions[schema])
        outcomes.append(outcome)
        if outcome.before != target:
            pending.append(outcome)
    current = len(outcomes) - len(pending)
    report(f"tenants: {len(outcomes)}, at head {target}: {current}, to upgrade: {len(pending)}")

    if parallel > 1 and len(pending) > 1:
        # Processes, not threads: Alembic's ``op`` proxy is one global per process.
        url = engine.url.render_as_string(hide_password=False)
        workers = min(parallel, len(pending))
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("fork"),
            initializer=_init_worker, initargs=(url,),
        ) as executor:
            futures = [executor.submit(_upgrade_batch, batch, str(tenant_location))
                       for batch in _batches(pending, workers)]
            # A worker returns copies: put them in their tenants' places (by position, not a
            # search of the list per tenant, which is quadratic at 1,000 tenants).
            position = {outcome.schema: index for index, outcome in enumerate(outcomes)}
            done = 0
            for future in as_completed(futures):
                for outcome in future.result():
                    done += 1
                    report(f"[{done}/{len(pending)}] {outcome.line}")
                    outcomes[position[outcome.schema]] = outcome
    else:
        for done, outcome in enumerate(pending, 1):
            _upgrade_outcome(engine, outcome, tenant_location)
            report(f"[{done}/{len(pending)}] {outcome.line}")

    if pending:
        _make_durable(engine)
    result = MigrationReport(shared_applied, outcomes)
    if result.failed:
        report("failed: " + ", ".join(o.slug for o in result.failed))
    return result
