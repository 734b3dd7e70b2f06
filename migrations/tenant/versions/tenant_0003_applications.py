"""Applications (one per chosen location) and their history.

Revision ID: tenant_0003
Revises: tenant_0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "tenant_0003"
down_revision = "tenant_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "applications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("snapshot", JSONB(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_month", sa.Date(), nullable=False),
        sa.Column("age_group", sa.String(8), nullable=False),
        sa.Column("offer_deadline", sa.Date(), nullable=True),
        sa.Column("held_month", sa.Date(), nullable=True),
        sa.Column("held_age_group", sa.String(8), nullable=True),
        sa.Column("reject_reason", sa.String(40), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('submitted', 'in_review', 'waitlisted', 'offered', 'accepted', 'declined', "
            "'expired', 'rejected', 'withdrawn')", name="ck_applications_status"),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name="fk_applications_location_id_locations",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_applications"),
    )
    op.create_index("ix_applications_request_id", "applications", ["request_id"])
    op.create_index("ix_applications_location_id_status", "applications", ["location_id", "status"])
    op.create_table(
        "application_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("from_status", sa.String(12), nullable=True),
        sa.Column("to_status", sa.String(12), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("detail", JSONB(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"],
                                name="fk_application_events_application_id_applications", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_application_events"),
    )
    op.create_index("ix_application_events_application_id", "application_events", ["application_id"])


def downgrade():
    op.drop_table("application_events")
    op.drop_table("applications")
