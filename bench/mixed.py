"""Benchmark: a region's real day under gunicorn — every kind of user at once, at Flanders scale
(285 municipalities) and at 18, with the worker RSS after it (issue #17 items 3 and 4).

    .venv/bin/python bench/mixed.py [--tenants 285] [--small-tenants 18] [--duration 300]
                                    [--warmup 10] [--locations 6000] [--small-locations N]
                                    [--applications 100000]
                                    [--families 60000] [--inbox 1000] [--days 30] [--max-rps 80]
                                    [--threads 8] [--workers 2] [--hello 20] [--seed 17]
                                    [--database-url URL] [--redis-url URL] [--results bench/RESULTS.md]
                                    [--json out.json]

Targets (issue #17 item 3, at the big region, over the whole run): every page p95 ≤ 15 ×
hello-world's p95; 0 errors; the submit of a request with 5 choices p95 ≤ 12 × a trivial
request's p95 (``/branding.css`` in the same mix); the provider inbox of a location with
``--inbox`` open applications p95 ≤ 2 × the municipal home page's p95 (same mix). Item 4: worker
RSS after the load at the big region ÷ at the small one ≤ 1.1.

Each region, in a scratch database of its own (dropped at the end, also after an error):

* ``--tenants`` municipalities through ``services.create_tenant`` with ``--locations`` demo
  locations shared out by size, 18 months of free places each (``_common.build_region``, as
  ``bench/figures.py``);
* ``--applications`` real applications of ``--families`` families over two years, bulk loaded
  (COPY) into the real tables: in ``shared`` a parent account, family, guardian, child, request
  and choices per family; in each municipality's schema its applications (with the snapshot the
  app writes, ``care_requests.services.snapshot``) and their history. The shape is
  ``figures.records`` (1–5 choices, mostly near home, outcomes by the request's age), whose
  anonymous records also fill ``shared.statistics_applications``, plus ``--days`` days of
  ``statistics_daily``, so the dashboards have their figures. The two largest group locations
  of the largest municipality get ``--inbox`` open applications each (moved there from other
  open choices);
* provider staff of the largest municipality's locations and its coordinator; drafts with 5
  choices in 5 municipalities (``submit.prepare``) for the submissions; ``VACUUM (ANALYZE)``.

Then ``gunicorn wsgi:app`` (``--workers`` sync workers, as the other benches; the search cache on)
and everybody logs in over HTTP like a browser (form, CSRF token; staff and the coordinator are
handed over to the municipal host through ``/sessie/naar``). The load is one ``wrk`` with
``--threads`` threads of one connection each; a Lua script gives each thread its own list of
requests, drawn by the weights in ``MIX`` so that no input a user types repeats (each family its
own search, birth date and postcode; each submission its own draft; each offer its own
application and free place; each acceptance its own family's offer). The script times every
request itself (``clock_gettime`` through LuaJIT's FFI) and writes kind, status, latency and
``Location`` per response, so every page gets its own req/s, p50, p95 and p99; an error is a
status ≥ 400, a redirect where a page was expected, a redirect to the login page, a lost
connection, and afterwards every submission, offer and acceptance is checked in the database.
A request's one-off POSTs are never repeated when a thread runs out of its list (the report says
whether that happened: raise ``--max-rps``). By default each connection sends its next request
as soon as the last is answered: the workers are saturated and a page's latency is mostly the
queue. ``--think-ms`` makes each connection wait a random time first (exponential, that mean),
as users reading a page do: latencies closer to each page's own cost.

Baselines in the same run: hello-world (``bench/hello.py`` under the same gunicorn command line,
the same 8 connections, before the regions), and in the mix itself the municipal home page and
``/branding.css``. After the load, the RSS of every gunicorn worker (``VmRSS`` of
``/proc/<pid>/status``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import sqlalchemy as sa
from _common import (
    Browser,
    ScratchDatabase,
    admin_url,
    build_region,
    copy_rows,
    make_user,
    password_hash,
    percentile,
    postcodes_for,
    run_main,
    write_json,
)
from figures import (
    build_monthly,
    load_daily,
    load_records,
    location_counts,
    municipalities_of,
    records,
    vacuum_analyze,
    variants,
)
from psycopg.types.json import Jsonb
from search import (
    PAGE,
    REGION_NAME,
    BenchError,
    Gunicorn,
    app_config,
    municipality_name,
    run_wrk,
    server_env,
    slug,
    wrk_binary,
)
from search_distinct import paths as search_paths
from submit import prepare, survey

from regional_loket import create_app
from regional_loket.care_requests import services
from regional_loket.care_requests.models import CareRequest, Choice
from regional_loket.catalog.models import CatalogLocation
from regional_loket.extensions import db
from regional_loket.families.models import Child, Family, Guardian
from regional_loket.months import add_months
from regional_loket.tenancy.models import Tenant, schema_for

TODAY = date.today()
NOW = datetime.now(UTC)
TARGET_VS_HELLO = 15.0  # every page's p95 ÷ hello-world's p95, at most
TARGET_SUBMIT_VS_TRIVIAL = 12.0  # submit (5 choices) p95 ÷ /branding.css p95, at most
TARGET_INBOX_VS_HOME = 2.0  # inbox (1,000 open) p95 ÷ municipal home p95, at most
TARGET_RSS = 1.1  # worker RSS @big ÷ @small, at most
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
WAITING = ("submitted", "in_review", "waitlisted")
# Logins are not what is measured: accounts get a cheap argon2 hash, and the server the same
# parameters (else it would rehash each on login). Many users behind 127.0.0.1: no rate limits.
CHEAP_HASH = {"PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 8, "PASSWORD_HASH_PARALLELISM": 1}
SERVER_EXTRA = {"LOKET_RATELIMIT_ENABLED": "false", "LOKET_LOG_LEVEL": "WARNING",
                **{f"LOKET_{k}": str(v) for k, v in CHEAP_HASH.items()}}


@dataclass(frozen=True)
class Page:
    label: str
    weight: int  # requests per 100
    expect: int = 200  # status of success; 302: its Location must contain ``lands``
    lands: str = ""
    once: bool = False  # a one-off POST (its draft, application or offer is used up)


MIX = {
    "search": Page("search page, distinct, anonymous (region)", 26),
    "search_logged": Page("search page, distinct, logged-in parent (region)", 10),
    "location": Page("location page (municipal host)", 22),
    "home": Page("municipal home page / (baseline)", 4),
    "trivial": Page("/branding.css, municipal host (trivial baseline)", 4),
    "overview": Page("family overview /aanvragen/", 4),
    "request": Page("family's request /aanvragen/<id>", 3),
    "submit": Page("submit, 5 choices in 5 municipalities (POST)", 3, 302, "/ontvangen", True),
    "inbox": Page("provider inbox, location with 1,000 open", 7),
    "offer": Page("provider offers a place (POST)", 2, 302, "/aanvragen/", True),
    "accept": Page("family accepts an offer (POST)", 2, 302, "/aanvragen/", True),
    "worklist": Page("desk worklists", 6),
    "dashboard": Page("desk dashboard /beheer/cijfers", 5),
    "desk_home": Page("desk home /beheer/", 2),
}
FIRST = ["Lien", "Noor", "Finn", "Mila", "Lars", "Fien", "Adam", "Nora", "Vic", "Yasmine", "Jules", "Ella",
         "Louis", "Olivia", "Arthur", "Marie", "Rayan", "Sara", "Wout", "Lotte"]
LAST = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "El Idrissi",
        "De Smet", "Wouters", "Dubois", "Lambrechts", "Aerts", "Van den Broeck"]
PLANS = [("full",) * 5, ("full", "full", "full", "none", "none"), ("full", "half", "full", "none", "full"),
         ("half",) * 5]
AGE_MONTHS = {"baby": (3, 15), "toddler": (19, 30), "school": (40, 110)}
SORTS = {"te-laat": ("submitted", "location", "start"), "zonder-aanbod": ("start", "submitted", "child"),
         "bevestiging": ("due", "start", "child"), "vrije-plaatsen": ("updated", "name")}


# --- building: real applications, bulk loaded -----------------------------------------------------


def concentrate(rows: list[tuple], targets: list[tuple[uuid.UUID, uuid.UUID]], size: int) -> None:
    """Move open, waiting baby and toddler choices to each target (tenant, location) until it
    holds ``size`` of them: the largest locations' inboxes. Never twice in one request."""
    chosen: dict[uuid.UUID, set] = defaultdict(set)
    for row in rows:
        chosen[row[1]].add(row[3])
    wanted = {location: size for _, location in targets}
    turn = 0
    for k, row in enumerate(rows):
        if not any(wanted.values()):
            return
        if row[10] != "open" or row[9] not in WAITING or row[6] == "school" or row[3] in wanted:
            continue
        tenant_id, location_id = targets[turn % len(targets)]
        turn += 1
        if wanted[location_id] == 0 or location_id in chosen[row[1]]:
            continue
        chosen[row[1]].discard(row[3])
        chosen[row[1]].add(location_id)
        rows[k] = (row[0], row[1], tenant_id, location_id, *row[4:])
        wanted[location_id] -= 1


