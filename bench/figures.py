"""Benchmark: the figures dashboards (issue #15) of a region at Flanders scale.

    .venv/bin/python bench/figures.py [--tenants 285] [--locations 6000] [--applications 100000]
                                      [--families 60000] [--days 60] [--requests 150] [--warmup 10]
                                      [--export-every 10] [--database-url URL] [--profile K]
                                      [--json out.json]

Target: p95 ≤ 150 ms for the desk's dashboard (``/beheer/cijfers`` on the municipal host, as
its coordinator) and for the region's (``/beheer/regio/cijfers`` on the region host, as an
administrator); the municipal home page ``/`` (same host, same client) is the baseline.

In a scratch database (``rl_bench_<random>`` on ``--database-url``, else ``BENCH_DATABASE_URL``,
else postgresql://postgres@127.0.0.1:5432/postgres; dropped at the end, also after an error):

* ``--tenants`` municipalities through ``services.create_tenant`` (``_common.build_region``),
  sized as Flemish municipalities are (weight 1/rank^0.8: the largest holds ~9 % of the region,
  as Antwerp does), with ``--locations`` demo locations shared out by that weight (at least 3
  each) through the ORM, so the catalog is filled the normal way;
* a coordinator of the largest municipality and a regional administrator.

The dashboards read only ``shared.statistics_applications`` (one anonymous record per
application) and ``shared.statistics_daily`` (the snapshot per day, location, month and age
group) — plus the location names and the municipality names. So those two tables are bulk
loaded (COPY, and INSERT … SELECT generate_series), which is exactly what the dashboards would
see after the nightly snapshot of such a region, instead of pushing 100,000 applications
through the application lifecycle:

* ``--families`` requests (one per family) with ``--applications`` applications in all: 1–5
  choices (mostly one), mostly in the home municipality, else its neighbours or elsewhere; the
  home municipality outside the region (NULL) for 5 %; submitted over ``--months`` months
  (slowly growing); wanted start 1–12 months later; per age group locations that take it;
  outcomes by age of the request (recent ones open, older ones mostly placed, some withdrawn or
  inactive), the application statuses following (one accepted per placed request, waiting,
  offered, rejected, withdrawn), days to a first answer log-normal (median ~6, long tail),
  ~20 % vulnerable, old closed requests partly erased;
* ``--days`` days of ``statistics_daily`` for every location × 18 months × its age groups
  (~11.7 M rows at full scale; keys dropped while loading and rebuilt after).

Then ``VACUUM (ANALYZE)`` as autovacuum would leave it. Measured through the Flask test client
(in process, as ``bench/ranked_list.py``), interleaved, every request with other inputs than the
one before (the period ``van``/``tot``, the age group and the desk's location filter rotate over
realistic values; these pages have no cache): the desk's dashboard, the region's dashboard, the
municipal home page, and every ``--export-every`` rounds the yearly report
(``/beheer/cijfers/jaarrapport.xlsx``) of the largest municipality, this year and last in turn.
Afterwards each page once more with its SQL statements timed (the slowest listed), and with
``--profile K`` cProfile over K more of each dashboard.
"""

from __future__ import annotations

import argparse
import gc
import io
import math
import random
import re
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import sqlalchemy as sa
from _common import (
    REGION,
    BenchError,
    GcMeter,
    Series,
    SqlMeter,
    StatementCounter,
    build_region,
    copy_rows,
    login,
    machine,
    make_user,
    profile,
    ratio_figures,
    run_main,
    table,
    timed,
    with_scratch_app,
    write_json,
)
from sqlalchemy.dialects import postgresql

from regional_loket.catalog.models import CatalogLocation
from regional_loket.extensions import db
from regional_loket.months import add_months, month_start, months_between
from regional_loket.statistics import DailyFigure, monthly
from regional_loket.tenancy.models import Tenant
from regional_loket.vocabulary import age_groups_of_kind

