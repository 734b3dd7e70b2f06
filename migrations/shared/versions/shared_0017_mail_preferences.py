"""Scheduled notices (issue #13): a person's opt-outs of the optional mails (the desk's daily
digest, the staff's weekly digest), and when a request's family was told that its wanted start
approaches without an offer (told once per request, whatever the outbox has purged since).

Revision ID: shared_0017
Revises: shared_0016
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "shared_0017"
down_revision = "shared_0016"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.add_column("users", sa.Column("mail_preferences", postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                                     server_default=sa.text("'{}'::jsonb")), schema=S)
    op.add_column("requests", sa.Column("start_notice_at", sa.DateTime(timezone=True), nullable=True), schema=S)


def downgrade():
    op.drop_column("requests", "start_notice_at", schema=S)
    op.drop_column("users", "mail_preferences", schema=S)
