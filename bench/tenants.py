"""Benchmark: migrating and creating tenants at the scale of a whole region.

    .venv/bin/python bench/tenants.py [--tenants 285] [--parallel 2] [--database-url URL]
                                      [--repeat 3] [--repeat-create 5] [--no-analyze]
                                      [--json out.json]

Builds N tenants (285: the Flemish municipalities) in a scratch database, then times, each in a
fresh ``flask`` process so interpreter and app start-up are included:

* ``flask tenants migrate`` with nothing to apply (``--parallel 1`` and ``--parallel P``);
* ``flask tenants migrate`` with one additive migration over all N tenants (both again);
* ``flask tenants create`` of one more tenant, plus ``services.create_tenant`` + commit alone;
* ``flask --help``: the start-up baseline every command pays before doing anything.

Between building and measuring the scratch database is ANALYZEd, as autovacuum would have done
on a production server (see ``analyze``).

The scratch database (``rl_bench_<random>``) is dropped at the end, also after an error.
Figures go in issue notes, not in timed tests (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from anywhere, even without `pip install -e .`

from regional_loket import create_app  # noqa: E402
from regional_loket.database import SHARED_SCHEMA, sqlalchemy_url  # noqa: E402
from regional_loket.extensions import db  # noqa: E402
from regional_loket.tenancy import migrate, services  # noqa: E402
from regional_loket.tenancy.models import schema_for  # noqa: E402

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REGION = "bench.test"
EXTRA_SLUG, EXTRA_NIS = "benchextra", "99999"
PROBE_REVISION = "tenant_bench_probe"
SUBPROCESS_TIMEOUT = 600  # seconds; a hung command must not keep the scratch database forever
BUILD_BATCH = 50  # tenants per commit while building: fewer round trips, bounded transactions
RESET_BATCH = 100  # tenants per transaction when undoing the additive migration

# Targets, and django-tenants 4.0.1 at 285 schemas on this kind of machine (low, high seconds).
TARGETS = {"noop": 1.5, "additive": 5.0, "create": 0.3}
# Issue #17 item 4, at 1,000 municipalities (used from --tenants 1000 on): migrate-all with
# nothing to do ≤ the start-up of the same run + 1 s; one additive migration over all ≤ 12 s
# with --parallel 2; creating a municipality ≤ 0.1 s in process.
SCALE_TENANTS = 1000
NOOP_OVER_STARTUP = 1.0
ADDITIVE_PARALLEL, ADDITIVE_SECONDS = 2, 12.0
CREATE_IN_PROCESS = 0.1
REFERENCE = {
    ("noop", 1): (11.0, 14.0),
    ("noop", 2): (7.0, 8.0),
    ("additive", 1): (16.0, 17.0),
    ("additive", 2): (9.0, 11.0),
    ("create", None): (0.2, 0.2),
}

ADDITIVE = '''"""Benchmark: one additive migration.

