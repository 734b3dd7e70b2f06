"""Housekeeping: expired sessions, used tokens and login throttling that no longer counts are
deleted (they hold nothing worth keeping)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from .. import jobs
from ..database import utcnow
from ..extensions import db
from .models import UsedToken
from .services import purge_expired_sessions, purge_login_throttles
from .tokens import MAX_AGE


def purge_sessions_and_tokens() -> tuple[int, int]:
    with jobs.job_app().app_context():
        now = utcnow()
        sessions = purge_expired_sessions(db.session, now=now)
        # A used token older than the longest lifetime can never be presented again.
        tokens = db.session.execute(delete(UsedToken).where(
            UsedToken.used_at < now - max(MAX_AGE.values()) - timedelta(days=1))).rowcount
        purge_login_throttles(db.session, now=now)
        db.session.commit()
        return sessions, tokens
