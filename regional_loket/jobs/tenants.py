"""The two halves of per-municipality work, written once for every domain:

- :func:`fan_out`, the periodic "everywhere" job: one job per active municipality, with the
  slug as its only argument and ``<prefix>-<slug>`` as its id (a job still waiting is not
  enqueued twice), recorded with how many it enqueued;
- :func:`tenant_run`, the per-municipality job's frame: its own app context, its run recorded,
  the tenant loaded by slug. A malformed argument, a municipality that does not exist or was
  archived between enqueue and run: the run is recorded as skipped (with why) and the job
  returns cleanly, having changed nothing. The job does its work and commits once inside the
  block, so it is never half done; an exception rolls back, is recorded and goes on to rq
  (which retries it, ``RETRY_INTERVALS``).

    def expire_offers(slug):
        app = jobs.job_app()
        with jobs.tenant_run(app, "offer-expiry", slug) as (run, tenant):
            if tenant is None:
                return 0
            ...
            db.session.commit()
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask

from ..extensions import db
from ..tenancy import Tenant
from ..tenancy import services as tenancy_services
from ..tenancy.resolver import SLUG_RE
from .runs import Run, recorded

__all__ = ["fan_out", "tenant_run"]

log = logging.getLogger(__name__)


class NotEnqueued(RuntimeError):
    """Some municipality's job could not be enqueued (Redis went away): the fan-out fails, so
    rq retries it (the jobs already waiting are not enqueued twice)."""


def fan_out(app: Flask, func: Callable, *, name: str, job_prefix: str) -> int:
    """Enqueue ``func(slug)`` for every active municipality; returns how many were enqueued."""
    from . import enqueue

    with app.app_context(), recorded(app, name) as run:
        slugs = [t.slug for t in tenancy_services.list_tenants(db.session, include_archived=False)]
        db.session.rollback()  # nothing to keep; the connection goes back to the pool now
        missed = [slug for slug in slugs if not enqueue(app, func, slug, job_id=f"{job_prefix}-{slug}")]
        run.count("tenants", len(slugs))
        run.count("enqueued", len(slugs) - len(missed))
        if missed:
            raise NotEnqueued(f"{len(missed)} of {len(slugs)} municipalities not enqueued")
        return len(slugs)


@contextmanager
def tenant_run(app: Flask, name: str, slug) -> Iterator[tuple[Run, Tenant | None]]:
    """Record one run of ``name`` for municipality ``slug`` in its own app context; yields the
    run and the tenant (None: skipped, return at once)."""
    well_formed = isinstance(slug, str) and SLUG_RE.match(slug) is not None
    with app.app_context(), recorded(app, name, tenant_slug=slug if well_formed else None) as run:
        tenant = None
        if not well_formed:
            log.error("%s: not a municipality's slug: %.60r", name, slug)
            run.skip("bad-argument")
        else:
            tenant = tenancy_services.get_tenant(db.session, slug)
            if tenant is None or tenant.is_archived:
                log.warning("%s: municipality %s is %s, nothing done", name, slug,
                            "archived" if tenant is not None else "gone")
                run.skip("archived" if tenant is not None else "no-such-tenant")
                tenant = None
        try:
            yield run, tenant
        finally:
            # What the job did not commit is not kept (a skip, an exception): ended here, before
            # the run's record is finished, never later by the app context's teardown.
            db.session.rollback()
