"""Configuration loading: ``config/default.py``, then the environment, then explicit overrides.

Kept apart from the factory so the CLI, the jobs and the dev launcher read settings the same way.

Every setting ``NAME`` can be set from the environment as ``LOKET_NAME``; the unprefixed names
deployments already use (``DATABASE_URL``, ``SECRET_KEY``, ``SERVER_NAME``, …; see ``ALIASES``)
keep working, the prefixed one winning when both are set. Each variable also has a ``…_FILE``
form whose value is a path to read the value from (Docker/Kubernetes secrets, systemd
credentials). A value is converted to the type of its default; one that does not convert, or
that is out of range, stops the process with a message naming the variable.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from flask import Flask

from .resources import CHECKOUT, resource_path

# The repository checkout (development tools run from it); meaningless once installed from a wheel.
PROJECT_ROOT = CHECKOUT
DEFAULTS_FILE = resource_path("config") / "default.py"

PREFIX = "LOKET_"
FILE_SUFFIX = "_FILE"
ENVIRONMENTS = ("development", "production")

# Unprefixed environment variables that deployments already set → setting. ``SERVER_NAME``
# names the region's host; Flask's own SERVER_NAME stays unset (tenancy reads the Host header).
ALIASES = {
    "DATABASE_URL": "DATABASE_URL",
    "REDIS_URL": "REDIS_URL",
    "SERVER_NAME": "REGION_SERVER_NAME",
    "SECRET_KEY": "SECRET_KEY",
    "SECRET_KEY_FALLBACKS": "SECRET_KEY_FALLBACKS",
    "PREFERRED_URL_SCHEME": "PREFERRED_URL_SCHEME",
    "SMTP_HOST": "SMTP_HOST",
    "SMTP_PORT": "SMTP_PORT",
    "SMTP_USER": "SMTP_USER",
    "SMTP_PASSWORD": "SMTP_PASSWORD",
    "SMTP_STARTTLS": "SMTP_STARTTLS",
    "MAIL_FROM": "MAIL_FROM",
    "TENANTS_DIR": "TENANTS_DIR",
    "MAP_TILE_URL": "MAP_TILE_URL",
    "SEARCH_CACHE_BYTES": "SEARCH_CACHE_BYTES",
    "NOTIFICATION_RETENTION_DAYS": "NOTIFICATION_RETENTION_DAYS",
    "PROXY_HOPS": "PROXY_HOPS",
    "SHARED_MIGRATIONS": "SHARED_MIGRATIONS",
    "TENANT_MIGRATIONS": "TENANT_MIGRATIONS",
    "DATABASE_POOL_SIZE": "DATABASE_POOL_SIZE",
    "DATABASE_MAX_OVERFLOW": "DATABASE_MAX_OVERFLOW",
    "DATABASE_POOL_TIMEOUT": "DATABASE_POOL_TIMEOUT",
    "DATABASE_POOL_RECYCLE": "DATABASE_POOL_RECYCLE",
    "DATABASE_PREPARE_THRESHOLD": "DATABASE_PREPARE_THRESHOLD",
    "DATABASE_LISTEN_URL": "DATABASE_LISTEN_URL",
}
# LOKET_SERVER_NAME means the region's host too, for the same reason.
PREFIXED_RENAMES = {"SERVER_NAME": "REGION_SERVER_NAME"}

# Settings whose default (None) does not tell their type.
TYPES = {"DATABASE_POOL_RECYCLE": int, "DATABASE_POOL_TIMEOUT": float, "DATABASE_PREPARE_THRESHOLD": int}
# Settings whose None means something (off) that the environment spells "none".
NONE_ALLOWED = frozenset({"DATABASE_PREPARE_THRESHOLD"})

# Shown masked by ``config check``: whole values (these, and any setting whose name ends in one
# of SECRET_ENDINGS), and the password part of URLs.
SECRET_SETTINGS = frozenset({"SECRET_KEY", "SECRET_KEY_FALLBACKS", "WTF_CSRF_SECRET_KEY", "NATIONAL_NUMBER_PEPPER"})
SECRET_ENDINGS = ("_PASSWORD", "_SECRET", "_TOKEN", "_DSN", "_KEY")
URL_SETTINGS = frozenset({"DATABASE_URL", "REDIS_URL", "SQLALCHEMY_DATABASE_URI",
                          "RATELIMIT_STORAGE_URI", "DATABASE_LISTEN_URL"})

SOURCES = "loket.settings_sources"  # app.extensions key: setting → where its value came from


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says which setting to fix."""


