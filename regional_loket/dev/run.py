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


def _extra_processes(env: dict) -> list[list[str]]:
    """Background processes next to the web server (the job worker, a local mail sink)."""
    return []


if __name__ == "__main__":
    main()