Revision ID: {revision}
Revises: {down}
"""
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("audit_log", sa.Column("bench_probe", sa.Integer(), nullable=True))


def downgrade():
    op.drop_column("audit_log", "bench_probe")
'''


class BenchError(RuntimeError):
    """A step did not do what it should; the figures would be meaningless."""


@dataclass
class Measurement:
    key: str  # "baseline", "noop", "additive" or "create"
    label: str
    parallel: int | None = None
    in_process: bool = False
    samples: list[float] = field(default_factory=list)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


# --- the database ---------------------------------------------------------------------------


def _reachable(url: str) -> bool:
    engine = sa.create_engine(sqlalchemy_url(url), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def admin_url(explicit: str | None, scratch: Path) -> tuple[str, str]:
    """The first reachable server (the URL, and where it came from); the embedded one last."""
    candidates = [
        (explicit, "--database-url"),
        (os.environ.get("BENCH_DATABASE_URL"), "BENCH_DATABASE_URL"),
        (os.environ.get("TEST_DATABASE_URL"), "TEST_DATABASE_URL"),
        (DEFAULT_ADMIN_URL, "default"),
    ]
    for url, origin in candidates:
        if url and _reachable(url):
            return url, origin
        if url:
            print(f"not reachable ({origin}): {sa.make_url(url).render_as_string()}", file=sys.stderr)
    from regional_loket.dev import embedded

    return embedded.postgres_url(scratch / "pg", database="postgres"), "embedded"


class ScratchDatabase:
    """``CREATE DATABASE`` on entry, ``DROP DATABASE … WITH (FORCE)`` on exit, whatever happened."""

    def __init__(self, admin: str):
        self.admin = sa.create_engine(sqlalchemy_url(admin), isolation_level="AUTOCOMMIT")
        self.name = f"rl_bench_{uuid.uuid4().hex[:10]}"
        # A plain postgresql:// URL, as an operator would put in DATABASE_URL.
        self.url = self.admin.url.set(drivername="postgresql", database=self.name).render_as_string(
            hide_password=False
        )

    def __enter__(self) -> ScratchDatabase:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc) -> None:
        # FORCE: a failed step may leave a subprocess's or our own pooled connection behind.
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()


# --- steps ----------------------------------------------------------------------------------


def build_tenants(count: int) -> float:
    """Create ``count`` tenants with the real service, committing in batches; the seconds taken."""
    started = time.perf_counter()
    migrate.upgrade_shared(db.engine)
    progress = sys.stdout.isatty()
    for i in range(count):
        services.create_tenant(db.session, slug=f"bench{i:03d}", name=f"Bench {i:03d}",
                               nis_code=f"{10000 + i}")
        if (i + 1) % BUILD_BATCH == 0 or i + 1 == count:
            db.session.commit()
            db.session.expunge_all()  # keep the identity map (and each flush) small
            if progress:
                print(f"  built {i + 1}/{count}", end="\r", flush=True)
    if progress:
        print()
    return time.perf_counter() - started


def analyze() -> float:
    """Refresh the planner statistics, system catalogs included; the seconds taken.

    Building adds thousands of rows to pg_class and pg_namespace at once; until they are
    analysed the planner estimates one ``alembic_version`` table in the whole database, which
    makes the catalog lookup Alembic does per tenant (``has_table``) scan every tenant's.
    Autovacuum would analyse them within a minute on a production server; with it off (as on
    some development servers) they stay stale. ``--no-analyze`` measures that state.
    """
    started = time.perf_counter()
    # Outside a transaction block ANALYZE commits table by table, as autovacuum does; inside
    # one it would hold a lock on every table at once, more than the server's lock table
    # holds at 1,000 tenants ("out of shared memory").
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def extra_track(directory: Path, old_head: str) -> Path:
    """A copy of the tenant track with one additive migration on top of ``old_head``."""
    track = directory / "tenant"
    shutil.copytree(migrate.TENANT_TRACK, track, ignore=shutil.ignore_patterns("__pycache__"))
    (track / "versions" / f"{PROBE_REVISION}.py").write_text(
        ADDITIVE.format(revision=PROBE_REVISION, down=old_head)
    )
    if migrate.head(track) != PROBE_REVISION:
        raise BenchError(f"extra track head is {migrate.head(track)}, expected {PROBE_REVISION}")
    return track


def check_versions(schemas: list[str], expected: str) -> None:
    with db.engine.connect() as connection:
        versions = migrate.read_versions(connection, schemas)
    wrong = {s: v for s, v in versions.items() if v != expected}
    if wrong:
        sample = ", ".join(f"{s}={v}" for s, v in list(wrong.items())[:5])
        raise BenchError(f"{len(wrong)}/{len(schemas)} tenants not at {expected}: {sample}")


def check_probe_columns(schemas: list[str], present: bool) -> None:
    with db.engine.connect() as connection:
        found = connection.execute(sa.text(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'audit_log' "
            "AND column_name = 'bench_probe' AND table_schema = ANY(:schemas)"
        ), {"schemas": schemas}).scalar_one()
    if found != (len(schemas) if present else 0):
        raise BenchError(f"bench_probe column in {found}/{len(schemas)} tenants")


def reset_to(schemas: list[str], old_head: str) -> None:
    """Undo the additive migration by hand (the runner only upgrades): RESET_BATCH tenants per
    transaction, each transaction's statements sent as one batch. One transaction for all
    would lock every tenant's tables at once, more than the server's lock table holds at 1,000."""
    for start in range(0, len(schemas), RESET_BATCH):
        statements = []
        for schema in schemas[start:start + RESET_BATCH]:
            quoted = migrate.quote_schema(schema)
            statements.append(f"ALTER TABLE {quoted}.audit_log DROP COLUMN bench_probe")
            statements.append(
                f"UPDATE {quoted}.{migrate.VERSION_TABLE} SET version_num = '{old_head}'"  # noqa: S608 — our own schemas and revision id
            )
        with db.engine.begin() as connection:
            connection.exec_driver_sql(";\n".join(statements))
    check_versions(schemas, old_head)
    check_probe_columns(schemas, present=False)


def drop_extra_tenant() -> None:
    schema = migrate.quote_schema(schema_for(EXTRA_SLUG))
    with db.engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        # Domains, postcodes and other shared rows of the tenant go with it (ON DELETE CASCADE).
        connection.execute(sa.text(f"DELETE FROM {SHARED_SCHEMA}.tenants WHERE slug = :slug"),  # noqa: S608 — constant
                           {"slug": EXTRA_SLUG})


class Flask:
    """``python -m flask --app wsgi …`` in a fresh process, configured through the environment
    only, as an operator runs it."""

    def __init__(self, database_url: str, bytecode: Path):
        self.env = {
            **os.environ,
            # Compiled modules as an installed server has them (pip compiles at install): a
            # PYTHONDONTWRITEBYTECODE inherited from the shell would make every process
            # compile whatever has no cache yet (alembic, the revision files: ~0.3 s of each
            # migrate here), and the untimed warm-ups could not write one. The caches go to
            # the scratch directory, so nothing is written next to the sources.
            "PYTHONPYCACHEPREFIX": str(bytecode),
            "DATABASE_URL": database_url,
            # create_app would start an embedded Redis (seconds) without one; it never
            # connects to it during these commands, so any URL will do.
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL")
            or "redis://127.0.0.1:6379/0",
            "SERVER_NAME": REGION,
            "SECRET_KEY": "bench",
        }
        for inherited in ("TENANT_MIGRATIONS", "SHARED_MIGRATIONS", "FLASK_APP", "PYTHONDONTWRITEBYTECODE"):
            self.env.pop(inherited, None)

    def run(self, *args: str, env: dict | None = None, expect: str | None = None) -> float:
        """Wall-clock seconds, process start to exit; raises unless it exits 0 (and prints
        ``expect``)."""
        command = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
        started = time.perf_counter()
        try:
            result = subprocess.run(command, cwd=REPO, env={**self.env, **(env or {})},
                                    capture_output=True, text=True, check=False,
                                    timeout=SUBPROCESS_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"`flask {' '.join(args)}` still running after {exc.timeout} s") from exc
        seconds = time.perf_counter() - started
        if result.returncode != 0 or (expect is not None and expect not in result.stdout):
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise BenchError(f"`flask {' '.join(args)}` exited {result.returncode}"
                             f"{'' if expect is None else f', expected {expect!r}'}:\n{tail}")
        return seconds


def measure_rounds(items: list[tuple[Measurement, Callable[[], float], Callable[[], None] | None]],
                   repeat: int) -> list[Measurement]:
    """``repeat`` rounds of one sample of each item in turn, so a change of load on the shared
    machine falls on all of them alike, not on whichever ran last; ``before`` as in ``measure``."""
    for _ in range(repeat):
        for measurement, once, before in items:
            if before is not None:
                before()
            measurement.samples.append(once())
            print(f"  {measurement.label}: {measurement.samples[-1]:.3f} s", flush=True)
    return [measurement for measurement, _once, _before in items]


def measure(measurement: Measurement, repeat: int, once: Callable[[], float],
            before: Callable[[], None] | None = None) -> Measurement:
    """``once()`` ``repeat`` times; ``before()`` (untimed) restores the starting state each time."""
    for _ in range(repeat):
        if before is not None:
            before()
        measurement.samples.append(once())
        print(f"  {measurement.label}: {measurement.samples[-1]:.3f} s", flush=True)
    return measurement


# --- the report -----------------------------------------------------------------------------


def scale_target(m: Measurement, baseline: Measurement) -> tuple[float, str] | None:
    """Issue #17's target at 1,000 tenants for this measurement, in seconds for this run (the
    start-up one depends on the run's baseline), and how the issue words it; None: it sets none."""
    if m.key == "noop":
        return baseline.median + NOOP_OVER_STARTUP, f"start-up + {NOOP_OVER_STARTUP:g} s"
    if m.key == "additive" and m.parallel == ADDITIVE_PARALLEL:
        return ADDITIVE_SECONDS, f"{ADDITIVE_SECONDS:g} s"
    if m.key == "create" and m.in_process:
        return CREATE_IN_PROCESS, f"{CREATE_IN_PROCESS:g} s in process"
    return None


