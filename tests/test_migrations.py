"""Two Alembic tracks; migrate-all reads every version in one query, is idempotent, and goes
on past a failing tenant."""

import contextlib
import shutil

import pytest
import sqlalchemy as sa

from regional_loket.extensions import db
from regional_loket.tenancy import migrate

ADDITIVE = '''"""Test: one additive migration.

Revision ID: tenant_9999
Revises: {down}
"""
import sqlalchemy as sa
from alembic import op

revision = "tenant_9999"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("audit_log", sa.Column("probe", sa.Integer(), nullable=True))


def downgrade():
    op.drop_column("audit_log", "probe")
'''


@contextlib.contextmanager
def recorded_statements():
    """The SQL the app's engine sends inside the block, in order."""
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def extra_track(tmp_path):
    """A copy of the tenant track with one more (additive) migration on top."""
    track = tmp_path / "tenant"
    shutil.copytree(migrate.TENANT_TRACK, track, ignore=shutil.ignore_patterns("__pycache__"))
    (track / "versions" / "tenant_9999_probe.py").write_text(ADDITIVE.format(down=migrate.head()))
    return track


def _ours(report, slugs):
    return {o.slug: o for o in report.outcomes if o.slug in slugs}


def _columns(connection, schema, table="audit_log"):
    return connection.execute(sa.text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :t"
    ), {"s": schema, "t": table}).scalars().all()


def test_migrate_all_with_nothing_to_do_touches_nothing(committed):
    app, slugs = committed(3)
    lines = []
    with app.app_context():
        report = migrate.migrate_all(db.engine, report=lines.append)
    ours = _ours(report, slugs)
    assert set(ours) == set(slugs)
    assert all(o.before == migrate.head() and not o.applied and not o.error for o in ours.values())
    assert report.shared_applied == []
    assert lines[0] == "shared: up to date"


def test_versions_are_read_in_one_query(committed):
    app, slugs = committed(4)
    with app.app_context(), recorded_statements() as statements:
        with db.engine.connect() as connection:
            versions = migrate.read_versions(connection, ["gem_" + s for s in slugs] + ["gem_missing"])
    assert versions == {**{"gem_" + s: migrate.head() for s in slugs}, "gem_missing": None}
    union_queries = [s for s in statements if "UNION ALL" in s]
    assert len(union_queries) == 1 and all(f"gem_{s}" in union_queries[0] for s in slugs)


def test_new_migration_applies_once_then_is_skipped(committed, extra_track):
    app, slugs = committed(3)
    with app.app_context():
        first = migrate.migrate_all(db.engine, parallel=2, report=lambda _: None, tenant_location=extra_track)
        second = migrate.migrate_all(db.engine, report=lambda _: None, tenant_location=extra_track)
        with db.engine.connect() as connection:
            assert all("probe" in _columns(connection, "gem_" + s) for s in slugs)
    assert all(o.applied == ["tenant_9999"] for o in _ours(first, slugs).values())
    assert all(o.applied == [] and o.before == "tenant_9999" for o in _ours(second, slugs).values())


def test_a_failing_tenant_is_named_and_the_others_finish(committed, extra_track):
    app, slugs = committed(3)
    broken = slugs[1]
    with app.app_context():
        with db.engine.begin() as connection:  # the column the migration adds is already there
            connection.exec_driver_sql(f'ALTER TABLE "gem_{broken}".audit_log ADD COLUMN probe text')
        lines = []
        report = migrate.migrate_all(db.engine, report=lines.append, tenant_location=extra_track)
        with db.engine.connect() as connection:
            versions = migrate.read_versions(connection, ["gem_" + s for s in slugs])
    assert [o.slug for o in report.failed] == [broken]
    assert versions["gem_" + broken] == migrate.head()  # rolled back, still at the old head
    assert {versions["gem_" + s] for s in slugs if s != broken} == {"tenant_9999"}
    assert any(line.startswith("[") and f"{broken}: FAILED" in line for line in lines)
    assert lines[-1] == f"failed: {broken}"


def test_cli_exits_non_zero_naming_the_failing_tenant(committed, extra_track):
    app, slugs = committed(2, TENANT_MIGRATIONS=str(extra_track))
    with app.app_context(), db.engine.begin() as connection:
        connection.exec_driver_sql(f'ALTER TABLE "gem_{slugs[0]}".audit_log ADD COLUMN probe text')
    result = app.test_cli_runner().invoke(args=["tenants", "migrate", "--parallel", "2"])
    assert result.exit_code == 1
    assert f"migration failed for {slugs[0]}" in result.output
    assert f"{slugs[1]}: {migrate.head()} → tenant_9999" in result.output


