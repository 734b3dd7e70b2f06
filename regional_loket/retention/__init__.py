"""Retention: requests closed longer than the retention period lose their personal data in
``shared`` and every municipality's schema (anonymous statistics records kept first), families
with nothing live left are erased whole, unused parents' accounts are warned and then removed.
The rules are ``services``' docstring; ``jobs`` runs them daily and ``flask retention run``."""

from flask import Blueprint, Flask

__all__ = ["init_app"]

# No routes: the blueprint puts templates/email/ (the unused-account warning) on the template path.
bp = Blueprint("retention", __name__, template_folder="templates")



def init_app(app: Flask) -> None:
    from .. import jobs
    from .cli import retention
    from .jobs import run_retention

    app.register_blueprint(bp)
    app.cli.add_command(retention)
    jobs.register_periodic(app, run_retention, daily_at="03:00")
