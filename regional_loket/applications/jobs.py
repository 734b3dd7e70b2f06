"""Periodic application work: offers past their deadline expire and give their place back.

The scheduler enqueues ``expire_offers_everywhere``, which enqueues one ``expire_offers(slug)``
per municipality: each job opens its own app context and binds that one tenant."""

from __future__ import annotations

from datetime import date

from flask import Flask

from .. import jobs
from ..database import utcnow
from ..extensions import db
from ..tenancy import services as tenancy_services
from . import services


def expire_offers(slug: str) -> int:
    return expire_offers_now(jobs.job_app(), slug)


def expire_offers_now(app: Flask, slug: str, *, today: date | None = None) -> int:
    with app.app_context():
        tenant = tenancy_services.get_tenant(db.session, slug)
        if tenant is None or tenant.is_archived:
            return 0
        count = services.expire_offers(db.session, tenant, today=today or date.today(), now=utcnow())
        db.session.commit()
        return count


def expire_offers_everywhere() -> int:
    app = jobs.job_app()
    with app.app_context():
        slugs = [t.slug for t in tenancy_services.list_tenants(db.session, include_archived=False)]
    for slug in slugs:
        jobs.enqueue(app, expire_offers, slug, job_id=f"expire-offers-{slug}")
    return len(slugs)
