"""The intercommunal administrators' back office on the regional host: municipalities, people,
roles, revocation."""

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    from . import (
        figures,  # noqa: F401 — the region's figures (/beheer/regio/cijfers) on views.bp
        views,
    )

    app.register_blueprint(views.bp)
