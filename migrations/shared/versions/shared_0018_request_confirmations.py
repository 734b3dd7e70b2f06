"""Confirmations: when the family was last reminded, and since when it is inactive.

Revision ID: shared_0018
Revises: shared_0017
"""

import sqlalchemy as sa
from alembic import op

revision = "shared_0018"
down_revision = "shared_0017"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.add_column("requests", sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True), schema=S)
    op.add_column("requests", sa.Column("inactive_at", sa.DateTime(timezone=True), nullable=True), schema=S)


def downgrade():
    op.drop_column("requests", "inactive_at", schema=S)
    op.drop_column("requests", "reminded_at", schema=S)
