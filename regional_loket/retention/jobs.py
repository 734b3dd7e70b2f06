"""The retention purge as a job (periodic, regional: a request spans municipalities) and as
``flask retention run [--dry-run]``. Reads the clock here, decides the whole run
(``services.plan``), then carries it out one family, request or account per transaction: a
failure rolls back that one only (the run is recorded failed; what was committed stays done,
and the next run takes up the rest). Running it twice removes nothing more: what was purged no
longer matches, and every step checks its rule again under a row lock."""

from __future__ import annotations

from flask import Flask

from .. import clock, jobs
from ..accounts import forgetters
from ..extensions import db
from . import services

JOB = "retention"


def run_retention() -> None:
    run_now(jobs.job_app())


def run_now(app: Flask, *, dry_run: bool = False) -> services.Plan:
    """One run at the clock's now. ``dry_run``: decide and report, change nothing (recorded
    as skipped with reason "dry-run", its counts what a run would remove)."""
    with app.app_context(), jobs.recorded(app, JOB) as run:
        now, today, zone = clock.now(app), clock.today(app), clock.region_zone(app)
        settings = services.Settings.of(app.config)
        plan = services.plan(db.session, settings, now=now)
        if dry_run:
            db.session.rollback()
            run.counts.update(plan.counts())
            run.skip("dry-run")
            return plan
        done = dict.fromkeys(plan.counts(), 0) | {"changed_meanwhile": 0}

        def step(ok: bool, name: str) -> None:
            # One transaction per family, request or account: committed whole, or nothing of it.
            if ok:
                db.session.commit()
                done[name] += 1
            else:  # its rule no longer holds (a login, a new request, an event since the plan)
                db.session.rollback()
                done["changed_meanwhile"] += 1

        for family_id, request_ids in plan.families.items():
            ok = services.purge_family(db.session, family_id, before=plan.cutoff, now=now, today=today, zone=zone)
            step(ok, "families")
            if ok:
                done["family_requests"] += len(request_ids)
        for request_id in plan.requests:
            step(services.purge_request(db.session, request_id, before=plan.cutoff, now=now, today=today, zone=zone),
                 "requests")
        for user_id in plan.cancel:
            step(services.cancel_warning(db.session, user_id), "warnings_cancelled")
        for user_id in plan.remove:
            step(services.remove_account(db.session, user_id, forget=forgetters(app), now=now), "accounts_removed")
        for user_id in plan.warn:
            step(services.warn_account(db.session, user_id, settings=settings, now=now), "accounts_warned")
        done["staff_unused"] = plan.staff_unused
        db.session.commit()  # end the job's transaction before its run is recorded as finished
        run.counts.update({name: value for name, value in done.items() if value})
        return plan
