"""Housekeeping: expired sessions, used tokens and login throttling that no longer counts are
deleted (they hold nothing worth keeping)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from .. import clock, jobs
from ..extensions import db
from .models import UsedToken
from .services import purge_expired_sessions, purge_login_throttles
from .tokens import MAX_AGE

PURGE = "purge-sessions"


def purge_sessions_and_tokens() -> tuple[int, int]:
    app = jobs.job_app()
    with app.app_context(), jobs.recorded(app, PURGE) as run:
        now = clock.now(app)
        sessions = purge_expired_sessions(db.session, now=now)
        # A used token older than the longest lifetime can never be presented again.
        tokens = db.session.execute(delete(UsedToken).where(
            UsedToken.used_at < now - max(MAX_AGE.values()) - timedelta(days=1))).rowcount
        throttles = purge_login_throttles(db.session, now=now)
        db.session.commit()
        run.count("sessions", sessions)
        run.count("tokens", tokens)
        run.count("throttles", throttles)
        return sessions, tokens