TARGET_MS = 150.0
TODAY = date.today()
THIS_MONTH = month_start(TODAY)
SIZE_EXPONENT = 0.8  # municipality weight 1/rank^0.8: the largest ~9 % of the region
MIN_LOCATIONS = 3
OUTSIDE_REGION = 0.05  # families living outside the region (home municipality NULL)
CHOICE_WEIGHTS = (64, 18, 9, 5, 4)  # 1–5 choices per request: ~1.67 on average
GROUP_WEIGHTS = {"baby": 50, "toddler": 30, "school": 20}
START_AHEAD = (list(range(1, 13)), [3, 6, 10, 12, 12, 10, 8, 6, 5, 4, 3, 3])  # months after submitting
VULNERABLE = 0.20
WAITING_WEIGHTS = {"submitted": 30, "in_review": 10, "waitlisted": 45, "offered": 10, "rejected": 5}
ANSWERED = {"waitlisted", "offered", "accepted", "rejected", "declined", "expired"}
RECORD_COLUMNS = ("application_id", "request_id", "tenant_id", "location_id", "home_tenant_id", "rank", "age_group",
                  "start_month", "submitted_month", "status", "request_status", "closed_month",
                  "first_answer_days", "placed_days", "vulnerable", "erased", "recorded_on", "request_month",
                  "request_offered")


def slug(index: int) -> str:
    return f"gemeente-{index + 1:03d}"


def municipality_name(index: int) -> str:
    return f"Gemeente {index + 1:03d}"


def weights(tenants: int) -> list[float]:
    return [1 / (i + 1) ** SIZE_EXPONENT for i in range(tenants)]


def location_counts(tenants: int, locations: int) -> list[int]:
    """``locations`` shared out by weight (largest remainder), at least MIN_LOCATIONS each."""
    w = weights(tenants)
    spare = max(0, locations - MIN_LOCATIONS * tenants)
    exact = [spare * x / sum(w) for x in w]
    counts = [int(x) for x in exact]
    for i in sorted(range(tenants), key=lambda i: exact[i] - counts[i], reverse=True)[:spare - sum(counts)]:
        counts[i] += 1
    return [MIN_LOCATIONS + c for c in counts]


# --- the anonymous records ----------------------------------------------------------------------


@dataclass
class Municipality:
    index: int
    id: uuid.UUID
    by_group: dict[str, list[uuid.UUID]] = field(default_factory=dict)


def municipalities_of(tenants: dict[str, Tenant], count: int) -> list[Municipality]:
    """The built municipalities (by slug, in order of size) with their locations by age group."""
    municipalities = [Municipality(i, tenants[slug(i)].id) for i in range(count)]
    by_id = {m.id: m for m in municipalities}
    for tenant_id, location_id, kind in db.session.execute(
            sa.select(CatalogLocation.tenant_id, CatalogLocation.location_id, CatalogLocation.kind)
            .order_by(CatalogLocation.location_id)):
        for group in age_groups_of_kind(kind):
            by_id[tenant_id].by_group.setdefault(str(group), []).append(location_id)
    return municipalities


def request_outcome(rng: random.Random, age: int) -> str:
    """Recent requests are mostly open, older ones mostly closed (placed above all)."""
    if age <= 2:
        table_ = {"open": 75, "placed": 15, "withdrawn": 7, "inactive": 3}
    elif age <= 6:
        table_ = {"open": 40, "placed": 40, "withdrawn": 12, "inactive": 8}
    else:
        table_ = {"open": 12, "placed": 58, "withdrawn": 18, "inactive": 12}
    return rng.choices(list(table_), weights=list(table_.values()))[0]


def choice_counts(rng: random.Random, families: int, applications: int) -> list[int]:
    """1–5 choices per request, adjusted so they add up to ``applications`` exactly."""
    counts = rng.choices(range(1, 6), weights=CHOICE_WEIGHTS, k=families)
    total = sum(counts)
    while total != applications:
        i = rng.randrange(families)
        if total > applications and counts[i] > 1:
            counts[i] -= 1
            total -= 1
        elif total < applications and counts[i] < 5:
            counts[i] += 1
            total += 1
    return counts


