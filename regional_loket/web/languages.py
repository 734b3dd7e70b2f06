"""Which language a page is in: an explicit choice (the ``lang`` cookie of this host, or a
``lang`` parameter brought from another host), else the account's, else Accept-Language."""

from __future__ import annotations

from flask import abort, current_app, has_request_context, redirect, request

from ..languages import NAMES as LANGUAGE_NAMES  # noqa: F401  (the layout reads it from here)
from .blueprint import bp
from .declarations import public
from .navigation import signed_in_user
from .urls import LANG_COOKIE, LANG_PARAM, chosen_language, safe_next


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # commands and jobs choose with force_locale
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = chosen_language()  # an explicit choice, on this host or brought from another
    if chosen is not None:
        return chosen
    user = signed_in_user()
    if user is not None and user.language in languages:
        return user.language
    return request.accept_languages.best_match(languages, default=current_app.config["BABEL_DEFAULT_LOCALE"])


@bp.route("/lang/<code>")
@public
def set_language(code: str):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    return _remember_language(redirect(safe_next(request.args.get("next"))), code)


def _remember_language(response, code: str):
    # Host-only cookie: nothing spans the parent domain; links to the region's other hosts
    # carry the choice as a ``lang`` parameter instead (web.urls.carry_language).
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                        secure=request.is_secure, httponly=True)
    return response


def adopt_language(response):
    """A valid ``lang`` parameter, brought by a link from another host of the region, becomes
    this host's own choice; an invalid one is ignored (never echoed into a cookie)."""
    brought = request.args.get(LANG_PARAM)
    if brought in current_app.config["LANGUAGES"] and brought != request.cookies.get(LANG_COOKIE):
        _remember_language(response, brought)
    return response
