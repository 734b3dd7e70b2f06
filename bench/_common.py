"""Helpers shared by ``bench/search.py``, ``bench/submit.py``, ``bench/ranked_list.py``,
``bench/figures.py`` and ``bench/mixed.py``.

The scratch database, the app as the tests configure it, tenants with demo-like locations,
parent accounts without paying argon2 per account, bulk loading (COPY), a browser over HTTP
(cookies per host, CSRF tokens, the login hand-over), percentiles and the markdown table.
"""

from __future__ import annotations

import contextvars
import cProfile
import gc
import http.client
import io
import json
import os
import platform
import pstats
import random
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import sqlalchemy as sa
from flask.testing import FlaskClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from anywhere, even without `pip install -e .`

from regional_loket import create_app  # noqa: E402
from regional_loket.accounts import passwords  # noqa: E402
from regional_loket.accounts.models import Membership, User  # noqa: E402
from regional_loket.catalog.demo import build_locations  # noqa: E402
from regional_loket.database import sqlalchemy_url, utcnow  # noqa: E402
from regional_loket.extensions import db  # noqa: E402
from regional_loket.tenancy import migrate, services, tenant_scope  # noqa: E402
from regional_loket.tenancy.models import Postcode, Tenant, schema_for  # noqa: E402

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REGION = "bench.test"
PASSWORD = "een lange zin als wachtwoord voor de benchmark"
BUILD_BATCH = 25  # tenants per commit while building


class BenchError(RuntimeError):
    """A step did not do what it should; the figures would be meaningless."""


def run_main(main: Callable[[], int], name: str) -> None:
    """``sys.exit(main())``, with a failed step said in one line instead of a traceback."""
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/{name}: {exc}", file=sys.stderr)
        sys.exit(1)


# --- the database and the app -----------------------------------------------------------------


def admin_url(explicit: str | None) -> str:
    return explicit or os.environ.get("BENCH_DATABASE_URL") or DEFAULT_ADMIN_URL


class ScratchDatabase:
    """``CREATE DATABASE`` on entry, ``DROP DATABASE … WITH (FORCE)`` on exit, whatever happened."""

    def __init__(self, admin: str, name: str | None = None):
        """``name``: a database kept from an earlier run, to use again (enter it only to create one)."""
        self.admin = sa.create_engine(sqlalchemy_url(admin), isolation_level="AUTOCOMMIT")
        self.name = name or f"rl_bench_{uuid.uuid4().hex[:10]}"
        self.url = self.admin.url.set(drivername="postgresql", database=self.name).render_as_string(
            hide_password=False
        )

    def __enter__(self) -> ScratchDatabase:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc) -> None:
        if os.environ.get("BENCH_KEEP_DATABASE"):  # to look into a built region afterwards
            self.admin.dispose()
            print(f"kept scratch database {self.name} (BENCH_KEEP_DATABASE); drop it by hand")
            return
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()
        print(f"dropped scratch database {self.name}")


class IsolatedClient(FlaskClient):
    """Each request in a fresh context (own app context, ``g`` and ORM session), as in
    production, even while the benchmark holds an app context of its own."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def make_app(database_url: str, tenants_dir: str, **extra):
    """The app as tests/conftest.py configures it (TESTING, no CSRF, no rate limits), on the
    bench region host, with a Redis queue of its own (deleted by ``cleanup_app``); ``extra``
    settings on top."""
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL")
        or "redis://127.0.0.1:6379/0",
        "REGION_SERVER_NAME": REGION,
        "SECRET_KEY": "bench-secret-key",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "JOBS_QUEUE": f"bench-{uuid.uuid4().hex[:10]}",
        "TENANTS_DIR": tenants_dir,  # empty: nothing from the demo region
        **extra,
    })
    app.test_client_class = IsolatedClient
    return app


def cleanup_app(app) -> None:
    from regional_loket import jobs

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    try:
        jobs.queue(app).delete(delete_jobs=True)
        connection = jobs.redis_connection(app)
        for key in connection.scan_iter(f"loket:{app.config['JOBS_QUEUE']}:*"):  # heartbeat and the like
            connection.delete(key)
        connection.close()
    except jobs.REDIS_DOWN as exc:  # Redis down: nothing was queued there either
        print(f"(could not delete the bench queue: {exc})", file=sys.stderr)


def scratch_dir():
    return tempfile.TemporaryDirectory(prefix="rl-bench-")


def with_scratch_app(database_url: str | None, run: Callable, *args, **settings) -> int:
    """``run(app, *args)`` on an app over a scratch database (created, then dropped whatever
    happens) with a scratch instance folder: what every benchmark's main does."""
    with scratch_dir() as tmp, ScratchDatabase(admin_url(database_url)) as database:
        print(f"scratch database: {database.name}", flush=True)
        app = make_app(database.url, tmp, **settings)
        try:
            return run(app, *args)
        finally:
            cleanup_app(app)


