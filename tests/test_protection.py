"""CSRF on every form, rate limits with a translated page and Retry-After."""

import uuid

import pytest
import sqlalchemy as sa
from flask import Flask, request

from regional_loket import settings
from regional_loket.accounts import client_address
from regional_loket.accounts import services as accounts
from regional_loket.extensions import db
from regional_loket.notifications.models import Notification
from regional_loket.tenancy import Hosts, only_on

from .conftest import PASSWORD, REGION, host_url


@pytest.fixture
def protected_app(committed):
    """CSRF on (as in production) and small rate limits under a key prefix of its own."""
    app, _ = committed(0, WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True, RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
                       RATELIMIT_LOGIN="3 per minute", RATELIMIT_RESET="2 per minute")
    return app


def _token(client, path="/aanmelden"):
    page = client.get(path, base_url=host_url()).get_data(as_text=True)
    return page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_form_without_a_valid_csrf_token_is_refused(protected_app, token):
    client = protected_app.test_client()
    _token(client)  # the session has a token; the post does not carry it
    data = {"email": "a@example.be", "password": PASSWORD}
    if token:
        data["csrf_token"] = token
    response = client.post("/aanmelden", data=data, base_url=host_url())
    assert response.status_code == 400
    assert "Het formulier is verlopen" in response.get_data(as_text=True)


def test_form_with_its_csrf_token_passes(protected_app):
    client = protected_app.test_client()
    response = client.post("/aanmelden", data={"email": "a@example.be", "password": "verkeerd wachtwoord",
                                               "csrf_token": _token(client)}, base_url=host_url())
    assert response.status_code == 422  # reached the login check


def test_logout_needs_the_csrf_token(protected_app):
    client = protected_app.test_client()
    _token(client)
    assert client.post("/afmelden", base_url=host_url()).status_code == 400


def test_login_rate_limit_answers_with_a_translated_page_and_retry_after(protected_app):
    client = protected_app.test_client()
    token = _token(client)
    for _ in range(3):
        client.post("/aanmelden", data={"email": "a@example.be", "password": "x", "csrf_token": token},
                    base_url=host_url())
    limited = client.post("/aanmelden", data={"email": "a@example.be", "password": "x", "csrf_token": token},
                          base_url=host_url(), headers={"Accept-Language": "fr"})
    assert limited.status_code == 429
    assert "Trop de tentatives" in limited.get_data(as_text=True)
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert client.get("/aanmelden", base_url=host_url()).status_code == 200  # GET is not limited


def test_reset_rate_limit(protected_app):
    client = protected_app.test_client()
    token = _token(client, "/wachtwoord-vergeten")
    statuses = [client.post("/wachtwoord-vergeten", data={"email": "a@example.be", "csrf_token": token},
                            base_url=host_url()).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_rate_limits_survive_a_redis_outage(committed):
    """With Redis unreachable the limiter falls back to memory instead of failing requests."""
    app, _ = committed(0, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",
                       RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    client = app.test_client()
    assert client.post("/wachtwoord-vergeten", data={"email": "a@example.be"}, base_url=host_url()).status_code == 200
    with app.app_context():
        db.session.rollback()


# --- bad input, refused once for every form and query string (web/input.py) -------------------

NUL_REFUSED = "Wat u verstuurde bevat ongeldige tekens"
REGISTRATION = {"name": "An Peeters", "email": "nul@example.be", "phone": "", "language": "nl",
                "password": PASSWORD, "confirm": PASSWORD, "consent": "y"}


def _users(email):
    import sqlalchemy as sa

    from regional_loket.accounts.models import User

    return db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == email))


@pytest.mark.parametrize("field", ["name", "email", "password", "phone"])
@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\x0b"])
def test_a_control_character_in_a_form_field_is_refused_and_nothing_is_written(app, field, bad):
    client = app.test_client()
    data = {**REGISTRATION, field: REGISTRATION[field] + bad + "x"}
    response = client.post("/registreren", data=data, base_url=host_url())
    assert response.status_code == 400
    assert NUL_REFUSED in response.get_data(as_text=True)
    assert _users(REGISTRATION["email"]) == 0
    # Tab, CR and LF are text; the same form without the bad character goes through.
    assert client.post("/registreren", data=REGISTRATION, base_url=host_url()).status_code < 400
    assert _users(REGISTRATION["email"]) == 1