def records(rng: random.Random, municipalities: list[Municipality], families: int, applications: int, months: int
            ) -> list[tuple]:
    """One row per application (RECORD_COLUMNS), one request per family."""
    w = weights(len(municipalities))
    first_month = add_months(THIS_MONTH, -(months - 1))
    month_weights = [1 + m / (2 * months) for m in range(months)]  # demand grows slowly
    rows = []
    for count in choice_counts(rng, families, applications):
        home = rng.choices(municipalities, weights=w)[0]
        home_id = None if rng.random() < OUTSIDE_REGION else home.id
        group = rng.choices(list(GROUP_WEIGHTS), weights=list(GROUP_WEIGHTS.values()))[0]
        submitted = add_months(first_month, rng.choices(range(months), weights=month_weights)[0])
        age = months_between(submitted, THIS_MONTH)
        start = add_months(submitted, rng.choices(*START_AHEAD)[0])
        outcome = request_outcome(rng, age)
        closed = None if outcome == "open" else add_months(submitted, rng.randint(0, min(age, 8)))
        vulnerable = rng.random() < VULNERABLE
        erased = closed is not None and months_between(closed, THIS_MONTH) > 12 and rng.random() < 0.4
        chosen: list[tuple[Municipality, uuid.UUID]] = []
        for rank in range(count):
            roll = rng.random()
            if rank == 0 and roll < 0.85 or rank > 0 and roll < 0.5:
                where = home
            elif roll < (0.97 if rank == 0 else 0.85):  # a neighbour
                where = municipalities[min(len(municipalities) - 1, max(0, home.index + rng.choice((-2, -1, 1, 2))))]
            else:
                where = rng.choices(municipalities, weights=w)[0]
            taken = {loc for _, loc in chosen}
            options = [loc for loc in where.by_group.get(group, ()) if loc not in taken]
            while not options:  # no such location there (or all chosen): somewhere that has one
                where = rng.choices(municipalities, weights=w)[0]
                options = [loc for loc in where.by_group.get(group, ()) if loc not in taken]
            chosen.append((where, rng.choice(options)))
        accepted_rank = (0 if rng.random() < 0.6 else rng.randrange(count)) if outcome == "placed" else None
        request_id = uuid.uuid4()
        first = len(rows)
        for rank, (where, location_id) in enumerate(chosen):
            if outcome == "placed":
                status = "accepted" if rank == accepted_rank else rng.choices(["withdrawn", "rejected", "declined"],
                                                                             weights=[70, 20, 10])[0]
            elif outcome == "withdrawn":
                status = "withdrawn"
            elif outcome == "inactive":
                status = rng.choice(["submitted", "waitlisted", "expired"])
            else:
                status = rng.choices(list(WAITING_WEIGHTS), weights=list(WAITING_WEIGHTS.values()))[0]
            first_answer = None
            if status in ANSWERED or status == "withdrawn" and rng.random() < 0.5:
                first_answer = min(int(rng.lognormvariate(math.log(6), 0.9)), max(age * 30, 1))
            placed = first_answer + rng.randint(0, 90) if status == "accepted" else None
            rows.append((uuid.uuid4(), request_id, where.id, location_id, home_id, rank + 1, group, start, submitted,
                         status, outcome, closed, first_answer, placed, vulnerable, erased, TODAY))
        # the request's facts on each of its records, as the snapshot writes them
        offered = any(row[9] in ("offered", "accepted") for row in rows[first:])
        rows[first:] = [(*row, submitted, offered) for row in rows[first:]]
    return rows


