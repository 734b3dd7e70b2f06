"""The notification outbox.

Revision ID: shared_0003
Revises: shared_0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "shared_0003"
down_revision = "shared_0002"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recipient_email", sa.String(254), nullable=False),
        sa.Column("recipient_user_id", sa.Uuid(), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("template", sa.String(80), nullable=False),
        sa.Column("data", JSONB(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("tenant_slug", sa.String(40), nullable=True),
        sa.Column("state", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("state IN ('pending', 'sent', 'failed')", name="ck_notifications_state"),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("idempotency_key", name="uq_notifications_idempotency_key"),
        schema=S,
    )
    op.create_index("ix_notifications_state_next_attempt_at", "notifications",
                    ["state", "next_attempt_at"], schema=S)


def downgrade():
    op.drop_table("notifications", schema=S)
