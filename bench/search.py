"""Benchmark: search throughput and latency under gunicorn, a Flanders-size region (285 tenants)
against a small one (18 tenants), with a hello-world Flask app on the same server as the ceiling.

    .venv/bin/python bench/search.py [--tenants 285] [--small-tenants 18] [--locations 6000]
                                     [--duration 20] [--warmup 3] [--connections 8] [--threads 2]
                                     [--workers 2] [--worker-class sync] [--database-url URL]
                                     [--redis-url URL] [--profile K] [--json out.json]

Targets (issue): search throughput ≥ 25 % of hello-world; p95 at 285 tenants ÷ p95 at 18 ≤ 1.2.

Two scratch databases (``rl_bench_<random>`` on ``--database-url``, else ``BENCH_DATABASE_URL``,
else postgresql://postgres@127.0.0.1:5432/postgres; both dropped at the end, also after an error):

* big: ``--tenants`` municipalities (``services.create_tenant``) with ``--locations`` locations
  spread evenly over them (``catalog.demo.build_locations``: realistic kinds, capacities, hours,
  tariffs, and 18 months of free places), two postcodes with a centroid each;
* small: ``--small-tenants`` municipalities with the same number of locations *per tenant*. Slugs,
  postcodes and locations are seeded by slug, so the small region is exactly the first tenants
  of the big one: a municipality filter finds the same rows in both.

Locations go in through the ORM, so the catalog is filled the normal way (the ``after_flush``
hook of ``catalog/mirror.py``); ``mirror.rebuild(…, fix=False)`` then checks it has no drift.
Then ``VACUUM (ANALYZE)``, as autovacuum would leave a production database.

Servers: ``gunicorn wsgi:app`` (the production entry point) with ``--workers`` workers of
``--worker-class`` (sync by default: one request per worker at a time, no keep-alive) on
127.0.0.1:<free port>, with DATABASE_URL, REDIS_URL, SERVER_NAME=bench.localhost:<port>,
SECRET_KEY and LOKET_ENV=development in the environment; the ceiling is ``bench/hello.py``
under the same command line. One server runs at a time.

Load: ``wrk`` (Debian package) with ``--threads`` threads and ``--connections`` connections,
a ``--warmup`` run first, then ``--duration`` seconds, rotating over the common searches (see
``SEARCHES``) on the search page ``/zoeken`` and on ``/api/v1/locations``, with the region's
Host header. Before each load, every URL is fetched once: status 200 and a result count > 0,
or the run stops. Non-2xx answers under load are counted and shown.

Also measured (unloaded, in process through the Flask test client, same databases): per search
the median request time, the SQL statements and the time spent in them — where the difference
between 18 and 285 tenants comes from. ``--profile K`` adds cProfile over K rounds of the search
pages at the big region and EXPLAIN ANALYZE of the slowest statement of each.

The machine runs the load generator, gunicorn and PostgreSQL at once (this one has 2 cores):
the same for every scenario, so the ratios hold better than the absolute figures.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from _common import (
    REPO,
    BenchError,
    ScratchDatabase,
    SqlMeter,
    admin_url,
    build_region,
    machine,
    postcodes_for,
    profile,
    run_main,
    write_json,
)

from regional_loket import create_app
from regional_loket.catalog import mirror
from regional_loket.extensions import db
from regional_loket.months import add_months, month_start
from regional_loket.tenancy.models import Tenant

BENCH = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
REGION_NAME = "bench.localhost"
SECRET = "bench-search-secret-key"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
TARGET_THROUGHPUT = 0.25  # search req/s ÷ hello-world req/s, at least
TARGET_P95_RATIO = 1.2  # p95 at the big region ÷ p95 at the small one, at most
TODAY = date.today()


def slug(index: int) -> str:
    return f"gemeente-{index + 1:03d}"


def municipality_name(index: int) -> str:
    return f"Gemeente {index + 1:03d}"


# --- the searches -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchCase:
    key: str
    label: str
    args: dict

    def query(self) -> str:
        return f"?{urlencode(self.args)}" if self.args else ""


def searches() -> list[SearchCase]:
    """What families type most: nothing yet (the landing search), a postcode and a distance,
    a child's age and a start month, a name, their own municipality. Every value names
    something in both regions (tenant indexes below the small region's size)."""
    home = postcodes_for(0)[0]["code"]
    born = add_months(month_start(TODAY), -8).replace(day=14)  # a baby at the start month
    start = add_months(month_start(TODAY), 4)
    return [
        SearchCase("all", "no filter (landing)", {}),
        SearchCase("distance", f"postcode {home} + 10 km", {"postcode": home, "afstand": "10"}),
        SearchCase("age_month", "birth date + free in month",
                   {"geboortedatum": born.isoformat(), "maand": start.strftime("%Y-%m")}),
        SearchCase("text", "free text 'zonnebloem'", {"q": "zonnebloem"}),
        SearchCase("municipality", f"municipality {slug(3)}", {"gemeente": slug(3)}),
    ]


PAGE, API = "/zoeken", "/api/v1/locations"
_PAGE_TOTAL = re.compile(r'id="results-heading"[^>]*>\s*([\d.,\u202f\xa0 ]+)')


def page_total(html: str) -> int | None:
    match = _PAGE_TOTAL.search(html)
    return int(re.sub(r"\D", "", match.group(1))) if match else None


# --- the regions ------------------------------------------------------------------------------


@dataclass
class RegionFacts:
    key: str
    tenants: int
    per_tenant: int
    locations: int = 0
    availability: int = 0
    catalog_locations: int = 0
    catalog_availability: int = 0
    build_seconds: float = 0.0
    vacuum_seconds: float = 0.0
    database: str = ""
    url: str = ""


def app_config(database_url: str, redis_url: str, server_name: str) -> dict:
    """As the server's environment configures it (no TESTING, limits on), but without the search
    cache: in process we measure what an answer costs when it is computed."""
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "REGION_SERVER_NAME": server_name,
            "SECRET_KEY": SECRET, "ENV": "development", "SEARCH_CACHE_BYTES": 0}


