"""Ranking of a location's waiting list. Deterministic: the same applications always give the
same order, and each place is explained."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..requests.models import Application, Status

WAITING = (Status.SUBMITTED, Status.IN_REVIEW, Status.WAITLISTED)


def position(session: Session, application: Application) -> int:
    """1 + the number of waiting applications ahead of this one in the same list (location,
    start month, age group), in order of submission — the tie-break of every policy."""
    ahead = session.scalar(
        select(func.count()).select_from(Application).where(
            Application.location_id == application.location_id,
            Application.start_month == application.start_month,
            Application.age_group == application.age_group,
            Application.status.in_(WAITING),
            or_(Application.submitted_at < application.submitted_at,
                (Application.submitted_at == application.submitted_at) & (Application.id < application.id)),
        )
    )
    return ahead + 1
