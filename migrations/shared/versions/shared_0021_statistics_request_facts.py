"""The figures' records carry two facts of their whole request: the month it was first
submitted and whether it holds an offer or a place anywhere, so the dashboards count requests
with an index instead of grouping every record of the region by request (bench/figures.py).

Revision ID: shared_0021
Revises: shared_0020
"""

import sqlalchemy as sa
from alembic import op

revision = "shared_0021"
down_revision = "shared_0020"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.add_column("statistics_applications", sa.Column("request_month", sa.Date(), nullable=True), schema=S)
    op.add_column("statistics_applications", sa.Column("request_offered", sa.Boolean(), server_default="false",
                                                       nullable=False), schema=S)
    # Rows written before: the facts from their siblings (the nightly snapshot refreshes them).
    op.execute(f"""
        UPDATE {S}.statistics_applications r SET request_month = f.first_month, request_offered = f.offered
        FROM (SELECT request_id, min(submitted_month) AS first_month,
                     bool_or(status IN ('offered', 'accepted')) AS offered
              FROM {S}.statistics_applications GROUP BY request_id) f
        WHERE f.request_id = r.request_id""")  # noqa: S608  # nosec B608: a constant schema name
    op.create_index("ix_statistics_applications_request_month", "statistics_applications", ["request_month"],
                    schema=S)


def downgrade():
    op.drop_index("ix_statistics_applications_request_month", table_name="statistics_applications", schema=S)
    op.drop_column("statistics_applications", "request_offered", schema=S)
    op.drop_column("statistics_applications", "request_month", schema=S)
