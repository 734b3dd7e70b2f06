"""Keeping Citus schema-based sharding open (docs/OPERATIONS.md, "Towards Citus").

With schema-based sharding each municipality's schema becomes a *distributed schema*: its
tables are single-shard tables placed together on one node, and the schema moves between nodes
as a whole. What Citus 12 checks when a schema is distributed (``citus_schema_distribute``,
``EnsureTenantTable`` in its schema_based_sharding.c) and what a move needs:

- a foreign key from a tenant table points into the same schema, or at a *reference table*
  (replicated to every node) in a regular schema; never at another tenant's schema and never at
  a plain table;
- no table of another schema has a foreign key into a tenant schema;
- no foreign tables, no inheritance, partitions only within the same schema;
- schemas move by logical replication (``citus_schema_move``, the rebalancer), which needs a
  replica identity, i.e. a primary key, on every table that is updated or deleted from.

Reference tables may themselves only reference reference tables, so every ``shared`` table a
tenant table points at, and everything those point at, must become one: that set is written
down here (``REFERENCE_TABLES``), so adding such a foreign key is a decision, not an accident.
Checked twice: on the model metadata (the tenant placeholder schema) and on a real tenant
schema built from it (what the database holds, migrations' extras included).
"""

import sqlalchemy as sa

from regional_loket.database import SHARED_SCHEMA, TENANT_PLACEHOLDER
from regional_loket.extensions import db

# Shared tables that must be reference tables under Citus because tenant tables point at them
# (directly or through other reference tables). Today none: tenant rows name shared rows by id
# only, so the shared schema can stay on the coordinator as ordinary tables.
REFERENCE_TABLES: set[str] = set()


def sharding_problems(metadata: sa.MetaData, reference_tables: set[str]) -> list[str]:
    """What would stop ``citus_schema_distribute`` on a tenant schema built from ``metadata``."""
    problems = []
    tables = {table.fullname: table for table in metadata.tables.values()}
    tenant = [t for t in tables.values() if t.schema == TENANT_PLACEHOLDER]
    for table in tenant:
        if not table.primary_key.columns:
            problems.append(f"{table.fullname} has no primary key (a schema move needs a replica identity)")
        for fk in table.foreign_keys:
            target = fk.column.table
            if target.schema == TENANT_PLACEHOLDER:
                continue  # within the tenant's own schema
            if target.schema == SHARED_SCHEMA:
                if target.fullname not in reference_tables:
                    problems.append(f"{table.fullname}.{fk.parent.name} → {target.fullname}: a shared table "
                                    "a tenant table references must be a reference table (REFERENCE_TABLES)")
                continue
            problems.append(f"{table.fullname}.{fk.parent.name} → {target.fullname}: crosses into another schema")
    for table in tables.values():
        if table.schema == TENANT_PLACEHOLDER:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.schema not in (table.schema, SHARED_SCHEMA):
                problems.append(f"{table.fullname}.{fk.parent.name} → {fk.column.table.fullname}: "
                                "no table outside a tenant schema may reference into one")
    for name in sorted(reference_tables):
        table = tables.get(name)
        if table is None:
            problems.append(f"reference table {name} does not exist")
            continue
        for fk in table.foreign_keys:
            if fk.column.table.fullname not in reference_tables:
                problems.append(f"reference table {name} references {fk.column.table.fullname}, "
                                "which is not a reference table")
    return problems


def test_the_models_keep_schema_based_sharding_possible(app):
    assert sharding_problems(db.metadata, REFERENCE_TABLES) == []
    assert any(t.schema == TENANT_PLACEHOLDER for t in db.metadata.tables.values())


def test_the_check_catches_what_citus_would_refuse():
    metadata = sa.MetaData()
    sa.Table("tenants", metadata, sa.Column("id", sa.Integer, primary_key=True), schema=SHARED_SCHEMA)
    sa.Table("users", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("tenant_id", sa.ForeignKey("shared.tenants.id")), schema=SHARED_SCHEMA)
    sa.Table("gem_other_things", metadata, sa.Column("id", sa.Integer, primary_key=True), schema="gem_other")
    sa.Table("locations", metadata, sa.Column("id", sa.Integer, primary_key=True), schema=TENANT_PLACEHOLDER)
    sa.Table("notes", metadata, sa.Column("text", sa.Text), schema=TENANT_PLACEHOLDER)  # no primary key
    sa.Table("rows", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("location_id", sa.ForeignKey("tenant.locations.id")),  # fine: same schema
             sa.Column("user_id", sa.ForeignKey("shared.users.id")),  # a reference table is needed
             sa.Column("other_id", sa.ForeignKey("gem_other.gem_other_things.id")),  # another tenant
             schema=TENANT_PLACEHOLDER)
    sa.Table("mirror", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("location_id", sa.ForeignKey("tenant.locations.id")), schema=SHARED_SCHEMA)

    problems = "\n".join(sharding_problems(metadata, set()))
    assert "tenant.notes has no primary key" in problems
    assert "tenant.rows.user_id → shared.users" in problems
    assert "tenant.rows.other_id → gem_other.gem_other_things: crosses" in problems
    assert "shared.mirror.location_id → tenant.locations: no table outside" in problems
    assert "tenant.rows.location_id" not in problems
    # Declaring users a reference table is not enough: it references tenants, which is not one.
    assert "reference table shared.users references shared.tenants" in "\n".join(
        sharding_problems(metadata, {"shared.users"}))


def test_a_real_tenant_schema_has_what_a_distributed_schema_needs(app, make_tenant):
    schema = make_tenant().schema
    connection = db.session.connection()
    crossing = connection.execute(sa.text("""
        SELECT c.conname, src.nspname || '.' || s.relname, dst.nspname || '.' || d.relname
        FROM pg_constraint c
        JOIN pg_class s ON s.oid = c.conrelid JOIN pg_namespace src ON src.oid = s.relnamespace
        JOIN pg_class d ON d.oid = c.confrelid JOIN pg_namespace dst ON dst.oid = d.relnamespace
        WHERE c.contype = 'f' AND (src.nspname = :schema OR dst.nspname = :schema)
          AND NOT (src.nspname = :schema AND dst.nspname = :schema)
    """), {"schema": schema}).all()
    # Only from this schema to a declared reference table; nothing into it from elsewhere.
    assert [row for row in crossing if not (row[1].startswith(schema + ".") and row[2] in REFERENCE_TABLES)] == []

    without_key = connection.execute(sa.text("""
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = :schema AND c.relkind IN ('r', 'p')
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
    """), {"schema": schema}).scalars().all()
    assert without_key == []  # alembic_version included: it is updated by every migration

    unsupported = connection.execute(sa.text("""
        SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = :schema AND (c.relkind = 'f' OR EXISTS (
            SELECT 1 FROM pg_inherits i JOIN pg_class o ON o.oid IN (i.inhrelid, i.inhparent)
            JOIN pg_namespace other ON other.oid = o.relnamespace
            WHERE c.oid IN (i.inhrelid, i.inhparent) AND other.nspname <> :schema))
    """), {"schema": schema}).all()
    assert unsupported == []  # no foreign tables, no inheritance across schemas
