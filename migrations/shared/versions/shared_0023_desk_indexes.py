"""Indexes a desk's pages need at Flanders scale (bench/mixed.py: 100,000 applications): the
choices made in a municipality and the families living in a postcode were found by scanning
every choice and every family of the region.

Revision ID: shared_0023
Revises: shared_0022
"""

from alembic import op

revision = "shared_0023"
down_revision = "shared_0022"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.create_index("ix_choices_tenant_id", "choices", ["tenant_id"], schema=S)
    op.create_index("ix_families_postcode", "families", ["postcode"], schema=S)


def downgrade():
    op.drop_index("ix_families_postcode", table_name="families", schema=S)
    op.drop_index("ix_choices_tenant_id", table_name="choices", schema=S)
