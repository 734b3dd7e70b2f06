"""``flask jobs runs``: the record of job runs, newest first; and the purge of old records."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from .. import clock
from ..extensions import db
from . import job_app
from .models import RunOutcome
from .runs import close_abandoned, list_runs, purge_runs, recorded, retention

PURGE_RUNS = "purge-job-runs"
ERROR_WIDTH = 60


def purge_job_runs() -> int:
    """The periodic job: runs older than ``JOB_RUN_RETENTION_DAYS`` go, and runs a killed worker
    left ``running`` for hours are closed as failed."""
    return purge_job_runs_now(job_app())


def purge_job_runs_now(app) -> int:
    with app.app_context(), recorded(app, PURGE_RUNS) as run:
        now = clock.now(app)
        count = purge_runs(db.session, before=now - retention(app))
        abandoned = close_abandoned(db.session, now=now)
        db.session.commit()
        run.count("purged", count)
        run.count("abandoned", abandoned)
        return count


@click.group("jobs", help="Background jobs: what ran, when, and how it went.")
def jobs_group():
    pass


def _duration(row) -> str:
    if row.finished_at is None:
        return "-"
    seconds = (row.finished_at - row.started_at).total_seconds()
    return f"{seconds:.1f} s" if seconds < 600 else f"{seconds / 60:.0f} min"


def _counts(counts: dict) -> str:
    return ", ".join(f"{name}={value}" for name, value in sorted((counts or {}).items())) or "-"


@jobs_group.command("runs")
@click.option("--job", default=None, help="Only this job (its recorded name, e.g. offer-expiry).")
@click.option("--tenant", default=None, help="Only this municipality's runs (its slug).")
@click.option("--failed", is_flag=True, help="Only failed runs.")
@click.option("--outcome", type=click.Choice([o.value for o in RunOutcome]), default=None,
              help="Only runs with this outcome.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="At most this many.")
@with_appcontext
def runs_command(job, tenant, failed, outcome, limit):
    """List job runs, newest first (times in the region's zone)."""
    if failed:
        if outcome not in (None, RunOutcome.FAILED):
            raise click.UsageError("--failed and --outcome disagree")
        outcome = RunOutcome.FAILED
    rows, total = list_runs(db.session, job=job, tenant_slug=tenant, outcome=outcome, limit=limit)
    if not rows:
        click.echo("no runs")
        return
    zone = clock.region_zone(current_app)
    table = [("started", "job", "tenant", "outcome", "took", "counts", "error")]
    for row in rows:
        error = " ".join((row.error or "").split())
        table.append((row.started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), row.job, row.tenant_slug or "-",
                      row.outcome, _duration(row), _counts(row.counts),
                      (error[:ERROR_WIDTH - 1] + "…") if len(error) > ERROR_WIDTH else error or "-"))
    widths = [max(len(str(line[i])) for line in table) for i in range(len(table[0]))]
    for line in table:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    if total > len(rows):
        click.echo(f"({len(rows)} of {total} shown; --limit for more)")