@dataclass
class Loaded:
    emails: dict[uuid.UUID, str] = field(default_factory=dict)  # request id → the parent's e-mail
    offered: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)  # open request, offered choice
    open_requests: list[uuid.UUID] = field(default_factory=list)
    waiting: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, date, str]] = field(default_factory=list)
    last_names: list[str] = field(default_factory=list)


def _moment(month: date, rng: random.Random) -> datetime:
    at = datetime(month.year, month.month, 1, 7, tzinfo=UTC) + timedelta(days=rng.randint(0, 27),
                                                                          minutes=rng.randint(0, 720))
    return min(at, NOW - timedelta(hours=1))


def load_applications(rows: list[tuple], rng: random.Random, index_of: dict[uuid.UUID, int],
                      schemas: dict[uuid.UUID, str], largest: uuid.UUID) -> Loaded:
    """The real rows behind ``rows`` (``figures.RECORD_COLUMNS``): one family per request."""
    by_request: dict[uuid.UUID, list[tuple]] = defaultdict(list)
    for row in rows:
        by_request[row[1]].append(row)
    hashed = password_hash()
    users, memberships, families, guardians, children, requests, choices = [], [], [], [], [], [], []
    applications: dict[uuid.UUID, list[tuple]] = defaultdict(list)
    events: dict[uuid.UUID, list[tuple]] = defaultdict(list)
    loaded = Loaded()
    for n, (request_id, chosen) in enumerate(by_request.items()):
        chosen.sort(key=lambda r: r[5])
        first = chosen[0]
        group, start_month, outcome, home = first[6], first[7], first[10], first[4]
        user_id, family_id, child_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        last, given = rng.choice(LAST), rng.choice(FIRST)
        email = f"gezin-{n}@bench.example.be"
        submitted = _moment(first[8], rng)
        users.append((user_id, email, hashed, f"Ouder {last}", "nl", submitted, True, submitted, submitted, submitted))
        memberships.append((uuid.uuid4(), user_id, "parent", [], submitted, submitted))
        if home is None:
            postcode, locality = "1000", "Brussel"
        else:
            code = rng.choice(postcodes_for(index_of[home]))
            postcode, locality = code["code"], code["name"]
        family = Family(id=family_id, language=rng.choices(["nl", "fr", "en"], weights=[85, 10, 5])[0],
                        street="Kerkstraat", number=str(rng.randint(1, 180)), postcode=postcode, locality=locality,
                        home_tenant_id=home, phone=f"+32 470 {rng.randint(100000, 999999)}",
                        needs_care_for_work=rng.random() < 0.8, single_parent=rng.random() < 0.15,
                        low_income=rng.random() < 0.2, referrer_organisation=None,
                        guardians=[Guardian(id=uuid.uuid4(), user_id=user_id, name=f"Ouder {last}", email=email)])
        families.append((family_id, family.language, family.street, family.number, postcode, locality, home,
                         family.phone, family.needs_care_for_work, family.single_parent, family.low_income,
                         submitted, submitted))
        guardian = family.guardians[0]
        guardians.append((guardian.id, family_id, user_id, guardian.name, email, submitted, submitted))
        low, high = AGE_MONTHS[group]
        born = add_months(start_month, -rng.randint(low, high)).replace(day=rng.randint(1, 28))
        birth, due = (born, None) if born <= TODAY else (None, born)
        child = Child(id=child_id, family_id=family_id, first_name=given, last_name=last, birth_date=birth,
                      due_date=due, foster_child=rng.random() < 0.02, extra_care_needs=rng.random() < 0.05,
                      sibling_location_ids=[])
        children.append((child_id, family_id, given, last, birth, due, uuid.uuid4().hex + uuid.uuid4().hex,
                         child.foster_child, child.extra_care_needs, [], submitted, submitted))
        start_date = start_month + timedelta(days=rng.randint(0, 20))
        care = CareRequest(id=request_id, family_id=family_id, child_id=child_id, start_date=start_date,
                           flexibility_weeks=rng.choice([0, 2, 4, 8]),
                           care_plan={str(d): v for d, v in enumerate(rng.choice(PLANS), 1)})
        inactive_at = submitted + timedelta(days=90) if outcome == "inactive" else None
        requests.append((request_id, family_id, child_id, outcome, start_date, care.flexibility_weeks,
                         Jsonb(care.care_plan), False, submitted, submitted, inactive_at, user_id, submitted,
                         submitted))
        loaded.emails[request_id] = email
        if outcome == "open":
            loaded.open_requests.append(request_id)
        loaded.last_names.append(last)
        offered_here = False
        for row in chosen:
            application_id, tenant_id, location_id, rank, status = row[0], row[2], row[3], row[5], row[9]
            choice_id = uuid.uuid4()
            choices.append((choice_id, request_id, rank, tenant_id, location_id, application_id, status))
            snapshot = services.snapshot(family, child, care, SimpleNamespace(id=location_id))
            held = start_month if status in ("offered", "accepted") else None
            deadline = TODAY + timedelta(days=rng.randint(1, 14)) if status == "offered" else None
            answered = None
            if status not in WAITING:
                answered = min(NOW - timedelta(minutes=5), submitted + timedelta(days=rng.uniform(1, 20)))
            paused = inactive_at if outcome == "inactive" and status in WAITING else None
            applications[tenant_id].append((
                application_id, request_id, location_id, rank, status, Jsonb(snapshot), submitted, start_month,
                group, deadline, held, group if held else None, "other" if status == "rejected" else None,
                answered if status in ("accepted", "declined", "expired", "rejected", "withdrawn") else None,
                Jsonb({}), paused, 1, submitted, answered or submitted))
            events[tenant_id].append((uuid.uuid4(), application_id, submitted, "status", user_id, "family", None,
                                      "submitted", Jsonb({})))
            if answered is not None:
                events[tenant_id].append((uuid.uuid4(), application_id, answered, "status", None,
                                          "family" if status in ("accepted", "declined", "withdrawn") else "provider",
                                          "submitted", status, Jsonb({})))
            if outcome == "open" and status == "offered" and not offered_here:
                # one offer per request: accepting it withdraws the request's other choices
                loaded.offered.append((request_id, choice_id))
                offered_here = True
            if outcome == "open" and status in WAITING and tenant_id == largest:
                loaded.waiting.append((request_id, application_id, location_id, start_month, group))
    copy_rows("shared.users", ("id", "email", "password_hash", "name", "language", "verified_at", "active",
                               "password_changed_at", "created_at", "updated_at"), users)
    copy_rows("shared.memberships", ("id", "user_id", "role", "location_ids", "created_at", "updated_at"), memberships)
    copy_rows("shared.families", ("id", "language", "street", "number", "postcode", "locality", "home_tenant_id",
                                  "phone", "needs_care_for_work", "single_parent", "low_income", "created_at",
                                  "updated_at"), families)
    copy_rows("shared.guardians", ("id", "family_id", "user_id", "name", "email", "created_at", "updated_at"),
              guardians)
    copy_rows("shared.children", ("id", "family_id", "first_name", "last_name", "birth_date", "due_date",
                                  "national_number_digest", "foster_child", "extra_care_needs",
                                  "sibling_location_ids", "created_at", "updated_at"), children)
    copy_rows("shared.requests", ("id", "family_id", "child_id", "status", "start_date", "flexibility_weeks",
                                  "care_plan", "keep_higher_choices", "submitted_at", "confirmed_at", "inactive_at",
                                  "created_by_user_id", "created_at", "updated_at"), requests)
    copy_rows("shared.choices", ("id", "request_id", "rank", "tenant_id", "location_id", "application_id", "status"),
              choices)
    for tenant_id, rows_ in applications.items():
        schema = schemas[tenant_id]
        copy_rows(f'"{schema}".applications', (
            "id", "request_id", "location_id", "rank", "status", "snapshot", "submitted_at", "start_month",
            "age_group", "offer_deadline", "held_month", "held_age_group", "reject_reason", "answered_at", "flags",
            "paused_at", "version", "created_at", "updated_at"), rows_)
        copy_rows(f'"{schema}".application_events', (
            "id", "application_id", "at", "kind", "actor_id", "actor_role", "from_status", "to_status", "detail"),
            events[tenant_id])
    return loaded


