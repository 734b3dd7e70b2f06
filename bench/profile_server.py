"""Profile: where a distinct search goes in the real server (issue #17 item 2).

    .venv/bin/python bench/profile_server.py [--kind page|api|page-in|api-in] [--seconds 12]
                                             [--warmup 8] [--tenants 285] [--locations 6000]
                                             [--database NAME] [--keep] [--top 45] [--rate 200]

``profile_distinct.py`` profiles in process, through Flask's test client: it cannot show what
gunicorn adds (parsing, the two writes of an answer, closing the connection) nor what a cold
worker pays (its snapshot, cards not yet rendered, distance bands and words not yet asked).
Here the region of ``search_distinct.py`` is served as that benchmark serves it (gunicorn
``wsgi:app``, 2 sync workers, search cache on), loaded by wrk with distinct URLs of one kind
(``-in``: a logged-in parent), and py-spy samples both workers for ``--seconds`` while the load
runs. Printed: req/s and p95 of that load, then each function's inclusive share of the workers'
samples (a function counted once per sample, however deep it recurses), most first.

py-spy needs to be allowed to read the workers' memory (root, or ptrace permitted).
``--keep`` leaves the scratch database in place; ``--database NAME`` reuses one (from
``profile_distinct.py --keep`` or this script).
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa
from _common import ScratchDatabase, admin_url, run_main
from search import API, DEFAULT_REDIS, PAGE, BenchError, Gunicorn, build, server_env
from search_distinct import login_over_http, make_parent, paths, run_wrk

VENV_BIN = Path(sys.executable).parent
# gunicorn's frames from the master's start to a worker's accept loop: under every sample.
BOOT = re.compile(r"\(gunicorn\)|gunicorn/app/|gunicorn/arbiter\.py|Worker\.init_process|SyncWorker\.(run|run_for_one|accept) ")


def shares(stacks: list[Path]) -> tuple[int, list[tuple[float, str]]]:
    """Inclusive share of each function over py-spy's raw (collapsed) stacks."""
    counts: collections.Counter = collections.Counter()
    total = 0
    for path in stacks:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            samples = int(count)
            total += samples
            seen = set()
            for frame in stack.split(";"):
                # "name (…/site-packages/pkg/file.py:12)" → "name (pkg/file.py)"
                name = re.sub(r":\d+\)$", ")", re.sub(r" \(.*?/(?:site-packages|lib/python3\.\d+)/", " (", frame))
                name = name.replace(f"({Path(__file__).resolve().parent.parent}/", "(")
                if name not in seen:
                    seen.add(name)
                    counts[name] += samples
    return total, [(count / total, name) for name, count in counts.most_common()] if total else []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=("page", "api", "page-in", "api-in"), default="page")
    parser.add_argument("--seconds", type=float, default=12, help="seconds sampled under load (default 12)")
    parser.add_argument("--warmup", type=float, default=8, help="seconds of other URLs first (default 8)")
    parser.add_argument("--tenants", type=int, default=285)
    parser.add_argument("--locations", type=int, default=6000)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second (default 200)")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--database", default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()
    spy = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")
    if spy is None:
        raise BenchError("py-spy is not installed (make install installs it)")
    load = argparse.Namespace(workers=2, worker_class="sync", worker_threads=4, threads=2, connections=8)
    scratch = ScratchDatabase(admin_url(args.database_url), name=args.database)
    if not args.database:
        scratch.__enter__()
    try:
        if not args.database:
            build(scratch, "big", args.tenants, max(1, round(args.locations / args.tenants)), args.redis_url)
        if args.kind.endswith("-in"):
            try:
                make_parent(scratch.url, args.redis_url)
            except sa.exc.IntegrityError:  # a reused database has the parent already
                pass
        work = Path(tempfile.mkdtemp(prefix="rl-profile-server-"))
        (work / "instance").mkdir()
        with Gunicorn("wsgi:app", env=server_env(scratch.url, args.redis_url, work / "instance", cache=True),
                      args=load, logs=work) as server:
            path = API if args.kind.startswith("api") else PAGE
            cookie = login_over_http(server) if args.kind.endswith("-in") else None
            run_wrk(server, paths(path, args.tenants, 3000, f"profile-server:{args.kind}:warm-up"),
                    seconds=args.warmup, args=load, scripts=work, cookie=cookie)
            workers = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True,
                                     text=True, check=True).stdout.split()
            outputs = [work / f"spy-{pid}.txt" for pid in workers]
            spies = [subprocess.Popen([spy, "record", "--pid", pid, "--duration", str(round(args.seconds)),
                                       "--rate", str(args.rate), "--format", "raw", "--output", str(out),
                                       "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                     for pid, out in zip(workers, outputs, strict=True)]
            figures = run_wrk(server, paths(path, args.tenants, 30000, f"profile-server:{args.kind}"),
                              seconds=args.seconds, args=load, scripts=work, cookie=cookie)
            for process in spies:
                _, error = process.communicate(timeout=args.seconds + 60)
                if process.returncode != 0:
                    raise BenchError(f"py-spy failed: {error.decode()[-500:]}")
        total, found = shares([out for out in outputs if out.exists()])
        print(f"\n## {args.kind} @{args.tenants}: {figures['rps']:.1f} req/s, p95 {figures['p95_us'] / 1000:.1f} ms, "
              f"{figures['errors']} errors; {total} samples of {len(workers)} workers\n")
        for share, name in [f for f in found if not BOOT.search(f[1])][:args.top]:
            print(f"{share:6.1%}  {name}")
    finally:
        if args.keep or args.database:
            print(f"kept scratch database {scratch.name}", file=sys.stderr)
        else:
            scratch.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    run_main(main, "profile_server.py")