def load(app: Flask, overrides: dict | None = None, environ: dict | None = None) -> None:
    environ = os.environ if environ is None else environ
    app.config.from_pyfile(DEFAULTS_FILE)
    sources: dict[str, str] = {}
    for key, (var, raw) in _from_environment(app.config, environ).items():
        none = key in NONE_ALLOWED and raw.strip().lower() == "none"
        app.config[key] = None if none else _convert(var, raw, app.config.get(key), TYPES.get(key))
        sources[key] = var
    if overrides:
        app.config.update(overrides)
        sources.update(dict.fromkeys(overrides, "create_app"))
    app.extensions[SOURCES] = sources

    def name(key: str) -> str:
        return sources.get(key) if sources.get(key, "create_app") != "create_app" else key

    for key, check in _CHECKS.items():
        try:
            app.config[key] = check(app.config.get(key))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name(key)}={app.config.get(key)!r} is not valid: {exc}") from exc

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    if not app.config.get("TENANTS_DIR"):
        app.config["TENANTS_DIR"] = str(resource_path("tenants"))
    app.config["REGION_SERVER_NAME"] = app.config["REGION_SERVER_NAME"].strip().lower()

    production = app.config["ENV"] == "production"
    if not app.config.get("SECRET_KEY"):
        if production:
            raise ConfigError("SECRET_KEY must be set in production (or SECRET_KEY_FILE).")
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
        sources["SECRET_KEY"] = "generated in the instance folder"

    if app.config["SECRET_KEY_FALLBACKS"] and not app.config.get("WTF_CSRF_SECRET_KEY"):
        # Forms opened before a key rotation still post: Flask-WTF signs with the last key of
        # the list and accepts all of them (sessions need nothing: their ids are not signed).
        app.config["WTF_CSRF_SECRET_KEY"] = [*app.config["SECRET_KEY_FALLBACKS"][::-1],
                                             app.config["SECRET_KEY"]]

    if production:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["PREFERRED_URL_SCHEME"] = "https"
        for key in ("DATABASE_URL", "REDIS_URL"):
            if not app.config.get(key):
                raise ConfigError(f"{key} must be set in production (embedded servers are for development).")


PSYCOPG_PREPARE_THRESHOLD = 5  # psycopg.Connection.prepare_threshold's default


def engine_options(config) -> dict:
    """SQLAlchemy's pool from the DATABASE_POOL_* settings and psycopg's prepare threshold;
    explicit SQLALCHEMY_ENGINE_OPTIONS entries (a test's, say) win, key by key within
    ``connect_args`` too."""
    pool = {
        "pool_size": config["DATABASE_POOL_SIZE"],
        "max_overflow": config["DATABASE_MAX_OVERFLOW"],
        "pool_timeout": config["DATABASE_POOL_TIMEOUT"],
    }
    if config.get("DATABASE_POOL_RECYCLE") is not None:
        pool["pool_recycle"] = config["DATABASE_POOL_RECYCLE"]
    explicit = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(explicit.pop("connect_args", None) or {})
    threshold = config.get("DATABASE_PREPARE_THRESHOLD", PSYCOPG_PREPARE_THRESHOLD)
    if threshold != PSYCOPG_PREPARE_THRESHOLD:  # psycopg's own default needs no argument
        connect_args.setdefault("prepare_threshold", threshold)
    return {**pool, **({"connect_args": connect_args} if connect_args else {}), **explicit}


# --- the environment -------------------------------------------------------------------------

def _from_environment(config, environ) -> dict[str, tuple[str, str]]:
    """Setting → (variable it came from, raw text). Aliases first so prefixed names win."""
    found: dict[str, tuple[str, str]] = {}
    for alias, key in ALIASES.items():
        value = _read(alias, environ)
        if value is not None:
            found[key] = value
    for var in sorted(environ):
        if not var.startswith(PREFIX):
            continue
        base = var.removesuffix(FILE_SUFFIX) if var.endswith(FILE_SUFFIX) else var
        key = base[len(PREFIX):]
        key = PREFIXED_RENAMES.get(key, key)
        if key not in config and key not in TYPES:
            raise ConfigError(f"{base}: there is no setting {key} (see config/default.py).")
        value = _read(base, environ)
        if value is not None:
            found[key] = value
    return found


