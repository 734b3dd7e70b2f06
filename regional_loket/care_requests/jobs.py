"""Periodic request work: confirmation reminders and inactivity (``confirmations``).

One job for the whole region, not one per municipality: a request is the region's (schema
``shared``) and its choices span municipalities, so "per municipality" would either split one
request's work over several jobs or do it twice. The scan is one statement over the region
(``queries.confirmation_timing``); each request is then handled and committed on its own, under
a row lock (the family may be confirming right now), so a request is never half done and one
failing request does not hold back the others. Idempotent: a reminder is sent once per due
period (``CareRequest.reminded_at``, and the outbox/call-list keys carry the due date), an
inactive request is no longer open; a request erased or confirmed between the scan and its
turn is found gone or not due and left alone.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from flask import Flask

from .. import clock, jobs
from ..accounts import tokens
from ..extensions import db
from . import confirmations as confirming

log = logging.getLogger(__name__)
JOB = "confirmations"


class ConfirmationsFailed(RuntimeError):
    """Some requests failed (the others were done); the run is recorded failed and rq retries:
    what was done is not done again."""


def confirmations() -> dict:
    """The scheduler's entry point (``register_periodic``)."""
    return run_confirmations(jobs.job_app())


def run_confirmations(app: Flask, *, now: datetime | None = None) -> dict:
    with app.app_context(), jobs.recorded(app, JOB) as run:
        now = now or clock.now(app)
        secret = tokens.keys(app.config)
        request_ids = confirming.due_work(db.session, now=now)
        db.session.rollback()  # end the scan's transaction: each request gets its own
        failed: list[uuid.UUID] = []
        for request_id in request_ids:
            try:
                outcome = confirming.step(db.session, request_id, secret=secret, now=now)
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("confirmation of request %s failed", request_id)
                failed.append(request_id)
                continue
            run.count(outcome)
        if failed:
            run.count("failed", len(failed))
            raise ConfirmationsFailed(f"{len(failed)} request(s) failed: {', '.join(map(str, failed[:10]))}")
        return dict(run.counts)