@dataclass
class Region:
    key: str
    tenants: int
    url: str
    database: str
    app: object = None
    slugs: dict[uuid.UUID, str] = field(default_factory=dict)
    largest: str = ""
    popular: list[uuid.UUID] = field(default_factory=list)
    inbox_groups: dict[uuid.UUID, list[tuple[str, str]]] = field(default_factory=dict)
    locations: list[tuple[str, uuid.UUID]] = field(default_factory=list)  # (tenant slug, location id)
    desk_locations: list[uuid.UUID] = field(default_factory=list)
    staff_email: str = ""
    coordinator_email: str = ""
    loaded: Loaded = field(default_factory=Loaded)
    offers: list[tuple[uuid.UUID, uuid.UUID, date]] = field(default_factory=list)  # location, application, month
    drafts: list = field(default_factory=list)
    facts: dict = field(default_factory=dict)


def build(scratch: ScratchDatabase, key: str, tenants: int, args, needed: Counter) -> Region:
    region = Region(key, tenants, scratch.url, scratch.name)
    rng = random.Random(f"{args.seed}:{key}")
    app = region.app = create_app({**app_config(scratch.url, args.redis_url, REGION_NAME), **CHEAP_HASH})
    started = time.perf_counter()
    with app.app_context():
        # The small region has as many locations as the big one unless told otherwise: each
        # worker holds the region's catalog in memory (catalog.index), so the RSS ratio then
        # measures what the number of municipalities costs, not the size of the catalog.
        counts = location_counts(tenants, args.locations if key == "big" or not args.small_locations
                                 else args.small_locations)
        print(f"building {key}: {tenants} municipalities, {sum(counts)} locations ({counts[0]} in the largest) "
              f"in {scratch.name} …", flush=True)
        built = build_region([slug(i) for i in range(tenants)], lambda i: counts[i], today=TODAY,
                             names=municipality_name)
        by_slug = {t.slug: t for t in db.session.scalars(sa.select(Tenant))}
        region.slugs = {t.id: s for s, t in by_slug.items()}
        largest = by_slug[slug(0)]
        region.largest = largest.slug
        municipalities = municipalities_of(by_slug, tenants)
        index_of = {m.id: m.index for m in municipalities}
        region.desk_locations = sorted({loc for locs in municipalities[0].by_group.values() for loc in locs})
        region.locations = [(region.slugs[t], loc) for t, loc in db.session.execute(
            sa.select(CatalogLocation.tenant_id, CatalogLocation.location_id)
            .where(CatalogLocation.active.is_(True)).order_by(CatalogLocation.location_id))]
        region.popular = list(db.session.scalars(sa.select(CatalogLocation.location_id).where(
            CatalogLocation.tenant_id == largest.id, CatalogLocation.kind == "group",
            CatalogLocation.min_age_months == 0, CatalogLocation.max_age_months >= 36,
            CatalogLocation.accepts_online.is_(True))
            .order_by(CatalogLocation.licensed_places.desc(), CatalogLocation.location_id).limit(2)))
        region.staff_email = make_user(db.session, name="Medewerker Opvang", role="provider_staff", tenant=largest,
                                       location_ids=region.desk_locations).email
        region.coordinator_email = make_user(db.session, name="Coördinator Loket", role="coordinator",
                                             tenant=largest).email
        print(f"  {built.locations} locations, {built.availability} free-place rows in {built.seconds:.0f} s",
              flush=True)
        largest_id, schemas = largest.id, {t.id: schema_for(s) for s, t in by_slug.items()}
        # No lock left on shared.tenants (loading drops and adds keys referencing it): the
        # session's objects are not touched again until the data is in.
        db.session.commit()
        loading = time.perf_counter()
        rows = records(rng, municipalities, args.families, args.applications, 24)
        concentrate(rows, [(largest_id, loc) for loc in region.popular], args.inbox)
        load_records(rows)
        daily_rows, _ = load_daily(args.days)
        region.loaded = load_applications(rows, rng, index_of, schemas, largest_id)
        print(f"  {len(rows)} applications of {args.families} families (real tables and statistics), "
              f"{daily_rows} daily statistics rows in {time.perf_counter() - loading:.0f} s", flush=True)
        region.facts = facts(region, rows, largest)
        region.offers = plan_offers(region, largest, rng, needed["offer"])
    world = survey(app)
    drafting = time.perf_counter()
    region.drafts = [prepare(app, world, rng, 5) for _ in range(needed["submit"])]
    print(f"  {len(region.drafts)} drafts with 5 choices in 5 municipalities in "
          f"{time.perf_counter() - drafting:.0f} s", flush=True)
    with app.app_context():
        build_monthly()
        vacuumed = vacuum_analyze()
        db.session.remove()
    region.facts.update(build_seconds=round(time.perf_counter() - started), vacuum_seconds=round(vacuumed))
    print(f"  built in {region.facts['build_seconds']} s (VACUUM ANALYZE {vacuumed:.0f} s); {region.facts}",
          flush=True)
    return region


