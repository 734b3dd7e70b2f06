"""The shared web layer, one module per concern:

- ``blueprint``: the ``web`` blueprint (layout templates, static files), served on every host;
- ``portal``: home, logo, branding; ``accessibility``: the accessibility statement; ``assets``: the npm front-end packages;
- ``languages``: the language choice and switch; ``layout``: what every page's layout reads and
  the shared template filters (``formatting``: numbers, money, multilingual data);
- ``navigation``: the back-office links the domains register; ``headers``: security and cache
  headers; ``errors``: error pages and problem JSON; ``input``: bad input refused once;
- ``urls``: links between the region's hosts; ``declarations``: the ``@public`` marker.

This module only wires them and re-exports what other packages use.
"""

from __future__ import annotations

from flask import Flask

from . import accessibility, assets, errors, headers, languages, layout, portal  # noqa: F401 — routes
from .blueprint import bp
from .errors import problem
from .input import Request, refuse_bad_input
from .languages import LANGUAGE_NAMES, select_locale
from .navigation import register_back_office
from .urls import LANG_COOKIE

__all__ = ["LANGUAGE_NAMES", "LANG_COOKIE", "bp", "init_app", "problem", "register_back_office",
           "select_locale"]


def init_app(app: Flask) -> None:
    app.request_class = Request  # per-view upload limits (web.input.accepts_files)
    app.register_blueprint(bp)
    headers.init_app(app)
    # Registered after tenancy's hook: an unknown host is a 404 before its input is read.
    app.before_request(refuse_bad_input)
    app.after_request(languages.adopt_language)
    layout.init_app(app)
    errors.init_app(app)
