"""The daily statistics snapshot: ``snapshot_everywhere`` (periodic) reads the region's day once
and enqueues one ``snapshot(slug, day)`` per active municipality; each opens its own app context,
writes that municipality's figures for the day and commits once (never half a day's rows)."""

from __future__ import annotations

from datetime import date

from flask import Flask

from .. import clock, jobs
from ..extensions import db
from ..tenancy import services as tenancy_services
from . import monthly, services

JOB = "statistics-snapshot"
MONTHLY_JOB = "statistics-monthly"


def snapshot(slug: str, day: str) -> None:
    snapshot_now(jobs.job_app(), slug, day)


def snapshot_now(app: Flask, slug: str, day: str) -> dict | None:
    """Write ``slug``'s figures of ``day`` (ISO date). A malformed argument or a municipality
    archived or removed since the enqueue: the run is recorded as skipped, nothing written."""
    with app.app_context(), jobs.recorded(app, JOB, tenant_slug=str(slug)[:40]) as run:
        try:
            when = date.fromisoformat(day)
        except (TypeError, ValueError):
            run.skip("bad-argument")
            return None
        tenant = tenancy_services.get_tenant(db.session, slug) if isinstance(slug, str) else None
        if tenant is None or tenant.is_archived:
            db.session.rollback()  # only read: end the transaction before the run is recorded
            run.skip("archived" if tenant is not None else "missing")
            return None
        counts = services.snapshot(db.session, tenant, day=when, zone=clock.region_zone(app))
        db.session.commit()
        for name, value in counts.items():
            run.count(name, value)
    # The region's monthly figures, ahead of their first reader: one job waiting at a time, so
    # a night of 285 snapshots rebuilds them about once, after the last.
    jobs.enqueue(app, refresh_monthly, job_id=MONTHLY_JOB)
    return counts


def refresh_monthly() -> None:
    refresh_monthly_now(jobs.job_app())


def refresh_monthly_now(app: Flask) -> bool:
    """Rebuild the region's monthly figures if the records changed since; True if it did."""
    with app.app_context(), jobs.recorded(app, MONTHLY_JOB) as run:
        rebuilt = monthly.ensure_fresh(db.session)
        db.session.commit()
        run.count("rebuilt", int(rebuilt))
        return rebuilt


def snapshot_everywhere() -> int:
    app = jobs.job_app()
    with app.app_context():
        day = clock.today(app).isoformat()
        slugs = [t.slug for t in tenancy_services.list_tenants(db.session, include_archived=False)]
    for slug in slugs:
        jobs.enqueue(app, snapshot, slug, day, job_id=f"statistics-snapshot-{slug}-{day}")
    return len(slugs)
