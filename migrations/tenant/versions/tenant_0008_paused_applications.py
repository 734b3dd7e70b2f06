"""Applications paused while their request is inactive (not confirmed in time).

Revision ID: tenant_0008
Revises: tenant_0007
"""

import sqlalchemy as sa
from alembic import op

revision = "tenant_0008"
down_revision = "tenant_0007"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("applications", sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("applications", "paused_at")
