"""The desk's call list: news for families without e-mail, phoned and marked.

Revision ID: tenant_0006
Revises: tenant_0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "tenant_0006"
down_revision = "tenant_0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "call_list",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("template", sa.String(80), nullable=False),
        sa.Column("data", JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("called_by", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_call_list"),
        sa.UniqueConstraint("key", name="uq_call_list_key"),
    )
    op.create_index("ix_call_list_family_id", "call_list", ["family_id"])
    op.create_index("ix_call_list_called_at_created_at", "call_list", ["called_at", "created_at"])


def downgrade():
    op.drop_table("call_list")
