"""Every run of a job recorded: job, municipality, start, end, outcome, counts, error.

Revision ID: shared_0013
Revises: shared_0012
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "shared_0013"
down_revision = "shared_0012"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job", sa.String(80), nullable=False),
        sa.Column("tenant_slug", sa.String(40), nullable=True),
        sa.Column("rq_job_id", sa.String(120), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("outcome IN ('running', 'ok', 'failed', 'skipped')", name="ck_job_runs_outcome"),
        sa.PrimaryKeyConstraint("id", name="pk_job_runs"),
        schema=S,
    )
    op.create_index("ix_job_runs_job_started_at", "job_runs", ["job", "started_at"], schema=S)
    op.create_index("ix_job_runs_started_at", "job_runs", ["started_at"], schema=S)


def downgrade():
    op.drop_table("job_runs", schema=S)