def build(scratch: ScratchDatabase, key: str, tenants: int, per_tenant: int, redis_url: str) -> RegionFacts:
    facts = RegionFacts(key, tenants, per_tenant, database=scratch.name, url=scratch.url)
    app = create_app(app_config(scratch.url, redis_url, REGION_NAME))
    with app.app_context():
        print(f"building {key}: {tenants} tenants × {per_tenant} locations in {scratch.name} …", flush=True)
        built = build_region([slug(i) for i in range(tenants)], per_tenant, today=TODAY, names=municipality_name)
        facts.locations, facts.availability, facts.build_seconds = built.locations, built.availability, built.seconds
        drift = [d for d in mirror.rebuild(db.session, list(db.session.scalars(sa.select(Tenant))), fix=False)
                 if not d.clean]
        db.session.rollback()
        if drift:
            raise BenchError(f"{key}: the catalog drifted from the tenants' rows: {drift[:3]}")
        facts.catalog_locations = db.session.scalar(sa.text("SELECT count(*) FROM shared.catalog_locations"))
        facts.catalog_availability = db.session.scalar(sa.text("SELECT count(*) FROM shared.catalog_availability"))
        db.session.remove()
        db.engine.dispose()
    if (facts.catalog_locations, facts.catalog_availability) != (facts.locations, facts.availability):
        raise BenchError(f"{key}: catalog has {facts.catalog_locations}/{facts.catalog_availability} rows, "
                         f"built {facts.locations}/{facts.availability}")
    started = time.perf_counter()
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE)")
    engine.dispose()
    facts.vacuum_seconds = time.perf_counter() - started
    print(f"  {facts.locations} locations, {facts.availability} free-place rows, catalog consistent; "
          f"built in {facts.build_seconds:.0f} s, VACUUM ANALYZE {facts.vacuum_seconds:.0f} s", flush=True)
    return facts