def test_a_control_character_in_a_form_field_name_is_refused(app):
    response = app.test_client().post("/registreren", data={**REGISTRATION, "x\x00": "1"}, base_url=host_url())
    assert response.status_code == 400 and _users(REGISTRATION["email"]) == 0


@pytest.mark.parametrize("query", [{"q": "zon\x00"}, {"q\x00": "zon"}, {"maand": "2026-0\x001"}])
def test_a_nul_in_the_query_string_answers_a_translated_400_page(app, make_tenant, query):
    herent = make_tenant()
    for base in (host_url(), host_url(herent)):
        response = app.test_client().get("/zoeken", query_string=query, base_url=base,
                                         headers={"Accept-Language": "fr"})
        assert response.status_code == 400
        assert response.mimetype == "text/html"
    api = app.test_client().get("/api/v1/locations", query_string=query, base_url=host_url())
    assert api.status_code == 400 and api.mimetype == "application/problem+json"
    assert "detail" in api.get_json()


def test_the_bad_input_page_is_translated(app):
    from .conftest import translated

    response = app.test_client().get("/zoeken?q=%00", base_url=host_url(), headers={"Accept-Language": "fr"})
    assert translated(app, "fr", NUL_REFUSED) in response.get_data(as_text=True)


def test_a_file_part_for_a_text_field_is_refused_and_nothing_is_written(app):
    import io

    data = {**REGISTRATION, "name": (io.BytesIO(b"An Peeters"), "naam.txt")}
    response = app.test_client().post("/registreren", data=data, content_type="multipart/form-data",
                                      base_url=host_url())
    assert response.status_code == 400
    assert "Hier kunt u geen bestand versturen" in response.get_data(as_text=True)
    assert _users(REGISTRATION["email"]) == 0


def test_the_same_form_as_multipart_text_still_works(app):
    response = app.test_client().post("/registreren", data=REGISTRATION, content_type="multipart/form-data",
                                      base_url=host_url())
    assert response.status_code < 400 and _users(REGISTRATION["email"]) == 1


@pytest.mark.parametrize("body", ["urlencoded", "multipart", "parts", "field"])
def test_an_oversize_request_answers_413_with_the_site_page(app, body):
    client = app.test_client()
    if body == "urlencoded":  # 20 MB, as the issue found
        response = client.post("/aanmelden", data={"email": "a" * (20 * 1024 * 1024)}, base_url=host_url())
    elif body == "multipart":  # a file part of 2 MB (built here: the test client would spool it to a file)
        part = (b'--b\r\nContent-Disposition: form-data; name="email"; filename="a.txt"\r\n\r\n'
                + b"a" * (2 * 1024 * 1024) + b"\r\n--b--\r\n")
        response = client.post("/aanmelden", data=part, content_type="multipart/form-data; boundary=b",
                               base_url=host_url())
    elif body == "parts":  # many small fields, under the size limit
        response = client.post("/aanmelden", data={f"f{n}": "1" for n in range(1000)},
                               content_type="multipart/form-data", base_url=host_url())
    else:  # one text field larger than a form needs, under the body limit
        response = client.post("/aanmelden", data={"email": "a" * (200 * 1024)},
                               content_type="multipart/form-data", base_url=host_url())
    assert response.status_code == 413
    assert "Wat u verstuurde is te groot" in response.get_data(as_text=True)


def test_size_limits_are_set(app):
    assert app.config["MAX_CONTENT_LENGTH"] and app.config["MAX_FORM_MEMORY_SIZE"] and app.config["MAX_FORM_PARTS"]