def load_records(rows: list[tuple]) -> float:
    """COPY, one municipality after another: the nightly snapshot writes (and rewrites) each
    municipality's records in one job, so they lie together on the table's pages."""
    rows = sorted(rows, key=lambda row: row[RECORD_COLUMNS.index("tenant_id")].int)
    started = time.perf_counter()
    copy_rows("shared.statistics_applications", RECORD_COLUMNS, rows)
    return time.perf_counter() - started


# Every location × its age groups × 18 months from the day's month × ``days`` days; random
# counts shaped as the snapshot writes them (of the waiting: some from elsewhere, some
# vulnerable). The keys are dropped while loading and built again after (one sort, not
# 12 M index insertions and foreign-key checks).
DAILY = """
INSERT INTO shared.statistics_daily (day, tenant_id, location_id, month, age_group, waiting, offered, accepted,
                                     free_places, waiting_from_elsewhere, waiting_vulnerable)
SELECT day, tenant_id, location_id, month, age_group, waiting, offered, accepted, free_places,
       floor(waiting * random() * 0.5)::int, floor(waiting * random() * 0.4)::int
FROM (
    SELECT d.day::date AS day, c.tenant_id, c.location_id,
           (date_trunc('month', d.day) + make_interval(months => m.n))::date AS month, g.age_group,
           floor(random() * random() * 12)::int AS waiting, floor(random() * random() * 3)::int AS offered,
           floor(random() * random() * 4)::int AS accepted, floor(random() * random() * 5)::int AS free_places
    FROM shared.catalog_locations AS c
    CROSS JOIN LATERAL unnest(CASE WHEN c.kind = 'out_of_school' THEN ARRAY['school'] ELSE ARRAY['baby', 'toddler']
                              END) AS g(age_group)
    CROSS JOIN generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') AS d(day)
    CROSS JOIN generate_series(0, 17) AS m(n)
) AS rows
"""
DAILY_KEYS_OFF = [
    "ALTER TABLE shared.statistics_daily DROP CONSTRAINT pk_statistics_daily",
    "ALTER TABLE shared.statistics_daily DROP CONSTRAINT fk_statistics_daily_tenant_id_tenants",
    "DROP INDEX shared.ix_statistics_daily_tenant_id_day",
]
DAILY_KEYS_ON = [
    "ALTER TABLE shared.statistics_daily ADD CONSTRAINT pk_statistics_daily "
    "PRIMARY KEY (day, tenant_id, location_id, month, age_group)",
    "ALTER TABLE shared.statistics_daily ADD CONSTRAINT fk_statistics_daily_tenant_id_tenants "
    "FOREIGN KEY (tenant_id) REFERENCES shared.tenants (id) ON DELETE CASCADE",
    # the model's own definition (a covering index the desk reads alone)
    str(sa.schema.CreateIndex(next(i for i in DailyFigure.__table__.indexes if i.name == "ix_statistics_daily_tenant_id_day"))
        .compile(dialect=postgresql.dialect())),
]


def load_daily(days: int) -> tuple[int, float]:
    started = time.perf_counter()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        for statement in DAILY_KEYS_OFF:
            connection.exec_driver_sql(statement)
        inserted = connection.execute(sa.text(DAILY), {"first": TODAY.fromordinal(TODAY.toordinal() - days + 1),
                                                       "last": TODAY}).rowcount
        for statement in DAILY_KEYS_ON:
            connection.exec_driver_sql(statement)
    return inserted, time.perf_counter() - started


def build_monthly() -> None:
    """What the statistics-monthly job does after the night's snapshots: the loading wrote
    records (without the services that mark them changed), so the region's monthly figures are
    built from them now, not by the first dashboard measured."""
    started = time.perf_counter()
    monthly.records_changed(db.session)
    monthly.ensure_fresh(db.session)
    db.session.commit()
    rows = db.session.scalar(sa.text("SELECT count(*) FROM shared.statistics_monthly"))
    print(f"  statistics_monthly: {rows} rows built from the records in {time.perf_counter() - started:.1f} s",
          flush=True)


