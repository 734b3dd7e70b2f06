"""CSRF on every form, rate limits with a translated page and Retry-After."""

import uuid

import pytest

from regional_loket.extensions import db

from .conftest import PASSWORD, host_url


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
