"""The municipal coordinator's back office, on the municipality's own host."""

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    from . import views

    app.register_blueprint(views.bp)
