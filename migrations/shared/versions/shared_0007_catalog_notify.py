"""Tell every web worker when what a search shows has changed.

A statement-level trigger on each table a search page or the open-data API reads sends
``NOTIFY catalog_changed``. PostgreSQL delivers it only when the writing transaction commits
(and never when it rolls back), so the workers' search caches (``catalog/cache.py``) are
invalidated exactly when a new catalog becomes visible, whichever process wrote it: a web
request, a job, ``flask catalog rebuild`` or a migration.

Revision ID: shared_0007
Revises: shared_0006
"""

from alembic import op

revision = "shared_0007"
down_revision = "shared_0006"
branch_labels = None
depends_on = None

S = "shared"
CHANNEL = "catalog_changed"
TABLES = ("catalog_locations", "catalog_availability", "tenants", "tenant_domains", "postcodes",
          "region_settings")


def upgrade():
    op.execute(f"""
        CREATE FUNCTION {S}.notify_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- Notifications with the same channel and payload in one transaction are folded
            -- into one, so a bulk write costs a single message.
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END $$
    """)
    for table in TABLES:
        op.execute(f"""
            CREATE TRIGGER {table}_notify_catalog AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
            ON {S}.{table} FOR EACH STATEMENT EXECUTE FUNCTION {S}.notify_catalog_changed()
        """)


def downgrade():
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_notify_catalog ON {S}.{table}")
    op.execute(f"DROP FUNCTION {S}.notify_catalog_changed()")
