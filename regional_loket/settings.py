"""Configuration loading: ``config/default.py``, then the environment, then explicit overrides.

Kept apart from the factory so the CLI, the jobs and the dev launcher read settings the same way.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = PROJECT_ROOT / "config" / "default.py"

# Environment variable → (config key, converter).
_ENV = {
    "DATABASE_URL": ("DATABASE_URL", str),
    "REDIS_URL": ("REDIS_URL", str),
    "SERVER_NAME": ("REGION_SERVER_NAME", str),
    "SECRET_KEY": ("SECRET_KEY", str),
    "PREFERRED_URL_SCHEME": ("PREFERRED_URL_SCHEME", str),
    "SMTP_HOST": ("SMTP_HOST", str),
    "SMTP_PORT": ("SMTP_PORT", int),
    "SMTP_USER": ("SMTP_USER", str),
    "SMTP_PASSWORD": ("SMTP_PASSWORD", str),
    "SMTP_STARTTLS": ("SMTP_STARTTLS", lambda v: v.lower() in {"1", "true", "yes", "on"}),
    "MAIL_FROM": ("MAIL_FROM", str),
    "TENANTS_DIR": ("TENANTS_DIR", str),
    "MAP_TILE_URL": ("MAP_TILE_URL", str),
    "SEARCH_CACHE_BYTES": ("SEARCH_CACHE_BYTES", int),
    "NOTIFICATION_RETENTION_DAYS": ("NOTIFICATION_RETENTION_DAYS", int),
    "PROXY_HOPS": ("PROXY_HOPS", lambda v: _hop_count(int(v))),
    "LOKET_ENV": ("ENV", str),
    "SHARED_MIGRATIONS": ("SHARED_MIGRATIONS", str),
    "TENANT_MIGRATIONS": ("TENANT_MIGRATIONS", str),
}


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says which setting to fix."""


def load(app: Flask, overrides: dict | None = None) -> None:
    app.config.from_pyfile(DEFAULTS_FILE)
    for var, (key, convert) in _ENV.items():
        value = os.environ.get(var)
        if value not in (None, ""):
            try:
                app.config[key] = convert(value)
            except ValueError as exc:
                raise ConfigError(f"{var}={value!r} is not valid: {exc}") from exc
    if overrides:
        app.config.update(overrides)

    try:
        app.config["PROXY_HOPS"] = _hop_count(app.config.get("PROXY_HOPS"))
    except ValueError as exc:
        raise ConfigError(f"PROXY_HOPS={app.config.get('PROXY_HOPS')!r} is not valid: {exc}") from exc

    if not app.config.get("TENANTS_DIR"):
        app.config["TENANTS_DIR"] = str(PROJECT_ROOT / "tenants")
    app.config["REGION_SERVER_NAME"] = app.config["REGION_SERVER_NAME"].strip().lower()

    if not app.config.get("SECRET_KEY"):
        if app.config["ENV"] == "production":
            raise ConfigError("SECRET_KEY must be set in production.")
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))

    if app.config["ENV"] == "production":
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["PREFERRED_URL_SCHEME"] = "https"
        for key in ("DATABASE_URL", "REDIS_URL"):
            if not app.config.get(key):
                raise ConfigError(f"{key} must be set in production (embedded servers are for development).")


def _hop_count(value) -> int:
    """A count of trusted proxies: a wrong one either trusts a header any client can forge or
    puts every visitor behind the proxy's own address, so only a whole number ≥ 0 will do."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("expected the number of trusted proxies, a whole number of 0 or more")
    return value


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
