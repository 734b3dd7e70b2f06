"""The open (or inactive) requests of a family, by family: a desk's home and worklists look them
up for every family living in the municipality (5,000 at the largest of bench/mixed.py) and only
these count; the full index on family_id also walks the family's placed, withdrawn and draft
requests, a heap visit each. Partial: a request leaves it when it is placed or withdrawn.

Revision ID: shared_0024
Revises: shared_0023
"""

import sqlalchemy as sa
from alembic import op

revision = "shared_0024"
down_revision = "shared_0023"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.create_index("ix_requests_family_id_open", "requests", ["family_id"], schema=S,
                    postgresql_where=sa.text("status IN ('open', 'inactive')"))


def downgrade():
    op.drop_index("ix_requests_family_id_open", table_name="requests", schema=S)
