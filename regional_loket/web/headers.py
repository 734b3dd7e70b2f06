"""Headers on every answer: the security policy (CSP and friends) and the caching rule."""

from __future__ import annotations

from flask import Flask, current_app, session

from .urls import form_action_sources


def init_app(app: Flask) -> None:
    app.after_request(_security_headers)
    app.after_request(_cache_headers)


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
        "base-uri 'none'",  # no page needs <base>: an injected one could redirect relative URLs
        f"form-action {form_action_sources()}",  # widened per page by web.urls.allow_form_action
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
