"""Priority policies as versioned data, with the two Flemish policies.

The rules of 1 April 2024 were annulled by the Constitutional Court on 30 April 2025; the older
rules apply again from that day. Both stay, so a ranking of any date can be explained.

Revision ID: shared_0006
Revises: shared_0005
"""

import uuid
from datetime import date

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "shared_0006"
down_revision = "shared_0005"
branch_labels = None
depends_on = None

S = "shared"

BEFORE_2024 = ["care_for_work", "single_parent", "low_income", "foster_child", "sibling_here"]
OF_2024 = ["care_for_work", "sibling_here", "foster_child", "single_parent", "low_income"]
NAME_BEFORE = {
    "nl": "Vlaamse voorrangsregels van vóór 1 april 2024 (opnieuw van toepassing sinds 30 april 2025)",
    "fr": "Règles de priorité flamandes d'avant le 1er avril 2024 (à nouveau applicables depuis le 30 avril 2025)",
    "en": "Flemish priority rules as in force before 1 April 2024 (applicable again since 30 April 2025)",
}
NAME_2024 = {
    "nl": "Vlaamse voorrangsregels van 1 april 2024 (vernietigd op 30 april 2025)",
    "fr": "Règles de priorité flamandes du 1er avril 2024 (annulées le 30 avril 2025)",
    "en": "Flemish priority rules of 1 April 2024 (annulled on 30 April 2025)",
}


def upgrade():
    table = op.create_table(
        "priority_policies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", JSONB(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_until", sa.Date(), nullable=True),
        sa.Column("criteria", JSONB(), nullable=False),
        sa.Column("tie_break", sa.String(20), nullable=False),
        sa.Column("annulled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_priority_policies"),
        schema=S,
    )
    op.bulk_insert(table, [
        {"id": uuid.uuid4(), "code": "flemish_before_2024", "name": NAME_BEFORE, "effective_from": date(2014, 4, 1),
         "effective_until": date(2024, 3, 31), "criteria": BEFORE_2024, "tie_break": "submitted_at",
         "annulled": False},
        {"id": uuid.uuid4(), "code": "flemish_2024", "name": NAME_2024, "effective_from": date(2024, 4, 1),
         "effective_until": date(2025, 4, 29), "criteria": OF_2024, "tie_break": "submitted_at", "annulled": True},
        {"id": uuid.uuid4(), "code": "flemish_before_2024", "name": NAME_BEFORE, "effective_from": date(2025, 4, 30),
         "effective_until": None, "criteria": BEFORE_2024, "tie_break": "submitted_at", "annulled": False},
    ])


def downgrade():
    op.drop_table("priority_policies", schema=S)