def facts(region: Region, rows: list[tuple], largest: Tenant) -> dict:
    open_at = Counter(row[3] for row in rows if row[10] == "open" and row[9] in WAITING)
    groups: dict[uuid.UUID, Counter] = defaultdict(Counter)
    for row in rows:
        if row[3] in region.popular and row[9] in WAITING:
            groups[row[3]][(row[7].strftime("%Y-%m"), row[6])] += 1
    region.inbox_groups = {loc: [g for g, _ in counter.most_common()] for loc, counter in groups.items()}
    schema = schema_for(largest.slug)
    real = db.session.execute(sa.text(f"""
        SELECT count(*) FILTER (WHERE status IN ('submitted', 'in_review', 'waitlisted')
                                AND location_id = ANY(:popular)) AS inbox,
               count(*) AS applications
        FROM "{schema}".applications"""), {"popular": region.popular}).one()  # noqa: S608 (schema from the slug)
    return {"tenants": region.tenants, "applications": len(rows),
            "real_applications_largest": real.applications,
            "open_at_inbox_locations": [open_at[loc] for loc in region.popular], "inbox_real": real.inbox,
            "most_open_elsewhere": max((n for loc, n in open_at.items() if loc not in region.popular), default=0)}


def plan_offers(region: Region, largest: Tenant, rng: random.Random, count: int) -> list:
    """Waiting applications of open requests in the largest municipality whose month and age
    group still have a free place, each free place offered once; never a request that will
    accept an offer in the same run (its other choices are withdrawn then)."""
    schema = schema_for(largest.slug)
    free = {(r.location_id, r.month, r.age_group): r.free_places for r in db.session.execute(sa.text(
        f'SELECT location_id, month, age_group, free_places FROM "{schema}".availability '  # noqa: S608
        "WHERE free_places > 0"))}
    accepting = {request_id for request_id, _ in region.loaded.offered}
    candidates = [w for w in region.loaded.waiting if w[0] not in accepting and w[2] not in region.popular]
    rng.shuffle(candidates)
    planned, used = [], set()
    for request_id, application_id, location_id, month, group in candidates:
        slot = (location_id, month, group)
        if len(planned) >= count or free.get(slot, 0) < 1 or request_id in used:
            continue
        free[slot] -= 1
        used.add(request_id)
        planned.append((location_id, application_id, month))
    return planned


# --- the people, logged in over HTTP --------------------------------------------------------------


@dataclass
class People:
    parents: list[tuple[str, uuid.UUID]] = field(default_factory=list)  # cookie, own open request
    accepting: list[tuple[str, str, uuid.UUID, uuid.UUID]] = field(default_factory=list)  # cookie, csrf, request, choice
    submitting: list[tuple[str, str, uuid.UUID]] = field(default_factory=list)  # cookie, csrf, draft request
    staff: list[tuple[str, str]] = field(default_factory=list)  # cookie on the municipal host, csrf
    desk: list[str] = field(default_factory=list)


