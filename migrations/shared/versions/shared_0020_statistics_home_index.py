"""The figures' records by home municipality: the desk's cross-border flows (residents asking
elsewhere, residents placed elsewhere) read a municipality's residents, which without this
index is a scan of every record of the region.

Revision ID: shared_0020
Revises: shared_0019
"""

from alembic import op

revision = "shared_0020"
down_revision = "shared_0019"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.create_index("ix_statistics_applications_home_tenant_id_submitted_month", "statistics_applications",
                    ["home_tenant_id", "submitted_month"], schema=S)


def downgrade():
    op.drop_index("ix_statistics_applications_home_tenant_id_submitted_month", table_name="statistics_applications",
                  schema=S)