def scale_table(measurements: list[Measurement], baseline: Measurement) -> str:
    """The 1,000-tenant figures against issue #17 item 4, every one also as a ratio to the
    start-up baseline of this run (so runs on a more or less loaded machine compare)."""
    rows = [
        "| measurement | min s | median s | median / start-up | issue #17 target | target s (this run) "
        "| target / start-up | meets | median / target |",
        "|---|---:|---:|---:|---|---:|---:|:-:|---:|",
    ]
    for m in measurements:
        target = None if m is baseline else scale_target(m, baseline)
        ratio = "1.00×" if m is baseline else f"{m.median / baseline.median:.2f}×"
        if target is None:
            rows.append(f"| {m.label} | {m.min:.3f} | {m.median:.3f} | {ratio} | – | – | – | – | – |")
            continue
        seconds, wording = target
        rows.append(
            f"| {m.label} | {m.min:.3f} | {m.median:.3f} | {ratio} | ≤ {wording} | {seconds:.3f} "
            f"| {seconds / baseline.median:.2f}× | {'yes' if m.median <= seconds else 'no'} "
            f"| {m.median / seconds:.2f} |"
        )
    return "\n".join(rows)


def table(measurements: list[Measurement], baseline: Measurement, tenants: int) -> str:
    def reference(m: Measurement) -> tuple[float, float] | None:
        return REFERENCE.get((m.key, None if m.key == "create" else m.parallel))

    rows = [
        "| measurement | min s | median s | target s | meets | django-tenants 4.0.1 @285 s "
        "| ours / ref mid | ours / start-up | net of start-up s |",
        "|---|---:|---:|---:|:-:|---:|---:|---:|---:|",
    ]
    for m in measurements:
        target = TARGETS.get(m.key)
        ref = reference(m)
        ref_text = "–" if ref is None else f"{ref[0]:g}" if ref[0] == ref[1] else f"{ref[0]:g}–{ref[1]:g}"
        ratio = "–" if ref is None else f"{m.median / ((ref[0] + ref[1]) / 2):.2f}"
        # In-process figures pay no start-up: comparing them with it says nothing.
        startup = "–" if m.in_process or m is baseline else f"{m.median / baseline.median:.2f}×"
        net = "–" if m.in_process or m is baseline else f"{m.median - baseline.median:.3f}"
        rows.append(
            f"| {m.label} | {m.min:.3f} | {m.median:.3f} | {'–' if target is None else f'≤ {target:g}'} "
            f"| {'–' if target is None else ('yes' if m.median <= target else 'no')} | {ref_text} "
            f"| {ratio} | {startup} | {net} |"
        )
    if tenants != 285:
        rows.append(f"\n(References are for 285 schemas; this run has {tenants}.)")
    return "\n".join(rows)


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=285, help="tenants to build (default 285)")
    parser.add_argument("--parallel", type=int, default=2,
                        help="--parallel of the second migrate run (default 2)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server to create the scratch database on (default: "
                             f"BENCH_DATABASE_URL, TEST_DATABASE_URL, {DEFAULT_ADMIN_URL}, embedded)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per migrate measurement")
    parser.add_argument("--repeat-create", type=int, default=5, help="runs per create measurement")
    parser.add_argument("--no-analyze", dest="analyze", action="store_false",
                        help="measure with the catalog statistics left as building leaves them")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.tenants < 1 or args.parallel < 1 or args.repeat < 1 or args.repeat_create < 1:
        parser.error("counts must be at least 1")
    parallels = sorted({1, args.parallel})

    with tempfile.TemporaryDirectory(prefix="rl-bench-") as tmp:
        scratch = Path(tmp)
        admin, origin = admin_url(args.database_url, scratch)
        print(f"server ({origin}): {sa.make_url(admin).render_as_string()}")
        with ScratchDatabase(admin) as database:
            print(f"scratch database: {database.name}")
            (scratch / "tenants").mkdir()
            app = create_app({
                "DATABASE_URL": database.url,
                "REDIS_URL": "redis://127.0.0.1:6379/0",  # never connected to here
                "REGION_SERVER_NAME": REGION,
                "SECRET_KEY": "x",
                "TENANTS_DIR": str(scratch / "tenants"),  # empty: nothing from the demo region
            })
            try:
                with app.app_context():
                    return run(args, parallels, database, scratch)
            finally:
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()