def log_in_everybody(region: Region, server: Gunicorn, args, needed: Counter) -> People:
    people = People()
    region_host = server.host
    municipal = f"{region.largest}.{region_host}"
    rng = random.Random(f"{args.seed}:people:{region.key}")

    def parent(request_id):
        browser = Browser(server.port)
        browser.log_in(region_host, region.loaded.emails[request_id])
        return f"session={browser.cookies[region_host]['session']}", request_id, browser

    def accepting(pair):
        request_id, choice_id = pair
        cookie, _, browser = parent(request_id)
        token = browser.csrf_token(f"http://{region_host}/aanvragen/{request_id}")
        return cookie, token, request_id, choice_id

    def submitting(draft):
        browser = Browser(server.port)
        browser.log_in(region_host, draft.email)
        token = browser.csrf_token(f"http://{region_host}/aanvragen/{draft.request_id}/nazicht")
        return f"session={browser.cookies[region_host]['session']}", token, draft.request_id

    def staff(email):
        browser = Browser(server.port)
        browser.log_in(region_host, email, hosts=(municipal,))
        return browser

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=3) as pool:
        sample = rng.sample(region.loaded.open_requests, min(args.parents, len(region.loaded.open_requests)))
        people.parents = [(cookie, request_id) for cookie, request_id, _ in pool.map(parent, sample)]
        offered = rng.sample(region.loaded.offered, min(needed["accept"], len(region.loaded.offered)))
        people.accepting = list(pool.map(accepting, offered))
        people.submitting = list(pool.map(submitting, region.drafts))
        for browser in pool.map(staff, [region.staff_email] * args.threads):
            # any form of the session carries a valid token: the first planned offer's page
            token = browser.csrf_token(f"http://{municipal}/opvang/{region.offers[0][0]}/aanvragen/"
                                       f"{region.offers[0][1]}") if region.offers else ""
            people.staff.append((f"session={browser.cookies[municipal]['session']}", token))
        for browser in pool.map(staff, [region.coordinator_email] * args.threads):
            people.desk.append(f"session={browser.cookies[municipal]['session']}")
    print(f"  logged in over HTTP: {len(people.parents)} parents, {len(people.accepting)} with an offer, "
          f"{len(people.submitting)} with a draft, {len(people.staff)} staff and {len(people.desk)} desk sessions "
          f"in {time.perf_counter() - started:.0f} s", flush=True)
    return people


# --- the mix ----------------------------------------------------------------------------------------


@dataclass
class Op:
    kind: str
    method: str
    host: str
    path: str
    cookie: str = ""
    body: str = ""
    tag: str = "-"  # what a one-off POST used up, checked afterwards


def plan(region: Region, people: People, server: Gunicorn, total: int, seed: str, *, once: bool) -> list[Op]:
    """``total`` requests drawn by MIX's weights; ``once=False`` leaves the one-off POSTs out
    (the warm-up)."""
    rng = random.Random(seed)
    region_host = server.host
    municipal = f"{region.largest}.{region_host}"
    kinds = [k for k, p in MIX.items() if once or not p.once]
    weights = [MIX[k].weight for k in kinds]
    searches = iter(search_paths(PAGE, region.tenants, total, f"{seed}:anon"))
    searches_logged = iter(search_paths(PAGE, region.tenants, total, f"{seed}:logged"))
    dashboards = iter(variants(rng, total, region.desk_locations))
    accepting, submitting, offers = iter(people.accepting), iter(people.submitting), iter(region.offers)
    names = region.loaded.last_names
    slugs = sorted(region.slugs.values())

    def search():
        return Op("search", "GET", region_host, next(searches))

    def make(kind: str) -> Op | None:
        if kind == "search":
            return search()
        if kind == "search_logged":
            return Op(kind, "GET", region_host, next(searches_logged), rng.choice(people.parents)[0])
        if kind == "location":
            tenant, location = rng.choice(region.locations)
            path = f"/locaties/{location}"
            if rng.random() < 0.3:  # came from a search: the way back is carried along
                path += "?" + urlencode({"zoek": next(searches).split("?", 1)[1]})
            return Op(kind, "GET", f"{tenant}.{region_host}", path)
        if kind == "home":
            return Op(kind, "GET", f"{rng.choice(slugs)}.{region_host}", "/")
        if kind == "trivial":
            return Op(kind, "GET", f"{rng.choice(slugs)}.{region_host}", "/branding.css")
        if kind in ("overview", "request"):
            cookie, request_id = rng.choice(people.parents)
            return Op(kind, "GET", region_host, "/aanvragen/" if kind == "overview" else f"/aanvragen/{request_id}",
                      cookie)
        if kind == "submit":
            found = next(submitting, None)
            return found and Op(kind, "POST", region_host, f"/aanvragen/{found[2]}/nazicht", found[0],
                                urlencode({"csrf_token": found[1]}), str(found[2]))
        if kind == "accept":
            found = next(accepting, None)
            return found and Op(kind, "POST", region_host, f"/aanvragen/{found[2]}/keuzes/{found[3]}/aanvaarden",
                                found[0], urlencode({"csrf_token": found[1]}), str(found[3]))
        if kind == "offer":
            found = next(offers, None)
            cookie, token = rng.choice(people.staff)
            return found and Op(kind, "POST", municipal, f"/opvang/{found[0]}/aanvragen/{found[1]}", cookie,
                                urlencode({"csrf_token": token, "action": "offer", "version": "1",
                                           "month": found[2].strftime("%Y-%m"), "deadline": ""}), str(found[1]))
        if kind == "inbox":
            location = rng.choice(region.popular)
            args: dict = {}
            groups = region.inbox_groups.get(location) or []
            if groups and rng.random() < 0.8:
                month, group = rng.choice(groups[:12])
                args.update(maand=month, groep=group)
            if rng.random() < 0.25:
                args["status"] = rng.choice(WAITING)
            if rng.random() < 0.15:
                args["dag"] = str(rng.randint(1, 5))
            if rng.random() < 0.1:
                args["q"] = rng.choice(names).lower()[: rng.randint(3, 6)]
            if rng.random() < 0.2:
                args["pagina"] = str(rng.randint(2, 4))
            return Op(kind, "GET", municipal, f"/opvang/{location}/" + (f"?{urlencode(args)}" if args else ""),
                      rng.choice(people.staff)[0])
        if kind == "worklist":
            slug_ = rng.choice(list(SORTS))
            args = {"sorteer": ("-" if rng.random() < 0.3 else "") + rng.choice(SORTS[slug_])}
            if rng.random() < 0.3:
                args["pagina"] = str(rng.randint(2, 6))
            return Op(kind, "GET", municipal, f"/beheer/werklijsten/{slug_}?{urlencode(args)}", rng.choice(people.desk))
        if kind == "dashboard":
            return Op(kind, "GET", municipal, f"/beheer/cijfers{next(dashboards)}", rng.choice(people.desk))
        if kind == "desk_home":
            return Op(kind, "GET", municipal, "/beheer/", rng.choice(people.desk))
        raise ValueError(kind)

    ops = []
    for kind in rng.choices(kinds, weights=weights, k=total):
        ops.append(make(kind) or search())  # a pool used up: a search instead
    return ops


