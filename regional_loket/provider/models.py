"""Priority rules as versioned data (schema ``shared``): the law moves, and the ranking must
follow the version in force, and be explainable."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..database import SHARED_SCHEMA, UUIDKey
from ..extensions import db


class PriorityPolicy(UUIDKey, db.Model):
    """One version of a priority policy, in force from ``effective_from`` to ``effective_until``
    (inclusive; None = open-ended). ``criteria`` is ordered: meeting an earlier criterion ranks
    first; ties go to ``tie_break``."""

    __tablename__ = "priority_policies"
    __table_args__ = {"schema": SHARED_SCHEMA}

    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[dict] = mapped_column(JSONB)  # {"nl": …, "fr": …, "en": …}
    effective_from: Mapped[date] = mapped_column(Date)
    effective_until: Mapped[date | None] = mapped_column(Date)
    criteria: Mapped[list[str]] = mapped_column(JSONB)
    tie_break: Mapped[str] = mapped_column(String(20), default="submitted_at")
    annulled: Mapped[bool] = mapped_column(Boolean, default=False)