# --- gunicorn ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, host: str, path: str, timeout: float = 30.0) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


class Gunicorn:
    """One gunicorn master (own process group) on a free loopback port; stopped on exit."""

    def __init__(self, app: str, *, env: dict, args: argparse.Namespace, logs: Path, pythonpath: Path | None = None,
                 server_name: str = REGION_NAME):
        self.port = free_port()
        self.host = f"{server_name}:{self.port}"
        self.log = logs / f"gunicorn-{app.replace(':', '-')}-{self.port}.log"
        command = [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", str(args.workers),
                   "--worker-class", args.worker_class, "--chdir", str(REPO), "--timeout", "60",
                   "--graceful-timeout", "5", "--backlog", "2048", "--log-level", "warning",
                   "--error-logfile", str(self.log)]
        if args.worker_class == "gthread":
            command += ["--threads", str(args.worker_threads)]
        if pythonpath is not None:
            command += ["--pythonpath", str(pythonpath)]
        self.command = [*command, app]
        self.env = {**os.environ, **env, "SERVER_NAME": self.host}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        self.process = subprocess.Popen(self.command, env=self.env, cwd=REPO, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.process.returncode}:\n{self.tail()}")
            try:
                get(self.port, self.host, "/robots.txt", timeout=5)
                return self
            except OSError:
                time.sleep(0.2)
        raise BenchError(f"gunicorn did not answer within 60 s:\n{self.tail()}")

    def __exit__(self, *exc) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # our own session: master and workers
            self.process.wait()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def server_env(database_url: str, redis_url: str, instance: Path, *, cache: bool = True) -> dict:
    """As a deployment sets it; ``cache=False`` turns the search cache off (every answer from SQL)."""
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET,
            "LOKET_ENV": "development", "INSTANCE_PATH": str(instance),
            "SEARCH_CACHE_BYTES": str(32 * 1024 * 1024 if cache else 0)}


# --- wrk --------------------------------------------------------------------------------------

# What every wrk run reports: one BENCH_JSON line (bench/search_distinct.py uses it too).
WRK_REPORT = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,"p50_us":%%d,"p95_us":%%d,"p99_us":%%d,' ..
    '"mean_us":%%.1f,"max_us":%%d,"connect":%%d,"read":%%d,"write":%%d,"status":%%d,"timeout":%%d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

WRK_SCRIPT = """
local paths = {%(paths)s}
counter = 0  -- a global: setup() gives each thread its own starting point
wrk.headers["Host"] = "%(host)s"

function setup(thread)
  thread:set("counter", math.random(0, #paths - 1))
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end

""" + WRK_REPORT


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    raise BenchError("wrk is not installed: apt-get install -y wrk")


