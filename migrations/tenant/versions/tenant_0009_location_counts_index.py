"""The applications per location and status carry what a desk's home counts: whether paused and
when submitted (open and overdue per location, the overdue worklist's total) and the id, so the
counts are read from the index alone instead of every application's row with its snapshot
(10,000 rows at the largest municipality of bench/mixed.py). Same key columns, same name.

Revision ID: tenant_0009
Revises: tenant_0008
"""

from alembic import op

revision = "tenant_0009"
down_revision = "tenant_0008"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_applications_location_id_status", table_name="applications")
    op.create_index("ix_applications_location_id_status", "applications", ["location_id", "status"],
                    postgresql_include=["paused_at", "submitted_at", "id"])


def downgrade():
    op.drop_index("ix_applications_location_id_status", table_name="applications")
    op.create_index("ix_applications_location_id_status", "applications", ["location_id", "status"])
