"""Login throttling per (address, source) instead of an account lock anyone could set off.

``users.failed_logins`` and ``users.locked_until`` locked an account for everyone after five
wrong passwords from anywhere; ``login_throttles`` makes a source wait longer and longer, and
only slows (never locks) the account as a whole.

Revision ID: shared_0009
Revises: shared_0008
"""

import sqlalchemy as sa
from alembic import op

revision = "shared_0009"
down_revision = "shared_0008"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.create_table(
        "login_throttles",
        sa.Column("account_key", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("account_key", "source", name="pk_login_throttles"),
        schema=S,
    )
    op.drop_column("users", "failed_logins", schema=S)
    op.drop_column("users", "locked_until", schema=S)


def downgrade():
    op.add_column("users", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True), schema=S)
    op.add_column("users", sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
                  schema=S)
    op.drop_table("login_throttles", schema=S)
