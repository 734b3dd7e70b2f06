"""Families: guardians, children, declarations for priority, consent, export and erasure.
The family's requests build on this dossier (``care_requests`` imports families, never the
reverse): they add their part to the export and the erasure through ``keep_family_data``."""

from flask import Flask

from ..accounts import forget_on_deletion
from .models import Child, ClaimCode, Consent, Family, Guardian
from .privacy import keep_family_data

__all__ = ["Child", "ClaimCode", "Consent", "Family", "Guardian", "init_app", "keep_family_data"]


def init_app(app: Flask) -> None:
    from . import privacy, views

    app.register_blueprint(views.bp)
    # Typing claim codes is rate limited like the login (the app's one Limiter, accounts').
    limiter = app.extensions["rate_limiter"]
    app.view_functions["families.claim"] = limiter.limit(app.config["RATELIMIT_CLAIM"], methods=["POST"])(
        app.view_functions["families.claim"])
    forget_on_deletion(app, privacy.forget_guardian)  # a deleted account's family data goes too
