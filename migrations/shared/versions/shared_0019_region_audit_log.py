"""The region's own audit log: administrators' changes that belong to no one municipality.

Revision ID: shared_0019
Revises: shared_0018
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "shared_0019"
down_revision = "shared_0018"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.create_table(
        "region_audit_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_role", sa.String(20), nullable=True),
        sa.Column("action", sa.String(80), nullable=False),
        sa.Column("subject", sa.String(200), nullable=True),
        sa.Column("tenant_slug", sa.String(40), nullable=True),
        sa.Column("host", sa.String(253), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_region_audit_log"),
        schema=S,
    )
    op.create_index("ix_region_audit_log_at", "region_audit_log", ["at"], schema=S)


def downgrade():
    op.drop_table("region_audit_log", schema=S)
