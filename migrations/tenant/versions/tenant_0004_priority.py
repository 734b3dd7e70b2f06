"""A location's own priority criteria; staff's marks for them on each application.

Revision ID: tenant_0004
Revises: tenant_0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "tenant_0004"
down_revision = "tenant_0003"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("locations", sa.Column("extra_criteria", JSONB(), nullable=False, server_default="[]"))
    op.alter_column("locations", "extra_criteria", server_default=None)
    op.add_column("applications", sa.Column("flags", JSONB(), nullable=False, server_default="{}"))
    op.alter_column("applications", "flags", server_default=None)


def downgrade():
    op.drop_column("applications", "flags")
    op.drop_column("locations", "extra_criteria")