def test_405_names_the_allowed_methods(app):
    client = app.test_client()
    page = client.put("/aanmelden", base_url=host_url())
    assert page.status_code == 405 and page.mimetype == "text/html"
    assert {"GET", "POST"} <= {m.strip() for m in page.headers["Allow"].split(",")}
    api = client.post("/api/v1/locations", base_url=host_url())
    assert api.status_code == 405 and "GET" in api.headers["Allow"]


def test_pages_with_a_session_are_never_stored_public_ones_keep_their_caching(app, make_tenant, make_location,
                                                                             make_user):
    from .conftest import login
    from .test_form_fuzz import on_host

    herent = make_tenant()
    place = make_location(herent)
    anonymous = app.test_client()
    search = anonymous.get("/zoeken", base_url=host_url())
    assert search.status_code == 200 and "no-store" not in search.headers.get("Cache-Control", "")
    assert anonymous.get("/api/v1/locations", base_url=host_url()).headers["Cache-Control"] == "public, max-age=60"

    staff = make_user("coordinator", tenant=herent)
    client = app.test_client()
    login(client, staff)
    on_host(client, herent)
    for path in ("/opvang/", f"/opvang/{place.id}/", f"/opvang/{place.id}/export.csv",
                 f"/opvang/{place.id}/export.xlsx", "/zoeken", "/account"):
        response = client.get(path, base_url=host_url(herent))
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    branding = client.get("/branding.css", base_url=host_url(herent))
    assert "public" in branding.headers["Cache-Control"] and "no-store" not in branding.headers["Cache-Control"]


# --- the client address behind a proxy ----------------------------------------------------------

PROXY = "10.0.0.1"


@pytest.fixture
def limited(committed):
    """Small reset limits, CSRF off, and the number of trusted proxies the test asks for."""

    def build(hops):
        app, _ = committed(0, RATELIMIT_ENABLED=True, RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
                           RATELIMIT_RESET="2 per minute", PROXY_HOPS=hops)
        return app.test_client()

    return build


def _forgot(client, remote, forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/wachtwoord-vergeten", data={"email": "a@example.be"}, base_url=host_url(),
                       headers=headers, environ_base={"REMOTE_ADDR": remote}).status_code


def test_without_a_trusted_proxy_a_forged_forwarded_for_gets_no_fresh_bucket(limited):
    client = limited(0)
    assert [_forgot(client, "198.51.100.1", f"192.0.2.{i}") for i in range(3)] == [200, 200, 429]
    assert _forgot(client, "198.51.100.2") == 200  # another peer has its own bucket


def test_behind_one_proxy_each_client_has_its_own_bucket(limited):
    client = limited(1)
    assert [_forgot(client, PROXY, "198.51.100.1") for _ in range(3)] == [200, 200, 429]
    assert _forgot(client, PROXY, "198.51.100.2") == 200
    # A value the client put in front of the proxy's own does not make it someone else.
    assert _forgot(client, PROXY, "192.0.2.9, 198.51.100.1") == 429


@pytest.mark.parametrize(("hops", "host", "forwarded_host", "seen"), [
    (0, REGION, "elders.example", f"http://{REGION} 127.0.0.1"),  # headers any client can send
    (1, "internal:8000", REGION, f"https://{REGION} 198.51.100.1"),  # what our proxy saw
])
def test_scheme_host_and_address_come_from_the_trusted_proxy_only(committed, hops, host, forwarded_host, seen):
    app, _ = committed(0, PROXY_HOPS=hops)
    app.add_url_rule("/_seen", "seen", only_on(Hosts.ALL)(lambda: f"{request.scheme}://{request.host} {client_address()}"))
    answer = app.test_client().get("/_seen", base_url=f"http://{host}", headers={
        "X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": forwarded_host})
    assert answer.get_data(as_text=True) == seen


