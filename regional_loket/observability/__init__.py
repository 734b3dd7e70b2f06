"""Seeing into a running deployment: structured logs with a request id, Prometheus metrics,
optional error reporting, and the probes ``/healthz`` (alive) and ``/readyz`` (ready).

- ``logs``: one line per record (JSON in production, ``LOG_FORMAT``) with request id, host,
  tenant slug and user id, never personal data; one access line per request.
- ``metrics``: request latency and status counts per endpoint, queue depth, outbox backlog,
  each periodic job's last success and the scheduler's heartbeat, at ``/metrics`` for the
  networks in ``METRICS_ALLOW`` only (gunicorn's workers share one view through
  ``PROMETHEUS_MULTIPROC_DIR``).
- ``errors``: Sentry when ``SENTRY_DSN`` is set and ``sentry-sdk`` is installed.
- ``health``: the probes, on every host, answered before the tenant is resolved.
"""

from __future__ import annotations

from flask import Flask

from . import errors, health, logs, metrics
from .logs import REQUEST_ID_HEADER, request_id

__all__ = ["REQUEST_ID_HEADER", "init_app", "request_id"]


def init_app(app: Flask) -> None:
    logs.init_app(app)
    errors.init_app(app)
    metrics.init_app(app)
    health.init_app(app)
    # Ahead of every other before_request hook (the tenant resolver included), whatever order
    # create_app wires the packages in: the request id and the clock start before anything can
    # fail, and the probes answer without a database lookup of the host.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_finish)


def _begin():
    logs.begin_request()
    return health.answer_early()


def _finish(response):
    duration = logs.finish_request(response)
    metrics.observe(response, duration)
    return response