def _load(averages) -> str:
    return ", ".join(f"{a:.2f}" for a in averages)


def run(args, parallels: list[int], database: ScratchDatabase, scratch: Path) -> int:
    n = args.tenants
    print(f"building {n} tenants …")
    build_seconds = build_tenants(n)
    print(f"built {n} tenants in {build_seconds:.1f} s ({build_seconds / n * 1000:.0f} ms each)")
    if args.analyze:
        print(f"analysed the scratch database in {analyze():.1f} s")
    schemas = [schema_for(f"bench{i:03d}") for i in range(n)]
    old_head = migrate.head()
    check_versions(schemas, old_head)
    track = extra_track(scratch, old_head)
    flask = Flask(database.url, scratch / "pycache")

    flask.run("--help")  # untimed: writes any missing bytecode caches, warms the page cache
    # Untimed too: the bytecode of what only migrating imports (alembic's runtime, the revisions).
    flask.run("tenants", "migrate", expect=f"done: 0 upgraded, {n} already at head, 0 failed")
    load_before = os.getloadavg()  # of the measurements, not of building
    # Start-up and the no-op migrates in rounds: the target is relative to start-up.
    results = measure_rounds([
        (Measurement("baseline", "process start-up (`flask --help`)"), lambda: flask.run("--help"), None),
        *((Measurement("noop", f"migrate, nothing to apply, --parallel {p}", parallel=p),
           lambda p=p: flask.run("tenants", "migrate", "--parallel", str(p),
                                 expect=f"done: 0 upgraded, {n} already at head, 0 failed"), None)
          for p in parallels),
    ], args.repeat)
    baseline = results[0]

    def additive(p: int) -> float:
        seconds = flask.run("tenants", "migrate", "--parallel", str(p),
                            env={"TENANT_MIGRATIONS": str(track)},
                            expect=f"done: {n} upgraded, 0 already at head, 0 failed")
        check_versions(schemas, PROBE_REVISION)
        check_probe_columns(schemas, present=True)
        return seconds

    def back_to_old_head() -> None:
        with db.engine.connect() as connection:
            versions = set(migrate.read_versions(connection, schemas).values())
        if versions != {old_head}:
            reset_to(schemas, old_head)

    results += measure_rounds([
        (Measurement("additive", f"migrate, 1 additive migration × {n}, --parallel {p}", parallel=p),
         lambda p=p: additive(p), back_to_old_head)
        for p in parallels
    ], args.repeat)

    results.append(measure(
        Measurement("create", "one more tenant (`flask tenants create`)"), args.repeat_create,
        lambda: flask.run("tenants", "create", EXTRA_SLUG, "--name", "Extra", "--nis", EXTRA_NIS,
                          expect=f"created {EXTRA_SLUG}"),
        before=drop_extra_tenant,
    ))

    def create_in_process() -> float:
        started = time.perf_counter()
        services.create_tenant(db.session, slug=EXTRA_SLUG, name="Extra", nis_code=EXTRA_NIS)
        db.session.commit()
        seconds = time.perf_counter() - started
        db.session.remove()
        return seconds

    results.append(measure(
        Measurement("create", "one more tenant (`create_tenant` + commit, in process)",
                    in_process=True),
        args.repeat_create, create_in_process, before=drop_extra_tenant,
    ))

    server = server_facts()
    load_after = os.getloadavg()
    print()
    print(f"{n} tenants, built in {build_seconds:.1f} s ({build_seconds / n * 1000:.0f} ms each); "
          f"Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, PostgreSQL {server['version']} (autovacuum {server['autovacuum']}); "
          f"catalog statistics {'refreshed (ANALYZE)' if args.analyze else 'left stale (--no-analyze)'}; "
          f"load average (1, 5, 15 min) before {_load(load_before)}, after {_load(load_after)}")
    print()
    print(table(results, baseline, n))
    if n >= SCALE_TENANTS:
        print(f"\nIssue #17 item 4, at {SCALE_TENANTS:,} municipalities"
              f"{'' if n == SCALE_TENANTS else f' (this run has {n:,})'}:\n")
        print(scale_table(results, baseline))
    spread = max(baseline.samples) - baseline.min
    print("\n'meets' compares the median with the target.", end=" ")
    print(f"Start-up baseline ranged {baseline.min:.3f}–{max(baseline.samples):.3f} s "
          f"(±{spread / 2:.3f} s): a 'net of start-up' figure within that is noise.")
    if args.json:
        args.json.write_text(json.dumps({
            "tenants": n,
            "build_seconds": build_seconds,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "postgresql": server,
            "analyzed": args.analyze,
            "targets": TARGETS,
            "load_average": {"before": load_before, "after": load_after},
            "issue_17_targets_at_1000": None if n < SCALE_TENANTS else [
                {"measurement": m.label, "target_seconds": t[0], "target": t[1],
                 "target_over_startup": t[0] / baseline.median, "median_over_startup": m.median / baseline.median,
                 "meets": m.median <= t[0]}
                for m in results if m is not baseline and (t := scale_target(m, baseline)) is not None
            ],
            "reference_django_tenants_4_0_1_at_285": {
                f"{key}{'' if p is None else f'/parallel {p}'}": list(span)
                for (key, p), span in REFERENCE.items()
            },
            "measurements": [{**asdict(m), "min": m.min, "median": m.median} for m in results],
        }, indent=2) + "\n")
        print(f"\nwritten to {args.json}")
    return 0


def server_facts() -> dict[str, str]:
    with db.engine.connect() as connection:
        return {setting: connection.exec_driver_sql(f"SHOW {name}").scalar_one()
                for setting, name in (("version", "server_version"), ("autovacuum", "autovacuum"))}


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        sys.exit(1)
