"""Families: guardians, children, declarations for priority, consent, export and erasure."""

from flask import Flask

from .models import Child, Consent, Family, Guardian

__all__ = ["Child", "Consent", "Family", "Guardian", "init_app"]


def init_app(app: Flask) -> None:
    from . import referrer, views

    app.register_blueprint(views.bp)
    app.register_blueprint(referrer.bp)
