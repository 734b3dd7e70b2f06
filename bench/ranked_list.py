"""Benchmark: the provider's ranked list for a location with 1,000 open applications.

    .venv/bin/python bench/ranked_list.py [--requests 200] [--applications 1000] [--sample 20]
                                          [--others 4] [--warmup 10] [--database-url URL]
                                          [--profile K] [--json out.json]

Target: p95 ≤ 80 ms for the ranked list page (``GET /opvang/<location>/?maand=…&groep=…``).

In a scratch database (``rl_bench_<random>`` on ``--database-url``, else ``BENCH_DATABASE_URL``,
else postgresql://postgres@127.0.0.1:5432/postgres; dropped at the end, also after an error):
one municipality and ``--others`` more, each with 21 demo locations; in the first, two
income-tariff locations with one criterion of their own, each with ``--applications`` waiting
applications (submitted, in review, waitlisted) plus offered and closed ones:

* "spread": start months and both age groups spread as wanted starts are (the biggest list, one
  month and age group, holds ~20 %);
* "worst": all of them in one start month and age group.

``--sample`` of each go through the real path (account, family, child, draft with two more
choices in other municipalities, ``requests.services.submit``); the rest are inserted with the
ORM in the same shape — family, guardian with an account, child, request and choice in
``shared``, application with ``services.snapshot`` and its history in the tenant — so every
application has its shared request and choice, and declarations, flags, statuses, submission
times and care plans vary as in life.

Measured through the Flask test client as provider staff of both locations (logged in on the
region host, handed over with ``/sessie/naar`` to the municipality's host), interleaved:
the inbox page of the biggest list of "spread" and of "worst" (its first page: the inbox shows
``PAGE_SIZE`` rows a page, ranked over the whole list); baselines: the municipal home page ``/``
on the same host and ``ranking.list_page`` alone for the same pages (fresh session each time);
and the CSV export of each location (every list, as staff download it).
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from datetime import time as clock
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
    login,
    machine,
    make_user,
    national_number,
    password_hash,
    profile,
    ratio_figures,
    run_main,
    table,
    timed,
    with_scratch_app,
    write_json,
)

from regional_loket.accounts.models import Membership, User
from regional_loket.applications import (
    WAITING,
    Application,
    ApplicationEvent,
    EventKind,
    Status,
    ranking,
)
from regional_loket.care_requests import services
from regional_loket.care_requests.models import CareRequest, Choice, RequestStatus
from regional_loket.catalog.models import Availability, CatalogLocation, Location
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.families import services as families
from regional_loket.families.models import Child, Family, Guardian
from regional_loket.months import add_months, age_group_at, month_start, months_between
from regional_loket.provider.views import PAGE_SIZE
from regional_loket.tenancy import tenant_scope
from regional_loket.tenancy.binding import bind_tenant
from regional_loket.tenancy.models import Tenant

TARGET_MS = 80.0
TODAY = date.today()
MAIN = "bench-main"
# Wanted start months (months from now) and their share; age groups and theirs.
MONTH_OFFSETS, MONTH_WEIGHTS = (2, 3, 4, 5, 6, 8), (30, 20, 15, 15, 10, 10)
GROUP_WEIGHTS = {"baby": 65, "toddler": 35}
WAITING_WEIGHTS = {Status.SUBMITTED: 55, Status.IN_REVIEW: 15, Status.WAITLISTED: 30}
# Besides the waiting ones, per location: offers open, places accepted this year, closed ones.
EXTRAS = {Status.OFFERED: 15, Status.ACCEPTED: 20, Status.WITHDRAWN: 20, Status.REJECTED: 10}
OWN_CRITERION = {"code": "kind-van-een-personeelslid", "label": "Kind van een personeelslid"}
FIRST = ["Lien", "Noor", "Finn", "Mila", "Lars", "Fien", "Adam", "Nora", "Vic", "Yasmine", "Jules", "Ella",
         "Louis", "Olivia", "Arthur", "Marie", "Rayan", "Sara", "Wout", "Lotte"]
LAST = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "El Idrissi",
        "De Smet", "Wouters", "Dubois", "Lambrechts", "Aerts", "Van den Broeck"]
BATCH = 200


@dataclass
class Target:
    key: str
    location_id: uuid.UUID
    month: date | None = None  # the list measured (the biggest for "spread")
    group: str | None = None
    list_size: int = 0
    waiting: int = 0


def wanted(rng: random.Random, spread: bool) -> tuple[date, str]:
    if not spread:
        return add_months(month_start(TODAY), MONTH_OFFSETS[1]), "baby"
    offset = rng.choices(MONTH_OFFSETS, weights=MONTH_WEIGHTS)[0]
    group = rng.choices(list(GROUP_WEIGHTS), weights=list(GROUP_WEIGHTS.values()))[0]
    return add_months(month_start(TODAY), offset), group


def birth(rng: random.Random, start: date, group: str, *, born: bool) -> tuple[date | None, date | None]:
    """(birth date, due date) for a child of ``group`` at ``start``; unborn allowed unless ``born``."""
    low, high = (3, 15) if group == "baby" else (19, 30)
    ahead = months_between(TODAY, start)
    if born:
        low = max(low, ahead + 1)
    day = add_months(start, -rng.randint(low, high)).replace(day=rng.randint(1, 28))
    return (day, None) if day <= TODAY else (None, day)


def plan(rng: random.Random) -> dict:
    days = rng.choice([("full",) * 5, ("full", "full", "full", "none", "none"), ("full", "half", "full", "none", "full"),
                       ("half",) * 5, ("full", "full", "none", "full", "full")])
    return {str(d): v for d, v in enumerate(days, 1)}


# --- building ---------------------------------------------------------------------------------


def targets(session, tenant: Tenant) -> dict[str, Target]:
    first = month_start(TODAY)
    made = {}
    with tenant_scope(session, tenant):
        for key, name in (("spread", "Kinderdagverblijf De Wachtlijst"), ("worst", "Kinderdagverblijf Het Drukke Nest")):
            location = Location(
                name=name, organiser="vzw Kinderopvang Bench", kind="group", street="Kerkstraat", number="12",
                postcode="3000", locality="Bench", lat=50.88, lon=4.70, licensed_places=56, min_age_months=0,
                max_age_months=36, opening_days=[1, 2, 3, 4, 5], opens_at=clock(7), closes_at=clock(18),
                closures=[], languages=["nl", "fr"], tariff="income", day_price=None, special_care=True,
                description={"nl": "Een grote groepsopvang."}, accepts_online=True, active=True,
                phone="+32 16 11 22 33", email=f"{key}@bench.example.be", extra_criteria=[OWN_CRITERION])
            for offset in range(18):
                for group in ("baby", "toddler"):
                    location.availability.append(Availability(month=add_months(first, offset), age_group=group,
                                                              free_places=2))
            session.add(location)
            session.flush()
            made[key] = Target(key, location.id)
    return made


def other_choices(session, main_id: uuid.UUID) -> list[uuid.UUID]:
    """Locations in the other municipalities that take a baby or toddler online."""
    return list(session.scalars(sa.select(CatalogLocation.location_id).where(
        CatalogLocation.tenant_id != main_id, CatalogLocation.active.is_(True),
        CatalogLocation.accepts_online.is_(True), CatalogLocation.kind != "out_of_school",
        CatalogLocation.min_age_months == 0, CatalogLocation.max_age_months >= 36)
        .order_by(CatalogLocation.location_id)))


def through_services(app, rng: random.Random, target: Target, others: list[uuid.UUID], spread: bool) -> None:
    """One application the real way: account, family, child, draft with 3 choices, submit."""
    start, group = wanted(rng, spread)
    born, due = birth(rng, start, group, born=True)
    with app.app_context():
        last = rng.choice(LAST)
        user = make_user(db.session, name=f"Ouder {last}")
        family = families.ensure_family(db.session, user, language="nl")
        families.update_details(db.session, family, street="Kerkstraat", number=str(rng.randint(1, 180)),
                                postcode="3000", locality="Leuven", phone=f"+32 470 {rng.randint(100000, 999999)}",
                                needs_care_for_work=rng.random() < 0.8, single_parent=rng.random() < 0.15,
                                low_income=rng.random() < 0.2)
        child = families.add_child(db.session, family, first_name=rng.choice(FIRST), last_name=last, birth_date=born,
                                   due_date=due, national_number=national_number(rng),
                                   pepper=app.config["SECRET_KEY"], today=TODAY)
        care = services.draft(db.session, family, child, actor_id=user.id)
        services.set_plan(care, child, start_date=start + timedelta(days=rng.randint(0, 20)), flexibility_weeks=2,
                          care_plan=plan(rng), keep_higher_choices=False, today=TODAY)
        chosen = [target.location_id, *rng.sample(others, 2)]
        rng.shuffle(chosen)
        for location_id in chosen:
            services.add_choice(db.session, care, child, location_id)
        services.submit(db.session, care, family, child, actor_id=user.id, now=utcnow(), today=TODAY)
        db.session.commit()


def bulk(app, rng: random.Random, tenant_id: uuid.UUID, target: Target, waiting: int, spread: bool) -> None:
    """``waiting`` waiting applications plus EXTRAS, with their shared rows, via the ORM."""
    statuses = rng.choices(list(WAITING_WEIGHTS), weights=list(WAITING_WEIGHTS.values()), k=waiting)
    for status, count in EXTRAS.items():
        statuses += [status] * count
    rng.shuffle(statuses)
    now = utcnow()
    year_start = now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    for begin in range(0, len(statuses), BATCH):
        with app.app_context():
            tenant = db.session.get(Tenant, tenant_id)
            with tenant_scope(db.session, tenant):
                location = db.session.get(Location, target.location_id)
                rows = [_one(rng, tenant, location, status, spread, now, year_start)
                        for status in statuses[begin:begin + BATCH]]
                # In dependency order: not every foreign key here has a relationship to sort by.
                for stage in zip(*rows, strict=True):
                    db.session.add_all(stage)
                    db.session.flush()
            db.session.commit()


def _one(rng, tenant, location, status, spread, now, year_start) -> tuple:
    start, group = wanted(rng, spread)
    born, due = birth(rng, start, group, born=False)
    last, first = rng.choice(LAST), rng.choice(FIRST)
    user = User(id=uuid.uuid4(), email=f"bench-{uuid.uuid4().hex[:16]}@example.be", name=f"Ouder {last}",
                language="nl", password_hash=password_hash(), password_changed_at=now, verified_at=now,
                active=True, memberships=[Membership(role="parent", location_ids=[])])
    family = Family(id=uuid.uuid4(), language=rng.choices(["nl", "fr", "en"], weights=[85, 10, 5])[0],
                    street="Kerkstraat", number=str(rng.randint(1, 180)), postcode="3000", locality="Leuven",
                    home_tenant_id=tenant.id, phone=f"+32 470 {rng.randint(100000, 999999)}",
                    needs_care_for_work=rng.random() < 0.8, single_parent=rng.random() < 0.15,
                    low_income=rng.random() < 0.2,
                    guardians=[Guardian(id=uuid.uuid4(), user_id=user.id, name=user.name, email=user.email)])
    child = Child(id=uuid.uuid4(), family_id=family.id, first_name=first, last_name=last, birth_date=born,
                  due_date=due, national_number_digest=uuid.uuid4().hex + uuid.uuid4().hex,
                  foster_child=rng.random() < 0.02, extra_care_needs=rng.random() < 0.05,
                  sibling_location_ids=[location.id] if rng.random() < 0.1 else [])
    submitted = now - timedelta(days=rng.uniform(1, 300))
    start_date = start + timedelta(days=rng.randint(0, 20))
    care = CareRequest(id=uuid.uuid4(), family_id=family.id, child_id=child.id, start_date=start_date,
                       flexibility_weeks=rng.choice([0, 2, 4, 8]), care_plan=plan(rng), keep_higher_choices=False,
                       submitted_at=submitted, confirmed_at=submitted, created_by_user_id=user.id,
                       status={Status.ACCEPTED: RequestStatus.PLACED,
                               Status.WITHDRAWN: RequestStatus.WITHDRAWN}.get(status, RequestStatus.OPEN))
    application = Application(
        id=uuid.uuid4(), request_id=care.id, location_id=location.id, rank=1, status=status,
        snapshot=services.snapshot(family, child, care, location), submitted_at=submitted,
        start_month=month_start(start_date),
        age_group=age_group_at(child.reference_date, start_date, location.kind),
        flags={OWN_CRITERION["code"]: True} if rng.random() < 0.03 else {})
    application.events.append(ApplicationEvent(kind=EventKind.STATUS, actor_id=user.id, actor_role="family",
                                               to_status=Status.SUBMITTED, at=submitted, detail={}))
    if status != Status.SUBMITTED:
        at = min(now, submitted + timedelta(days=rng.uniform(1, 20)))
        if status == Status.ACCEPTED:  # placed this year: the 20 % norm counts these
            at = max(year_start, submitted, now - timedelta(days=rng.uniform(0, 60)))
        application.events.append(ApplicationEvent(kind=EventKind.STATUS, actor_id=None, actor_role="provider",
                                                   from_status=Status.SUBMITTED, to_status=status, at=at, detail={}))
        if status in (Status.OFFERED, Status.ACCEPTED):
            application.held_month, application.held_age_group = application.start_month, application.age_group
        if status == Status.OFFERED:
            application.offer_deadline = TODAY + timedelta(days=rng.randint(1, 14))
        if status in (Status.ACCEPTED, Status.WITHDRAWN, Status.REJECTED):
            application.answered_at = at
        if status == Status.REJECTED:
            application.reject_reason = "other"
    care.choices.append(Choice(id=uuid.uuid4(), rank=1, tenant_id=tenant.id, location_id=location.id,
                               application_id=application.id, status=status))
    return user, family, child, care, application


# --- measuring --------------------------------------------------------------------------------


def staff_client(app, email: str, tenant_slug: str, location_id: uuid.UUID):
    """Logged in on the region host, handed over to the municipality's host (tests' _client_on)."""
    host = f"http://{tenant_slug}.{REGION}"
    client = app.test_client()
    login(client, email)
    go = client.get("/sessie/naar", query_string={"to": f"{host}/opvang/{location_id}/"}, base_url=f"http://{REGION}")
    if go.status_code != 302 or not go.headers["Location"].startswith(host):
        raise BenchError(f"/sessie/naar answered {go.status_code} {go.headers.get('Location')}")
    over = client.get(go.headers["Location"].split(host, 1)[1], base_url=host)
    if over.status_code != 302:
        raise BenchError(f"/sessie/overdracht answered {over.status_code}")
    return client, host


ROW = re.compile(r'<tr class="utrecht-table__row">\s*<td class="utrecht-table__cell">\d+</td>')


def inbox(client, host: str, target: Target):
    path = f"/opvang/{target.location_id}/?maand={target.month:%Y-%m}&groep={target.group}"
    seconds, response = timed(lambda: client.get(path, base_url=host))
    if response.status_code != 200:
        raise BenchError(f"GET {path} answered {response.status_code}")
    return seconds, response


def check_inbox(response, target: Target) -> None:
    html = response.get_data(as_text=True)
    rows, expected = len(ROW.findall(html)), min(target.list_size, PAGE_SIZE)
    if rows != expected or "Plaats 1." not in html:
        raise BenchError(f"inbox of {target.key} shows {rows} ranked rows, expected {expected}")
    pages = -(-target.list_size // PAGE_SIZE)
    if pages > 1 and f"Pagina 1 van {pages}" not in html:
        raise BenchError(f"inbox of {target.key} does not say it is page 1 of {pages}")


def export(client, host: str, target: Target, check: bool = False) -> float:
    path = f"/opvang/{target.location_id}/export.csv"
    seconds, response = timed(lambda: client.get(path, base_url=host))
    if response.status_code != 200:
        raise BenchError(f"GET {path} answered {response.status_code}")
    if check:
        lines = response.get_data(as_text=True).strip().splitlines()
        if len(lines) - 1 != target.waiting:
            raise BenchError(f"export of {target.key} has {len(lines) - 1} rows, expected {target.waiting}")
    return seconds


def home(client, host: str) -> float:
    seconds, response = timed(lambda: client.get("/", base_url=host))
    if response.status_code != 200:
        raise BenchError(f"GET / on {host} answered {response.status_code}")
    return seconds


def ranking_alone(app, tenant_id: uuid.UUID, target: Target) -> float:
    with app.app_context():
        tenant = db.session.get(Tenant, tenant_id)
        bind_tenant(db.session, tenant)
        location = db.session.get(Location, target.location_id)
        seconds, (ranked, total) = timed(lambda: ranking.list_page(
            db.session, location, target.month, target.group, today=TODAY, limit=PAGE_SIZE))
        if len(ranked) != min(target.list_size, PAGE_SIZE) or total != target.list_size:
            raise BenchError(f"list_page of {target.key}: {len(ranked)} of {total}, expected "
                             f"{min(target.list_size, PAGE_SIZE)} of {target.list_size}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page (default 200)")
    parser.add_argument("--applications", type=int, default=1000,
                        help="waiting applications per location (default 1000)")
    parser.add_argument("--sample", type=int, default=20,
                        help="of those, submitted through requests.services.submit (default 20)")
    parser.add_argument("--others", type=int, default=4, help="other municipalities (default 4)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed rounds first (default 10)")
    parser.add_argument("--export-every", type=int, default=4,
                        help="time the CSV exports every Nth round (default 4)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server for the scratch database (default BENCH_DATABASE_URL, "
                             "else postgresql://postgres@127.0.0.1:5432/postgres)")
    parser.add_argument("--profile", type=int, default=0, metavar="K",
                        help="afterwards, cProfile K more requests of each inbox page")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--gc-freeze", action="store_true",
                        help="gc.collect() + gc.freeze() before measuring (the proposed start-up fix)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.applications < 1 or not 0 <= args.sample <= args.applications:
        parser.error("--requests ≥ 1, --applications ≥ 1, 0 ≤ --sample ≤ --applications")

    return with_scratch_app(args.database_url, run, args)


def run(app, args) -> int:
    rng = random.Random(args.seed)
    before = machine()
    started = time.perf_counter()
    with app.app_context():
        slugs = [MAIN] + [f"bench-buur-{i}" for i in range(1, args.others + 1)]
        build_region(slugs, 21, today=TODAY, progress=False)
        tenant = db.session.scalar(sa.select(Tenant).where(Tenant.slug == MAIN))
        tenant_id = tenant.id
        made = targets(db.session, tenant)
        staff = make_user(db.session, name="Els Opvang", role="provider_staff", tenant=tenant,
                          location_ids=[t.location_id for t in made.values()])
        staff_email = staff.email
        others = other_choices(db.session, tenant_id)
        db.session.commit()
    for target in made.values():
        spread = target.key == "spread"
        for _ in range(args.sample):
            through_services(app, rng, target, others, spread)
        bulk(app, rng, tenant_id, target, args.applications - args.sample, spread)
    with app.app_context():
        analysed = analyze()
        bind_tenant(db.session, db.session.get(Tenant, tenant_id))
        for target in made.values():
            groups = db.session.execute(
                sa.select(Application.start_month, Application.age_group, sa.func.count())
                .where(Application.location_id == target.location_id, Application.status.in_(WAITING))
                .group_by(Application.start_month, Application.age_group)
                .order_by(sa.func.count().desc())).all()
            target.month, target.group, target.list_size = groups[0]
            target.waiting = sum(n for _, _, n in groups)
            if target.waiting != args.applications:
                raise BenchError(f"{target.key}: {target.waiting} waiting applications, expected {args.applications}")
            # Every application has its shared request and choice.
            ids = list(db.session.scalars(sa.select(Application.id).where(
                Application.location_id == target.location_id)))
            with_choice = db.session.scalar(sa.select(sa.func.count()).select_from(Choice).join(
                CareRequest, CareRequest.id == Choice.request_id).where(Choice.application_id.in_(ids)))
            if with_choice != len(ids):
                raise BenchError(f"{target.key}: {len(ids)} applications, {with_choice} with request and choice")
            print(f"{target.key}: {len(ids)} applications ({target.waiting} waiting) in {len(groups)} lists; "
                  f"measured list {target.month:%Y-%m} {target.group}: {target.list_size}")
    print(f"built in {time.perf_counter() - started:.1f} s (ANALYZE {analysed:.1f} s)", flush=True)

    spread, worst = made["spread"], made["worst"]
    client, host = staff_client(app, staff_email, MAIN, spread.location_id)
    check_inbox(inbox(client, host, spread)[1], spread)
    check_inbox(inbox(client, host, worst)[1], worst)
    export(client, host, spread, check=True)
    export(client, host, worst, check=True)

    page_spread = Series("page", f"inbox page, biggest list of 'spread' ({spread.list_size} of {spread.waiting})",
                         target_ms=TARGET_MS)
    page_worst = Series("worst", f"inbox page, 'worst': all {worst.list_size} in one list", target_ms=TARGET_MS)
    home_page = Series("home", "municipal home page / (same host, baseline)")
    rank_spread = Series("rank", f"ranking.list_page alone, first {PAGE_SIZE} of {spread.list_size} (baseline)")
    rank_worst = Series("rankw", f"ranking.list_page alone, first {PAGE_SIZE} of {worst.list_size} (baseline)")
    csv_spread = Series("csv", f"export.csv 'spread' (all {spread.waiting}, {args.requests // args.export_every}×)")
    csv_worst = Series("csvw", f"export.csv 'worst' (all {worst.waiting}, {args.requests // args.export_every}×)")

    def round_(i: int, record: bool) -> None:
        figures = [(page_spread, inbox(client, host, spread)[0]), (home_page, home(client, host)),
                   (page_worst, inbox(client, host, worst)[0]),
                   (rank_spread, ranking_alone(app, tenant_id, spread)),
                   (rank_worst, ranking_alone(app, tenant_id, worst))]
        if i % args.export_every == 0:
            figures += [(csv_spread, export(client, host, spread)), (csv_worst, export(client, host, worst))]
        if record:
            for series, seconds in figures:
                series.samples.append(seconds)

    if args.gc_freeze:  # what gc.freeze() after start-up would do for a worker (the app is not changed)
        gc.collect()
        gc.freeze()
        print(f"gc.freeze(): {gc.get_freeze_count()} objects moved out of the collector's reach")
    print(f"warm-up: {args.warmup} rounds; measuring: {args.requests} rounds", flush=True)
    for i in range(args.warmup):
        round_(i, False)
    measure_started = time.perf_counter()
    with GcMeter() as gc_meter:
        for i in range(args.requests):
            round_(i, True)
    elapsed = time.perf_counter() - measure_started

    with app.app_context():
        counter = StatementCounter(db.engine)
    statements, sizes = {}, {}
    for key, call in (("page", lambda: inbox(client, host, spread)[1]), ("worst", lambda: inbox(client, host, worst)[1]),
                      ("home", lambda: client.get("/", base_url=host))):
        with counter:
            response = call()
        statements[key], sizes[key] = counter.count, len(response.get_data())

    series = [page_spread, page_worst, home_page, rank_spread, rank_worst, csv_spread, csv_worst]
    ratios = {"page": "home,rank", "worst": "home,rankw", "rank": "home", "rankw": "home", "csv": "home",
              "csvw": "home"}
    after = machine()
    print()
    print(f"## ranked list: {args.applications} waiting applications per location, {args.requests} requests per row")
    print()
    print(table(series, ratios))
    print()
    print(f"ratio = p95 of the row / p95 of the named baseline. SQL statements per page: inbox {statements['page']}, "
          f"worst {statements['worst']}, home {statements['home']}; HTML {sizes['page'] // 1024} KiB, "
          f"{sizes['worst'] // 1024} KiB, {sizes['home'] // 1024} KiB. Measuring took {elapsed:.0f} s; "
          f"load average {before['loadavg']} before building, {after['loadavg']} after; {after['cpus']} CPUs.")
    print(gc_meter.text())
    profiles = {}
    if args.profile:
        profiles["page"] = profile(lambda: inbox(client, host, spread), args.profile)
        profiles["worst"] = profile(lambda: inbox(client, host, worst), args.profile)
        for name, text in profiles.items():
            print(f"\n### cProfile, {args.profile} × inbox {name}\n")
            print(text)
    write_json(args.json, {
        "benchmark": "ranked_list", "applications": args.applications, "sample_via_services": args.sample,
        "lists": {t.key: {"month": t.month, "group": t.group, "size": t.list_size, "waiting": t.waiting}
                  for t in made.values()},
        "requests": args.requests, "warmup": args.warmup, "statements": statements, "html_bytes": sizes,
        "series": {s.key: s.summary() for s in series}, "ratios_p95": ratio_figures(series, ratios),
        "gc": gc_meter.summary(), "gc_freeze": args.gc_freeze, "machine_before": before, "machine_after": after, "profiles": profiles,
    })
    return 0


if __name__ == "__main__":
    run_main(main, "ranked_list.py")