def vacuum_analyze() -> float:
    started = time.perf_counter()
    engine = sa.create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE)")
    engine.dispose()
    return time.perf_counter() - started


# --- the requests -------------------------------------------------------------------------------


def periods() -> list[tuple[str, str]]:
    """What a desk looks at: the last month, quarter, half year, year or two, ending this month
    or up to a year back, and the calendar years."""
    found = []
    for back in range(12):
        until = add_months(THIS_MONTH, -back)
        for length in (1, 3, 6, 12, 24):
            found.append((add_months(until, -(length - 1)), until))
    for year in (TODAY.year - 1, TODAY.year):
        found.append((date(year, 1, 1), min(date(year, 12, 1), THIS_MONTH)))
    return [(a.strftime("%Y-%m"), b.strftime("%Y-%m")) for a, b in found]


def variants(rng: random.Random, count: int, locations: list[uuid.UUID] | None) -> list[str]:
    """``count`` query strings, no two consecutive ones alike: a period, an age group now and
    then, and (desk) one of its locations now and then; sometimes no filter at all (the page
    as first opened)."""
    spans = periods()
    out: list[str] = []
    while len(out) < count:
        if rng.random() < 0.05:
            query = ""
        else:
            van, tot = rng.choice(spans)
            args = {"van": van, "tot": tot}
            if rng.random() < 0.5:
                args["leeftijd"] = rng.choice(list(GROUP_WEIGHTS))
            if locations and rng.random() < 0.4:
                args["locatie"] = str(rng.choice(locations))
            query = "?" + urlencode(args)
        if not out or out[-1] != query:
            out.append(query)
    return out


def desk_client(app, email: str, tenant_slug: str):
    """Logged in on the region host and taken to the municipality's host through every hop of
    the hand-over, as a browser follows them (tests' ``hand_over``)."""
    host = f"http://{tenant_slug}.{REGION}"
    client = app.test_client()
    login(client, email)
    url = f"http://{REGION}/sessie/naar?" + urlencode({"to": f"{host}/beheer/cijfers"})
    for _ in range(10):
        parts = urlsplit(url)
        response = client.get(parts.path, query_string=parts.query, base_url=f"{parts.scheme}://{parts.netloc}")
        if response.status_code not in (301, 302, 303, 307, 308):
            break
        url = urljoin(url, response.headers["Location"])
    if url != f"{host}/beheer/cijfers" or response.status_code != 200:
        raise BenchError(f"the hand-over to {host} ended at {url} with {response.status_code}")
    return client, host


def get(client, host: str, path: str, kind: str = "text/html"):
    seconds, response = timed(lambda: client.get(path, base_url=host))
    if response.status_code != 200 or not response.content_type.startswith(kind):
        raise BenchError(f"GET {path} on {host} answered {response.status_code} {response.content_type} "
                         f"{response.headers.get('Location', '')}")
    return seconds, response


HEADLINE = re.compile(r'rl-headline-number">([\d.\u202f\xa0 ]+)</strong>')


def check_pages(desk, desk_host: str, region, admin_names: int, waiting: int, year: int) -> None:
    """The pages show what was loaded: the desk's headline number, every municipality on the
    region's page, a yearly report with its sheets."""
    html = get(desk, desk_host, "/beheer/cijfers")[1].get_data(as_text=True)
    found = HEADLINE.search(html)
    shown = int(re.sub(r"\D", "", found.group(1))) if found else None
    if shown != waiting:
        raise BenchError(f"the desk's headline shows {shown} families waiting without an offer, counted {waiting}")
    html = get(region, f"http://{REGION}", "/beheer/regio/cijfers")[1].get_data(as_text=True)
    missing = [n for n in (municipality_name(0), municipality_name(admin_names - 1)) if n not in html]
    if missing or 'id="chart-matrix"' not in html:
        raise BenchError(f"the region's page misses {missing or 'the matrix'}")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(get(desk, desk_host, f"/beheer/cijfers/jaarrapport.xlsx?jaar={year}",
                                        "application/vnd.openxmlformats")[1].data), read_only=True)
    if len(book.worksheets) < 7 or book.worksheets[2].max_row < 2:
        raise BenchError(f"the yearly report has {len(book.worksheets)} sheets")