def analyze() -> float:
    """Planner statistics as autovacuum would have them on a production server."""
    started = time.perf_counter()
    # Outside a transaction block ANALYZE commits table by table (as autovacuum does); inside
    # one it locks every table at once: "out of shared memory" at 1,000 tenants.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


# --- the region -------------------------------------------------------------------------------

# Flemish postcodes (1500–3999, 8000–9999), spread over the map of Flanders.
_CODES = [*range(1500, 4000, 10), *range(8000, 10000, 10)]


def postcodes_for(index: int) -> list[dict]:
    rng = random.Random(f"postcodes:{index}")
    code = _CODES[index % len(_CODES)]
    lat, lon = rng.uniform(50.75, 51.35), rng.uniform(2.6, 5.9)
    return [{"code": str(code + k), "name": f"Deelgemeente {index}-{k}", "lat": round(lat + k * 0.01, 5),
             "lon": round(lon + k * 0.01, 5)} for k in range(2)]


@dataclass
class Region:
    tenant_ids: list[uuid.UUID] = field(default_factory=list)
    locations: int = 0
    availability: int = 0
    seconds: float = 0.0


def build_region(slugs: list[str], locations_per_tenant: int | Callable[[int], int], *, today: date,
                 progress: bool = True, names: Callable[[int], str] | None = None) -> Region:
    """Tenants through ``services.create_tenant`` (schema and all), each with postcodes and
    ``locations_per_tenant`` demo locations (``catalog.demo.build_locations``: a realistic mix
    of kinds, capacities, tariffs and 18 months of free places, mirrored into the catalog);
    a function of the tenant's index gives municipalities of different sizes."""
    started = time.perf_counter()
    migrate.upgrade_shared(db.engine)
    region = Region()
    for index, slug in enumerate(slugs):
        name = names(index) if names else f"Gemeente {slug}"
        tenant = services.create_tenant(db.session, slug=slug, name=name, nis_code=f"{10000 + index:05d}")
        codes = postcodes_for(index)
        for pc in codes:
            tenant.postcodes.append(Postcode(code=pc["code"], locality=pc["name"], lat=pc["lat"], lon=pc["lon"]))
        count = locations_per_tenant(index) if callable(locations_per_tenant) else locations_per_tenant
        if count:
            with tenant_scope(db.session, tenant):
                built = build_locations(slug, name, codes, {}, count, today)
                db.session.add_all(built)
                region.locations += len(built)
                region.availability += sum(len(loc.availability) for loc in built)
        region.tenant_ids.append(tenant.id)
        if (index + 1) % BUILD_BATCH == 0 or index + 1 == len(slugs):
            db.session.commit()
            db.session.expunge_all()
            if progress and sys.stdout.isatty():
                print(f"  built {index + 1}/{len(slugs)} tenants", end="\r", flush=True)
    if progress and sys.stdout.isatty():
        print()
    region.seconds = time.perf_counter() - started
    return region


_PASSWORD_HASH: str | None = None


def password_hash() -> str:
    """One argon2 hash for every bench account: logging in still verifies it for real."""
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = passwords.hash_password(PASSWORD)
    return _PASSWORD_HASH


def make_user(session, *, name: str, role: str = "parent", tenant: Tenant | None = None,
              location_ids=(), email: str | None = None) -> User:
    """A verified account with one role, as ``accounts.services.register`` + ``grant`` would
    leave it (without hashing the same password again for every account)."""
    user = User(email=email or f"bench-{uuid.uuid4().hex[:16]}@example.be", name=name, language="nl",
                password_hash=password_hash(), password_changed_at=utcnow(), verified_at=utcnow(),
                active=True,
                memberships=[Membership(role="parent", location_ids=[])])
    if role != "parent":
        user.memberships.append(Membership(role=role, tenant_id=tenant.id if tenant else None,
                                           location_ids=list(location_ids)))
    session.add(user)
    session.flush()
    return user


