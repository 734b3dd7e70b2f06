"""The shared web layer: layout, languages, assets, error pages, security headers, portals."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    has_request_context,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
)
from flask.globals import request_ctx
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from ..accounts.policy import public
from ..extensions import db
from ..settings import PROJECT_ROOT
from ..tenancy import services as tenancy_services
from ..validators import safe_http_url
from . import formatting
from .input import BadInput, refuse_bad_input
from .urls import (
    LANG_COOKIE,
    LANG_PARAM,
    chosen_language,
    form_action_sources,
    portal_url,
    safe_next,
    switch_url,
)

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/web")

LANGUAGE_NAMES = {"nl": "Nederlands", "fr": "Français", "en": "English"}

# Front-end packages installed by npm (package-lock.json) and served by the app itself:
# a municipal network may have no route to any CDN.
VENDOR_ASSETS = {
    "utrecht/components.css": "@utrecht/component-library-css/dist/index.css",
    "utrecht/theme.css": "@utrecht/design-tokens/dist/theme.css",
    "leaflet/leaflet.css": "leaflet/dist/leaflet.css",
    "leaflet/leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet/images/marker-icon.png": "leaflet/dist/images/marker-icon.png",
    "leaflet/images/marker-icon-2x.png": "leaflet/dist/images/marker-icon-2x.png",
    "leaflet/images/marker-shadow.png": "leaflet/dist/images/marker-shadow.png",
    "leaflet/images/layers.png": "leaflet/dist/images/layers.png",
}


def localdate(value) -> str:
    """A date (or an ISO date string, as snapshots keep them) in the reader's language."""
    from datetime import date

    from flask_babel import format_date

    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    return format_date(value, "medium") if value else ""


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # commands and jobs choose with force_locale
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = chosen_language()  # an explicit choice, on this host or brought from another
    if chosen is not None:
        return chosen
    user = _current_user()
    if user is not None and user.language in languages:
        return user.language
    return request.accept_languages.best_match(languages, default=current_app.config["BABEL_DEFAULT_LOCALE"])


def _current_user():
    from flask_login import current_user

    return current_user if getattr(current_user, "is_authenticated", False) else None


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(_security_headers)
    app.after_request(_cache_headers)
    # Registered after tenancy's hook: an unknown host is a 404 before its input is read.
    app.before_request(refuse_bad_input)
    app.after_request(_adopt_language)
    app.context_processor(_layout_context)
    for code in (400, 403, 404, 405, 410, 413, 429, 500):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(BadInput, _bad_input)
    app.jinja_env.globals["portal_url"] = portal_url
    app.jinja_env.globals["switch_url"] = switch_url
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["localdate"] = localdate
    app.jinja_env.filters["safe_http_url"] = safe_http_url  # every stored address that becomes an href
    formatting.init_app(app)


# Back-office entries in the header, contributed by the domains: fn(user, tenant) → [(label, url)].
_back_office: list = []


def register_back_office(provider):
    _back_office.append(provider)
    return provider


def back_office_links() -> list[dict]:
    user = _current_user()
    if user is None:
        return []
    return [
        {"label": label, "url": url}
        for provider in _back_office
        for label, url in provider(user, g.get("tenant"))
    ]


def _layout_context() -> dict:
    return {
        "back_office_links": back_office_links,
        "tenant": g.get("tenant"),
        "languages": LANGUAGE_NAMES,
        "current_language": str(get_locale() or "nl"),
        "region": _region_settings(),
    }


def _region_settings() -> dict:
    """Loaded once per request, only when a page is rendered."""
    if "region_settings" not in g:
        try:
            g.region_settings = tenancy_services.region_settings(db.session)
        except Exception:  # noqa: BLE001 — an error page must render even without a database
            db.session.rollback()
            g.region_settings = {}
    return g.region_settings


def _security_headers(response):
    tile_origin = _origin(current_app.config.get("MAP_TILE_URL") or "")
    csp = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' data:{' ' + tile_origin if tile_origin else ''}",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        f"form-action {form_action_sources()}",
        "frame-ancestors 'none'",
    ]
    response.headers.setdefault("Content-Security-Policy", "; ".join(csp))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
    if current_app.config["ENV"] == "production":
        response.headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    return response


def _cache_headers(response):
    """One rule: an answer to a visitor with a session (logged in, or holding a form's CSRF
    token or a flash message) may carry personal data, so no cache keeps it: ``no-store``.
    Exports are only for logged-in staff and families, so they are covered too. What declares
    itself ``public`` (assets, branding, the open-data API) and every answer to a visitor
    without a session (the public catalog pages) keep their own caching."""
    if response.cache_control.public:
        return response
    if session or not getattr(session, "new", True):
        response.headers["Cache-Control"] = "no-store"
    return response


def _origin(url: str) -> str:
    if "://" not in url:
        return ""
    scheme, rest = url.split("://", 1)
    host = rest.split("/", 1)[0].replace("{s}", "*")
    return f"{scheme}://{host}"


