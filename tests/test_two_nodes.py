"""Two web nodes on one PostgreSQL and one Redis, as behind a load balancer: what one node
writes the other shows at once (its search cache included), a session made on one works on
the other, rate limits count across both, and an uploaded logo is served by both.

Each node is its own ``create_app`` served by werkzeug on a port of its own, in a thread of
this process; nothing is shared between them but the database and Redis (no module state: the
search caches, pools and limiters are per app). Requests go over real HTTP with the portal's
host in the Host header, as a balancer forwards them.
"""

from __future__ import annotations

import http.client
import threading
import uuid
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from regional_loket.accounts import User
from regional_loket.extensions import db
from regional_loket.tenancy.models import Tenant

from . import factories
from .conftest import PASSWORD, REGION, free_port

# The search cache on (the harness turns it off), small login limits; each test's nodes count
# under a key prefix of that test's own in the shared Redis (as tests/test_protection.py does).
NODE_CONFIG = {"SEARCH_CACHE_BYTES": 4 * 1024 * 1024, "RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "3 per minute"}


class Node:
    """One app behind a real HTTP server on 127.0.0.1."""

    def __init__(self, app):
        self.app = app
        self.port = free_port()
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def cache(self):
        return self.app.extensions["search_cache"]

    def request(self, method: str, path: str, host: str, *, cookies: dict | None = None,
                form: dict | None = None, body: bytes | None = None, content_type: str | None = None):
        headers = {"Host": host}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if form is not None:
            body, content_type = urlencode(form).encode(), "application/x-www-form-urlencoded"
        if content_type:
            headers["Content-Type"] = content_type
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return Answer(response.status, response.getheaders(), response.read())
        finally:
            connection.close()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


class Answer:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def cookies(self) -> dict[str, str]:
        jar = SimpleCookie()
        for name, value in self.headers:
            if name.lower() == "set-cookie":
                jar.load(value)
        return {key: morsel.value for key, morsel in jar.items()}

    def json(self):
        import json

        return json.loads(self.body)


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'


@pytest.fixture
def nodes(committed, tmp_path):
    """Two nodes, a committed municipality with one location, and a member of its desk who is
    also the location's staff. Both read the same definitions folder (with one logo file), as
    nodes installed from the same package do."""
    (tmp_path / "logos").mkdir()
    (tmp_path / "logos" / "gemeente.svg").write_bytes(SVG)
    config = {**NODE_CONFIG, "TENANTS_DIR": str(tmp_path), "RATELIMIT_KEY_PREFIX": f"test-nodes-{uuid.uuid4().hex}"}
    app_a, (slug,) = committed(1, **config)
    app_b, _ = committed(0, **config)
    with app_a.app_context():
        tenant = db.session.scalar(sa.select(Tenant).where(Tenant.slug == slug))
        location = factories.make_location(db.session, tenant, f"Kinderdagverblijf {slug}")
        user = factories.make_user(db.session, "coordinator", "provider_staff", tenant=tenant,
                                   locations=[location.id])
        world = {"slug": slug, "host": f"{tenant.subdomain}.{REGION}", "location_id": location.id,
                 "email": user.email}
        db.session.commit()
    a, b = Node(app_a), Node(app_b)
    for node in (a, b):  # each node's listener is connected before anything is cached
        assert node.cache.generation.wait_for_change(None, timeout=10) is not None
    yield a, b, world
    a.stop()
    b.stop()
    with app_a.app_context():  # committed rows outlive the test: leave none for the others
        db.session.execute(sa.delete(User).where(User.email == world["email"]))
        db.session.commit()


def _log_in(node: Node, world) -> dict[str, str]:
    """Log in on the regional portal and take the session to the municipality's host through
    the hand-over's redirects, as a browser does; the municipal host's cookies."""
    jars: dict[str, dict[str, str]] = {REGION: {}, world["host"]: {}}
    answer = node.request("POST", "/aanmelden", REGION, form={"email": world["email"], "password": PASSWORD})
    assert answer.status in (302, 303), answer.body[:500]
    jars[REGION].update(answer.cookies())
    url = f"http://{REGION}/sessie/naar?" + urlencode({"to": f"http://{world['host']}/"})
    for _ in range(10):
        parts = urlsplit(url)
        answer = node.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), parts.netloc,
                              cookies=jars[parts.netloc])
        jars[parts.netloc].update(answer.cookies())
        if answer.status not in (301, 302, 303, 307, 308):
            break
        url = urljoin(url, answer.header("Location"))
    assert answer.status == 200 and urlsplit(url).netloc == world["host"], (url, answer.status)
    assert jars[world["host"]], "the hand-over set no session cookie on the municipal host"
    return jars[world["host"]]