def needs(args) -> Counter:
    """One-off material per region for ``--max-rps`` × ``--duration`` requests, 20 % spare."""
    total = round(args.max_rps * args.duration)
    return Counter({k: round(total * p.weight / 100 * 1.2) + 5 for k, p in MIX.items() if p.once})


LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *ts);
]]
local now_ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, now_ts)  -- CLOCK_MONOTONIC
  return tonumber(now_ts.tv_sec) * 1000000 + tonumber(now_ts.tv_nsec) / 1000
end

local hosts = {%(hosts)s}
local cookies = {%(cookies)s}
local lists = {%(lists)s}
local started = 0

function setup(thread)
  thread:set("id", started)
  started = started + 1
end

local mine, i, wrapped, log, pending, pending_at, pending_tag, written = nil, 0, false, nil, nil, 0, "-", 0
local checking = false

function init(args)
  mine = lists[id + 1]
  log = io.open("%(logs)s/thread-" .. id .. ".log", "w")
  -- wrk calls the first thread's request() once before any connection exists, to check that
  -- the script's requests parse (wrk.c: script_verify_request). That request is never sent:
  -- it must take no operation from the list, or it shows up as a request without an answer.
  checking = (id == 0)
end

function request()
  if checking then
    checking = false
    local op = mine[1]
    return wrk.format(op[2], op[4], {Host = hosts[op[3]]}, op[6] ~= "" and op[6] or nil)
  end
  if pending then  -- the last request got no response (connection lost): an error
    log:write(pending, " 0 0 ", pending_tag, " -\n")
  end
  local op
  repeat
    i = i + 1
    if i > #mine then
      i = 1
      if not wrapped then log:write("WRAPPED 0 0 - -\n") end
      wrapped = true
    end
    op = mine[i]
  until not (wrapped and op[7])  -- a one-off POST is never sent twice
  pending, pending_tag, pending_at = op[1], op[8], now_us()
  local headers = {Host = hosts[op[3]]}
  if op[5] > 0 then headers["Cookie"] = cookies[op[5]] end
  if op[2] == "POST" then headers["Content-Type"] = "application/x-www-form-urlencoded" end
  return wrk.format(op[2], op[4], headers, op[6] ~= "" and op[6] or nil)
end

%(think)s
function response(status, headers, body)
  local took = now_us() - pending_at
  log:write(pending, " ", status, " ", math.floor(took), " ", pending_tag, " ", headers["Location"] or "-", "\n")
  pending = nil
  written = written + 1
  if written %% 200 == 0 then log:flush() end
end

function done(summary, latency, requests)
  io.write(string.format("BENCH_WRK %%d %%d %%d %%d %%d %%d\n", summary.requests, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout, summary.duration))
end
"""


THINK = """
-- Users read before they click: each connection waits a random think time (exponential, mean
-- %(mean)d ms) before its next request, so the load is a crowd of users, not a saturating loop.
function delay()
  return math.floor(-math.log(1 - math.random()) * %(mean)d)
end
"""


def lua_script(ops: list[Op], threads: int, logs: Path, think_ms: int = 0) -> str:
    hosts, cookies = {}, {}

    def index(table: dict, value: str) -> int:
        return table.setdefault(value, len(table) + 1)

    per_thread: list[list[str]] = [[] for _ in range(threads)]
    for n, op in enumerate(ops):
        cookie = index(cookies, op.cookie) if op.cookie else 0
        per_thread[n % threads].append(
            "{" + ",".join([json.dumps(op.kind), json.dumps(op.method), str(index(hosts, op.host)), json.dumps(op.path),
                            str(cookie), json.dumps(op.body), "true" if MIX[op.kind].once else "false",
                            json.dumps(op.tag)]) + "}")
    return LUA % {"hosts": ",".join(json.dumps(h) for h in hosts), "cookies": ",".join(json.dumps(c) for c in cookies),
                  "lists": ",\n".join("{" + ",\n".join(lines) + "}" for lines in per_thread), "logs": logs,
                  "think": THINK % {"mean": think_ms} if think_ms > 0 else ""}


def run_mix(server: Gunicorn, ops: list[Op], seconds: float, args, work: Path, name: str) -> list[tuple]:
    """wrk over ``ops``; the responses (kind, status, µs, tag, Location) from the threads' logs."""
    logs = work / f"logs-{name}"
    logs.mkdir()
    script = work / f"mix-{name}.lua"
    script.write_text(lua_script(ops, args.threads, logs, args.think_ms))
    command = [wrk_binary(), "--threads", str(args.threads), "--connections", str(args.threads), "--duration",
               f"{max(1, round(seconds))}s", "--timeout", "30s", "--script", str(script),
               f"http://127.0.0.1:{server.port}"]
    import subprocess

    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 180)
    if completed.returncode != 0 or "BENCH_WRK" not in completed.stdout:
        raise BenchError(f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr[-3000:]}")
    counters = completed.stdout.split("BENCH_WRK ", 1)[1].split()
    out = [("WRK", 0, 0, "-", "requests={} connect={} read={} write={} timeout={}".format(*counters[:5]))]
    for log in sorted(logs.glob("thread-*.log")):
        for line in log.read_text().splitlines():
            kind, status, micros, tag, location = line.split(" ", 4)
            out.append((kind, int(status), int(micros), tag, location))
    return out


# --- checking and reporting -----------------------------------------------------------------------