ERROR_TITLES = {
    400: _l("De aanvraag is ongeldig"),
    403: _l("Geen toegang"),
    404: _l("Pagina niet gevonden"),
    405: _l("Deze actie is hier niet mogelijk"),
    410: _l("Deze pagina bestaat niet meer"),
    413: _l("Wat u verstuurde is te groot"),
    429: _l("Te veel pogingen"),
    500: _l("Er ging iets mis"),
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
}


def _error_page(error, title=None, text=None):
    code = error.code if isinstance(error, HTTPException) else 500
    if code == 500:
        db.session.rollback()
    if request.path.startswith("/api/"):
        return _api_problem(error, code, detail=text)
    title = title or ERROR_TITLES.get(code, ERROR_TITLES[500])
    if request_ctx.url_adapter is None:
        # A host so malformed that no URL can be built for it: no layout, just the message.
        return _carry_headers(error, Response(f"{code} {title}\n", status=code, mimetype="text/plain"))
    response = make_response(
        render_template("errors/error.html", code=code, title=title,
                        text=text or ERROR_TEXTS.get(code, ERROR_TEXTS[500])),
        code,
    )
    retry_after = getattr(error, "retry_after", None)
    if code == 429 and retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return _carry_headers(error, response)


def _bad_input(error: BadInput):
    """What was wrong with the input, said on the site's error page (web/input.py)."""
    return _error_page(error, title=error.title, text=error.description)


def _carry_headers(error, response):
    """The headers an error's status promises: Allow with 405, Retry-After with 429 or 503."""
    if isinstance(error, HTTPException):
        for header, value in error.get_headers():
            if header.lower() in ("allow", "retry-after"):
                response.headers[header] = value
    return response


def _api_problem(error, code: int, detail=None):
    """The open-data API answers every error, routing errors included, as problem JSON."""
    body = {"status": code, "title": HTTP_STATUS_CODES.get(code, "Error")}
    if detail:
        body["detail"] = str(detail)
    response = make_response(body, code)
    response.mimetype = "application/problem+json"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return _carry_headers(error, response)


def _csrf_error(error):
    return render_template(
        "errors/error.html", code=400, title=_l("Het formulier is verlopen"),
        text=_l("Uw formulier kon niet veilig worden verstuurd (het is verlopen of kwam van een andere "
                "site). Laad de pagina opnieuw en probeer nog eens."),
    ), 400


@bp.route("/")
@public
def home():
    tenant = g.tenant
    if tenant is None:
        tenants = tenancy_services.list_tenants(db.session, include_archived=False)
        return render_template("portal/region.html", tenants=tenants)
    return render_template("portal/municipality.html")


@bp.route("/healthz")
@public
def health():
    """For load balancers and monitoring: the app answers and its database does."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 — any failure means "not healthy", said plainly
        db.session.rollback()
        return {"status": "unavailable"}, 503
    return {"status": "ok"}


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


def _adopt_language(response):
    """A valid ``lang`` parameter, brought by a link from another host of the region, becomes
    this host's own choice; an invalid one is ignored (never echoed into a cookie)."""
    brought = request.args.get(LANG_PARAM)
    if brought in current_app.config["LANGUAGES"] and brought != request.cookies.get(LANG_COOKIE):
        _remember_language(response, brought)
    return response


@bp.route("/assets/<path:name>")
@public
def vendor_asset(name: str):
    relative = VENDOR_ASSETS.get(name)
    if relative is None:
        abort(404)
    path = Path(current_app.config.get("ASSETS_DIR") or PROJECT_ROOT / "node_modules") / relative
    if not path.is_file():
        current_app.logger.error("front-end asset missing: %s (run 'make install')", path)
        abort(404)
    return send_file(path, max_age=7 * 24 * 3600, conditional=True)


@bp.route("/logo")
@public
def logo():
    """The municipality's logo, from its definition (tenants/); 404 on the region or without one."""
    tenant = g.tenant
    path = tenancy_services.logo_file(current_app.config["TENANTS_DIR"], tenant) if tenant is not None else None
    if path is None:
        abort(404)
    return send_file(path, mimetype=tenancy_services.LOGO_TYPES[path.suffix.lower()], max_age=3600,
                     conditional=True)


@bp.route("/branding.css")
@public
def branding():
    """The host's brand colour as CSS custom properties (the CSP allows no inline style)."""
    tenant = g.tenant
    colour = tenant.colour if tenant is not None else current_app.config.get("REGION_COLOUR", "#1d4f91")
    css = (
        ":root {\n"
        f"  --rl-brand: {colour};\n"
        "  --rl-brand-contrast: #ffffff;\n"
        "}\n"
    )
    response = make_response(css)
    response.mimetype = "text/css"
    response.set_etag(hashlib.sha256(css.encode()).hexdigest()[:20])
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response.make_conditional(request)
