"""The region's yearly income figures: the low-income threshold of the priority rules and the
income-related tariff's parameters, each seeded with one year marked as seeded (to verify).

The 2024 tariff figures (minimum €6.24, lowest minimum €1.97, maximum €34.64, €3.91 per further
child; shares 60 / 100 / 130 % below 5 h, 5–11 h, above 11 h) are the published ones; the
income bounds (€30,000 and €75,000) and the low-income threshold (€30,000) are plausible
placeholders, and their source says so: an administrator checks and saves them.

Revision ID: shared_0016
Revises: shared_0015
"""

import uuid
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = "shared_0016"
down_revision = "shared_0015"
branch_labels = None
depends_on = None

S = "shared"

TARIFF_SOURCE = ("Ingezaaid bij de installatie, te verifiëren: bedragen 2024 van het inkomenstarief (Opgroeien); "
                 "de inkomensgrenzen 30 000 en 75 000 euro zijn plausibele waarden, geen officiële cijfers.")
THRESHOLD_SOURCE = ("Ingezaaid bij de installatie, te verifiëren: plausibele waarde, geen officieel cijfer.")


def _timestamps():
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def upgrade():
    thresholds = op.create_table(
        "low_income_thresholds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("seeded", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("amount > 0", name="ck_low_income_thresholds_amount"),
        sa.PrimaryKeyConstraint("id", name="pk_low_income_thresholds"),
        sa.UniqueConstraint("year", name="uq_low_income_thresholds_year"),
        schema=S,
    )
    tariffs = op.create_table(
        "income_tariffs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("minimum", sa.Numeric(8, 2), nullable=False),
        sa.Column("lowest_minimum", sa.Numeric(8, 2), nullable=False),
        sa.Column("maximum", sa.Numeric(8, 2), nullable=False),
        sa.Column("child_reduction", sa.Numeric(8, 2), nullable=False),
        sa.Column("income_lower", sa.Numeric(12, 2), nullable=False),
        sa.Column("income_upper", sa.Numeric(12, 2), nullable=False),
        sa.Column("part_day_below_hours", sa.Numeric(4, 1), nullable=False),
        sa.Column("long_day_above_hours", sa.Numeric(4, 1), nullable=False),
        sa.Column("part_day_share", sa.Numeric(5, 1), nullable=False),
        sa.Column("full_day_share", sa.Numeric(5, 1), nullable=False),
        sa.Column("long_day_share", sa.Numeric(5, 1), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("seeded", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("lowest_minimum > 0 AND lowest_minimum <= minimum AND minimum <= maximum",
                           name="ck_income_tariffs_prices"),
        sa.CheckConstraint("income_lower >= 0 AND income_lower < income_upper", name="ck_income_tariffs_incomes"),
        sa.CheckConstraint("part_day_below_hours > 0 AND part_day_below_hours < long_day_above_hours "
                           "AND long_day_above_hours <= 24", name="ck_income_tariffs_hours"),
        sa.CheckConstraint("part_day_share > 0 AND full_day_share > 0 AND long_day_share > 0",
                           name="ck_income_tariffs_shares"),
        sa.CheckConstraint("child_reduction >= 0", name="ck_income_tariffs_child_reduction"),
        sa.PrimaryKeyConstraint("id", name="pk_income_tariffs"),
        sa.UniqueConstraint("year", name="uq_income_tariffs_year"),
        schema=S,
    )
    op.bulk_insert(thresholds, [
        {"id": uuid.uuid4(), "year": 2024, "amount": Decimal("30000.00"), "source": THRESHOLD_SOURCE, "seeded": True},
    ])
    op.bulk_insert(tariffs, [
        {"id": uuid.uuid4(), "year": 2024, "minimum": Decimal("6.24"), "lowest_minimum": Decimal("1.97"),
         "maximum": Decimal("34.64"), "child_reduction": Decimal("3.91"), "income_lower": Decimal("30000.00"),
         "income_upper": Decimal("75000.00"), "part_day_below_hours": Decimal("5"),
         "long_day_above_hours": Decimal("11"), "part_day_share": Decimal("60"), "full_day_share": Decimal("100"),
         "long_day_share": Decimal("130"), "source": TARIFF_SOURCE, "seeded": True},
    ])


def downgrade():
    op.drop_table("income_tariffs", schema=S)
    op.drop_table("low_income_thresholds", schema=S)
