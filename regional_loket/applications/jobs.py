"""Offer deadlines, per municipality: offers past their deadline expire and give their place
back (the family and the provider are told by the lifecycle's listeners), and two days before
a deadline the family is reminded, once per offer.

A deadline is a date and the whole deadline day still counts, so an offer becomes due for
expiry at the region's midnight: ``expire_offers_everywhere`` runs daily at 00:05 (region
time) and expires it within minutes; a run the scheduler missed (it was down) happens when it
is back. Reminders go out daily at 08:00, not in the night. Each "everywhere" job enqueues one
job per active municipality (``jobs.fan_out``); each of those is recorded with its counts
(``jobs.tenant_run``), commits once, and is idempotent: an expired offer is no longer offered,
a reminded offer carries its reminder event."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask

from .. import clock, jobs
from ..extensions import db
from . import services

EXPIRY = "offer-expiry"
REMINDERS = "offer-reminders"


# --- the per-municipality jobs (rq calls these with the slug) ------------------------------


def expire_offers(slug: str) -> int:
    return expire_offers_now(jobs.job_app(), slug)


def remind_offers(slug: str) -> int:
    return remind_offers_now(jobs.job_app(), slug)


def expire_offers_now(app: Flask, slug, *, today: date | None = None, now: datetime | None = None) -> int:
    """Expire ``slug``'s offers past their deadline; how many (0 when the run was skipped)."""
    with jobs.tenant_run(app, EXPIRY, slug) as (run, tenant):
        if tenant is None:
            return 0
        now = now or clock.now(app)
        count = services.expire_offers(db.session, tenant, today=today or clock.today(app), now=now)
        db.session.commit()
        run.count("expired", count)
        return count


def remind_offers_now(app: Flask, slug, *, today: date | None = None, now: datetime | None = None) -> int:
    """Remind the families of ``slug``'s offers whose deadline is near; how many."""
    with jobs.tenant_run(app, REMINDERS, slug) as (run, tenant):
        if tenant is None:
            return 0
        now = now or clock.now(app)
        count = services.remind_offers(db.session, tenant, today=today or clock.today(app), now=now)
        db.session.commit()
        run.count("reminded", count)
        return count


# --- the periodic jobs: one job per active municipality -------------------------------------


def expire_offers_everywhere() -> int:
    return jobs.fan_out(jobs.job_app(), expire_offers, name=EXPIRY, job_prefix="expire-offers")


def remind_offers_everywhere() -> int:
    return jobs.fan_out(jobs.job_app(), remind_offers, name=REMINDERS, job_prefix="remind-offers")