def check_one_offs(region: Region, responses: list[tuple]) -> dict[str, set[str]]:
    """The tags of one-off POSTs that answered as if they worked but left no trace in the data."""
    sent = defaultdict(set)
    for kind, status, _, tag, _ in responses:
        if MIX.get(kind) and MIX[kind].once and status == MIX[kind].expect:
            sent[kind].add(tag)
    failed: dict[str, set[str]] = {}
    with region.app.app_context():
        if sent["submit"]:
            done = {str(i) for i in db.session.scalars(sa.select(CareRequest.id).where(
                CareRequest.id.in_([uuid.UUID(t) for t in sent["submit"]]), CareRequest.status == "open"))}
            failed["submit"] = sent["submit"] - done
        if sent["accept"]:
            done = {str(i) for i in db.session.scalars(sa.select(Choice.id).where(
                Choice.id.in_([uuid.UUID(t) for t in sent["accept"]]), Choice.status == "accepted"))}
            failed["accept"] = sent["accept"] - done
            for choice in db.session.scalars(sa.select(Choice).where(
                    Choice.id.in_([uuid.UUID(t) for t in sorted(failed["accept"])[:5]]))):
                care = db.session.get(CareRequest, choice.request_id)
                print(f"  accept without effect: choice {choice.id} is {choice.status}, its request {care.status}")
        if sent["offer"]:
            schema = schema_for(region.largest)
            done = {str(i) for i in db.session.scalars(sa.text(
                f'SELECT id FROM "{schema}".applications WHERE id = ANY(:ids) AND status = \'offered\''),  # noqa: S608
                {"ids": [uuid.UUID(t) for t in sent["offer"]]})}
            failed["offer"] = sent["offer"] - done
        db.session.remove()
    return failed


def summarise(responses: list[tuple], failed: dict[str, set[str]], seconds: float) -> tuple[dict, bool, Counter]:
    by_kind: dict[str, list[tuple]] = defaultdict(list)
    wrapped = False
    for response in responses:
        if response[0] == "WRAPPED":
            wrapped = True
        elif response[0] == "WRK":  # wrk's own socket error counters
            print(f"  wrk: {response[4]}")
        else:
            by_kind[response[0]].append(response)
    pages, reasons = {}, Counter()
    for kind, page in MIX.items():
        got = by_kind.get(kind, [])
        errors = 0
        for _, status, _, tag, location in got:
            reason = None
            if status == 0:
                reason = "no response"
            elif status >= 400:
                reason = str(status)
            elif "/aanmelden" in location:
                reason = "302 to login"
            elif status != page.expect:
                reason = f"{status} instead of {page.expect}"
            elif page.lands and page.lands not in location:
                reason = f"landed on {location}"
            elif tag in failed.get(kind, ()):
                reason = "no effect in the data"
            if reason:
                errors += 1
                reasons[f"{kind}: {reason}"] += 1
        latencies = [micros / 1000 for _, status, micros, _, _ in got if status]
        pages[kind] = {"label": page.label, "requests": len(got), "rps": len(got) / seconds, "errors": errors,
                       "p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95),
                       "p99_ms": percentile(latencies, 0.99), "max_ms": max(latencies, default=float("nan"))}
    return pages, wrapped, reasons


def worker_rss(server: Gunicorn) -> list[int]:
    """VmRSS (kB) of each worker of the gunicorn master."""
    master = server.process.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    rss = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss.append(int(line.split()[1]))
    return rss


def mix_table(pages: dict, hello_p95: float) -> list[str]:
    home, trivial = pages["home"]["p95_ms"], pages["trivial"]["p95_ms"]
    rows = ["| page | requests | req/s | p50 ms | p95 ms | p99 ms | errors | p95 ÷ hello p95 | target | met |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|:-:|"]
    for kind, f in pages.items():
        ratio = f["p95_ms"] / hello_p95
        checks = [(f"≤ {TARGET_VS_HELLO:g} × hello", ratio <= TARGET_VS_HELLO), ("0 errors", f["errors"] == 0)]
        if kind == "submit":
            checks.append((f"≤ {TARGET_SUBMIT_VS_TRIVIAL:g} × trivial ({f['p95_ms'] / trivial:.1f}×)",
                           f["p95_ms"] / trivial <= TARGET_SUBMIT_VS_TRIVIAL))
        if kind == "inbox":
            checks.append((f"≤ {TARGET_INBOX_VS_HOME:g} × home ({f['p95_ms'] / home:.2f}×)",
                           f["p95_ms"] / home <= TARGET_INBOX_VS_HOME))
        met = all(ok for _, ok in checks)
        rows.append(f"| {f['label']} | {f['requests']} | {f['rps']:.1f} | {f['p50_ms']:.1f} | {f['p95_ms']:.1f} "
                    f"| {f['p99_ms']:.1f} | {f['errors']} | {ratio:.1f} | {'; '.join(c for c, _ in checks)} "
                    f"| {'met' if met else '**missed**'} |")
    return rows


