"""A PgBouncer of the test session's own, in transaction mode, in front of the test PostgreSQL.

Debian's ``pgbouncer`` (``apt-get install pgbouncer``; ``.ci/run`` installs it). Each instance
runs as a child process on a free port with a generated ini and user list under a temporary
folder; clients are trusted (the pooler listens on loopback only) and every database name is
routed to the server of the given URL, so the per-session test databases need no entry.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from sqlalchemy.engine import URL, make_url

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def available() -> bool:
    return Path(BINARY).exists()


def version() -> tuple[int, ...]:
    """``(1, 18, 0)`` for "PgBouncer 1.18.0"."""
    out = subprocess.run([BINARY, "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"PgBouncer (\d+)\.(\d+)(?:\.(\d+))?", out)
    if not found:
        raise RuntimeError(f"cannot read the PgBouncer version from {out!r}")
    return tuple(int(part or 0) for part in found.groups())


def tracks_prepared_statements() -> bool:
    """PgBouncer 1.21 added ``max_prepared_statements``: protocol-level prepared statements
    survive transaction pooling."""
    return version() >= (1, 21)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class PgBouncer:
    """``start()`` it, then ``url(database_url)`` is that database's URL through the pooler."""

    def __init__(self, server_url: str, directory: Path, *, pool_size: int = 2,
                 max_prepared_statements: int | None = None):
        self.server = make_url(server_url)
        self.directory = Path(directory)
        self.port = _free_port()
        self.pool_size = pool_size
        self.max_prepared_statements = max_prepared_statements
        self._process: subprocess.Popen | None = None

    def _server_address(self) -> tuple[str, int]:
        # A unix-socket server is named in the query (?host=/run/postgresql), as libpq allows.
        host = self.server.host or self.server.query.get("host") or "/var/run/postgresql"
        return host, self.server.port or 5432

    def _write_config(self) -> Path:
        host, port = self._server_address()
        user = self.server.username or "postgres"
        server = f"host={host} port={port} user={user}"
        if self.server.password:
            server += f" password={self.server.password}"
        (self.directory / "userlist.txt").write_text(f"{_quote(user)} {_quote('')}\n")
        lines = [
            "[databases]",
            f"* = {server}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {self.port}",
            "unix_socket_dir =",  # loopback TCP only
            "auth_type = trust",
            f"admin_users = {user}",  # SHOW POOLS on the console (the tests check they are used)
            f"auth_file = {self.directory / 'userlist.txt'}",
            "pool_mode = transaction",
            # Fewer server connections than the app's pool holds: clients really take turns on
            # the same server sessions, which is what leaked tenants into each other elsewhere.
            f"default_pool_size = {self.pool_size}",
            "max_client_conn = 200",
            "ignore_startup_parameters = extra_float_digits,options",
            "server_check_delay = 0",
        ]
        if self.max_prepared_statements is not None:
            lines.append(f"max_prepared_statements = {self.max_prepared_statements}")
        ini = self.directory / "pgbouncer.ini"
        ini.write_text("\n".join(lines) + "\n")
        return ini

    def start(self, timeout: float = 10.0) -> PgBouncer:
        self.directory.mkdir(parents=True, exist_ok=True)
        ini = self._write_config()
        # It refuses to run as root (as CI does): it then drops to an unprivileged user once
        # it has read its files. It logs to stderr, kept in a file for failing tests to show.
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        with open(self.directory / "pgbouncer.log", "wb") as log:
            self._process = subprocess.Popen([BINARY, *user, str(ini)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited with {self._process.returncode}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"pgbouncer did not listen on {self.port}:\n{self.log()}")

    def url(self, database_url: str) -> str:
        """``database_url``'s database, through this pooler."""
        direct: URL = make_url(database_url)
        return URL.create(direct.drivername, username=direct.username or "postgres", host="127.0.0.1",
                          port=self.port, database=direct.database).render_as_string(hide_password=False)

    def pools(self) -> set[str]:
        """The databases this pooler holds server connections (or a pool) for."""
        import psycopg

        user = self.server.username or "postgres"
        with psycopg.connect(host="127.0.0.1", port=self.port, dbname="pgbouncer", user=user,
                             autocommit=True) as console:
            # The console speaks the simple query protocol only.
            cursor = psycopg.ClientCursor(console)
            cursor.execute("SHOW POOLS")
            return {row[0] for row in cursor.fetchall()}

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
