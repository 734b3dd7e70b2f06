"""Benchmark: the region's pages whose cost follows the number of municipalities (issue #17).

    .venv/bin/python bench/region_pages.py [--tenants 285] [--requests 60] [--warmup 5]
                                           [--database-url URL] [--json out.json]

In a scratch database (dropped at the end, also after an error): ``--tenants`` municipalities
through ``services.create_tenant`` (``_common.build_region``, two postcodes each, no
locations), ANALYZEd, and a regional administrator. Then, in process through the Flask test
client, interleaved (one request of each in turn, so a change of load on the shared machine
falls on all of them alike):

* ``/healthz``: the baseline (touches nothing), every other page is also given as a ratio to it;
* the region's home page ``/``, anonymous and as the administrator (its municipality links go
  through the login hand-over then);
* ``/readyz`` as a load balancer calls it, and on a second app whose tenant-version cache is
  off (``TENANT_VERSIONS_CACHE_SECONDS = 0``: what a call after the cache's window costs;
  code without the cache ignores the setting, so both series are the same there);
* the administrators' health page ``/beheer/regio/gezondheid``.

Each series reports its SQL statements per request (the median; the smallest and largest when
they differ) and p50/p95 in ms. Run it from another checkout to compare code before and after
a change on the same machine, one run after the other.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from _common import (
    REGION,
    BenchError,
    Series,
    StatementCounter,
    analyze,
    build_region,
    cleanup_app,
    login,
    machine,
    make_app,
    make_user,
    run_main,
    table,
    timed,
    with_scratch_app,
    write_json,
)

from regional_loket import jobs  # noqa: E402
from regional_loket.extensions import db  # noqa: E402

BASE = f"http://{REGION}"
HEALTH_PAGE = "/beheer/regio/gezondheid"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=285, help="municipalities (default 285)")
    parser.add_argument("--requests", type=int, default=60, help="timed requests per page (default 60)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed rounds first (default 5)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server for the scratch database (default BENCH_DATABASE_URL, "
                             "else postgresql://postgres@127.0.0.1:5432/postgres)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.tenants < 1 or args.requests < 1:
        parser.error("--tenants ≥ 1, --requests ≥ 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # drop the scratch database on kill too
    return with_scratch_app(args.database_url, run, args, LOG_LEVEL="WARNING")  # no access line per request


def run(app, args) -> int:
    with app.app_context():
        print(f"building {args.tenants} municipalities …", flush=True)
        region = build_region([f"gem{i:04d}" for i in range(args.tenants)], 0, today=date.today())
        administrator = make_user(db.session, name="Beheerder Regio", role="admin").email
        db.session.commit()
        print(f"  built in {region.seconds:.0f} s; ANALYZE {analyze():.1f} s", flush=True)
    uncached = make_app(app.config["DATABASE_URL"], app.config["TENANTS_DIR"], LOG_LEVEL="WARNING",
                        TENANT_VERSIONS_CACHE_SECONDS=0)
    try:
        return measure(app, uncached, administrator, args)
    finally:
        cleanup_app(uncached)


def measure(app, uncached, administrator: str, args) -> int:
    for each in (app, uncached):
        jobs.record_heartbeat(each)  # as a running scheduler leaves it: /readyz answers 200
    anonymous, admin, probe, probe_uncached = (app.test_client(), app.test_client(), app.test_client(),
                                               uncached.test_client())
    login(admin, administrator)
    pages = [
        ("healthz", "/healthz (baseline)", app, lambda: anonymous.get("/healthz", base_url=BASE), None),
        ("home", "region home, anonymous", app, lambda: anonymous.get("/", base_url=BASE), "rl-card__meta"),
        ("home-admin", "region home, administrator", app, lambda: admin.get("/", base_url=BASE), "rl-card__meta"),
        ("readyz", "/readyz", app, lambda: probe.get("/readyz", base_url=BASE), None),
        ("readyz-scan", "/readyz, tenant-version cache off", uncached,
         lambda: probe_uncached.get("/readyz", base_url=BASE), None),
        ("health", "health page, administrator", app, lambda: admin.get(HEALTH_PAGE, base_url=BASE), "data-schema"),
    ]
    series = {key: Series(key, label) for key, label, *_ in pages}
    statements: dict[str, list[int]] = {key: [] for key, *_ in pages}
    counters = {id(a): StatementCounter(sa_engine(a)) for a in (app, uncached)}
    before = machine()
    for round_ in range(args.warmup + args.requests):
        for key, _label, owner, call, marker in pages:
            counter = counters[id(owner)]
            with counter:
                seconds, response = timed(call)
            if response.status_code != 200:
                raise BenchError(f"{key} answered {response.status_code}")
            if marker and response.get_data(as_text=True).count(marker) < args.tenants:
                raise BenchError(f"{key} does not list every municipality ({marker!r})")
            if round_ >= args.warmup:
                series[key].samples.append(seconds)
                statements[key].append(counter.count)
    after = machine()
    ratios = {key: "healthz" for key in series if key != "healthz"}
    print(f"\n{args.tenants} municipalities, {args.requests} requests per page; load {before['loadavg']} → "
          f"{after['loadavg']}\n")
    print(table(list(series.values()), ratios))
    print("\n| measurement | SQL statements per request (median; min–max) |\n|---|---|")
    for key, counts in statements.items():
        low, high = min(counts), max(counts)
        spread = f" ({low}–{high})" if low != high else ""
        print(f"| {series[key].label} | {statistics.median(counts):g}{spread} |")
    write_json(args.json, {"tenants": args.tenants, "machine": {"before": before, "after": after},
                           "series": {k: s.summary() for k, s in series.items()},
                           "statements": {k: {"median": statistics.median(v), "min": min(v), "max": max(v)}
                                          for k, v in statements.items()}})
    return 0


def sa_engine(app) -> sa.Engine:
    with app.app_context():
        return db.engine


if __name__ == "__main__":
    run_main(main, "region_pages")