def test_tenant_created_from_head_equals_one_migrated_from_base(app, make_tenant):
    tenant = make_tenant()
    connection = db.session.connection()
    connection.exec_driver_sql('CREATE SCHEMA "gem_frombase"')
    applied = migrate.upgrade_tenant(connection, "gem_frombase")
    connection.exec_driver_sql("SET LOCAL search_path TO DEFAULT")
    assert applied[-1] == migrate.head()

    def shape(schema):
        columns = connection.execute(sa.text(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = :s ORDER BY 1, 2"), {"s": schema}).all()
        indexes = connection.execute(sa.text(
            "SELECT tablename, indexname, replace(indexdef, :s, 'X') FROM pg_indexes "
            "WHERE schemaname = :s ORDER BY 1, 2"), {"s": schema}).all()
        constraints = connection.execute(sa.text(
            "SELECT conname, contype FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = :s ORDER BY 1"), {"s": schema}).all()
        return columns, indexes, constraints

    assert shape(tenant.schema) == shape("gem_frombase")


def _full_shape(connection, schema):
    """Everything a schema's tables are: columns with types and defaults, index definitions,
    constraint definitions (checks, keys, foreign keys and what they point at)."""
    columns = connection.execute(sa.text(
        "SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, "
        "numeric_precision, numeric_scale, udt_name, is_nullable, column_default, is_identity "
        "FROM information_schema.columns WHERE table_schema = :s ORDER BY 1, 3"), {"s": schema}).all()
    indexes = connection.execute(sa.text(
        "SELECT tablename, indexname, replace(indexdef, :s, 'X') FROM pg_indexes "
        "WHERE schemaname = :s ORDER BY 1, 2"), {"s": schema}).all()
    constraints = connection.execute(sa.text(
        "SELECT conrelid::regclass::text LIKE :s || '.%' , conname, contype, "
        "replace(pg_get_constraintdef(c.oid), :s, 'X') "
        "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE n.nspname = :s ORDER BY 2"), {"s": schema}).all()
    tables = connection.execute(sa.text(
        "SELECT relname, relkind, relpersistence, reltoastrelid <> 0 FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s ORDER BY 1"), {"s": schema}).all()
    return columns, indexes, constraints, tables


def test_a_schema_from_the_ddl_template_equals_one_from_create_all(app, make_tenant):
    """create_schema sends the DDL rendered once per process; ``create_all`` under the
    translate map (what it replaced) builds exactly the same tables, and the version table is
    Alembic's own."""
    from alembic.runtime.migration import MigrationContext

    from regional_loket.tenancy import services
    from regional_loket.tenancy.binding import tenant_scope

    tenant = make_tenant()
    connection = db.session.connection()
    connection.exec_driver_sql('CREATE SCHEMA "gem_createall"')

    class Stand:  # tenant_scope needs only the schema
        schema = "gem_createall"

    with tenant_scope(db.session, Stand()):
        db.metadata.create_all(db.session.connection(), tables=services.tenant_tables())
    MigrationContext.configure(connection, opts={"version_table_schema": "gem_createall"}).stamp(
        migrate.script_directory(migrate.TENANT_TRACK), "heads")

    assert _full_shape(connection, tenant.schema) == _full_shape(connection, "gem_createall")
    assert migrate.read_versions(connection, [tenant.schema, "gem_createall"]) == {
        tenant.schema: migrate.head(), "gem_createall": migrate.head()}


def test_creating_a_tenant_schema_takes_two_round_trips(app):
    """The DDL goes as one batch and the version stamp as another, however many tables and
    indexes the tenant has (each used to be its own round trip, plus a catalog check)."""
    from regional_loket.tenancy import services
    from regional_loket.tenancy.models import Tenant, TenantStatus

    tenant = Tenant(slug="roundtrips", subdomain="roundtrips", name="R", nis_code="98765",
                    status=TenantStatus.ACTIVE, colour="#1d4f91", desk={}, settings_data={})
    db.session.add(tenant)
    db.session.flush()
    with recorded_statements() as statements:
        services.create_schema(db.session, tenant)
    assert len(statements) == 2
    assert statements[0].startswith('CREATE SCHEMA "gem_roundtrips"')
    assert statements[0].count("CREATE TABLE") == len(services.tenant_tables())
    assert "__tenant_template__" not in statements[0]
    assert "alembic_version" in statements[1]
    assert migrate.read_versions(db.session.connection(), ["gem_roundtrips"]) == {"gem_roundtrips": migrate.head()}


def test_migrating_reads_no_version_and_no_catalog_per_tenant(committed, extra_track):
    """Versions are read once for all; each tenant's transaction then locks its version row,
    applies the migration and moves the version: no catalog lookup, no second read."""
    app, slugs = committed(3)
    with app.app_context(), recorded_statements() as statements:
        report = migrate.migrate_all(db.engine, report=lambda _: None, tenant_location=extra_track)
    assert all(o.applied == ["tenant_9999"] for o in _ours(report, slugs).values())
    catalog = [s for s in statements if "pg_class" in s or "information_schema" in s]
    assert len(catalog) == 2  # shared's version table (Alembic), every tenant's (read_versions)
    for slug in slugs:
        mine = [s for s in statements if f"gem_{slug}" in s]
        reads = [s for s in mine if s.lstrip().upper().startswith("SELECT")
                 and "FOR UPDATE" not in s and "UNION ALL" not in s]
        assert reads == []
        locks = [s for s in mine if "FOR UPDATE" in s]
        assert len(locks) == 1 and "synchronous_commit" in locks[0]
    # Tenants commit without waiting for the disk; one synchronous commit at the end does.
    assert statements[-1] == "SELECT txid_current()"


def test_versions_are_read_a_bounded_number_of_tenants_per_transaction(committed, monkeypatch):
    """Reading a version locks its table until the transaction ends; migrate_all reads them in
    transactions of VERSIONS_PER_TRANSACTION tenants, so 1,000 tenants never hold 2,000 locks."""
    app, slugs = committed(3)
    monkeypatch.setattr(migrate, "VERSIONS_PER_TRANSACTION", 2)
    with app.app_context(), recorded_statements() as statements:
        report = migrate.migrate_all(db.engine, report=lambda _: None)
    ours = _ours(report, slugs)
    assert all(o.before == migrate.head() and not o.applied for o in ours.values())
    unions = [s for s in statements if "alembic_version" in s and "AS schema" in s]
    assert len(unions) >= 2 and all(s.count("AS schema") <= 2 for s in unions)
