"""Prometheus metrics at ``/metrics``, for the networks in ``METRICS_ALLOW`` only.

Counted per request (in the process that served it): latency per endpoint, and requests per
endpoint, method and status. Read at scrape time (one Redis round trip or two and one indexed
statement, so a scrape every 15 s costs nothing): the rq queue's depth and failed jobs, the
outbox backlog, each periodic job's last success and the scheduler's heartbeat.

gunicorn runs several worker processes and a scrape reaches one of them: with
``PROMETHEUS_MULTIPROC_DIR`` set (before the app is imported; an empty directory, wiped at each
start) every worker writes its counts there and any of them answers for all
(prometheus_client's multiprocess mode; ``regional_loket.gunicorn_conf`` marks dead workers).
Without it each process has a registry of its own (``flask run``, one worker, the tests).
"""

from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass

from flask import Flask, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from .. import jobs
from ..accounts import client_address
from ..accounts.policy import public
from ..extensions import db
from ..notifications import services as notifications
from ..settings import ConfigError
from .routes import bp

log = logging.getLogger(__name__)

EXTENSION = "loket.metrics"
# Seconds; a page is expected in tens of milliseconds, an export may take seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "none"  # requests no route matched: one label value, whatever the path

@dataclass
class _Metrics:
    registry: CollectorRegistry
    latency: Histogram
    requests: Counter
    allowed: tuple


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def allowed_networks(value) -> tuple:
    """``METRICS_ALLOW``: CIDR blocks, a comma-separated string or a list."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    try:
        return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())
    except ValueError as exc:
        raise ConfigError(f"METRICS_ALLOW={value!r} is not valid: {exc}") from exc


def init_app(app: Flask) -> None:
    allowed = allowed_networks(app.config.get("METRICS_ALLOW"))
    if multiprocess_dir():
        # Request metrics are written to the shared directory (registered nowhere, so they are
        # not counted twice); a scrape adds up every process's files.
        scrape = CollectorRegistry()
        multiprocess.MultiProcessCollector(scrape)
        owner = None
    else:
        # One registry per app, not prometheus_client's global one: a second app in the same
        # process (tests, a worker) would otherwise collide on the metric names.
        scrape = owner = CollectorRegistry()
        ProcessCollector(registry=scrape)
        PlatformCollector(registry=scrape)
        GCCollector(registry=scrape)
    scrape.register(WorkCollector(app))
    app.extensions[EXTENSION] = _Metrics(
        registry=scrape,
        latency=Histogram("loket_http_request_duration_seconds", "Time to answer a request, per endpoint.",
                          ["endpoint"], buckets=LATENCY_BUCKETS, registry=owner),
        requests=Counter("loket_http_requests", "Requests answered, per endpoint, method and status.",
                         ["endpoint", "method", "status"], registry=owner),
        allowed=allowed,
    )


def observe(response, duration: float) -> None:
    state = current_app.extensions[EXTENSION]
    endpoint = request.endpoint or UNMATCHED
    state.latency.labels(endpoint).observe(duration)
    state.requests.labels(endpoint, request.method, str(response.status_code)).inc()


def is_allowed(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 from a dual-stack socket is 127.0.0.1
    return any(ip.version == net.version and ip in net for net in networks)


@bp.route("/metrics")
@public
def scrape():
    """For the monitoring network only: the numbers are harmless, but a visitor has no use
    for them and each scrape costs a database statement."""
    state = current_app.extensions[EXTENSION]
    if not is_allowed(client_address(), state.allowed):
        abort(403)
    response = Response(generate_latest(state.registry), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


class WorkCollector:
    """What the background work looks like right now, read at scrape time."""

    def __init__(self, app: Flask):
        self.app = app

    def describe(self):
        # Without it the registry would call collect() once at registration (Redis and the
        # database while the app is being built).
        return list(self._families().values())

    def _families(self) -> dict[str, GaugeMetricFamily]:
        return {
            "redis": GaugeMetricFamily("loket_redis_up", "1 when Redis answered this scrape."),
            "depth": GaugeMetricFamily("loket_jobs_queue_depth", "Jobs waiting in the rq queue.", labels=["queue"]),
            "failed": GaugeMetricFamily("loket_jobs_failed", "Jobs in rq's failed registry.", labels=["queue"]),
            "success": GaugeMetricFamily(
                "loket_job_last_success_timestamp_seconds",
                "When each periodic job last finished without error (0: never).", labels=["job"]),
            "heartbeat": GaugeMetricFamily(
                "loket_scheduler_heartbeat_timestamp_seconds",
                "When the scheduler last completed a round (0: never)."),
            "database": GaugeMetricFamily("loket_database_up", "1 when PostgreSQL answered this scrape."),
            "pending": GaugeMetricFamily("loket_outbox_pending", "Notifications waiting to be mailed."),
            "given_up": GaugeMetricFamily("loket_outbox_failed",
                                          "Notifications given up on (an operator looks at them)."),
            "oldest": GaugeMetricFamily("loket_outbox_oldest_pending_age_seconds",
                                        "Age of the oldest waiting notification (0: none waiting)."),
        }

    def collect(self):
        families = self._families()
        app = self.app
        name = app.config["JOBS_QUEUE"]
        try:
            q = jobs.queue(app)
            families["depth"].add_metric([name], q.count)
            families["failed"].add_metric([name], q.failed_job_registry.count)
            successes = jobs.last_successes(app)
            for job_id in sorted(set(jobs.periodic_job_ids(app)) | set(successes)):
                families["success"].add_metric([job_id], successes.get(job_id, 0.0))
            families["heartbeat"].add_metric([], jobs.scheduler_heartbeat(app) or 0.0)
            families["redis"].add_metric([], 1)
        except jobs.REDIS_DOWN as exc:
            log.warning("metrics: Redis unreachable: %s", exc)
            families["redis"].add_metric([], 0)
        try:
            # A context of its own: its session (and connection) ends with it.
            with app.app_context():
                backlog = notifications.outbox_backlog(db.session)
                db.session.rollback()
        except Exception as exc:  # noqa: BLE001 — a scrape reports the database down, never fails
            log.warning("metrics: database unreachable: %s", type(exc).__name__)
            families["database"].add_metric([], 0)
        else:
            families["database"].add_metric([], 1)
            families["pending"].add_metric([], backlog.pending)
            families["given_up"].add_metric([], backlog.failed)
            families["oldest"].add_metric([], max(backlog.oldest_pending_seconds, 0.0))
        yield from (family for family in families.values() if family.samples)
