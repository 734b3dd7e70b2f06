"""The probes: ``/healthz`` (the process serves: for a liveness check, restart when it fails)
and ``/readyz`` (this node can do its work: for the load balancer and for alerting).

Both are answered before the tenant resolver runs (:func:`answer_early`), on every host and on
a node's bare IP address, with ``Cache-Control: no-store``. ``/healthz`` touches nothing;
``/readyz`` costs four short statements and one or two Redis round trips (a few ms whatever
the region's size), and two more that read every tenant's version (0.1–0.4 s at 1,000
tenants) unless the worker keeps a recent good answer about them (``tenancy.versions``):

- database: it answers (statement timeout 2 s, so a stuck database fails the probe quickly);
- migrations: no schema behind this code's heads (``shared`` and every tenant, all tenant
  versions read in one ``UNION ALL``: ``tenancy.migrate.read_versions``, as ``flask tenants
  migrate``); a schema *ahead* (migrated by a newer release) is fine, see :func:`_migrations`.
  An answer with nobody behind is kept for ``TENANT_VERSIONS_CACHE_SECONDS`` (5) per worker;
  one with a tenant behind never is;
- redis: it answers a PING;
- scheduler: its heartbeat is younger than ``SCHEDULER_HEARTBEAT_MAX_AGE`` seconds. With
  ``READY_CHECK_SCHEDULER = False`` it is reported but does not fail the probe (a dead
  scheduler is an alert, not a reason to take every web node out of the load balancer).

The answer names each check and never an exception's text (it may hold a host or a user name).
"""

from __future__ import annotations

import time

from flask import Flask, current_app, jsonify, request
from sqlalchemy import text

from .. import jobs
from ..accounts.policy import public
from ..database import SHARED_SCHEMA
from ..extensions import db
from ..tenancy import migrate, schema_for, versions
from ..web.input import refuse_bad_input
from .routes import bp

# Answered by their view as the very first before_request hook.
EARLY_ENDPOINTS = frozenset({"observability.healthz", "observability.readyz", "observability.scrape"})
STATEMENT_TIMEOUT_MS = 2000
LIST_AT_MOST = 10  # schemas named in the answer when many are behind


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def answer_early():
    if request.endpoint in EARLY_ENDPOINTS:
        refuse_bad_input()  # the one rule every route keeps, even ahead of the tenant resolver
        return current_app.view_functions[request.endpoint]()
    return None


def _no_store(response, status: int = 200):
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/healthz")
@public
def healthz():
    """Alive: the process answers. No database, no Redis: their failures are /readyz's."""
    return _no_store(jsonify(status="ok"))


@bp.route("/readyz")
@public
def readyz():
    ready, checks = readiness(current_app._get_current_object())
    return _no_store(jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503)


def readiness(app: Flask) -> tuple[bool, dict]:
    checks = {**_database(app), "redis": _timed(_redis, app)}
    checks["scheduler"] = _timed(_scheduler, app) if checks["redis"]["ok"] else {"ok": False, "error": "redis"}
    counted = [name for name in checks if name != "scheduler" or app.config.get("READY_CHECK_SCHEDULER", True)]
    return all(checks[name]["ok"] for name in counted), checks


def _timed(check, app: Flask) -> dict:
    started = time.perf_counter()
    try:
        result = check(app)
    except Exception as exc:  # noqa: BLE001 — any failure is "not ready", named by its kind
        result = {"ok": False, "error": type(exc).__name__}
    return {**result, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database(app: Flask) -> dict:
    started = time.perf_counter()
    try:
        with db.engine.connect() as connection:
            migrations = _migrations(app, connection)
            connection.rollback()
    except Exception as exc:  # noqa: BLE001 — any failure is "not ready", named by its kind
        failed = {"ok": False, "error": type(exc).__name__}
        return {"database": failed, "migrations": {"ok": False, "error": "database"}}
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    return {"database": {"ok": True, "ms": elapsed}, "migrations": migrations}


def _migrations(app: Flask, connection) -> dict:
    """Behind (a revision this code has, short of its head, or none) fails; *ahead* (a revision
    this code does not know: a newer release migrated first) does not: during a rolling upgrade
    the old nodes keep serving on the expanded schema until they are replaced (``versions``).
    Shared's version and the list of tenants are read on every call (two short statements);
    the tenants' versions come from the app's cache of a good answer while it is young."""
    connection.exec_driver_sql(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
    shared_track = app.config.get("SHARED_MIGRATIONS") or migrate.SHARED_TRACK
    tenant_track = app.config.get("TENANT_MIGRATIONS") or migrate.TENANT_TRACK
    shared = connection.execute(
        text(f"SELECT version_num FROM {SHARED_SCHEMA}.{migrate.VERSION_TABLE}")  # noqa: S608  # nosec B608: schema and table names are constants
    ).scalars().all()
    shared_behind = not shared or any(versions.is_behind(shared_track, version) for version in shared)
    slugs = connection.execute(text(f"SELECT slug FROM {SHARED_SCHEMA}.tenants")).scalars().all()  # noqa: S608  # nosec B608: the schema name is a constant
    behind = versions.version_cache(app).read(connection, [schema_for(slug) for slug in slugs], tenant_track).behind
    result = {"ok": not shared_behind and not behind, "shared_at_head": not shared_behind,
              "tenants": len(slugs), "tenants_behind": len(behind)}
    if behind:
        result["behind"] = list(behind[:LIST_AT_MOST])
    return result


def _redis(app: Flask) -> dict:
    jobs.redis_connection(app).ping()
    return {"ok": True}


def _scheduler(app: Flask) -> dict:
    beat = jobs.scheduler_heartbeat(app)
    if beat is None:
        return {"ok": False, "error": "no heartbeat yet"}
    age = max(time.time() - beat, 0.0)
    return {"ok": age <= app.config["SCHEDULER_HEARTBEAT_MAX_AGE"], "age_seconds": round(age, 1)}