def test_login_throttling_keys_on_the_client_behind_the_proxy(committed):
    app, _ = committed(0, PROXY_HOPS=1)
    email = f"owner-{uuid.uuid4().hex[:8]}@example.be"
    with app.app_context():
        user, _ = accounts.register(db.session, email=email, password=PASSWORD, name="Eigenaar")
        user.verified_at = accounts.utcnow()
        db.session.commit()
    client = app.test_client()

    def attempt(client_address, password):
        return client.post("/aanmelden", data={"email": email, "password": password}, base_url=host_url(),
                           headers={"X-Forwarded-For": client_address},
                           environ_base={"REMOTE_ADDR": PROXY}).status_code

    try:
        statuses = [attempt("203.0.113.66", "fout") for _ in range(accounts.THROTTLE_AFTER)]
        assert statuses == [422] * (accounts.THROTTLE_AFTER - 1) + [429]
        assert attempt("198.51.100.7", PASSWORD) == 302  # the owner, behind the same proxy
    finally:
        with app.app_context():
            user = accounts.find_user(db.session, email)
            accounts.unlock(db.session, user)
            db.session.delete(user)
            # The unlock mail throttling sent: a committed pending mail would reach other tests' relays.
            db.session.execute(sa.delete(Notification).where(Notification.recipient_email == email))
            db.session.commit()


@pytest.mark.parametrize("value", ["twee", "-1", "1.5"])
def test_a_malformed_proxy_hops_refuses_to_start_naming_it(monkeypatch, tmp_path, value):
    for var, setting in {"LOKET_ENV": "production", "SECRET_KEY": "s" * 32, "DATABASE_URL": "postgresql://x/y",
                         "REDIS_URL": "redis://x", "PROXY_HOPS": value}.items():
        monkeypatch.setenv(var, setting)
    with pytest.raises(settings.ConfigError, match="PROXY_HOPS"):
        settings.load(Flask(__name__, instance_path=str(tmp_path)))
    monkeypatch.setenv("PROXY_HOPS", "2")
    app = Flask(__name__, instance_path=str(tmp_path))
    settings.load(app)
    assert app.config["PROXY_HOPS"] == 2


def test_a_form_page_with_a_csrf_token_is_not_stored(protected_app):
    """The token puts the anonymous visitor in a session: that page is theirs alone."""
    client = protected_app.test_client()
    assert client.get("/aanmelden", base_url=host_url()).headers["Cache-Control"] == "no-store"


# --- the host is resolved before CSRF is checked -----------------------------------------------


@pytest.fixture
def protected_municipality(committed):
    """CSRF on, with one committed municipality: (app, its base URL)."""
    app, (slug,) = committed(1, WTF_CSRF_ENABLED=True)
    return app, f"http://{slug}.{REGION}"


@pytest.mark.parametrize("host", ["unknown." + REGION, "evil.example"])
def test_a_form_posted_to_an_unknown_host_is_not_found_not_expired(protected_municipality, host):
    app, _ = protected_municipality
    response = app.test_client().post("/afmelden", data={"csrf_token": "wrong-token"},
                                      headers={"Host": host})
    assert response.status_code == 404
    assert "Pagina niet gevonden" in response.get_data(as_text=True)


def test_a_form_posted_to_a_page_this_host_lacks_is_not_found_not_expired(protected_municipality):
    app, municipality = protected_municipality
    client = app.test_client()
    assert client.post("/aanvragen/nieuw", data={"csrf_token": "wrong-token"}, base_url=municipality).status_code == 404
    action = f"/opvang/{uuid.uuid4()}/aanvragen/{uuid.uuid4()}"  # a provider's form, on the region
    assert client.post(action, data={"csrf_token": "wrong-token"}, base_url=host_url()).status_code == 404


def test_a_form_posted_with_a_bad_token_to_a_known_host_is_still_refused(protected_municipality):
    app, municipality = protected_municipality
    for base in (host_url(), municipality):
        client = app.test_client()
        client.get("/", base_url=base)
        response = client.post("/afmelden", data={"csrf_token": "wrong-token"}, base_url=base)
        assert response.status_code == 400, base
        assert "Het formulier is verlopen" in response.get_data(as_text=True)