def run_wrk(port: int, host: str, paths: list[str], *, seconds: float, args: argparse.Namespace,
            scripts: Path) -> dict:
    script = scripts / f"wrk-{port}-{len(paths)}-{abs(hash(tuple(paths))) % 10**8}.lua"
    script.write_text(WRK_SCRIPT % {"paths": ", ".join(json.dumps(p) for p in paths), "host": host})
    command = [wrk_binary(), "--threads", str(args.threads), "--connections", str(args.connections),
               "--duration", f"{max(1, round(seconds))}s", "--timeout", "10s", "--latency",
               "--script", str(script), f"http://127.0.0.1:{port}"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("BENCH_JSON ")]
    if completed.returncode != 0 or not lines:
        raise BenchError(f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    figures = json.loads(lines[-1][len("BENCH_JSON "):])
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["errors"] = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
    return figures


# --- checks before the load ----------------------------------------------------------------


def check_urls(port: int, host: str, cases: list[SearchCase]) -> dict[str, dict[str, int]]:
    """Every URL once: 200, the right content type and something found. Returns the totals."""
    totals: dict[str, dict[str, int]] = {"page": {}, "api": {}}
    for case in cases:
        status, headers, body = get(port, host, PAGE + case.query())
        total = page_total(body.decode("utf-8", "replace")) if status == 200 else None
        cards = body.count(b'class="rl-card rl-result"')
        if status != 200 or not headers.get("content-type", "").startswith("text/html") or not total or not cards:
            raise BenchError(f"{PAGE}{case.query()} on {host}: status {status}, total {total}, {cards} cards")
        totals["page"][case.key] = total
        status, headers, body = get(port, host, API + case.query())
        payload = json.loads(body) if status == 200 else {}
        if status != 200 or not payload.get("total") or not payload.get("items"):
            raise BenchError(f"{API}{case.query()} on {host}: status {status}, {body[:300]!r}")
        if payload["total"] != total:
            raise BenchError(f"{case.key}: the page found {total}, the API {payload['total']}")
        totals["api"][case.key] = payload["total"]
    return totals


# --- scenarios ----------------------------------------------------------------------------------


@dataclass
class Scenario:
    key: str
    label: str
    tenants: int | None = None
    locations: int | None = None
    figures: dict = field(default_factory=dict)

    def ms(self, name: str) -> float:
        return self.figures[f"{name}_us"] / 1000


def measure(scenario: Scenario, server: Gunicorn, paths: list[str], args, scripts: Path) -> Scenario:
    if args.warmup > 0:
        run_wrk(server.port, server.host, paths, seconds=args.warmup, args=args, scripts=scripts)
    print(f"  measuring {scenario.label} for {args.duration:g} s …", flush=True)
    scenario.figures = run_wrk(server.port, server.host, paths, seconds=args.duration, args=args, scripts=scripts)
    f = scenario.figures
    print(f"    {f['rps']:.1f} req/s, p50 {f['p50_us'] / 1000:.1f} ms, p95 {f['p95_us'] / 1000:.1f} ms, "
          f"{f['errors']} errors", flush=True)
    return scenario


# --- in process: where the time goes ------------------------------------------------------------


@contextlib.contextmanager
def in_process(facts: RegionFacts, redis_url: str) -> Iterator:
    app = create_app(app_config(facts.url, redis_url, REGION_NAME))
    try:
        with app.app_context():
            db.engine.connect().close()
        gc.collect()
        gc.freeze()  # as wsgi.py does
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def breakdown(facts: RegionFacts, cases: list[SearchCase], redis_url: str, rounds: int) -> list[dict]:
    """Unloaded, one request at a time: median total, SQL statements and SQL time per request."""
    rows = []
    with in_process(facts, redis_url) as app:
        client = app.test_client()
        with app.app_context():
            engine = db.engine
        for kind, path in (("page", PAGE), ("api", API)):
            for case in cases:
                url = path + case.query()
                for _ in range(3):
                    client.get(url, base_url=f"http://{REGION_NAME}")
                totals, sqls, counts = [], [], []
                for _ in range(rounds):
                    with SqlMeter(engine) as meter:
                        started = time.perf_counter()
                        response = client.get(url, base_url=f"http://{REGION_NAME}")
                        totals.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        raise BenchError(f"in process {url}: {response.status_code}")
                    sqls.append(meter.seconds)
                    counts.append(len(meter.statements))
                rows.append({"region": facts.key, "tenants": facts.tenants, "kind": kind, "search": case.key,
                             "total_ms": round(statistics.median(totals) * 1000, 2),
                             "sql_ms": round(statistics.median(sqls) * 1000, 2),
                             "statements": statistics.median(counts),
                             "bytes": len(response.data)})
    return rows


def profile_searches(facts: RegionFacts, cases: list[SearchCase], redis_url: str, rounds: int) -> str:
    """cProfile of the search page over ``rounds`` rounds of every search, and EXPLAIN ANALYZE of
    the slowest statement of each search (page and API share the query)."""
    out = []
    with in_process(facts, redis_url) as app:
        client = app.test_client()
        with app.app_context():
            engine = db.engine
        urls = [PAGE + c.query() for c in cases]
        for url in urls:
            client.get(url, base_url=f"http://{REGION_NAME}")

        def one_round():
            for url in urls:
                client.get(url, base_url=f"http://{REGION_NAME}")

        out.append(f"## cProfile: {rounds} rounds of {len(urls)} search pages at {facts.tenants} tenants\n")
        out.append(profile(one_round, rounds, top=35))
        for case in cases:
            with SqlMeter(engine) as meter:
                client.get(PAGE + case.query(), base_url=f"http://{REGION_NAME}")
            ranked = sorted(meter.statements, key=lambda s: s[0], reverse=True)
            out.append(f"\n## {case.label} ({PAGE}{case.query()}): {len(ranked)} statements, "
                       f"{meter.seconds * 1000:.1f} ms in SQL")
            for seconds, statement, _ in ranked[:6]:
                out.append(f"  {seconds * 1000:7.2f} ms  {' '.join(statement.split())[:150]}")
            seconds, statement, parameters = ranked[0]
            with engine.connect() as connection:
                plan = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars()
                out.append("  slowest, EXPLAIN ANALYZE:\n" + "\n".join(f"    {line}" for line in plan))
    return "\n".join(out)


# --- the report -------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def report(scenarios: dict[str, Scenario], args) -> tuple[str, dict]:
    rows = ["| scenario | tenants | locations | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in scenarios.values():
        f = s.figures
        rows.append(f"| {s.label} | {s.tenants if s.tenants is not None else '–'} "
                    f"| {s.locations if s.locations is not None else '–'} | {f['rps']:.1f} | {s.ms('p50'):.1f} "
                    f"| {s.ms('p95'):.1f} | {s.ms('p99'):.1f} | {s.ms('max'):.1f} | {f['errors']} |")
    hello = scenarios["hello"]
    ratios = {}
    # The targets hold for the production setting (cache on); the same ratios with the cache
    # off say what a search costs when every answer comes from SQL.
    for suffix, note in (("", ""), ("_nocache", ", cache off")):
        for kind, name in (("page", "search page"), ("api", "API")):
            big, small = scenarios[f"{kind}_big{suffix}"], scenarios[f"{kind}_small{suffix}"]
            target = (lambda t: t) if not suffix else (lambda t: "–")
            ratios[f"{kind}{suffix}_throughput_vs_hello"] = (
                ratio(big.figures["rps"], hello.figures["rps"]), target(f"≥ {TARGET_THROUGHPUT:g}"),
                f"{name} req/s ÷ hello-world req/s (@{big.tenants}{note})")
            ratios[f"{kind}{suffix}_small_throughput_vs_hello"] = (
                ratio(small.figures["rps"], hello.figures["rps"]), "–",
                f"{name} req/s ÷ hello-world req/s (@{small.tenants}{note})")
            ratios[f"{kind}{suffix}_p95_big_vs_small"] = (
                ratio(big.ms("p95"), small.ms("p95")), target(f"≤ {TARGET_P95_RATIO:g}"),
                f"{name} p95 @{big.tenants} ÷ @{small.tenants}{note}")
            ratios[f"{kind}{suffix}_p50_big_vs_small"] = (
                ratio(big.ms("p50"), small.ms("p50")), "–", f"{name} p50 @{big.tenants} ÷ @{small.tenants}{note}")
    rows += ["", "| ratio | value | target | meets |", "|---|---:|---:|:-:|"]
    for value, target, label in ratios.values():
        if target == "–":
            meets = "–"
        elif target.startswith("≥"):
            meets = "yes" if value >= TARGET_THROUGHPUT else "**no**"
        else:
            meets = "yes" if value <= TARGET_P95_RATIO else "**no**"
        rows.append(f"| {label} | {value:.3f} | {target} | {meets} |")
    return "\n".join(rows), {k: round(v[0], 4) for k, v in ratios.items()}


def breakdown_table(rows: list[dict], cases: list[SearchCase], facts: dict[str, RegionFacts]) -> str:
    by = {(r["region"], r["kind"], r["search"]): r for r in rows}
    big, small = facts["big"], facts["small"]
    lines = [f"| search | kind | total ms @{small.tenants} | total ms @{big.tenants} | ×  "
             f"| SQL ms @{small.tenants} | SQL ms @{big.tenants} | statements | found @{small.tenants} "
             f"| found @{big.tenants} | body KB @{big.tenants} |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for kind in ("page", "api"):
        for case in cases:
            s, b = by[("small", kind, case.key)], by[("big", kind, case.key)]
            lines.append(f"| {case.label} | {kind} | {s['total_ms']:.1f} | {b['total_ms']:.1f} "
                         f"| {ratio(b['total_ms'], s['total_ms']):.2f} | {s['sql_ms']:.1f} | {b['sql_ms']:.1f} "
                         f"| {b['statements']:g} | {s.get('found', '–')} | {b.get('found', '–')} "
                         f"| {b['bytes'] / 1024:.0f} |")
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=285, help="tenants of the big region (default 285)")
    parser.add_argument("--small-tenants", type=int, default=18, help="tenants of the small region (default 18)")
    parser.add_argument("--locations", type=int, default=6000,
                        help="locations of the big region, spread evenly (default 6000: 21 per tenant)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load per scenario (default 20)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of untimed load first (default 3)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync",
                        help="gunicorn worker class (default sync)")
    parser.add_argument("--worker-threads", type=int, default=4, help="threads per gthread worker (default 4)")
    parser.add_argument("--rounds", type=int, default=15,
                        help="in-process requests per search for the breakdown (default 15; 0 skips it)")
    parser.add_argument("--profile", type=int, default=0, metavar="K",
                        help="also cProfile K rounds of the search pages at the big region, with EXPLAIN ANALYZE")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server for the scratch databases (default: BENCH_DATABASE_URL, "
                             "else postgresql://postgres@127.0.0.1:5432/postgres)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS,
                        help=f"Redis for the servers (default BENCH_REDIS_URL, else {DEFAULT_REDIS})")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    if args.small_tenants > args.tenants or args.small_tenants < 5:
        parser.error("--small-tenants must be between 5 and --tenants (the searches name tenants 1–4)")
    per_tenant = max(1, round(args.locations / args.tenants))
    wrk_binary()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (servers, databases) on kill

    cases = searches()
    admin = admin_url(args.database_url)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rl-bench-search-")))
        instance = work / "instance"
        instance.mkdir()
        facts: dict[str, RegionFacts] = {}
        for key, tenants in (("big", args.tenants), ("small", args.small_tenants)):
            scratch = stack.enter_context(ScratchDatabase(admin))
            facts[key] = build(scratch, key, tenants, per_tenant, args.redis_url)

        scenarios: dict[str, Scenario] = {}
        mode = (f"gunicorn {args.workers} × {args.worker_class}"
                + (f" ({args.worker_threads} threads)" if args.worker_class == "gthread" else "")
                + f", wrk {args.threads} threads × {args.connections} connections")
        print(f"load: {mode}, {args.warmup:g} s warm-up + {args.duration:g} s per scenario", flush=True)

        env = server_env(facts["small"].url, args.redis_url, instance)
        with Gunicorn("hello:app", env=env, args=args, logs=work, pythonpath=BENCH) as server:
            status, _, body = get(server.port, server.host, "/")
            if (status, body) != (200, b"hello"):
                raise BenchError(f"hello-world answered {status} {body[:80]!r}")
            scenarios["hello"] = measure(Scenario("hello", "hello-world (bench/hello.py)"), server, ["/"],
                                         args, work)

        totals: dict[str, dict] = {}
        for key in ("big", "small"):
            region = facts[key]
            for cache in (True, False):
                env = server_env(region.url, args.redis_url, instance, cache=cache)
                with Gunicorn("wsgi:app", env=env, args=args, logs=work) as server:
                    found = check_urls(server.port, server.host, cases)
                    if totals.setdefault(key, found) != found:
                        raise BenchError(f"{key}: the cache changed what was found: {found} vs {totals[key]}")
                    listed = ", ".join(f"{c.key} {found['api'][c.key]}" for c in cases)
                    print(f"{key} region on {server.host}, search cache {'on' if cache else 'off'}: every URL "
                          f"200; found: {listed}", flush=True)
                    for kind, path in (("page", PAGE), ("api", API)):
                        label = (f"{'search page' if kind == 'page' else 'API'} @{region.tenants} tenants"
                                 + ("" if cache else ", cache off"))
                        scenario = Scenario(f"{kind}_{key}{'' if cache else '_nocache'}", label, region.tenants,
                                            region.locations)
                        scenarios[scenario.key] = measure(scenario, server, [path + c.query() for c in cases],
                                                          args, work)
                    errors = server.tail()
                    if "Traceback" in errors:
                        print(f"gunicorn logged errors:\n{errors}", file=sys.stderr)
        if totals["big"]["api"]["municipality"] != totals["small"]["api"]["municipality"]:
            raise BenchError("the municipality filter found different rows in the two regions")

        table, ratios = report(scenarios, args)
        breakdown_rows: list[dict] = []
        if args.rounds > 0:
            print("in process, unloaded: where the time goes …", flush=True)
            for key in ("small", "big"):
                breakdown_rows += breakdown(facts[key], cases, args.redis_url, args.rounds)
            for row in breakdown_rows:
                row["found"] = totals[row["region"]][row["kind"]][row["search"]]
        profiled = profile_searches(facts["big"], cases, args.redis_url, args.profile) if args.profile else ""

        print()
        print(f"## Search under gunicorn: {args.tenants} vs {args.small_tenants} tenants "
              f"({per_tenant} locations per tenant)\n")
        for region in facts.values():
            print(f"- {region.key}: {region.tenants} tenants, {region.locations} locations, "
                  f"{region.availability} free-place rows (catalog {region.catalog_locations}/"
                  f"{region.catalog_availability}, no drift)")
        print(f"- {mode}; {args.warmup:g} s warm-up + {args.duration:g} s per scenario, "
              f"each load rotating over {len(cases)} searches: " + "; ".join(c.label for c in cases))
        print(f"- machine: {machine()}\n")
        print(table)
        if breakdown_rows:
            print(f"\nIn process, unloaded, search cache off (median of {args.rounds} requests, Flask test client):\n")
            print(breakdown_table(breakdown_rows, cases, facts))
        if profiled:
            print("\n" + profiled)
        print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
        write_json(args.json, {
            "machine": machine(), "mode": mode,
            "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "regions": {k: {n: v for n, v in vars(f).items() if n != "url"} for k, f in facts.items()},
            "searches": [{"key": c.key, "label": c.label, "query": c.query()} for c in cases],
            "found": totals,
            "scenarios": {k: {"label": s.label, "tenants": s.tenants, "locations": s.locations, **s.figures}
                          for k, s in scenarios.items()},
            "ratios": ratios,
            "targets": {"throughput_vs_hello_min": TARGET_THROUGHPUT, "p95_big_vs_small_max": TARGET_P95_RATIO},
            "breakdown": breakdown_rows,
        })
    return 0


if __name__ == "__main__":
    run_main(main, "search.py")