def login(client, email: str) -> None:
    response = client.post("/aanmelden", data={"email": email, "password": PASSWORD},
                           base_url=f"http://{REGION}")
    if response.status_code != 302:
        raise BenchError(f"login of {email} answered {response.status_code}")


def national_number(rng: random.Random) -> str:
    """A valid (mod 97) Belgian national register number for a child born from 2000 on."""
    body = rng.randrange(10**8, 10**9)
    return f"{body:09d}{97 - int('2' + f'{body:09d}') % 97:02d}"


def count_applications(connection, schemas: list[str]) -> int:
    """Applications over the given tenant schemas, in one UNION ALL query."""
    # Schema names come from shared.tenants (gem_<slug>, slugs validated on creation).
    parts = [f'SELECT count(*) AS n FROM "{schema}".applications' for schema in schemas]  # noqa: S608
    union = " UNION ALL ".join(parts)
    return connection.exec_driver_sql(f"SELECT sum(n) FROM ({union}) AS counts").scalar_one()  # noqa: S608


def schemas_of(session) -> list[str]:
    return [schema_for(slug) for slug in session.scalars(sa.select(Tenant.slug))]


def copy_rows(table: str, columns: tuple[str, ...], rows) -> int:
    """``COPY table (columns) FROM STDIN`` of ``rows`` (tuples; JSON values wrapped in psycopg's
    ``Jsonb``) on a connection of its own, committed. Returns how many rows went in."""
    count = 0
    raw = db.engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        raw.commit()
    finally:
        raw.close()
    return count


# --- a browser over HTTP ------------------------------------------------------------------------

CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """One person's browser against a server on 127.0.0.1: cookies per host, each portal by its
    Host header, redirects followed from host to host on request."""

    def __init__(self, port: int, timeout: float = 60.0):
        self.port, self.timeout = port, timeout
        self.cookies: dict[str, dict[str, str]] = {}

    def cookie_header(self, host: str) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.get(host, {}).items())

    def request(self, method: str, url: str, form: dict | None = None) -> tuple[int, dict, str]:
        parts = urlsplit(url)
        headers = {"Host": parts.netloc, "Accept-Language": "nl"}
        if cookie := self.cookie_header(parts.netloc):
            headers["Cookie"] = cookie
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body,
                               headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            jar = self.cookies.setdefault(parts.netloc, {})
            for value in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(value).items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        jar.pop(name, None)
                    else:
                        jar[name] = morsel.value
            return response.status, {k.lower(): v for k, v in response.getheaders()}, text
        finally:
            connection.close()

    def follow(self, url: str, limit: int = 10) -> tuple[str, int, str]:
        """GET ``url`` and its redirects: (last URL, status, body)."""
        for _ in range(limit):
            status, headers, text = self.request("GET", url)
            if status not in (301, 302, 303, 307, 308):
                return url, status, text
            url = urljoin(url, headers["location"])
        raise BenchError(f"more than {limit} redirects, last {url}")

    def csrf_token(self, url: str) -> str:
        """The CSRF token of the form on the page at ``url`` (valid for this session's forms)."""
        final, status, text = self.follow(url)
        token = CSRF_FIELD.search(text)
        if status != 200 or token is None:
            raise BenchError(f"{final}: status {status}, CSRF token {'found' if token else 'missing'}")
        return token.group(1)

    def log_in(self, region: str, email: str, *, hosts: tuple[str, ...] = ()) -> None:
        """The login form on the region's host (with its CSRF token), then the hand-over to each
        municipal host in ``hosts``, every hop as a browser follows it."""
        token = self.csrf_token(f"http://{region}/aanmelden")
        status, headers, _ = self.request("POST", f"http://{region}/aanmelden",
                                          {"csrf_token": token, "email": email, "password": PASSWORD})
        if status != 302 or "session" not in self.cookies.get(region, {}):
            raise BenchError(f"login of {email} answered {status} {headers.get('location')}")
        for host in hosts:
            target = f"http://{host}/"
            url, status, _ = self.follow(f"http://{region}/sessie/naar?" + urlencode({"to": target}))
            if (url, status) != (target, 200) or "session" not in self.cookies.get(host, {}):
                raise BenchError(f"hand-over of {email} to {host} ended at {url} ({status})")


