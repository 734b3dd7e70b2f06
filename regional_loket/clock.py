"""One place to read "now".

Views, commands and job entry points read the time here and hand it to services as explicit
``now=`` / ``today=`` arguments; services never read a clock themselves. Tests (and only tests)
move the clock with the ``CLOCK_NOW`` setting (an aware ``datetime`` or an ISO 8601 string), so
a job's effect "three months later" is tested without waiting or patching.

``today`` is the region's calendar day (``BABEL_DEFAULT_TIMEZONE``, Europe/Brussels): just
after midnight in Brussels it is already tomorrow while UTC still says today.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_app_context

__all__ = ["now", "today", "region_zone"]

DEFAULT_ZONE = "Europe/Brussels"


def _app(app: Flask | None) -> Flask | None:
    if app is not None:
        return app
    return current_app._get_current_object() if has_app_context() else None


def now(app: Flask | None = None) -> datetime:
    """The current time, UTC and aware (the test clock when ``CLOCK_NOW`` is set on a testing
    app; ignored anywhere else, so a stray setting never moves a production clock)."""
    app = _app(app)
    frozen = app.config.get("CLOCK_NOW") if app is not None and app.testing else None
    if frozen is None:
        return datetime.now(UTC)
    if isinstance(frozen, str):
        frozen = datetime.fromisoformat(frozen)
    if isinstance(frozen, date) and not isinstance(frozen, datetime):
        frozen = datetime(frozen.year, frozen.month, frozen.day, 12, tzinfo=region_zone(app))
    if frozen.tzinfo is None:
        frozen = frozen.replace(tzinfo=region_zone(app))
    return frozen.astimezone(UTC)


def region_zone(app: Flask | None = None) -> ZoneInfo:
    app = _app(app)
    return ZoneInfo((app.config.get("BABEL_DEFAULT_TIMEZONE") if app is not None else None) or DEFAULT_ZONE)


def today(app: Flask | None = None) -> date:
    """The region's calendar day now."""
    return now(app).astimezone(region_zone(app)).date()
