"""The provider staff's weekly digest (issue #13): for each location a staff member handles, the
applications new this week, the overdue ones (``applications.queries.overdue_clause``), the
offers whose deadline is near and free places not updated for the municipality's
``stale_free_places_weeks`` (``catalog.queries.stale_free_places``, the desk's rule) — one mail
per person per ISO week (outbox key with the week), in their language, nothing when all of it is
empty, none for whoever turned it off (``accounts.preferences``). A member sees only the
locations of their membership in this municipality: the digest is built per person from those.

``staff_digests_everywhere`` (weekly) enqueues one ``staff_digest(slug)`` per active
municipality; each opens its own app context, reads the clock once and commits once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Flask
from sqlalchemy.orm import Session

from .. import clock, jobs
from ..accounts import preferences
from ..applications import queries as applications
from ..catalog import queries as catalog
from ..extensions import db
from ..notifications.services import notify
from ..tenancy import Tenant, tenant_scope
from ..tenancy import services as tenancy_services
from ..web.urls import portal_url

STAFF_DIGEST = "staff_digest"  # the mail's template (provider/templates/email)
WEEK = timedelta(days=7)  # "new this week": submitted in the seven days before the run
EXPIRING_DAYS = 3  # an offer "about to expire": its deadline within this many days


def send_staff_digests(session: Session, tenant: Tenant, *, now: datetime, today: date) -> int:
    """Mail this ISO week's digest to each provider staff member of ``tenant`` who wants it and
    has something in it, in the caller's transaction. Returns how many mails were added."""
    recipients = preferences.recipients(session, tenant.id, preferences.STAFF_DIGEST)
    if not recipients:
        return 0
    settings = tenant.settings
    with tenant_scope(session, tenant):
        counts = applications.week_counts(session, since=now - WEEK, now=now, response_days=settings.response_days,
                                          expiring_until=today + timedelta(days=EXPIRING_DAYS))
        stale = {row.id: row.free_places_updated_at for row in session.execute(
            catalog.stale_free_places(now=now, weeks=settings.stale_free_places_weeks))}
        names = dict(catalog.location_choices(session))
    year, week, _day = today.isocalendar()
    common = {"municipality": tenant.name, "expiring_days": EXPIRING_DAYS,
              "stale_weeks": settings.stale_free_places_weeks, "week": week,
              "url": portal_url(tenant, "provider.home"),
              "preferences_url": portal_url(None, "accounts.mail_preferences")}
    added = 0
    for recipient in recipients:
        locations = []
        # Only this person's locations of this municipality (another's ids are simply not here).
        for location_id in sorted(recipient.location_ids & names.keys(), key=lambda id: (names[id], id)):
            new, overdue, expiring = counts.get(location_id, (0, 0, 0))
            is_stale = location_id in stale
            if not (new or overdue or expiring or is_stale):
                continue
            updated = stale.get(location_id)
            locations.append({
                "name": names[location_id], "new": new, "overdue": overdue, "expiring": expiring,
                "stale": is_stale,
                "updated": updated.astimezone(clock.region_zone()).date().isoformat() if updated else "",
                "url": portal_url(tenant, "provider.inbox", location_id=location_id),
                "free_places_url": portal_url(tenant, "provider.free_places", location_id=location_id)})
        if not locations:
            continue
        user = recipient.user
        added += notify(session, recipient_email=user.email, recipient_user_id=user.id, language=user.language,
                        template=STAFF_DIGEST, tenant_slug=tenant.slug,
                        idempotency_key=f"staff-digest:{tenant.slug}:{year}-W{week:02d}:{user.id}",
                        data={"name": user.name, "locations": locations, **common}) is not None
    return added


def staff_digest(slug: str) -> dict:
    return staff_digest_now(jobs.job_app(), slug)


def staff_digest_now(app: Flask, slug: str) -> dict:
    with app.app_context(), jobs.recorded(app, "staff-digest", tenant_slug=tenancy_services.job_slug(slug)) as run:
        try:
            tenant, why_not = tenancy_services.tenant_for_job(db.session, slug)
            if tenant is None:
                run.skip(why_not)
            else:
                run.count("mailed", send_staff_digests(db.session, tenant, now=clock.now(app), today=clock.today(app)))
                db.session.commit()
        finally:
            db.session.rollback()  # a skipped or failed run ends its transaction before it is recorded
        return dict(run.counts)


def staff_digests_everywhere() -> int:
    """Weekly (the lead's schedule: Monday morning)."""
    app = jobs.job_app()
    with app.app_context(), jobs.recorded(app, "staff-digest-everywhere") as run:
        slugs = [t.slug for t in tenancy_services.list_tenants(db.session, include_archived=False)]
        db.session.rollback()  # read only: end the transaction before the run is recorded
        for slug in slugs:
            jobs.enqueue(app, staff_digest, slug, job_id=f"staff-digest-{slug}")
        run.count("enqueued", len(slugs))
    return len(slugs)
