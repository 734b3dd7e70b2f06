"""Benchmark: submitting a request with five choices in five municipalities, at Flanders scale.

    .venv/bin/python bench/submit.py [--samples 300] [--tenants 285] [--locations 21]
                                     [--warmup 20] [--database-url URL] [--profile K]
                                     [--json out.json]

Target: p95 ≤ 60 ms server time for the submit of a request with 5 choices in 5 tenants.

In a scratch database (``rl_bench_<random>`` on ``--database-url``, else ``BENCH_DATABASE_URL``,
else postgresql://postgres@127.0.0.1:5432/postgres; dropped at the end, also after an error) it
builds N tenants with ``services.create_tenant`` (285: the Flemish municipalities), each with
``--locations`` demo locations (``catalog.demo.build_locations``: ~6,000 catalog rows and their
free places), ANALYZEs, and then measures, interleaved so load on the machine hits all alike:

* services: ``requests.services.submit`` + ``db.session.commit()`` for a fresh family, child and
  draft with 5 choices in 5 different tenants (setup untimed; the draft is reloaded in a fresh
  session first, as the view does) — and the same with 1 choice (single-tenant baseline);
* HTTP: the whole ``POST /aanvragen/<id>/nazicht`` through the Flask test client, logged in as
  that parent (session load/save, policy, view, submit, commit, enqueue) — 5 choices and
  1 choice — and ``GET /branding.css`` on the region host in the same client (trivial request).

Every submit is checked (status, one application per choice in the right schema), and at the
end the applications over all tenant schemas are counted against the choices.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from _common import (
    REGION,
    BenchError,
    GcMeter,
    Series,
    StatementCounter,
    analyze,
    build_region,
    count_applications,
    login,
    machine,
    make_user,
    national_number,
    profile,
    ratio_figures,
    run_main,
    schemas_of,
    table,
    timed,
    with_scratch_app,
    write_json,
)

from regional_loket.applications import Status
from regional_loket.care_requests import services
from regional_loket.care_requests.models import CareRequest, Choice, RequestStatus
from regional_loket.catalog.models import CatalogLocation
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.families.models import Child, Family
from regional_loket.months import add_months, month_start
from regional_loket.tenancy.models import Postcode, Tenant
from tests.factories import make_child, make_family, make_request

TARGET_MS = 60.0
TODAY = date.today()
START = add_months(month_start(TODAY), 3)
BORN = add_months(month_start(TODAY), -6).replace(day=10)  # ~9 months at the start: a baby
PLAN = {"1": "full", "2": "full", "3": "half", "4": "none", "5": "full"}
FIRST = ["Lien", "Noor", "Finn", "Mila", "Lars", "Fien", "Adam", "Nora", "Vic", "Yasmine", "Jules", "Ella"]
LAST = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "El Idrissi"]


@dataclass
class World:
    choosable: dict[uuid.UUID, list[uuid.UUID]]  # tenant id → locations a baby can choose online
    postcodes: list[tuple[str, str]]
    pepper: str


@dataclass
class Draft:
    user_id: uuid.UUID
    email: str
    request_id: uuid.UUID
    family_id: uuid.UUID
    child_id: uuid.UUID
    location_ids: list[uuid.UUID]


def survey(app) -> World:
    with app.app_context():
        rows = db.session.execute(
            sa.select(CatalogLocation.tenant_id, CatalogLocation.location_id).join(
                Tenant, Tenant.id == CatalogLocation.tenant_id).where(
                CatalogLocation.active.is_(True), CatalogLocation.accepts_online.is_(True),
                CatalogLocation.kind != "out_of_school", CatalogLocation.min_age_months <= 9,
                CatalogLocation.max_age_months >= 9).order_by(CatalogLocation.location_id)).all()
        choosable: dict[uuid.UUID, list[uuid.UUID]] = {}
        for tenant_id, location_id in rows:
            choosable.setdefault(tenant_id, []).append(location_id)
        postcodes = [tuple(r) for r in db.session.execute(sa.select(Postcode.code, Postcode.locality))]
        return World(choosable, postcodes, app.config["SECRET_KEY"])


def prepare(app, world: World, rng: random.Random, choices: int) -> Draft:
    """A new parent account, family, child and draft request with ``choices`` locations in as
    many different municipalities (untimed setup, committed)."""
    tenants = rng.sample(sorted(world.choosable), choices)
    location_ids = [rng.choice(world.choosable[t]) for t in tenants]
    with app.app_context():
        first, last = rng.choice(FIRST), rng.choice(LAST)
        user = make_user(db.session, name=f"Ouder {last}")  # one shared hash: cheap to build
        code, locality = rng.choice(world.postcodes)
        _user, family = make_family(db.session, user=user, street="Kerkstraat", number=str(rng.randint(1, 180)),
                                    postcode=code, locality=locality, phone=f"+32 470 {rng.randint(100000, 999999)}",
                                    needs_care_for_work=rng.random() < 0.8, single_parent=rng.random() < 0.15,
                                    low_income=rng.random() < 0.2)
        child = make_child(db.session, family, first_name=first, last_name=last, birth_date=BORN,
                           national_number=national_number(rng), pepper=world.pepper, today=TODAY)
        care = make_request(db.session, family, child, locations=location_ids, submit=False, start_date=START,
                            flexibility_weeks=rng.choice([0, 2, 4]), care_plan=PLAN, actor_id=user.id,
                            today=TODAY)
        db.session.commit()
        return Draft(user.id, user.email, care.id, family.id, child.id, location_ids)


def check_submitted(app, draft: Draft) -> None:
    with app.app_context():
        care = db.session.get(CareRequest, draft.request_id)
        choices = db.session.scalars(sa.select(Choice).where(Choice.request_id == draft.request_id)).all()
        if care.status != RequestStatus.OPEN or len(choices) != len(draft.location_ids) or any(
                c.application_id is None or c.status != Status.SUBMITTED for c in choices):
            raise BenchError(f"request {draft.request_id} not submitted as expected: {care.status}, "
                             f"{[(c.application_id, c.status) for c in choices]}")


def submit_in_process(app, draft: Draft, counter: StatementCounter | None = None) -> float:
    """Seconds for ``services.submit`` + commit, on the draft reloaded in a fresh session."""
    with app.app_context():
        care = db.session.get(CareRequest, draft.request_id)
        family = db.session.get(Family, draft.family_id)
        child = db.session.get(Child, draft.child_id)

        def work():
            services.submit(db.session, care, family, child, actor_id=draft.user_id, actor_role="family",
                            now=utcnow(), today=TODAY)
            db.session.commit()

        if counter is not None:
            with counter:
                seconds, _ = timed(work)
        else:
            seconds, _ = timed(work)
    return seconds


def submit_over_http(app, draft: Draft) -> tuple[float, object]:
    """Log in (untimed), then time the POST of the review page; returns the client too."""
    client = app.test_client()
    login(client, draft.email)
    seconds, response = timed(lambda: client.post(f"/aanvragen/{draft.request_id}/nazicht",
                                                  base_url=f"http://{REGION}"))
    if response.status_code != 302 or not response.headers["Location"].endswith("/ontvangen"):
        raise BenchError(f"POST nazicht answered {response.status_code} {response.headers.get('Location')}: "
                         f"{response.get_data(as_text=True)[:500]}")
    return seconds, client


def branding(client) -> float:
    seconds, response = timed(lambda: client.get("/branding.css", base_url=f"http://{REGION}"))
    if response.status_code != 200:
        raise BenchError(f"GET /branding.css answered {response.status_code}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=300, help="timed submissions per series (default 300)")
    parser.add_argument("--tenants", type=int, default=285, help="tenants to build (default 285)")
    parser.add_argument("--locations", type=int, default=21, help="locations per tenant (default 21)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed rounds first (default 20)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server for the scratch database (default BENCH_DATABASE_URL, "
                             "else postgresql://postgres@127.0.0.1:5432/postgres)")
    parser.add_argument("--profile", type=int, default=0, metavar="K",
                        help="afterwards, cProfile K more 5-choice submits (in process and over HTTP)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--gc-freeze", action="store_true",
                        help="gc.collect() + gc.freeze() before measuring (the proposed start-up fix)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.samples < 1 or args.tenants < 5 or args.locations < 1 or args.warmup < 0:
        parser.error("--samples ≥ 1, --tenants ≥ 5, --locations ≥ 1, --warmup ≥ 0")

    return with_scratch_app(args.database_url, run, args)


def run(app, args) -> int:
    rng = random.Random(args.seed)
    before = machine()
    with app.app_context():
        print(f"building {args.tenants} tenants × {args.locations} locations …", flush=True)
        region = build_region([f"bench{i:03d}" for i in range(args.tenants)], args.locations, today=TODAY)
        catalog_rows = db.session.scalar(sa.select(sa.func.count()).select_from(CatalogLocation))
        print(f"built in {region.seconds:.1f} s: {catalog_rows} catalog locations, "
              f"{region.availability} free-place rows; ANALYZE {analyze():.1f} s", flush=True)
    world = survey(app)
    eligible = [t for t, locations in world.choosable.items() if locations]
    if len(eligible) < 5:
        raise BenchError("fewer than 5 tenants with a location a baby can choose online")
    print(f"{sum(map(len, world.choosable.values()))} locations in {len(eligible)} tenants can be chosen")

    services_5 = Series("svc5", "services.submit + commit, 5 choices in 5 tenants", target_ms=TARGET_MS)
    services_1 = Series("svc1", "services.submit + commit, 1 choice (baseline)")
    http_5 = Series("http5", "POST /aanvragen/<id>/nazicht, 5 choices in 5 tenants (test client)",
                    target_ms=TARGET_MS)
    http_1 = Series("http1", "POST /aanvragen/<id>/nazicht, 1 choice (baseline)")
    trivial = Series("css", "GET /branding.css, region host (trivial request baseline)")

    def round_(record: bool) -> None:
        draft = prepare(app, world, rng, 5)
        seconds = submit_in_process(app, draft)
        check_submitted(app, draft)
        one = prepare(app, world, rng, 1)
        seconds_1 = submit_in_process(app, one)
        check_submitted(app, one)
        draft_h = prepare(app, world, rng, 5)
        seconds_h, client = submit_over_http(app, draft_h)
        check_submitted(app, draft_h)
        seconds_css = branding(client)
        one_h = prepare(app, world, rng, 1)
        seconds_h1, _ = submit_over_http(app, one_h)
        check_submitted(app, one_h)
        if record:
            services_5.samples.append(seconds)
            services_1.samples.append(seconds_1)
            http_5.samples.append(seconds_h)
            http_1.samples.append(seconds_h1)
            trivial.samples.append(seconds_css)

    if args.gc_freeze:  # what gc.freeze() after start-up would do for a worker (the app is not changed)
        gc.collect()
        gc.freeze()
        print(f"gc.freeze(): {gc.get_freeze_count()} objects moved out of the collector's reach")
    print(f"warm-up: {args.warmup} rounds", flush=True)
    for _ in range(args.warmup):
        round_(False)
    print(f"measuring: {args.samples} rounds (each: 5-choice and 1-choice submit in process and over HTTP, "
          "and a trivial GET)", flush=True)
    started = time.perf_counter()
    with GcMeter() as gc_meter:
        for i in range(args.samples):
            round_(True)
            if sys.stdout.isatty() and (i + 1) % 10 == 0:
                print(f"  {i + 1}/{args.samples}", end="\r", flush=True)
    if sys.stdout.isatty():
        print()
    elapsed = time.perf_counter() - started

    with app.app_context():
        counter = StatementCounter(db.engine)
    statements = {}
    for key, n in (("svc5", 5), ("svc1", 1)):
        draft = prepare(app, world, rng, n)
        submit_in_process(app, draft, counter)
        statements[key] = counter.count
    with app.app_context():
        expected = db.session.scalar(sa.select(sa.func.count()).select_from(Choice).where(
            Choice.application_id.is_not(None)))
        found = count_applications(db.session.connection(), schemas_of(db.session))
        if expected != found:
            raise BenchError(f"{found} applications over all tenant schemas, {expected} choices point at one")

    series = [services_5, services_1, http_5, http_1, trivial]
    ratios = {"svc5": "svc1,css", "svc1": "css", "http5": "http1,css", "http1": "css"}
    after = machine()
    print()
    print(f"## submit: {args.tenants} tenants, {catalog_rows} catalog locations, {args.samples} samples per row")
    print()
    print(table(series, ratios))
    print()
    print(f"ratio = p95 of the row / p95 of the named baseline. SQL statements per submit + commit: "
          f"5 choices {statements['svc5']}, 1 choice {statements['svc1']}. {found} applications checked "
          f"across {args.tenants} schemas. Measuring took {elapsed:.0f} s; load average "
          f"{before['loadavg']} before building, {after['loadavg']} after; {after['cpus']} CPUs.")
    print(gc_meter.text())
    profiles = {}
    if args.profile:
        draft_batch = [prepare(app, world, rng, 5) for _ in range(args.profile)]
        drafts = iter(draft_batch)
        profiles["services"] = profile(lambda: submit_in_process(app, next(drafts)), args.profile)
        http_batch = [prepare(app, world, rng, 5) for _ in range(args.profile)]
        clients = []
        for draft in http_batch:
            client = app.test_client()
            login(client, draft.email)
            clients.append((client, draft))
        pairs = iter(clients)

        def post():
            client, draft = next(pairs)
            return client.post(f"/aanvragen/{draft.request_id}/nazicht", base_url=f"http://{REGION}")

        profiles["http"] = profile(post, args.profile)
        for name, text in profiles.items():
            print(f"\n### cProfile, {args.profile} × {name} (5 choices)\n")
            print(text)
    write_json(args.json, {
        "benchmark": "submit", "tenants": args.tenants, "catalog_locations": catalog_rows,
        "availability_rows": region.availability, "build_seconds": round(region.seconds, 1),
        "samples": args.samples, "warmup": args.warmup, "statements": statements,
        "series": {s.key: s.summary() for s in series},
        "ratios_p95": ratio_figures(series, ratios),
        "gc": gc_meter.summary(), "gc_freeze": args.gc_freeze, "machine_before": before, "machine_after": after, "profiles": profiles,
    })
    return 0


if __name__ == "__main__":
    run_main(main, "submit.py")
