"""The desk's scheduled work (issue #13), per municipality:

- **the daily digest of late answers** (``desk_digest``): applications past the municipality's
  response time (``applications.queries.overdue_clause``, the one rule) are counted per location
  and the oldest listed, with links to the provider's pages on the municipality's host, in one
  mail per coordinator per day (outbox key with the date), nothing when nothing is late; a
  coordinator who turned it off on their account page (``accounts.preferences``) gets none;
- **the start approaching without an offer** (``start_approaching``): the families living here
  are told once per request what the desk can do, or put on the desk's call list when they have
  no e-mail address (``care_requests.notices``, which reads the worklist's own rule).

The scheduler enqueues ``…_everywhere``, which enqueues one job per active municipality; each
job opens its own app context, reads the clock once, binds its municipality and commits once,
so it is never half done, and is recorded in ``shared.job_runs``. A malformed, unknown or
archived municipality is a skipped run.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from sqlalchemy.orm import Session

from .. import clock, jobs
from ..accounts import preferences
from ..applications import queries as applications
from ..care_requests import notices
from ..extensions import db
from ..notifications.services import notify
from ..tenancy import Tenant, tenant_scope
from ..tenancy import services as tenancy_services
from ..web.urls import portal_url

DESK_DIGEST = "desk_digest"  # the mail's template (coordinator/templates/email)
OLDEST = 10  # how many of the oldest late applications the digest lists


# --- the work (explicit session, tenant and time) ------------------------------------------------


def send_desk_digests(session: Session, tenant: Tenant, *, now: datetime, today: date) -> int:
    """Mail the day's digest of late answers to each coordinator of ``tenant`` who wants it, in
    the caller's transaction. Returns how many mails were added (0 when nothing is late, or when
    today's were added already)."""
    response_days = tenant.settings.response_days
    with tenant_scope(session, tenant):
        late = [row for row in applications.location_summaries(session, now=now, response_days=response_days)
                if row[4]]
        if not late:
            return 0
        oldest = session.execute(applications.overdue_applications(now=now, response_days=response_days)
                                 .limit(OLDEST)).all()
    # No child's name: the mail waits in the outbox, the details are behind the login.
    data = {
        "municipality": tenant.name, "response_days": response_days, "total": sum(row[4] for row in late),
        "locations": [{"name": name, "overdue": overdue,
                       "url": portal_url(tenant, "provider.inbox", location_id=id)}
                      for id, name, _active, _open, overdue in late],
        "oldest": [{"location": row.location_name, "status": row.status,
                    "submitted": row.submitted_at.astimezone(clock.region_zone()).date().isoformat(),
                    "days": applications.days_overdue(row.submitted_at, now, response_days),
                    "url": portal_url(tenant, "provider.application", location_id=row.location_id,
                                      application_id=row.id)} for row in oldest],
        "url": portal_url(tenant, "coordinator.worklist", slug="te-laat"),
        "preferences_url": portal_url(None, "accounts.mail_preferences"),
    }
    added = 0
    for recipient in preferences.recipients(session, tenant.id, preferences.DESK_DIGEST):
        user = recipient.user
        added += notify(session, recipient_email=user.email, recipient_user_id=user.id, language=user.language,
                        template=DESK_DIGEST, idempotency_key=f"desk-digest:{tenant.slug}:{today.isoformat()}:{user.id}",
                        tenant_slug=tenant.slug, data={"name": user.name, **data}) is not None
    return added


# --- the jobs ----------------------------------------------------------------------------------


def tenant_for_run(session: Session, run: jobs.Run, slug) -> Tenant | None:
    """The active municipality the job's argument names; None (the run skipped, saying why)
    when it is malformed, unknown or archived."""
    tenant, why_not = tenancy_services.tenant_for_job(session, slug)
    if tenant is None:
        run.skip(why_not)
    return tenant


def desk_digest(slug: str) -> dict:
    return desk_digest_now(jobs.job_app(), slug)


def desk_digest_now(app: Flask, slug: str) -> dict:
    with app.app_context(), jobs.recorded(app, "desk-digest", tenant_slug=tenancy_services.job_slug(slug)) as run:
        try:
            tenant = tenant_for_run(db.session, run, slug)
            if tenant is not None:
                run.count("mailed", send_desk_digests(db.session, tenant, now=clock.now(app), today=clock.today(app)))
                db.session.commit()
        finally:
            db.session.rollback()  # a skipped or failed run ends its transaction before it is recorded
        return dict(run.counts)


def start_approaching(slug: str) -> dict:
    return start_approaching_now(jobs.job_app(), slug)


def start_approaching_now(app: Flask, slug: str) -> dict:
    with app.app_context(), jobs.recorded(app, "start-approaching", tenant_slug=tenancy_services.job_slug(slug)) as run:
        try:
            tenant = tenant_for_run(db.session, run, slug)
            if tenant is not None:
                told = notices.tell_start_approaching(db.session, tenant, today=clock.today(app), now=clock.now(app))
                for name, n in told.items():
                    run.count(name, n)
                db.session.commit()
        finally:
            db.session.rollback()  # a skipped or failed run ends its transaction before it is recorded
        return dict(run.counts)


def _everywhere(job_name: str, func) -> int:
    app = jobs.job_app()
    with app.app_context(), jobs.recorded(app, f"{job_name}-everywhere") as run:
        slugs = [t.slug for t in tenancy_services.list_tenants(db.session, include_archived=False)]
        db.session.rollback()  # read only: end the transaction before the run is recorded
        for slug in slugs:
            jobs.enqueue(app, func, slug, job_id=f"{job_name}-{slug}")
        run.count("enqueued", len(slugs))
    return len(slugs)


def desk_digests_everywhere() -> int:
    """Daily (the lead's schedule: early morning, before the desk opens)."""
    return _everywhere("desk-digest", desk_digest)


def start_approaching_everywhere() -> int:
    """Daily."""
    return _everywhere("start-approaching", start_approaching)