# --- figures ----------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Series:
    key: str
    label: str
    samples: list[float] = field(default_factory=list)  # seconds
    target_ms: float | None = None
    note: str = ""

    def ms(self, q: float) -> float:
        return percentile(self.samples, q) * 1000

    def summary(self) -> dict:
        return {"label": self.label, "n": len(self.samples), "p50_ms": round(self.ms(0.5), 3),
                "p95_ms": round(self.ms(0.95), 3), "p99_ms": round(self.ms(0.99), 3),
                "max_ms": round(max(self.samples) * 1000, 3) if self.samples else None,
                "target_p95_ms": self.target_ms, "note": self.note}


def timed(call: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def table(series: list[Series], ratios: dict[str, str]) -> str:
    """``ratios``: series key → key of the baseline it is compared with (p95 / p95)."""
    by_key = {s.key: s for s in series}
    rows = ["| measurement | n | p50 ms | p95 ms | p99 ms | max ms | target p95 | meets | ratio p95 |",
            "|---|---:|---:|---:|---:|---:|---:|:-:|---|"]
    for s in series:
        target = "–" if s.target_ms is None else f"≤ {s.target_ms:g} ms"
        meets = "–" if s.target_ms is None else ("yes" if s.ms(0.95) <= s.target_ms else "**no**")
        compared = []
        for baseline_key in ratios.get(s.key, "").split(","):
            if baseline_key and baseline_key in by_key:
                compared.append(f"{s.ms(0.95) / by_key[baseline_key].ms(0.95):.1f}× {baseline_key}")
        rows.append(f"| {s.label} | {len(s.samples)} | {s.ms(0.5):.2f} | {s.ms(0.95):.2f} | {s.ms(0.99):.2f} "
                    f"| {max(s.samples) * 1000:.2f} | {target} | {meets} | {'; '.join(compared) or '–'} |")
    return "\n".join(rows)


def ratio_figures(series: list[Series], ratios: dict[str, str]) -> dict:
    by_key = {s.key: s for s in series}
    return {key: {b: round(by_key[key].ms(0.95) / by_key[b].ms(0.95), 3) for b in baselines.split(",")}
            for key, baselines in ratios.items()}


def machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
            "loadavg": [round(x, 2) for x in load]}


def write_json(path: Path | None, payload: dict) -> None:
    if path is not None:
        path.write_text(json.dumps(payload, indent=2, default=str))
        print(f"wrote {path}")


class GcMeter:
    """Time spent in the cyclic garbage collector while active (``with meter: …``), per
    generation: a gen-2 collection walks every tracked object of the process and lands in
    whichever request happens to allocate at that moment."""

    def __init__(self):
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0

    def _callback(self, phase, info):
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def __enter__(self):
        self.pauses = []
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self._callback)

    def summary(self) -> dict:
        full = [p for generation, p in self.pauses if generation == 2]
        return {"collections": len(self.pauses), "total_ms": round(sum(p for _, p in self.pauses) * 1000, 1),
                "gen2": len(full), "gen2_total_ms": round(sum(full) * 1000, 1),
                "gen2_max_ms": round(max(full, default=0) * 1000, 1), "tracked_objects": len(gc.get_objects()),
                "frozen_objects": gc.get_freeze_count()}

    def text(self) -> str:
        s = self.summary()
        return (f"GC during measuring: {s['collections']} collections, {s['total_ms']:.0f} ms in all; "
                f"{s['gen2']} full (gen 2) collections, {s['gen2_total_ms']:.0f} ms, the longest "
                f"{s['gen2_max_ms']:.0f} ms ({s['tracked_objects']} tracked objects, {s['frozen_objects']} frozen).")


class StatementCounter:
    """Counts SQL statements sent on ``engine`` while active (``with counter: …``)."""

    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def _count(self, *args, **kwargs):
        self.count += 1

    def __enter__(self):
        self.count = 0
        sa.event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._count)


class SqlMeter:
    """Statements and time spent executing them on ``engine`` while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[tuple[float, str, object]] = []
        self._started: list[float] = []

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self._started.append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append((time.perf_counter() - self._started.pop(), statement, parameters))

    def __enter__(self) -> SqlMeter:
        self.statements = []
        sa.event.listen(self.engine, "before_cursor_execute", self._before)
        sa.event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._before)
        sa.event.remove(self.engine, "after_cursor_execute", self._after)

    @property
    def seconds(self) -> float:
        return sum(s for s, _, _ in self.statements)


def profile(call: Callable[[], object], repeat: int, *, top: int = 30) -> str:
    """cProfile over ``repeat`` calls; the top functions by cumulative and by own time."""
    profiler = cProfile.Profile()
    for _ in range(repeat):
        profiler.enable()
        call()
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()
