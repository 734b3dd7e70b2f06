"""``make run``: embedded servers when no URLs are set, migrations, the demo region, and the
web server, all in one terminal. Ctrl-C stops everything it started."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..settings import PROJECT_ROOT


def _flask(*args: str, env: dict) -> None:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env, cwd=PROJECT_ROOT)
    if result.returncode != 0:
        raise SystemExit(f"'flask {' '.join(args)}' failed")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 5000)))
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo region")
    options = parser.parse_args(argv)

    env = dict(os.environ)
    instance = Path(env.get("INSTANCE_PATH") or PROJECT_ROOT / "instance")
    env["INSTANCE_PATH"] = str(instance)
    env.setdefault("SERVER_NAME", f"localhost:{options.port}")
    if not (env.get("MAP_TILE_URL") or env.get("LOKET_MAP_TILE_URL")):
        # Development only: deployments have no public tile server by default (config/default.py).
        env["MAP_TILE_URL"] = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

    from . import embedded

    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = embedded.postgres_url(instance)
        print(f"embedded PostgreSQL: {instance / 'pgdata'}")
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = embedded.redis_url(instance)
        print(f"embedded Redis: {instance / 'redis.db'}")

    _flask("tenants", "migrate", "--parallel", "2", env=env)
    if not options.no_demo:
        _flask("demo", "load", env=env)

    # SIGTERM ends us like Ctrl-C does, so the embedded servers are stopped on the way out.
    signal.signal(signal.SIGTERM, _interrupt)
    children: list[subprocess.Popen] = []
    for extra in _extra_processes(env):
        children.append(subprocess.Popen(extra, env=env, cwd=PROJECT_ROOT))
    web = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", "127.0.0.1",
         "--port", str(options.port), "--with-threads"],
        env=env, cwd=PROJECT_ROOT,
    )
    children.append(web)
    server = env["SERVER_NAME"]
    print(
        "\nThe demo region is up:\n"
        f"  regional portal   http://{server}/\n"
        f"  a municipality    http://herent.{server}/  (every <slug>.{server} works)\n"
        "Ctrl-C stops everything.\n",
        flush=True,
    )
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


MAILSINK_PORT = 8025


def _extra_processes(env: dict) -> list[list[str]]:
    """Background processes next to the web server: a local mail sink (when no SMTP server is
    configured), one job worker and the scheduler.

    Mutates ``env`` (SMTP_HOST, SMTP_PORT, MAILBOX_DIR) before any process starts, the web
    server included, so every process sends to the sink and the web shows /dev/mailbox.
    """
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    processes = []
    if not env.get("SMTP_HOST"):
        mailbox = Path(env["INSTANCE_PATH"]) / "mailbox"
        port = int(env.get("MAILSINK_PORT") or MAILSINK_PORT)
        env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), MAILBOX_DIR=str(mailbox))
        env.pop("SMTP_USER", None)
        env.pop("SMTP_STARTTLS", None)
        processes.append([sys.executable, "-m", "regional_loket.dev.mailsink",
                          "--port", str(port), "--dir", str(mailbox)])
        print(f"mail sink: smtp://127.0.0.1:{port}, mails at http://{env['SERVER_NAME']}/dev/mailbox/")
    processes.append([*flask, "worker", "--log-level", "WARNING"])
    processes.append([*flask, "scheduler"])
    return processes


if __name__ == "__main__":
    main()