PROFILE = {"description_nl": "Nu ook op woensdagnamiddag", "description_fr": "", "description_en": "",
           "opens_at": "07:00", "closes_at": "18:00", "closures": "", "languages": "nl", "tariff": "income",
           "day_price": "", "licensed_places": "24", "phone": "", "email": "", "website": "",
           "accepts_online": "y", "extra_criteria": ""}


def test_a_change_on_one_node_is_in_the_other_nodes_cached_search_at_once(nodes):
    a, b, world = nodes
    search = f"/api/v1/locations?gemeente={world['slug']}"

    def on_b():
        answer = b.request("GET", search, REGION)
        assert answer.status == 200
        return answer.json()["items"][0]

    assert on_b()["licensed_places"] == 18
    assert on_b()["licensed_places"] == 18 and len(b.cache) >= 1  # B answers from its cache now
    seen = b.cache.generation.current()

    cookies = _log_in(a, world)
    saved = a.request("POST", f"/opvang/{world['location_id']}/profiel", world["host"], cookies=cookies, form=PROFILE)
    assert saved.status == 302, saved.body[:2000]

    # B hears the commit's NOTIFY on its own listener (milliseconds) and drops its answers.
    assert b.cache.generation.wait_for_change(seen, timeout=10) != seen
    assert on_b()["licensed_places"] == 24
    assert a.request("GET", search, REGION).json()["items"][0]["licensed_places"] == 24


def test_a_session_made_on_one_node_works_on_the_other(nodes):
    a, b, world = nodes
    profile = f"/opvang/{world['location_id']}/profiel"
    assert b.request("GET", profile, world["host"]).status in (302, 303, 401, 403)  # not without logging in
    cookies = _log_in(a, world)
    page = b.request("GET", profile, world["host"], cookies=cookies)
    assert page.status == 200 and f"Kinderdagverblijf {world['slug']}".encode() in page.body
    # Logging out on B ends the session on A too (it lives in PostgreSQL, not in a node).
    b.request("POST", "/afmelden", world["host"], cookies=cookies)
    assert a.request("GET", profile, world["host"], cookies=cookies).status != 200


def test_rate_limits_count_across_nodes(nodes):
    a, b, world = nodes
    wrong = {"email": world["email"], "password": "niet het wachtwoord"}
    statuses = [a.request("POST", "/aanmelden", REGION, form=wrong).status for _ in range(3)]
    assert statuses == [422] * 3
    limited = b.request("POST", "/aanmelden", REGION, form=wrong)
    assert limited.status == 429 and 0 < int(limited.header("Retry-After")) <= 60


def _png(width: int = 3, height: int = 2) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x1d\x4f\x91" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_a_logo_uploaded_through_one_node_is_served_by_both(nodes):
    """Uploads live in PostgreSQL (tenancy.profiles), not in a node's files."""
    a, b, world = nodes
    assert b.request("GET", "/logo", world["host"]).status == 404
    cookies = _log_in(a, world)
    boundary = uuid.uuid4().hex
    logo = _png()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + logo + f"\r\n--{boundary}--\r\n".encode()
    uploaded = a.request("POST", "/beheer/instellingen/logo", world["host"], cookies=cookies, body=body,
                         content_type=f"multipart/form-data; boundary={boundary}")
    assert uploaded.status == 302, uploaded.body[:2000]
    for node in (a, b):
        answer = node.request("GET", "/logo", world["host"])
        assert answer.status == 200 and answer.body == logo and answer.header("Content-Type") == "image/png"


def test_a_definitions_logo_file_is_served_by_both(nodes):
    """Without an upload, /logo is the definition's file (tenants/): every node needs the same
    TENANTS_DIR (the package's copy, or a shared volume)."""
    a, b, world = nodes
    with a.app.app_context():
        tenant = db.session.scalar(sa.select(Tenant).where(Tenant.slug == world["slug"]))
        tenant.logo = "logos/gemeente.svg"
        db.session.commit()
    for node in (a, b):
        answer = node.request("GET", "/logo", world["host"])
        assert answer.status == 200 and answer.body == SVG and answer.header("Content-Type").startswith("image/svg")

