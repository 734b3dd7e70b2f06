"""Benchmark: what families really do: every search distinct, anonymous and logged in, with the
search cache on as in production, at a Flanders-size region (285 tenants) and a small one (18),
with the hello-world ceiling in the same run.

    .venv/bin/python bench/search_distinct.py [--tenants 285] [--small-tenants 18] [--locations 6000]
                                              [--duration 15] [--warmup 3] [--urls 30000] [--seed 17]
                                              [--connections 8] [--threads 2] [--workers 2]
                                              [--database-url URL] [--redis-url URL] [--json out.json]

Targets (issue #17), distinct searches, anonymous and logged in, page and API, @285:
throughput ≥ 0.20 × hello-world; p95 ≤ 5 × hello-world's p95; p95 @285 ÷ @18 ≤ 1.2.

``bench/search.py`` rotates over five fixed URLs: with the cache on it measures cache hits. Here
every request of a load is a different URL, drawn from what families type (see ``family_search``):
their own postcode and a distance, their own child's birth date and a start month or date, a
municipality (by slug or by its name as typed), a name, a type, now and then a second page or
another sort. A logged-in parent (a session cookie, got by logging in over HTTP like a browser)
is never served from the cache, whatever the URL.

The regions, the servers (gunicorn ``wsgi:app``, and ``bench/hello.py`` for the ceiling) and the
checks are those of ``bench/search.py``. Load: ``wrk`` with a Lua script holding ``--urls`` URLs
per scenario; each thread walks its own slice of them, so no URL repeats within a run as long as
a thread sends fewer than ``urls / threads`` requests (the report says how many it sent). The
warm-up draws from another seed, so it never fills the cache with the measured URLs.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import signal
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

from _common import PASSWORD as BENCH_PASSWORD
from _common import (
    ScratchDatabase,
    admin_url,
    machine,
    make_user,
    password_hash,
    postcodes_for,
    run_main,
    write_json,
)
from search import (
    API,
    DEFAULT_REDIS,
    PAGE,
    REGION_NAME,
    WRK_REPORT,
    BenchError,
    Gunicorn,
    app_config,
    build,
    municipality_name,
    ratio,
    server_env,
    slug,
    wrk_binary,
)

from regional_loket import create_app
from regional_loket.catalog.demo import FIRST_NAMES, GROUP_NAMES, LAST_NAMES
from regional_loket.extensions import db
from regional_loket.months import add_months, month_start

TODAY = date.today()
TRIVIAL = "/branding.css"  # the app's cheapest page: every hook, no SQL, no template
TARGET_THROUGHPUT = 0.20  # req/s ÷ hello-world req/s, at least
TARGET_P95_VS_HELLO = 5.0  # p95 ÷ hello-world's p95, at most
TARGET_P95_RATIO = 1.2  # p95 @big ÷ p95 @small, at most
KINDS = ("group", "family", "out_of_school")
PARENT_EMAIL = "ouder-bench@example.be"


# --- the searches -----------------------------------------------------------------------------


def family_search(rng: random.Random, tenants: int, *, api: bool) -> dict:
    """One family's search. The mix (what a portal's logs would show): mostly the own postcode
    with a distance and the child's age, then the own municipality, a month with free places,
    now and then a name or a type; a few look at the second page or sort otherwise."""
    args: dict = {}
    own = rng.randrange(tenants)
    born = TODAY + timedelta(days=rng.randint(-3 * 365, 180))  # up to three years old, or expected
    first_month = max(month_start(TODAY), month_start(born))
    start_month = add_months(first_month, rng.choice((0, 1, 2, 3, 3, 4, 6, 6, 9, 12)))
    start_month = min(start_month, add_months(month_start(TODAY), 17))
    shape = rng.random()
    if shape < 0.40:  # own postcode and a distance
        args["postcode"] = rng.choice(postcodes_for(own))["code"]
        args["afstand"] = str(rng.choice((2, 5, 5, 10, 10, 10, 15, 20, 25)))
    elif shape < 0.65:  # own municipality, by slug (a link) or by name (typed)
        # the API takes slugs only; the page also a name as typed
        args["gemeente"] = slug(own) if api or rng.random() < 0.6 else municipality_name(own).lower()
        if rng.random() < 0.2:
            args["nabij"] = "1"
    elif shape < 0.80:  # the whole region, for a month
        pass
    elif shape < 0.90:  # a name heard of
        pick = rng.random()
        args["q"] = (rng.choice(GROUP_NAMES).split()[-1] if pick < 0.6
                     else rng.choice(LAST_NAMES) if pick < 0.8 else rng.choice(FIRST_NAMES)).lower()
        if rng.random() < 0.5:
            args["gemeente"] = slug(own)
    else:  # a type near home
        args["postcode"] = rng.choice(postcodes_for(own))["code"]
        args["afstand"] = str(rng.choice((5, 10, 15)))
    if rng.random() < 0.5:
        args["type"] = rng.choice(KINDS[:2]) if rng.random() < 0.9 else KINDS[2]
    if rng.random() < 0.8:
        args["geboortedatum"] = born.isoformat()
        when = rng.random()
        if when < 0.5:
            args["maand"] = start_month.strftime("%Y-%m")
        elif when < 0.8:
            args["start"] = max(born, start_month + timedelta(days=rng.randint(0, 27))).isoformat()
    elif shape >= 0.65 and shape < 0.80:
        args["maand"] = start_month.strftime("%Y-%m")
    if rng.random() < 0.1:
        args["sorteer"] = rng.choice(("free", "name", "distance" if "postcode" in args else "free"))
    if not api and rng.random() < 0.1:  # the API answers 400 past the last page: pages only there
        args["pagina"] = "2"
    return args


def paths(path: str, tenants: int, count: int, seed: str) -> list[str]:
    rng = random.Random(seed)
    return [f"{path}?{urlencode(family_search(rng, tenants, api=path == API))}" for _ in range(count)]


# --- logging in -------------------------------------------------------------------------------


def make_parent(url: str, redis_url: str) -> None:
    app = create_app(app_config(url, redis_url, REGION_NAME))
    with app.app_context():
        password_hash()
        make_user(db.session, name="Ouder Bench", email=PARENT_EMAIL)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _cookie(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == "set-cookie" and value.startswith(f"{name}="):
            return value.split(";", 1)[0].split("=", 1)[1]
    return None


def login_over_http(server: Gunicorn) -> str:
    """Log the bench parent in as a browser does (form, CSRF token, POST); the session cookie."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", "/aanmelden", headers={"Host": server.host})
    response = connection.getresponse()
    html = response.read().decode()
    anonymous = _cookie(response.getheaders(), "session")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if response.status != 200 or token is None or anonymous is None:
        raise BenchError(f"login form: status {response.status}, token {bool(token)}, cookie {bool(anonymous)}")
    connection.close()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    body = urlencode({"csrf_token": token.group(1), "email": PARENT_EMAIL, "password": BENCH_PASSWORD})
    connection.request("POST", "/aanmelden", body=body, headers={
        "Host": server.host, "Cookie": f"session={anonymous}", "Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    response.read()
    cookie = _cookie(response.getheaders(), "session")
    connection.close()
    if response.status != 302 or not cookie:
        raise BenchError(f"login answered {response.status}, cookie {bool(cookie)}")
    status, _, page = _get(server, PAGE, cookie)
    if status != 200 or b"Afmelden" not in page:
        raise BenchError(f"logged in, the search page answered {status} without a logout button")
    return cookie


def _get(server: Gunicorn, path: str, cookie: str | None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        headers = {"Host": server.host, **({"Cookie": f"session={cookie}"} if cookie else {})}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


# --- wrk --------------------------------------------------------------------------------------

WRK_SCRIPT = """
local paths = {%(paths)s}
local threads = %(threads)d
local started = 0
wrk.headers["Host"] = "%(host)s"
%(cookie)s

function setup(thread)
  -- each thread its own slice of the URLs: no URL twice while a thread stays within its slice
  thread:set("counter", math.floor(started * #paths / threads))
  started = started + 1
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end

""" + WRK_REPORT


def run_wrk(server: Gunicorn, urls: list[str], *, seconds: float, args, scripts: Path, cookie: str | None) -> dict:
    script = scripts / f"wrk-{server.port}-{abs(hash(tuple(urls))) % 10**8}-{bool(cookie)}.lua"
    script.write_text(WRK_SCRIPT % {
        "paths": ",\n".join(json.dumps(p) for p in urls), "host": server.host, "threads": args.threads,
        "cookie": f'wrk.headers["Cookie"] = "session={cookie}"' if cookie else ""})
    command = [wrk_binary(), "--threads", str(args.threads), "--connections", str(args.connections),
               "--duration", f"{max(1, round(seconds))}s", "--timeout", "10s", "--latency",
               "--script", str(script), f"http://127.0.0.1:{server.port}"]
    completed = subprocess_run(command, seconds)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("BENCH_JSON ")]
    if completed.returncode != 0 or not lines:
        raise BenchError(f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    figures = json.loads(lines[-1][len("BENCH_JSON "):])
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["errors"] = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
    figures["distinct"] = figures["requests"] <= len(urls)  # each thread stayed within its slice
    return figures


def subprocess_run(command: list[str], seconds: float):
    import subprocess

    return subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)


def check_sample(server: Gunicorn, urls: list[str], cookie: str | None, sample: int = 25) -> int:
    """A sample of the URLs once each: 200 (the page) or 200 with JSON (the API). Found total."""
    found = 0
    for url in urls[:sample]:
        status, headers, body = _get(server, url, cookie)
        if status != 200:
            raise BenchError(f"{url}: status {status}: {body[:300]!r}")
        if url.startswith(API):
            found += json.loads(body)["total"]
        elif b'id="results-heading"' not in body:
            raise BenchError(f"{url}: no results heading")
        if cookie and url.startswith(PAGE) and b"Afmelden" not in body:
            raise BenchError(f"{url}: the logged-in page shows no logout button")
    return found


def measure(key: str, label: str, server: Gunicorn, measured: list[str], warmup: list[str], args, scripts: Path,
            cookie: str | None = None) -> dict:
    if args.warmup > 0:
        run_wrk(server, warmup, seconds=args.warmup, args=args, scripts=scripts, cookie=cookie)
    print(f"  measuring {label} for {args.duration:g} s …", flush=True)
    f = run_wrk(server, measured, seconds=args.duration, args=args, scripts=scripts, cookie=cookie)
    f.update(key=key, label=label)
    print(f"    {f['rps']:.1f} req/s, p50 {f['p50_us'] / 1000:.1f} ms, p95 {f['p95_us'] / 1000:.1f} ms, "
          f"{f['errors']} errors, {f['requests']} requests{'' if f['distinct'] else ' (some URLs repeated)'}",
          flush=True)
    return f


# --- the report -------------------------------------------------------------------------------


def report(results: dict[str, dict], facts) -> tuple[str, dict]:
    hello = results["hello"]
    rows = ["| scenario | req/s | p50 ms | p95 ms | p99 ms | errors | req/s ÷ hello | p95 ÷ hello p95 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for f in results.values():
        rows.append(f"| {f['label']} | {f['rps']:.1f} | {f['p50_us'] / 1000:.1f} | {f['p95_us'] / 1000:.1f} "
                    f"| {f['p99_us'] / 1000:.1f} | {f['errors']} | {ratio(f['rps'], hello['rps']):.3f} "
                    f"| {ratio(f['p95_us'], hello['p95_us']):.1f} |")
    ratios: dict = {}
    floor = results.get("floor")
    if floor is not None:
        # What the app costs before any search: session, tenancy, CSRF, rate limits, security
        # headers, access log. A search cannot be cheaper than this page.
        rows += ["", "| over the app's floor (/branding.css) | req/s ÷ floor | p95 ÷ floor p95 |", "|---|---:|---:|"]
        for f in results.values():
            if f["key"] not in ("hello", "floor"):
                rows.append(f"| {f['label']} | {ratio(f['rps'], floor['rps']):.3f} "
                            f"| {ratio(f['p95_us'], floor['p95_us']):.1f} |")
        ratios["floor: throughput ÷ hello"] = round(ratio(floor["rps"], hello["rps"]), 4)
    rows += ["", f"| target @{facts['big'].tenants} | value | target | meets |", "|---|---:|---:|:-:|"]
    for kind in ("page", "api"):
        for who in ("anon", "logged"):
            big, small = results[f"{kind}_{who}_big"], results[f"{kind}_{who}_small"]
            for name, value, target, ok in (
                ("throughput ÷ hello", ratio(big["rps"], hello["rps"]), f"≥ {TARGET_THROUGHPUT:g}",
                 lambda v: v >= TARGET_THROUGHPUT),
                ("p95 ÷ hello p95", ratio(big["p95_us"], hello["p95_us"]), f"≤ {TARGET_P95_VS_HELLO:g}",
                 lambda v: v <= TARGET_P95_VS_HELLO),
                (f"p95 @{facts['big'].tenants} ÷ @{facts['small'].tenants}", ratio(big["p95_us"], small["p95_us"]),
                 f"≤ {TARGET_P95_RATIO:g}", lambda v: v <= TARGET_P95_RATIO),
            ):
                label = f"{'page' if kind == 'page' else 'API'}, {'anonymous' if who == 'anon' else 'logged in'}: {name}"
                ratios[f"{kind}_{who}: {name}"] = round(value, 4)
                rows.append(f"| {label} | {value:.3f} | {target} | {'yes' if ok(value) else '**no**'} |")
    return "\n".join(rows), ratios


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=285)
    parser.add_argument("--small-tenants", type=int, default=18)
    parser.add_argument("--locations", type=int, default=6000, help="locations of the big region (default 6000)")
    parser.add_argument("--duration", type=float, default=15, help="seconds of load per scenario (default 15)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of untimed load first (default 3)")
    parser.add_argument("--urls", type=int, default=30000, help="distinct URLs per scenario (default 30000)")
    parser.add_argument("--seed", default="17", help="seed of the drawn searches (default 17)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--worker-threads", type=int, default=4)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    per_tenant = max(1, round(args.locations / args.tenants))
    wrk_binary()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    admin = admin_url(args.database_url)
    started = time.perf_counter()
    load_before = os.getloadavg()
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rl-bench-distinct-")))
        instance = work / "instance"
        instance.mkdir()
        facts = {}
        for key, tenants in (("big", args.tenants), ("small", args.small_tenants)):
            scratch = stack.enter_context(ScratchDatabase(admin))
            facts[key] = build(scratch, key, tenants, per_tenant, args.redis_url)
            make_parent(scratch.url, args.redis_url)
        mode = f"gunicorn {args.workers} × {args.worker_class}, wrk {args.threads} threads × {args.connections} connections"
        results: dict[str, dict] = {}
        with Gunicorn("hello:app", env=server_env(facts["small"].url, args.redis_url, instance), args=args,
                      logs=work, pythonpath=Path(__file__).resolve().parent) as server:
            results["hello"] = measure("hello", "hello-world (bench/hello.py)", server, ["/"], ["/"], args, work)
        distinct = {}
        for key in ("big", "small"):
            region = facts[key]
            with Gunicorn("wsgi:app", env=server_env(region.url, args.redis_url, instance, cache=True), args=args,
                          logs=work) as server:
                cookie = login_over_http(server)
                if key == "big":  # the app's own floor: its cheapest page through every hook
                    results["floor"] = measure("floor", f"/branding.css @{region.tenants} (the app's floor)", server,
                                               [TRIVIAL], [TRIVIAL], args, work)
                for kind, path in (("page", PAGE), ("api", API)):
                    for who in ("anon", "logged"):
                        measured = paths(path, region.tenants, args.urls, f"{args.seed}:{kind}:{who}")
                        warmup = paths(path, region.tenants, 2000, f"{args.seed}:{kind}:{who}:warm-up")
                        distinct[f"{kind}_{who}_{key}"] = len(set(measured)) / len(measured)
                        check_sample(server, measured[-25:], cookie if who == "logged" else None)
                        label = (f"{'search page' if kind == 'page' else 'API'} @{region.tenants}, distinct, "
                                 f"{'anonymous' if who == 'anon' else 'logged-in parent'}")
                        results[f"{kind}_{who}_{key}"] = measure(
                            f"{kind}_{who}_{key}", label, server, measured, warmup, args, work,
                            cookie if who == "logged" else None)
                if "Traceback" in server.tail():
                    print(f"gunicorn logged errors:\n{server.tail()}", file=sys.stderr)
        table, ratios = report(results, facts)
        load_after = os.getloadavg()
        print(f"\n## Distinct searches under gunicorn, cache on: {args.tenants} vs {args.small_tenants} tenants\n")
        print(f"- {mode}; {args.warmup:g} s warm-up (other URLs) + {args.duration:g} s per scenario, "
              f"{args.urls} URLs per scenario (distinct in the list: "
              f"{min(distinct.values()):.1%}–{max(distinct.values()):.1%})")
        print(f"- machine: {machine()}; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}\n")
        print(table)
        print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
        write_json(args.json, {"machine": machine(), "mode": mode, "load": [load_before, load_after],
                               "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                               "distinct": distinct, "scenarios": results, "ratios": ratios,
                               "samples": {k: paths(p, 285, 5, "sample") for k, p in (("page", PAGE), ("api", API))}})
    return 0


if __name__ == "__main__":
    run_main(main, "search_distinct.py")
