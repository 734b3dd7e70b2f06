"""Logs an operator can search: one line per record, JSON in production (``LOG_FORMAT``).

Every record written while a request is served carries its request id, host, tenant slug and
the logged-in user's id; records written by a job carry the rq job id. Never personal data:
no e-mail addresses or names are added, and the access line logs the path without its query
string (a search holds postcodes and birth dates). What a message says is the caller's
responsibility: log ids, never addresses.

One handler on the root logger, so the app's own loggers (``regional_loket.*``), werkzeug's,
rq's and SQLAlchemy's warnings all come out alike; gunicorn's error log is pointed at it too.
It is installed once per process and re-formatted by the last app built (tests build many).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime

from flask import Flask, current_app, g, has_request_context, request

from ..settings import ConfigError

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy's request id may look like (nginx's $request_id is 32 hex digits, many use a
# UUID): anything else (too long, spaces, control characters, quotes) is replaced, so a client
# cannot write arbitrary text into every log line of its request.
WELL_FORMED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
FORMATS = ("json", "text")
ACCESS_LOGGER = "regional_loket.access"
# Attributes every LogRecord has; whatever else a caller passes in ``extra`` is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_CONTEXT = ("request_id", "host", "tenant", "user_id", "job_id")
_ALWAYS = {"request_id", "host", "tenant", "user_id"}


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    return g.get("request_id") if has_request_context() else None


def begin_request() -> None:
    g.request_started = time.perf_counter()
    g.request_id = _incoming_id() or uuid.uuid4().hex


def _incoming_id() -> str | None:
    if not current_app.config.get("TRUST_REQUEST_ID"):
        return None
    candidate = request.headers.get(REQUEST_ID_HEADER, "")
    return candidate if WELL_FORMED_ID.fullmatch(candidate) else None


def finish_request(response) -> float:
    """Echo the request id and write the access line; returns the duration in seconds."""
    started = g.get("request_started")
    duration = time.perf_counter() - started if started is not None else 0.0
    if g.get("request_id"):
        response.headers[REQUEST_ID_HEADER] = g.request_id
    logging.getLogger(ACCESS_LOGGER).info(
        "%s %s %s %.1f ms", request.method, request.path, response.status_code, duration * 1000,
        extra={"method": request.method, "path": request.path, "endpoint": request.endpoint or "-",
               "status": response.status_code, "duration_ms": round(duration * 1000, 1)},
    )
    return duration


class ContextFilter(logging.Filter):
    """Adds the request's (or job's) context to every record passing the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _request_context() if has_request_context() else {}
        if not context:
            context = _job_context()
        for name in _CONTEXT:
            if not hasattr(record, name):
                setattr(record, name, context.get(name))
        return True


def _request_context() -> dict:
    tenant = g.get("tenant")
    # Only a user flask-login has already loaded: logging must not query the database (and
    # the view's session may be closed by the time the access line is written).
    user = g.get("_login_user")
    return {
        "request_id": g.get("request_id"),
        "host": request.host,
        "tenant": tenant.slug if tenant is not None else None,
        "user_id": str(user.id) if getattr(user, "is_authenticated", False) else None,
    }


def _job_context() -> dict:
    from rq import get_current_job

    job = get_current_job()
    return {"job_id": job.id} if job is not None else {}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # The request's fields are always there (null outside a request), so a query on them
        # never has to ask whether the field exists; other extras only when given.
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_") and (value is not None or name in _ALWAYS):
                line[name] = value
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s %(host)s %(tenant)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        for name in ("request_id", "host", "tenant"):
            if getattr(record, name, None) is None:
                setattr(record, name, "-")
        return super().format(record)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (test capture, a redirected stream),
    not the one that existed when the first app was built."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


class _DropWerkzeugRequestLines(logging.Filter):
    """Werkzeug's development server logs every request itself; ours already did."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "werkzeug" and record.funcName == "log_request")


_handler: logging.Handler | None = None


def handler() -> logging.Handler:
    global _handler
    if _handler is None:
        _handler = _StderrHandler()
        _handler.addFilter(ContextFilter())
        _handler.addFilter(_DropWerkzeugRequestLines())
    return _handler


def log_format(app: Flask) -> str:
    chosen = app.config.get("LOG_FORMAT") or ("json" if app.config["ENV"] == "production" else "text")
    if chosen not in FORMATS:
        raise ConfigError(f"LOG_FORMAT={chosen!r} is not valid: expected one of {', '.join(FORMATS)}")
    return chosen


def init_app(app: Flask) -> None:
    level = str(app.config.get("LOG_LEVEL") or "INFO").upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ConfigError(f"LOG_LEVEL={level!r} is not valid: expected DEBUG, INFO, WARNING or ERROR")
    ours = handler()
    ours.setFormatter(JsonFormatter() if log_format(app) == "json" else TextFormatter())
    root = logging.getLogger()
    if ours not in root.handlers:
        root.addHandler(ours)
    logging.getLogger("regional_loket").setLevel(level)
    # Flask adds its own stderr handler to app.logger when it finds none; ours is on the root.
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)
    logging.getLogger("werkzeug").setLevel(logging.INFO)
    # gunicorn's error log keeps its own handlers and does not propagate: in a worker (its
    # handlers are set up by then), send it through ours so the whole stream is one format.
    gunicorn = logging.getLogger("gunicorn.error")
    if gunicorn.handlers and ours not in gunicorn.handlers:
        gunicorn.handlers = [ours]

