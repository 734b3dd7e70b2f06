"""Concurrent isolation (issue #18, item 2): a real gunicorn with several workers and threads,
thousands of interleaved requests for alternating municipalities and users, and every answer
read for what it must show and for what it must never show — another municipality's or
another person's data. Then once more with the database behind PgBouncer in transaction mode.

The database is this module's own (as ``live_region``'s): three municipalities with two
locations each, one staff member per location, a coordinator per municipality and two families
per location, each with a submitted request. Every person, child and location carries a marker
of its own (letters that occur nowhere else), so an answer is checked row by row: its own
markers present, no marker of anyone else.

The client is http.client against 127.0.0.1 with each portal's Host header (the region
``loket.test``, municipalities ``<slug>.loket.test``), cookies kept per user and host, logged in
through the real form (with its CSRF token) on the region host and taken to the municipal host
by following the /sessie/naar hand-over across hosts, as a browser does.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
import sqlalchemy as sa

from regional_loket import create_app
from regional_loket.database import sqlalchemy_url, utcnow
from regional_loket.extensions import db
from regional_loket.tenancy import migrate

from . import factories as f
from .conftest import PASSWORD, REGION, free_port, make_config

ROOT = Path(__file__).resolve().parent.parent
SLUGS = ("alfa", "bravo", "charlie")
# Letters that never occur in a UUID, a hex digest or the site's own words: a marker found in
# an answer is that person's or location's data, never a coincidence.
_ALPHABET = "QXZJVW"
_markers = random.Random(18)
_seen: set[str] = set()

# Bounds. Each run sends up to its number of requests from THREADS threads, for at most its
# budget of seconds; the answers it got by then must be at least its minimum, else the run
# proved too little. On an idle 2-core machine every request is sent (~25 requests a second);
# on one shared with other builds (load 10) the budget ends the runs after ~700 and ~300.
DIRECT = {"requests": 1500, "budget": 45, "minimum": 600}
POOLED = {"requests": 500, "budget": 15, "minimum": 200}
THREADS = 8
REQUEST_TIMEOUT = 30


def marker(kind: str) -> str:
    while True:
        value = kind + "".join(_markers.choice(_ALPHABET) for _ in range(8))
        if value not in _seen:
            _seen.add(value)
            return value


# --- the population ------------------------------------------------------------------------


@dataclass
class Person:
    email: str
    name: str  # a marker
    role: str
    tenant: str | None = None  # the municipality they work for or live in
    markers: set[str] = field(default_factory=set)  # what is theirs (their own name among it)
    pages: list = field(default_factory=list)  # (host, path, markers the page must show)


@dataclass
class Population:
    people: list[Person]
    locations: dict  # location id → (slug, name marker)
    everything: set[str]  # every marker of every person, child and location
    by_tenant: dict  # slug → its markers


def _person(kind: str, role: str, tenant: str | None) -> Person:
    name = marker(kind)
    return Person(email=f"{name.lower()}@example.be", name=name, role=role, tenant=tenant)


def _build(session) -> Population:
    """Three municipalities, committed by the caller; every page each person will open, with
    the markers it must show."""
    people, locations, by_tenant = [], {}, {}
    long_ago = utcnow() - timedelta(days=60)  # submitted long ago: overdue on the desk's worklist
    for number, slug in enumerate(SLUGS):
        tenant = f.make_tenant(session, slug, name=slug.title(), nis_code=f"7{number:04d}")
        own = by_tenant.setdefault(slug, set())
        coordinator = _person("Coord", "coordinator", slug)
        for _ in range(2):
            place = marker("Loc")
            location = f.make_location(session, tenant, f"Creche {place}")
            locations[location.id] = (slug, place)
            staff = _person("Staff", "provider_staff", slug)
            staff.markers |= {place}
            inbox_rows = set()
            for _ in range(2):
                parent = _person("Parent", "parent", slug)
                child = marker("Kid")
                user, family = f.make_family(session, email=parent.email, name=parent.name)
                care = f.make_request(session, family, f.make_child(session, family, first_name=child),
                                      locations=[location], now=long_ago)
                _, application = f.application_of(session, care.choices[0])
                parent.markers |= {child, parent.email, place}
                parent.pages = [(REGION, "/aanvragen/", {child}),
                                (REGION, f"/aanvragen/{care.id}", {child, place})]
                staff.pages.append((f"{slug}.{REGION}", f"/opvang/{location.id}/aanvragen/{application.id}",
                                    {child, place}))
                staff.markers |= {child, parent.name, parent.email}
                inbox_rows.add(child)
                people.append(parent)
                own |= parent.markers | {parent.name}
            staff.pages.insert(0, (f"{slug}.{REGION}", f"/opvang/{location.id}/", inbox_rows | {place}))
            people.append(staff)
            own |= staff.markers | {staff.name, staff.email}
            f.make_user(session, "provider_staff", email=staff.email, name=staff.name, tenant=tenant,
                        locations=[location.id])
        f.make_user(session, "coordinator", email=coordinator.email, name=coordinator.name, tenant=tenant)
        people.append(coordinator)
        own |= {coordinator.name, coordinator.email}
    for person in people:
        person.markers.add(person.name)
        if person.role == "coordinator":
            # The desk sees its whole municipality: every location's name on the stale-places
            # list, every overdue application (child's first name) on the overdue list.
            places = {place for slug, place in locations.values() if slug == person.tenant}
            host = f"{person.tenant}.{REGION}"
            person.markers |= by_tenant[person.tenant]
            children = {m for m in by_tenant[person.tenant] if m.startswith("Kid")}
            person.pages = [(host, "/beheer/werklijsten/vrije-plaatsen", places),
                            (host, "/beheer/werklijsten/te-laat", children),
                            (host, "/beheer/", set())]
    session.flush()
    everything = set().union(*by_tenant.values())
    return Population(people, locations, everything, by_tenant)


@pytest.fixture(scope="module")
def population(database_url, redis_url):
    """A database of this module's own with the population committed; dropped at the end."""
    admin = sa.create_engine(sqlalchemy_url(database_url), isolation_level="AUTOCOMMIT")
    name = admin.url.database + "_conc"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    app = create_app(make_config(url, redis_url))
    try:
        with app.app_context():
            migrate.upgrade_shared(db.engine)
            built = _build(db.session)
            db.session.commit()
            db.engine.dispose()
        yield url, built
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# --- gunicorn ------------------------------------------------------------------------------