def _read(var: str, environ) -> tuple[str, str] | None:
    """``VAR`` or the content of the file named by ``VAR_FILE`` (not both); None when unset."""
    direct, path = environ.get(var), environ.get(var + FILE_SUFFIX)
    if direct not in (None, "") and path not in (None, ""):
        raise ConfigError(f"{var} and {var}{FILE_SUFFIX} are both set; keep one.")
    if path not in (None, ""):
        try:
            # A trailing newline is the editor's, not the secret's.
            return var + FILE_SUFFIX, Path(path).read_text().rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"{var}{FILE_SUFFIX}={path!r} cannot be read: {exc.strerror}") from exc
    if direct not in (None, ""):
        return var, direct
    return None


def _convert(var: str, raw: str, default, kind=None):
    kind = kind or (type(default) if default is not None else str)
    try:
        if kind is bool:
            return _boolean(raw)
        if kind is int:
            return _whole_number(raw)
        if kind is float:
            return float(raw)
        if kind is timedelta:
            return timedelta(seconds=_whole_number(raw))
        if kind in (list, tuple):
            return kind(_items(raw))
        if kind is dict:
            value = json.loads(raw)
            if not isinstance(value, dict):
                raise ValueError("expected a JSON object")
            return value
    except ValueError as exc:
        raise ConfigError(f"{var}={raw!r} is not valid: {exc}") from exc
    return raw


def _boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _whole_number(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError("expected a whole number") from None


def _items(raw: str) -> list[str]:
    """A JSON array, or values separated by commas or new lines (one key a line in a file)."""
    if raw.lstrip().startswith("["):
        value = json.loads(raw)
        if not isinstance(value, list):
            raise ValueError("expected a JSON array")
        return [str(item) for item in value]
    return [item.strip() for item in raw.replace("\n", ",").split(",") if item.strip()]


# --- checks (run on the final values, overrides included) -------------------------------------

def _hop_count(value) -> int:
    """A count of trusted proxies: a wrong one either trusts a header any client can forge or
    puts every visitor behind the proxy's own address, so only a whole number ≥ 0 will do."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("expected the number of trusted proxies, a whole number of 0 or more")
    return value


def _at_least(minimum: int, *, optional: bool = False, number=int):
    def check(value):
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, number) or value < minimum:
            raise ValueError(f"expected a number of {minimum} or more")
        return value
    return check


def _port(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ValueError("expected a port number between 1 and 65535")
    return value


def _environment(value):
    if value not in ENVIRONMENTS:
        raise ValueError("expected " + " or ".join(ENVIRONMENTS))
    return value


def _key_list(value):
    if isinstance(value, str) or not all(isinstance(key, str) and key for key in value or ()):
        raise ValueError("expected a list of keys")
    return list(value or ())


_CHECKS = {
    "ENV": _environment,
    "PROXY_HOPS": _hop_count,
    "SMTP_PORT": _port,
    "DATABASE_POOL_SIZE": _at_least(1),
    "DATABASE_MAX_OVERFLOW": _at_least(0),
    "DATABASE_POOL_TIMEOUT": _at_least(0, number=(int, float)),
    "DATABASE_POOL_RECYCLE": _at_least(-1, optional=True),
    "DATABASE_PREPARE_THRESHOLD": _at_least(0, optional=True),
    "SEARCH_CACHE_BYTES": _at_least(0),
    "TENANT_VERSIONS_CACHE_SECONDS": _at_least(0, number=(int, float)),
    "NOTIFICATION_RETENTION_DAYS": _at_least(1),
    # A retention of 0 would erase every closed request at once: at least a year, and a
    # removal notice of at least a week (the warning must reach a person on holiday).
    "RETENTION_YEARS": _at_least(1),
    "ACCOUNT_UNUSED_DAYS": _at_least(30),
    "ACCOUNT_REMOVAL_NOTICE_DAYS": _at_least(7),
    "SECRET_KEY_FALLBACKS": _key_list,
}


# --- showing them -------------------------------------------------------------------------------

def effective(app: Flask) -> list[tuple[str, str, str]]:
    """(setting, value with secrets masked, where it came from), sorted by setting."""
    sources = app.extensions.get(SOURCES, {})
    return [(key, mask(key, value), sources.get(key, "default"))
            for key, value in sorted(app.config.items()) if key.isupper()]


def mask(key: str, value) -> str:
    if key in SECRET_SETTINGS or key.endswith(SECRET_ENDINGS):
        if not value:
            return repr(value)
        return f"<{len(value)} keys>" if isinstance(value, list | tuple) else "<set>"
    if key in URL_SETTINGS and isinstance(value, str):
        return repr(_without_password(value))
    return repr(value)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _instance_secret(instance: Path) -> str:
    """A per-checkout development secret, stable across restarts so sessions survive them."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
