"""A new municipality, from the administrator's form to a working portal, as a background job.

The form writes a ``TenantProvisioning`` row (checked: nothing is written for bad input) and
enqueues :func:`provision`. The job builds everything in ONE transaction — the tenant row and its
domains, its schema at the current head (PostgreSQL DDL is transactional), the profile marking
the fields the administrator chose (so ``flask tenants sync`` keeps them), the first
coordinator's invitation and its mail in the outbox, the audit entry — and marks the row done in
that same transaction. A failure rolls all of it back and marks the row failed with its cause;
the page offers a retry, which runs the same job on the same row. Running the job twice builds
one municipality: the row is locked while it works, and a done row is skipped.

Progress (which step the job is at) lives in Redis, best effort: the page polls it
(``progress``); the row holds the outcome.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, clock, jobs
from ..accounts import Role, tokens
from ..accounts import invitations as invites
from ..accounts.services import normalise_email
from ..extensions import db
from ..languages import CODES as LANGUAGE_CODES
from ..tenancy import Tenant
from ..tenancy import administration as tenant_admin
from ..tenancy import services as tenancy_services
from ..web.urls import portal_url
from .models import ProvisioningStatus, TenantProvisioning

JOB = "provision-tenant"
PROGRESS_TTL = 24 * 3600


class ProvisioningError(RuntimeError):
    """The job cannot build what was asked (e.g. the slug was taken meanwhile)."""


# --- the form's side ------------------------------------------------------------------------


def open_slugs(session: Session) -> frozenset[str]:
    """Slugs an unfinished provisioning claims (a second form for them is refused)."""
    return frozenset(session.scalars(select(TenantProvisioning.slug).where(
        TenantProvisioning.status != ProvisioningStatus.DONE)))


def request(session: Session, *, slug: str, subdomain: str, name: str, nis_code: str, colour: str,
            domains: list[str], coordinator_email: str, coordinator_language: str, requested_by: uuid.UUID | None,
            region_host: str, now: datetime) -> TenantProvisioning:
    """Check the fields (AdministrationError with a message per field; nothing written) and
    record the request; the caller commits, then :func:`start` enqueues its job."""
    slug, subdomain = (slug or "").strip().lower(), (subdomain or slug or "").strip().lower()
    colour = (colour or "").strip().lower()
    domains = [d.strip().lower() for d in domains if d.strip()]
    errors = tenant_admin.check_new(session, slug=slug, subdomain=subdomain, name=name, nis_code=(nis_code or "").strip(),
                                    colour=colour, domains=domains, region_host=region_host,
                                    exclude_slugs=open_slugs(session))
    email = normalise_email(coordinator_email or "")
    if email is None:
        errors["coordinator_email"] = _l("Vul een geldig e-mailadres in, bv. naam@voorbeeld.be.")
    if coordinator_language not in LANGUAGE_CODES:
        errors["coordinator_language"] = _l("Kies een taal.")
    if errors:
        raise tenant_admin.AdministrationError(errors)
    row = TenantProvisioning(slug=slug, subdomain=subdomain, name=name.strip(), nis_code=nis_code.strip(),
                             colour=colour, domains=domains, coordinator_email=email,
                             coordinator_language=coordinator_language, status=ProvisioningStatus.PENDING,
                             attempts=0, requested_by=requested_by, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row


def retry(row: TenantProvisioning, *, now: datetime) -> None:
    """A failed provisioning asked for again, or a pending one whose job never started (Redis
    was down); then :func:`start`. Running its job twice is harmless (it skips a done row)."""
    if row.status not in (ProvisioningStatus.FAILED, ProvisioningStatus.PENDING):
        raise LookupError(row.id)
    row.status, row.error, row.updated_at = ProvisioningStatus.PENDING, None, now


def start(app: Flask, row: TenantProvisioning) -> bool:
    """Enqueue the job of a committed row (best effort: False when Redis is down; the page then
    says so, and the retry button enqueues it again)."""
    _set_progress(app, row.id, 0)
    return jobs.enqueue(app, provision, str(row.id), job_id=f"provision-{row.id}-{row.attempts}", result_ttl=3600)


# --- progress -----------------------------------------------------------------------------------


def _progress_key(app: Flask, provisioning_id) -> str:
    return f"loket:{app.config['JOBS_QUEUE']}:provision:{provisioning_id}"


def _set_progress(app: Flask, provisioning_id, step: int) -> None:
    try:
        jobs.redis_connection(app).set(_progress_key(app, provisioning_id), step, ex=PROGRESS_TTL)
    except jobs.REDIS_DOWN:
        pass  # the bar stands still; the outcome is in the row


def progress(app: Flask, provisioning_id) -> int | None:
    """How many steps the job has finished (None: unknown, Redis down or expired)."""
    try:
        value = jobs.redis_connection(app).get(_progress_key(app, provisioning_id))
    except jobs.REDIS_DOWN:
        return None
    return int(value) if value is not None else None


# --- the job ------------------------------------------------------------------------------------


def _check(app, session, row, state, now):
    errors = tenant_admin.check_new(session, slug=row.slug, subdomain=row.subdomain, name=row.name,
                                    nis_code=row.nis_code, colour=row.colour, domains=list(row.domains),
                                    region_host=app.config["REGION_SERVER_NAME"])
    if errors:
        raise ProvisioningError("; ".join(f"{field}: {message}" for field, message in errors.items()))


def _schema(app, session, row, state, now):
    try:
        state["tenant"] = tenancy_services.create_tenant(
            session, slug=row.slug, subdomain=row.subdomain, name=row.name, nis_code=row.nis_code, colour=row.colour,
            domains=list(row.domains))
    except tenancy_services.TenantError as error:
        raise ProvisioningError(str(error)) from error


def _profile(app, session, row, state, now):
    # Made here, so a definition file added later does not silently overwrite it (tenants sync).
    tenant_admin.manage(session, state["tenant"], tenant_admin.CREATED_HERE, now)


def _coordinator(app, session, row, state, now):
    tenant = state["tenant"]
    invitation = invites.invite(session, tenant, email=row.coordinator_email, language=row.coordinator_language,
                                role=Role.COORDINATOR, actor_id=row.requested_by, now=now)
    token = invites.token_for(invitation, tokens.keys(app.config))
    invites.send(session, invitation, tenant=tenant, inviter=None,
                 url=portal_url(tenant, "coordinator.accept_invitation", token=token))
    state["invitation"] = invitation


def _audit(app, session, row, state, now):
    tenant = state["tenant"]
    audit.record_change(session, tenant, actor_id=row.requested_by, actor_role=Role.ADMIN.value,
                        action="tenant.create", subject=f"tenant:{tenant.slug}", host=None, now=now,
                        detail={"provisioning": str(row.id), "invitation": str(state["invitation"].id)})


# (code, label, step): the page shows the label of the step under way.
STEPS: list[tuple[str, object, Callable]] = [
    ("check", _l("Gegevens controleren"), _check),
    ("schema", _l("Gemeente en databankschema aanmaken"), _schema),
    ("profile", _l("Profiel instellen"), _profile),
    ("coordinator", _l("Coördinator uitnodigen"), _coordinator),
    ("audit", _l("Auditlog bijwerken"), _audit),
]


def provision(provisioning_id: str) -> str:
    """The rq job (argument: the row's id)."""
    return provision_now(jobs.job_app(), provisioning_id)


def provision_now(app: Flask, provisioning_id: str, *, now: datetime | None = None) -> str:
    """Build the municipality of one provisioning row; returns the row's status afterwards."""
    with app.app_context():
        try:
            key = uuid.UUID(str(provisioning_id))
        except ValueError:
            with jobs.recorded(app, JOB) as run:
                run.skip("bad-argument")
            return "bad-argument"
        found = db.session.get(TenantProvisioning, key)
        slug = found.slug if found is not None else None
        db.session.rollback()  # only a read: the work's own transaction starts inside the recorded run
        with jobs.recorded(app, JOB, tenant_slug=slug) as run:
            # Locked until the commit: a second run of the same job waits here, then finds it done.
            row = db.session.scalar(select(TenantProvisioning).where(TenantProvisioning.id == key)
                                    .with_for_update().execution_options(populate_existing=True))
            if row is None or row.status == ProvisioningStatus.DONE:
                db.session.rollback()  # nothing to do: release the lock before the run is closed
                run.skip("missing" if row is None else "done")
                return "missing" if row is None else ProvisioningStatus.DONE
            now = now or clock.now(app)
            state: dict = {}
            try:
                for number, (code, _label, step) in enumerate(STEPS, 1):
                    step(app, db.session, row, state, now)
                    db.session.flush()
                    _set_progress(app, row.id, number)
                    run.count(code)
                row.status, row.error, row.tenant_id = ProvisioningStatus.DONE, None, state["tenant"].id
                row.attempts += 1
                row.finished_at = row.updated_at = now
                db.session.commit()
            except Exception as error:
                db.session.rollback()  # the schema, the row, the invitation: all gone
                _fail(key, f"{type(error).__name__}: {error}", now)
                raise
            return ProvisioningStatus.DONE


def _fail(key: uuid.UUID, cause: str, now: datetime) -> None:
    row = db.session.get(TenantProvisioning, key)
    if row is not None:
        row.status, row.error = ProvisioningStatus.FAILED, cause[:2000]
        row.attempts += 1
        row.finished_at = row.updated_at = now
        db.session.commit()


def tenant_of(session: Session, row: TenantProvisioning) -> Tenant | None:
    return session.get(Tenant, row.tenant_id) if row.tenant_id else None