class Gunicorn:
    """``python -m gunicorn wsgi:app`` of this checkout on 127.0.0.1 and a free port, with
    several workers and threads; stopped (and killed if it must) on the way out."""

    def __init__(self, tmp_path: Path, workers: int = 2, threads: int = 4, **environ: str):
        self.port = free_port()
        self.log_path = tmp_path / f"gunicorn-{self.port}.log"
        self.workers, self.threads = workers, threads
        self.environ = {**os.environ, **environ}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "--threads", str(self.threads),
                 "-b", f"127.0.0.1:{self.port}", "--timeout", "30", "--graceful-timeout", "5", "wsgi:app"],
                cwd=ROOT, env=self.environ, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_until_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_until_ready(self, timeout: float = 40.0) -> None:
        """Every worker answers: the region's login page a few times in a row (each worker builds its own app)."""
        deadline, answered = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                connection.request("GET", "/aanmelden", headers={"Host": REGION})  # the region host is ours
                answered = answered + 1 if connection.getresponse().status == 200 else 0
                if answered >= 2 * self.workers:
                    return
            except OSError:
                answered = 0
            finally:
                connection.close()
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def _environment(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SERVER_NAME": REGION,  # the region host (settings.ALIASES)
        "SECRET_KEY": "concurrent-isolation-key", "LOKET_ENV": "development",
        # One client address (127.0.0.1) logs everyone in: the limits are not what is tested.
        "LOKET_RATELIMIT_ENABLED": "false", "LOKET_LOG_LEVEL": "WARNING",
        "LOKET_PASSWORD_HASH_TIME_COST": "1", "LOKET_PASSWORD_HASH_MEMORY_KIB": "8",
        "LOKET_PASSWORD_HASH_PARALLELISM": "1", "LOKET_JOBS_QUEUE": f"conc-{os.getpid()}",
        **extra,
    }


