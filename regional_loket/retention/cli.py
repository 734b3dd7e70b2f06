"""``flask retention run [--dry-run]``: the purge by hand, or what it would remove (counts and
ids, never names)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from . import jobs


@click.group("retention")
def retention() -> None:
    """Remove personal data past the retention period (requests, families, unused accounts)."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="List what would be removed (ids and counts); change nothing.")
@with_appcontext
def run(dry_run: bool) -> None:
    """Run the retention purge now (or, with --dry-run, only list what it would remove)."""
    app = current_app._get_current_object()
    plan = jobs.run_now(app, dry_run=dry_run)
    settings = app.config
    click.echo(f"retention{' (dry run: nothing changed)' if dry_run else ''}: requests closed before "
               f"{plan.cutoff.date().isoformat()} ({settings.get('RETENTION_YEARS')} years), accounts unused "
               f"{settings.get('ACCOUNT_UNUSED_DAYS')} days, removed "
               f"{settings.get('ACCOUNT_REMOVAL_NOTICE_DAYS')} days after the warning")
    verb = "would be" if dry_run else "were"
    click.echo(f"families erased whole ({verb}): {len(plan.families)}")
    for family_id, request_ids in plan.families.items():
        click.echo(f"  family {family_id}: requests {', '.join(map(str, request_ids))}")
    click.echo(f"requests erased, family kept ({verb}): {len(plan.requests)}")
    for request_id in plan.requests:
        click.echo(f"  request {request_id}")
    for label, ids in (("accounts warned", plan.warn), ("accounts removed", plan.remove),
                       ("warnings cancelled by a later use", plan.cancel)):
        click.echo(f"{label} ({verb}): {len(ids)}")
        for user_id in ids:
            click.echo(f"  account {user_id}")
    click.echo(f"unused accounts with a staff, referrer or administrator role (never removed here): "
               f"{plan.staff_unused}")