def update_results(path: Path, sections: dict[str, str]) -> None:
    """Replace (or append) this benchmark's ``## `` sections of ``path``, leaving the others."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    parts = text.split("\n## ")
    head, rest = parts[0], parts[1:]
    kept = [p for p in rest if p.split("\n", 1)[0].strip() not in sections]
    new = [f"{title}\n\n{body.strip()}\n" for title, body in sections.items()]
    path.write_text("\n## ".join([head.rstrip() + "\n", *[p.rstrip() + "\n" for p in kept], *new]))
    print(f"wrote {path}")


# --- main -------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=285)
    parser.add_argument("--small-tenants", type=int, default=18,
                        help="the second region (0: none, no RSS ratio)")
    parser.add_argument("--duration", type=float, default=300, help="seconds of mixed load per region (default 300)")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of untimed load first (no POSTs)")
    parser.add_argument("--locations", type=int, default=6000)
    parser.add_argument("--small-locations", type=int, default=0,
                        help="locations of the small region (default: as many as the big one)")
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--families", type=int, default=60_000)
    parser.add_argument("--inbox", type=int, default=1000, help="open applications of the two largest locations")
    parser.add_argument("--days", type=int, default=30, help="days of statistics_daily (default 30)")
    parser.add_argument("--parents", type=int, default=150, help="logged-in parents browsing (default 150)")
    parser.add_argument("--max-rps", type=float, default=80,
                        help="requests prepared per second of load (one-off POSTs are sized by it; default 80)")
    parser.add_argument("--threads", type=int, default=8, help="wrk threads, one connection each (default 8)")
    parser.add_argument("--think-ms", type=int, default=0,
                        help="mean think time of each connection between requests (default 0: saturate)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--worker-threads", type=int, default=4)
    parser.add_argument("--hello", type=float, default=20, help="seconds of hello-world load (default 20)")
    parser.add_argument("--seed", default="17")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS)
    parser.add_argument("--results", type=Path, default=None, help="write the sections into this markdown file")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.connections = args.threads  # the hello-world baseline: as many connections as the mix
    wrk_binary()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    admin = admin_url(args.database_url)
    needed = needs(args)
    started = time.perf_counter()
    report: dict = {"config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                    "regions": {}}
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rl-bench-mixed-")))
        instance = work / "instance"
        instance.mkdir()
        load = os.getloadavg()
        with Gunicorn("hello:app", env=server_env("postgresql://unused", args.redis_url, instance), args=args,
                      logs=work, pythonpath=Path(__file__).resolve().parent) as hello:
            figures = run_wrk(hello.port, hello.host, ["/"], seconds=args.hello, args=args, scripts=work)
        hello_p95 = figures["p95_us"] / 1000
        report["hello"] = {"rps": figures["requests"] / (figures["duration_us"] / 1e6), "p95_ms": hello_p95,
                           "p50_ms": figures["p50_us"] / 1000, "load_before": load, "load_after": os.getloadavg()}
        print(f"hello-world: {report['hello']['rps']:.0f} req/s, p95 {hello_p95:.2f} ms (load {load[0]:.2f})",
              flush=True)
        regions = [("big", args.tenants)] + ([("small", args.small_tenants)] if args.small_tenants else [])
        for key, tenants in regions:
            with ScratchDatabase(admin) as scratch:
                region = build(scratch, key, tenants, args, needed)
                env = {**server_env(region.url, args.redis_url, instance, cache=True), **SERVER_EXTRA,
                       "LOKET_JOBS_QUEUE": f"bench-mixed-{uuid.uuid4().hex[:8]}"}
                with Gunicorn("wsgi:app", env=env, args=args, logs=work) as server:
                    people = log_in_everybody(region, server, args, needed)
                    if args.warmup > 0:
                        warm = plan(region, people, server, round(args.max_rps * args.warmup * 1.5),
                                    f"{args.seed}:{key}:warm-up", once=False)
                        run_mix(server, warm, args.warmup, args, work, f"{key}-warm-up")
                    ops = plan(region, people, server, round(args.max_rps * args.duration), f"{args.seed}:{key}",
                               once=True)
                    load_before = os.getloadavg()
                    print(f"  mixed load for {args.duration:g} s ({len(ops)} requests prepared, load "
                          f"{load_before[0]:.2f}) …", flush=True)
                    responses = run_mix(server, ops, args.duration, args, work, key)
                    load_after = os.getloadavg()
                    rss = worker_rss(server)
                    tail = server.tail(60)
                region_report = report["regions"][key] = {"facts": region.facts, "rss_kb": rss,
                                                          "load_before": load_before, "load_after": load_after}
                failed = check_one_offs(region, responses)
                pages, wrapped, reasons = summarise(responses, failed, args.duration)
                region_report.update(pages=pages, wrapped=wrapped, errors=dict(reasons),
                                     sent=len(responses), prepared=len(ops))
                if "Traceback" in tail:
                    region_report["gunicorn_log"] = tail
                    print(f"gunicorn logged errors:\n{tail}", file=sys.stderr)
                print("\n".join(mix_table(pages, hello_p95)))
                print(f"  errors: {dict(reasons) or 'none'}; RSS {rss} kB; load {load_before[0]:.2f} → "
                      f"{load_after[0]:.2f}{'; a thread ran out of prepared requests' if wrapped else ''}",
                      flush=True)
                with region.app.app_context():
                    db.session.remove()
                    db.engine.dispose()
        sections = results_sections(report, args, hello_p95)
        for title, body in sections.items():
            print(f"\n## {title}\n\n{body}")
        if args.results:
            update_results(args.results, sections)
        report["seconds"] = round(time.perf_counter() - started)
        write_json(args.json, report)
    return 0


def results_sections(report: dict, args, hello_p95: float) -> dict[str, str]:
    hello = report["hello"]
    lines = [f"`bench/mixed.py --duration {args.duration:g}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC): gunicorn "
             f"`wsgi:app` {args.workers} × {args.worker_class}, one wrk of {args.threads} threads × 1 connection"
             f"{f' with a think time of {args.think_ms} ms (mean, exponential)' if args.think_ms else ''}, "
             f"{args.warmup:g} s warm-up; {os.cpu_count()} CPUs shared with other work. Baseline hello-world "
             f"(same gunicorn command line, {args.threads} connections, {args.hello:g} s): "
             f"{hello['rps']:.0f} req/s, p95 {hello_p95:.2f} ms (load average {hello['load_before'][0]:.2f})."]
    for r in report["regions"].values():
        f = r["facts"]
        sent = sum(p["requests"] for p in r["pages"].values())
        lines += ["", f"### {f['tenants']} municipalities — {f['applications']} applications, inbox locations with "
                      f"{', '.join(map(str, f['open_at_inbox_locations']))} open applications",
                  "",
                  f"{sent} requests in {args.duration:g} s ({sent / args.duration:.1f} req/s); load average "
                  f"{r['load_before'][0]:.2f} before, {r['load_after'][0]:.2f} after (1 min)"
                  f"{'; a thread ran out of prepared requests (one-off POSTs not repeated)' if r['wrapped'] else ''}."
                  f" Errors: {r['errors'] or 'none'}.", "", *mix_table(r["pages"], hello_p95)]
    rss_lines = ["VmRSS of each gunicorn worker (`/proc/<pid>/status`) right after the mixed load above.", "",
                 "| region | workers' RSS (MB) | mean MB |", "|---|---|---:|"]
    means = {}
    for key, r in report["regions"].items():
        means[key] = sum(r["rss_kb"]) / len(r["rss_kb"]) / 1024
        rss_lines.append(f"| {r['facts']['tenants']} municipalities | "
                         f"{', '.join(f'{kb / 1024:.1f}' for kb in r['rss_kb'])} | {means[key]:.1f} |")
    if "small" in means:
        ratio = means["big"] / means["small"]
        rss_lines += ["", f"RSS @{args.tenants} ÷ @{args.small_tenants}: **{ratio:.3f}** (target ≤ {TARGET_RSS:g}: "
                          f"{'met' if ratio <= TARGET_RSS else '**missed**'})."]
    return {"Mixed load (issue #17 item 3)": "\n".join(lines), "Worker RSS": "\n".join(rss_lines)}


if __name__ == "__main__":
    run_main(main, "mixed.py")