# --- a browser of our own --------------------------------------------------------------------


class Browser:
    """Cookies per host, requests over http.client to the server's port with each portal's
    Host header. After sign-in its cookies are only read, so threads may share it."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, dict[str, str]] = {}

    def request(self, method: str, url: str, body: dict | None = None) -> tuple[int, dict, str]:
        parts = urlsplit(url)
        host = parts.netloc
        headers = {"Host": host, "Accept-Language": "nl", "Connection": "close"}
        jar = self.cookies.get(host, {})
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        payload = None
        if body is not None:
            payload = urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=payload,
                               headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            response_headers = {k.lower(): v for k, v in response.getheaders() if k.lower() != "set-cookie"}
            for value in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(value).items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        self.cookies.setdefault(host, {}).pop(name, None)
                    else:
                        self.cookies.setdefault(host, {})[name] = morsel.value
            return response.status, response_headers, text
        finally:
            connection.close()

    def follow(self, url: str, limit: int = 10) -> tuple[str, int, str]:
        """GET ``url`` and its redirects from host to host: (last URL, status, body)."""
        for _ in range(limit):
            status, headers, text = self.request("GET", url)
            if status not in (301, 302, 303, 307, 308):
                return url, status, text
            url = urljoin(url, headers["location"])
        raise AssertionError(f"more than {limit} redirects, last {url}")

    def sign_in(self, person: Person) -> None:
        """The login form on the region's host (its CSRF token included), then the hand-over to
        each municipal host the person works on."""
        status, _, form = self.request("GET", f"http://{REGION}/aanmelden")
        assert status == 200, status
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
        body = {"email": person.email, "password": PASSWORD}
        if token:
            body["csrf_token"] = token.group(1)
        status, headers, text = self.request("POST", f"http://{REGION}/aanmelden", body)
        assert status in (302, 303), f"{person.email}: login answered {status}"
        for host in sorted({host for host, _, _ in person.pages if host != REGION}):
            target = f"http://{host}/"
            url, status, _ = self.follow(f"http://{REGION}/sessie/naar?" + urlencode({"to": target}))
            assert (url, status) == (target, 200), (person.email, url, status)


# --- the run ---------------------------------------------------------------------------------


def _visits(population: Population, browsers: dict, total: int) -> list:
    """``total`` (browser, person, host, path, must show, may show) visits, alternating
    municipalities: each next visit is for the next municipality in turn, a different person."""
    per_tenant: dict[str, list] = {slug: [] for slug in SLUGS}
    for person in population.people:
        for host, path, shows in person.pages:
            per_tenant[person.tenant].append((browsers[person.email], person.email, host, path, shows,
                                              person.markers))
    for location_id, (slug, place) in population.locations.items():  # the public pages, anonymous
        per_tenant[slug].append((browsers[None], f"anonymous@{slug}", f"{slug}.{REGION}", f"/locaties/{location_id}",
                                 {place}, population.by_tenant[slug] & {place}))
    shuffle = random.Random(1818)
    for visits in per_tenant.values():
        shuffle.shuffle(visits)
    order, turn = [], 0
    while len(order) < total:
        for slug in SLUGS:
            visits = per_tenant[slug]
            order.append(visits[turn % len(visits)])
        turn += 1
    return order[:total]


def _check(population: Population, visit) -> str | None:
    browser, who, host, path, shows, may = visit
    try:
        status, _, body = browser.request("GET", f"http://{host}{path}")
    except (OSError, http.client.HTTPException) as error:
        return f"{who} {host}{path}: {error!r}"
    if status != 200:
        return f"{who} {host}{path}: {status}"
    missing = sorted(m for m in shows if m not in body)
    foreign = sorted(m for m in population.everything - may if m in body)
    if missing or foreign:
        return f"{who} {host}{path}: missing {missing}, foreign {foreign}"
    return None


def _run(server: Gunicorn, population: Population, total: int, budget: float) -> tuple[int, list[str]]:
    browsers = {person.email: Browser(server.port) for person in population.people}
    browsers[None] = Browser(server.port)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:  # the sign-ins interleave too
        list(pool.map(lambda p: browsers[p.email].sign_in(p), population.people))
    visits = _visits(population, browsers, total)
    deadline = time.monotonic() + budget
    failures: list[str] = []
    lock, done = threading.Lock(), [0]

    def visit(item):
        if time.monotonic() > deadline:
            return
        problem = _check(population, item)
        with lock:
            done[0] += 1
            if problem:
                failures.append(problem)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(visit, visits))
    return done[0], failures


def _report(label: str, done: int, bounds: dict, failures: list[str], server: Gunicorn, started: float) -> None:
    elapsed = time.monotonic() - started
    print(f"{label}: {done} of {bounds['requests']} requests checked in {elapsed:.1f} s, {len(failures)} failures")
    assert failures == [], "\n".join(failures[:30]) + "\n--- gunicorn ---\n" + server.log()
    assert done >= bounds["minimum"], f"only {done} requests within {bounds['budget']} s"


def test_interleaved_requests_under_gunicorn_never_show_another_tenant_or_user(population, redis_url,
                                                                                tmp_path):
    url, people = population
    started = time.monotonic()
    with Gunicorn(tmp_path, **_environment(url, redis_url)) as server:
        done, failures = _run(server, people, DIRECT["requests"], DIRECT["budget"])
    _report("gunicorn", done, DIRECT, failures, server, started)


BEHIND_A_POOLER = {"LOKET_DATABASE_PREPARE_THRESHOLD": "none"}


def test_the_same_through_pgbouncer_in_transaction_mode(population, pgbouncer, redis_url, tmp_path):
    """Two server connections for 2 workers × 4 threads: requests of different municipalities
    take turns on the same server sessions."""
    url, people = population
    started = time.monotonic()
    environ = _environment(pgbouncer.url(url), redis_url, DATABASE_LISTEN_URL=url, **BEHIND_A_POOLER)
    with Gunicorn(tmp_path, **environ) as server:
        done, failures = _run(server, people, POOLED["requests"], POOLED["budget"])
    assert sa.engine.make_url(url).database in pgbouncer.pools()
    _report("gunicorn behind pgbouncer", done, POOLED, failures, server, started)


class _Canned:
    """A browser whose every page is the same text."""

    def __init__(self, status: int, body: str):
        self.answer = (status, {}, body)

    def request(self, method, url, body=None):
        return self.answer


def test_the_check_sees_a_foreign_marker_a_missing_one_and_a_refusal():
    """The checker itself: what would a leak look like to it."""
    mine, theirs = "KidQQQQQQQQ", "KidXXXXXXXX"
    population = Population(people=[], locations={}, everything={mine, theirs}, by_tenant={})
    visit = (None, "someone", f"alfa.{REGION}", "/opvang/x/", {mine}, {mine})
    assert _check(population, (_Canned(200, f"<td>{mine}</td>"), *visit[1:])) is None
    assert "foreign ['KidXXXXXXXX']" in _check(population, (_Canned(200, f"{mine} {theirs}"), *visit[1:]))
    assert "missing ['KidQQQQQQQQ']" in _check(population, (_Canned(200, "nothing"), *visit[1:]))
    assert _check(population, (_Canned(404, mine), *visit[1:])).endswith(": 404")
