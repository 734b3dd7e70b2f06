"""Error answers: the site's error page, or problem JSON under ``/api/`` (one function,
:func:`problem`, used by the app's handlers and by the open-data API's own answers)."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, g, make_response, render_template, request
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.http import HTTP_STATUS_CODES

from ..database import DATABASE_UNAVAILABLE
from ..extensions import db, login_manager
from .input import BadInput

log = logging.getLogger(__name__)

# Seconds a visitor (or a client of the API) is asked to wait when the database is not there:
# a restart or a fail-over takes seconds; a longer outage answers the same again.
DATABASE_RETRY_AFTER = 10

ERROR_TITLES = {
    400: _l("De aanvraag is ongeldig"),
    403: _l("Geen toegang"),
    404: _l("Pagina niet gevonden"),
    405: _l("Deze actie is hier niet mogelijk"),
    410: _l("Deze pagina bestaat niet meer"),
    413: _l("Wat u verstuurde is te groot"),
    429: _l("Te veel pogingen"),
    500: _l("Er ging iets mis"),
    503: _l("Het loket is even niet bereikbaar"),
}
ERROR_TEXTS = {
    400: _l("We konden uw aanvraag niet verwerken. Controleer wat u invulde en probeer opnieuw."),
    403: _l("U hebt geen toegang tot deze pagina. Meld u aan met een account dat wel toegang heeft."),
    404: _l("Dit adres bestaat niet op dit loket. Controleer het adres of ga naar de startpagina."),
    405: _l("Deze actie is op deze pagina niet mogelijk."),
    410: _l("Deze pagina is niet langer beschikbaar."),
    413: _l("Wat u verstuurde is te groot. Verstuur minder of kleinere gegevens."),
    429: _l("U probeerde dit te vaak. Wacht even en probeer dan opnieuw."),
    500: _l("Er ging iets mis aan onze kant. Probeer het later opnieuw; uw gegevens zijn niet gewijzigd."),
    503: _l("Het loket is even niet bereikbaar. Probeer het over enkele ogenblikken opnieuw; uw gegevens "
            "zijn niet gewijzigd."),
}


def init_app(app: Flask) -> None:
    for code in (400, 403, 404, 405, 410, 413, 429, 500, 503):
        app.register_error_handler(code, error_page)
    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, database_unavailable)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(BadInput, _bad_input)


def problem(status: int, title: str | None = None, *, detail=None, errors: dict | None = None,
            error: Exception | None = None) -> Response:
    """An RFC 9457 problem answer of the open-data API (CORS open, as every API answer):
    ``title`` defaults to the status's name, ``errors`` says what was wrong per parameter, and
    ``error`` (the exception answered) brings the headers its status promises."""
    body = {"status": status, "title": title or HTTP_STATUS_CODES.get(status, "Error")}
    if detail:
        body["detail"] = str(detail)
    if errors:
        body["errors"] = {name: str(says) for name, says in errors.items()}
    response = Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status=status,
                        mimetype="application/problem+json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return carry_headers(error, response) if error is not None else response


def database_unavailable(error):
    """The database is not there: 503 with Retry-After and the site's page (problem JSON under
    ``/api/``), and ONE log line naming the failure — no traceback: during an outage every
    request fails alike, and thousands of identical tracebacks would bury everything else."""
    cause = getattr(error, "orig", None) or error
    first_line = (str(cause).strip().splitlines() or [""])[0][:300]
    log.error("database unavailable, answered 503: %s: %s", type(cause).__name__, first_line)
    try:
        db.session.rollback()
    except DATABASE_UNAVAILABLE:
        pass  # the connection is gone; the pool replaces it once the database is back
    # The page must not ask the database again: flask-login would load the user to draw the
    # menu. A user already loaded (the database failed later in the request) stays.
    if "_login_user" not in g:
        g._login_user = login_manager.anonymous_user()
    return error_page(ServiceUnavailable(retry_after=DATABASE_RETRY_AFTER))


def error_page(error, title=None, text=None):
    if isinstance(error, InternalServerError) and isinstance(error.original_exception, DATABASE_UNAVAILABLE):
        # Failed outside the view's dispatch (Flask logged it already): still the outage's answer.
        return database_unavailable(error.original_exception)
    code = error.code if isinstance(error, HTTPException) else 500
    if code == 500:
        db.session.rollback()
    if request.path.startswith("/api/"):
        return problem(code, detail=text, error=error)
    title = title or ERROR_TITLES.get(code, ERROR_TITLES[500])
    if request_ctx.url_adapter is None:
        # A host so malformed that no URL can be built for it: no layout, just the message.
        return carry_headers(error, Response(f"{code} {title}\n", status=code, mimetype="text/plain"))
    response = make_response(
        render_template("errors/error.html", code=code, title=title,
                        text=text or ERROR_TEXTS.get(code, ERROR_TEXTS[500])),
        code,
    )
    retry_after = getattr(error, "retry_after", None)
    if code == 429 and retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return carry_headers(error, response)


def _bad_input(error: BadInput):
    """What was wrong with the input, said on the site's error page (web/input.py)."""
    return error_page(error, title=error.title, text=error.description)


def carry_headers(error, response):
    """The headers an error's status promises: Allow with 405, Retry-After with 429 or 503."""
    if isinstance(error, HTTPException):
        for header, value in error.get_headers():
            if header.lower() in ("allow", "retry-after"):
                response.headers[header] = value
    return response


def _csrf_error(error):
    return render_template(
        "errors/error.html", code=400, title=_l("Het formulier is verlopen"),
        text=_l("Uw formulier kon niet veilig worden verstuurd (het is verlopen of kwam van een andere "
                "site). Laad de pagina opnieuw en probeer nog eens."),
    ), 400
