"""Error reporting to Sentry (or a compatible server such as GlitchTip) when ``SENTRY_DSN``
is set. ``sentry-sdk`` is optional: imported only then, and its absence is a warning, not a
failure to start (a closed network may have no error tracker at all)."""

from __future__ import annotations

import logging

from flask import Flask

from .logs import REQUEST_ID_HEADER

log = logging.getLogger(__name__)


def init_app(app: Flask) -> bool:
    """True when reporting is on."""
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return False
    try:
        import sentry_sdk
        from sentry_sdk.integrations.flask import FlaskIntegration
    except ImportError:
        log.warning("SENTRY_DSN is set but sentry-sdk is not installed: errors are not reported "
                    "(pip install sentry-sdk)")
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=app.config["ENV"],
        integrations=[FlaskIntegration()],
        # No addresses, cookies, users or request bodies: a form holds a family's data.
        send_default_pii=False,
        max_request_body_size="never",
        before_send=scrub,
        traces_sample_rate=0.0,
    )
    return True


def scrub(event: dict, _hint=None) -> dict:
    """What still reaches the report: method, path, endpoint, headers without cookies. The query
    string goes (a search holds postcodes and birth dates); the request id stays, to find the
    matching log lines."""
    request = event.get("request") or {}
    request.pop("query_string", None)
    request.pop("data", None)
    request.pop("cookies", None)
    if "url" in request:
        request["url"] = request["url"].split("?", 1)[0]
    headers = request.get("headers") or {}
    request["headers"] = {name: value for name, value in headers.items()
                          if name.lower() in {"host", "user-agent", REQUEST_ID_HEADER.lower()}}
    return event
