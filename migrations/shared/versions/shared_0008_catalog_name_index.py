"""Search results in their default order (name, then id) straight from an index.

Without it a search that matches thousands of locations sorts them all to show 20: 6.5 ms of
a landing search at 6,000 locations, 1.4 ms with it (bench/search.py).

Revision ID: shared_0008
Revises: shared_0007
"""

from alembic import op

revision = "shared_0008"
down_revision = "shared_0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_catalog_locations_name", "catalog_locations", ["name", "location_id"], schema="shared")


def downgrade():
    op.drop_index("ix_catalog_locations_name", table_name="catalog_locations", schema="shared")