def waiting_without_offer(tenant_id: uuid.UUID) -> int:
    """The desk's headline, counted straight from the loaded records."""
    return db.session.scalar(sa.text("""
        SELECT count(DISTINCT r.request_id) FROM shared.statistics_applications AS r
        WHERE r.tenant_id = :t AND r.request_status = 'open' AND NOT EXISTS (
            SELECT 1 FROM shared.statistics_applications AS o
            WHERE o.request_id = r.request_id AND o.status IN ('offered', 'accepted'))"""), {"t": tenant_id})


def slowest(meter: SqlMeter, top: int = 6) -> list[str]:
    ranked = sorted(meter.statements, key=lambda s: s[0], reverse=True)[:top]
    return [f"  {seconds * 1000:7.2f} ms  {' '.join(statement.split())[:160]}" for seconds, statement, _ in ranked]


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=285, help="municipalities (default 285)")
    parser.add_argument("--locations", type=int, default=6000, help="locations in all (default 6000)")
    parser.add_argument("--applications", type=int, default=100_000, help="applications (default 100000)")
    parser.add_argument("--families", type=int, default=60_000, help="families, one request each (default 60000)")
    parser.add_argument("--months", type=int, default=24, help="months the requests were submitted over (default 24)")
    parser.add_argument("--days", type=int, default=60, help="days of daily snapshots (default 60)")
    parser.add_argument("--requests", type=int, default=150, help="timed requests per page (default 150)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed rounds first (default 10)")
    parser.add_argument("--export-every", type=int, default=10,
                        help="time the yearly report every Nth round (default 10)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server for the scratch database (default BENCH_DATABASE_URL, "
                             "else postgresql://postgres@127.0.0.1:5432/postgres)")
    parser.add_argument("--profile", type=int, default=0, metavar="K",
                        help="afterwards, cProfile K more requests of each dashboard")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if not (args.tenants >= 3 and args.families >= 1 and args.families <= args.applications <= 5 * args.families
            and args.requests >= 1 and args.locations >= args.tenants):
        parser.error("--tenants ≥ 3, --families ≤ --applications ≤ 5 × --families, --requests ≥ 1, "
                     "--locations ≥ --tenants")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # drop the scratch database on kill too
    return with_scratch_app(args.database_url, run, args)


