"""What the desk reads about its municipality's locations (the tenant bound): whose free places
have gone stale. Stale free places were the first complaint about Berlin's Kita-Navigator."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select

from ..listing import order
from .models import Location


def stale_before(now: datetime, weeks: int) -> datetime:
    """Free places last saved before this moment (or never) are stale."""
    return now - timedelta(weeks=weeks)


# The stale worklist's sort keys (``listing.order``): the longest unchanged (never first) by default.
STALE_SORTS = {
    "updated": (Location.free_places_updated_at, Location.name, Location.id),
    "name": (Location.name, Location.id),
}


def stale_free_places(*, now: datetime, weeks: int, kind: str | None = None, sort: str = "updated",
                      descending: bool = False):
    """The statement of the active locations whose free places were not saved in ``weeks``
    weeks (or never): rows of (id, name, kind, locality, free_places_updated_at)."""
    statement = (
        select(Location.id, Location.name, Location.kind, Location.locality, Location.free_places_updated_at)
        .where(Location.active, or_(Location.free_places_updated_at.is_(None),
                                    Location.free_places_updated_at < stale_before(now, weeks))))
    if kind is not None:
        statement = statement.where(Location.kind == kind)
    return statement.order_by(*order(STALE_SORTS.get(sort, STALE_SORTS["updated"]), descending=descending))


def location_choices(session):
    """(id, name) of every location of the bound municipality by name: what a filter offers."""
    return session.execute(select(Location.id, Location.name).order_by(Location.name, Location.id)).all()