def run(app, args) -> int:
    rng = random.Random(args.seed)
    before = machine()
    started = time.perf_counter()
    counts = location_counts(args.tenants, args.locations)
    with app.app_context():
        print(f"building {args.tenants} municipalities with {sum(counts)} locations ({counts[0]} in the largest) …",
              flush=True)
        region = build_region([slug(i) for i in range(args.tenants)], lambda i: counts[i], today=TODAY,
                              names=municipality_name)
        tenants = {t.slug: t for t in db.session.scalars(sa.select(Tenant))}
        largest = tenants[slug(0)]
        largest_id, largest_slug = largest.id, largest.slug
        coordinator = make_user(db.session, name="Coördinator Cijfers", role="coordinator", tenant=largest).email
        administrator = make_user(db.session, name="Beheerder Regio", role="admin").email
        db.session.commit()
        municipalities = municipalities_of(tenants, args.tenants)
        desk_locations = sorted({loc for locs in municipalities[0].by_group.values() for loc in locs})
        db.session.commit()  # no lock left on shared.tenants: loading drops and adds keys that reference it
        print(f"  {len(tenants)} municipalities, {region.locations} locations, {region.availability} free-place rows "
              f"in {region.seconds:.0f} s", flush=True)

        generated = time.perf_counter()
        rows = records(rng, municipalities, args.families, args.applications, args.months)
        generated = time.perf_counter() - generated
        copied = load_records(rows)
        daily_rows, daily_seconds = load_daily(args.days)
        print(f"  statistics_applications: {len(rows)} records ({args.families} requests) generated in "
              f"{generated:.1f} s, COPY {copied:.1f} s; statistics_daily: {daily_rows} rows in {daily_seconds:.0f} s",
              flush=True)
        vacuumed = vacuum_analyze()
        build_monthly()
        vacuumed += vacuum_analyze()
        facts = dict(db.session.execute(sa.text("""
            SELECT 'largest_applications', count(*) FROM shared.statistics_applications WHERE tenant_id = :t
            UNION ALL SELECT 'largest_requests', count(DISTINCT request_id) FROM shared.statistics_applications
                      WHERE tenant_id = :t
            UNION ALL SELECT 'cross_border', count(*) FROM shared.statistics_applications
                      WHERE home_tenant_id IS DISTINCT FROM tenant_id
            UNION ALL SELECT 'home_null', count(*) FROM shared.statistics_applications WHERE home_tenant_id IS NULL
            UNION ALL SELECT 'vulnerable', count(*) FROM shared.statistics_applications WHERE vulnerable
            UNION ALL SELECT 'daily_largest_latest', count(*) FROM shared.statistics_daily
                      WHERE tenant_id = :t AND day = :d"""), {"t": largest_id, "d": TODAY}).all())
        statuses = dict(db.session.execute(sa.text(
            "SELECT status, count(*) FROM shared.statistics_applications GROUP BY status ORDER BY 2 DESC")).all())
        waiting = waiting_without_offer(largest_id)
        db.session.remove()
    del rows
    built = time.perf_counter() - started
    print(f"  VACUUM (ANALYZE) {vacuumed:.0f} s; built in {built:.0f} s", flush=True)
    print(f"  largest municipality {largest_slug}: {len(desk_locations)} locations, {facts['largest_applications']} "
          f"applications of {facts['largest_requests']} requests, {waiting} families waiting without an offer",
          flush=True)

    desk, desk_host = desk_client(app, coordinator, largest_slug)
    region_client, region_host = app.test_client(), f"http://{REGION}"
    login(region_client, administrator)
    years = [TODAY.year, TODAY.year - 1]
    check_pages(desk, desk_host, region_client, args.tenants, waiting, years[0])

    rounds = args.warmup + args.requests
    desk_queries = variants(rng, rounds, desk_locations)
    region_queries = variants(rng, rounds, None)
    page_desk = Series("desk", f"desk dashboard /beheer/cijfers ({largest_slug}, coordinator)", target_ms=TARGET_MS)
    page_region = Series("region", "region dashboard /beheer/regio/cijfers (administrator)", target_ms=TARGET_MS)
    home_page = Series("home", "municipal home page / (same host, baseline)")
    report = Series("report", f"yearly report jaarrapport.xlsx ({largest_slug}, every {args.export_every}th round)")

    def round_(i: int, record: bool) -> None:
        figures = [(page_desk, get(desk, desk_host, "/beheer/cijfers" + desk_queries[i])[0]),
                   (home_page, get(desk, desk_host, "/")[0]),
                   (page_region, get(region_client, region_host, "/beheer/regio/cijfers" + region_queries[i])[0])]
        if i % args.export_every == 0:
            figures.append((report, get(desk, desk_host, f"/beheer/cijfers/jaarrapport.xlsx?jaar={years[i % 2]}",
                                        "application/vnd.openxmlformats")[0]))
        if record:
            for series, seconds in figures:
                series.samples.append(seconds)

    gc.collect()
    gc.freeze()  # as regional_loket/wsgi.py does at a worker's start: the built region is out of the collector's reach
    print(f"warm-up: {args.warmup} rounds; measuring: {args.requests} rounds", flush=True)
    for i in range(args.warmup):
        round_(i, False)
    measure_started = time.perf_counter()
    with GcMeter() as gc_meter:
        for i in range(args.warmup, rounds):
            round_(i, True)
    elapsed = time.perf_counter() - measure_started

    with app.app_context():
        engine = db.engine
    counter = StatementCounter(engine)
    pages = {"desk": (desk, desk_host, "/beheer/cijfers"), "region": (region_client, region_host, "/beheer/regio/cijfers"),
             "home": (desk, desk_host, "/"),
             "report": (desk, desk_host, f"/beheer/cijfers/jaarrapport.xlsx?jaar={years[0]}")}
    statements, sizes, sql = {}, {}, {}
    for key, (client, host, path) in pages.items():
        with counter:
            response = client.get(path, base_url=host)
        statements[key], sizes[key] = counter.count, len(response.get_data())
        with SqlMeter(engine) as meter:
            client.get(path, base_url=host)
        sql[key] = (meter.seconds, slowest(meter))

    series = [page_desk, page_region, home_page, report]
    ratios = {"desk": "home", "region": "home", "report": "home"}
    after = machine()
    print()
    print(f"## figures: {args.tenants} municipalities, {region.locations} locations, {args.applications} applications "
          f"of {args.families} requests over {args.months} months, {daily_rows} daily rows ({args.days} days)")
    print()
    print(table(series, ratios))
    print()
    print(f"ratio = p95 of the row / p95 of the home page. Every dashboard request had other inputs than the one before "
          f"({len(set(desk_queries))} distinct desk queries, {len(set(region_queries))} region queries over "
          f"{rounds} rounds). SQL statements per page: desk {statements['desk']}, region {statements['region']}, "
          f"home {statements['home']}, yearly report {statements['report']}; bodies {sizes['desk'] // 1024} KiB, "
          f"{sizes['region'] // 1024} KiB, {sizes['home'] // 1024} KiB, {sizes['report'] // 1024} KiB. "
          f"Measuring took {elapsed:.0f} s; load average {before['loadavg']} before building, {after['loadavg']} "
          f"after; {after['cpus']} CPUs.")
    print(gc_meter.text())
    print(f"Loaded: statuses {statuses}; {facts['cross_border']} applications across a border "
          f"({facts['home_null']} from outside the region), {facts['vulnerable']} vulnerable; "
          f"{facts['daily_largest_latest']} daily rows of {largest_slug} on the latest day.")
    for key, (seconds, lines) in sql.items():
        print(f"\nSQL of {pages[key][2]} (default filters), {seconds * 1000:.1f} ms in all, slowest:")
        print("\n".join(lines))
    profiles = {}
    if args.profile:
        profiles["desk"] = profile(lambda: desk.get("/beheer/cijfers", base_url=desk_host), args.profile)
        profiles["region"] = profile(lambda: region_client.get("/beheer/regio/cijfers", base_url=region_host),
                                     args.profile)
        for name, text in profiles.items():
            print(f"\n### cProfile, {args.profile} × {name} dashboard\n")
            print(text)
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s (building {built:.0f} s)")
    write_json(args.json, {
        "benchmark": "figures", "tenants": args.tenants, "locations": region.locations,
        "desk_locations": len(desk_locations), "applications": args.applications, "families": args.families,
        "daily_rows": daily_rows, "facts": facts, "statuses": statuses, "waiting_without_offer": waiting,
        "requests": args.requests, "warmup": args.warmup, "statements": statements, "bytes": sizes,
        "sql_ms": {k: round(v[0] * 1000, 2) for k, v in sql.items()},
        "series": {s.key: s.summary() for s in series}, "ratios_p95": ratio_figures(series, ratios),
        "gc": gc_meter.summary(), "build_seconds": round(built, 1), "machine_before": before, "machine_after": after,
        "profiles": profiles,
    })
    return 0


if __name__ == "__main__":
    run_main(main, "figures.py")
