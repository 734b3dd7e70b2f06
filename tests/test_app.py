"""The app factory, configuration, layout, assets and security headers."""

import re
from urllib.parse import urlsplit

import pytest

from regional_loket import create_app
from regional_loket.accounts import passwords
from regional_loket.settings import ConfigError

from .conftest import PASSWORD, REGION, TEST_PASSWORD_HASH, host_url, make_config


def test_create_app_touches_no_database(redis_url):
    """Nothing listens on port 1: creating the app must still work (no start-up queries)."""
    app = create_app(make_config("postgresql://nobody@127.0.0.1:1/none", redis_url))
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_environment_overrides_defaults(monkeypatch, database_url, redis_url):
    monkeypatch.setenv("SERVER_NAME", "Loket.Example.be")
    monkeypatch.setenv("SMTP_PORT", "2525")
    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "x"})
    assert app.config["REGION_SERVER_NAME"] == "loket.example.be"
    assert app.config["SMTP_PORT"] == 2525
    assert app.config.get("SERVER_NAME") is None  # Flask's own stays unset on purpose


def test_bad_environment_values_are_named(monkeypatch):
    monkeypatch.setenv("SMTP_PORT", "twenty-five")
    with pytest.raises(ConfigError, match="SMTP_PORT"):
        create_app({"DATABASE_URL": "postgresql://x@127.0.0.1:1/x"})


def test_production_requires_secrets_and_servers():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"ENV": "production", "DATABASE_URL": "postgresql://x@127.0.0.1:1/x"})
    with pytest.raises(ConfigError, match="REDIS_URL"):
        create_app({"ENV": "production", "SECRET_KEY": "s", "DATABASE_URL": "postgresql://x@127.0.0.1:1/x"})


def test_password_hashing_cost_production_defaults_and_the_tests_cheap_ones(app, redis_url):
    """Production hashes at argon2-cffi's RFC 9106 low-memory profile; the tests at argon2's
    minimum. Either hash verifies under either app (the cost is read from the hash), and each
    app hashes with its own cost even after another app was created in the same process."""
    production = create_app({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "REDIS_URL": redis_url,
                             "SECRET_KEY": "x"})
    assert {key: production.config[key] for key in TEST_PASSWORD_HASH} == {
        "PASSWORD_HASH_TIME_COST": 3, "PASSWORD_HASH_MEMORY_KIB": 65536, "PASSWORD_HASH_PARALLELISM": 4}
    with production.app_context():
        strong = passwords.hash_password(PASSWORD)
    with app.app_context():
        cheap = passwords.hash_password(PASSWORD)
        assert passwords.verify_password(strong, PASSWORD) and passwords.verify_password(cheap, PASSWORD)
        assert not passwords.verify_password(cheap, PASSWORD + "!")
        assert passwords.needs_rehash(strong) and not passwords.needs_rehash(cheap)
    assert strong.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert cheap.startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_only_postgresql_is_accepted():
    with pytest.raises(ValueError, match="only PostgreSQL"):
        create_app({"DATABASE_URL": "sqlite:///x.db"})


def test_security_headers(client):
    response = client.get("/", base_url=host_url())
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # development over plain http


def test_pages_load_no_asset_from_another_host(client, make_tenant):
    """Every stylesheet, script and image of a page comes from the page's own host and loads;
    links that leave the host stay in the region."""
    herent = make_tenant("herent")
    response = client.get("/", base_url=host_url(herent))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', body) + re.findall(r'<(?:script|img)[^>]* src="([^"]+)"', body)
    assert {"/assets/utrecht/components.css", "/branding.css"} <= {a.split("?")[0] for a in assets}
    assert any(a.split("?")[0].endswith("/app.js") for a in assets)
    for asset in assets:
        assert asset.startswith("/") and not asset.startswith("//"), asset
        with client.get(asset, base_url=host_url(herent)) as loaded:
            assert loaded.status_code == 200, asset
    for link in re.findall(r'(?:href|src|action)="((?:https?:)?//[^"]+)"', body):
        host = urlsplit(link).hostname
        assert host == REGION or host.endswith(f".{REGION}"), link


@pytest.mark.parametrize("name", ["utrecht/components.css", "utrecht/theme.css", "leaflet/leaflet.js"])
def test_vendor_assets_are_served_by_the_app(client, name):
    with client.get(f"/assets/{name}", base_url=host_url()) as response:
        assert response.status_code == 200 and len(response.data) > 1000
        assert response.headers["Cache-Control"].startswith("public") or "max-age" in response.headers["Cache-Control"]


def test_unknown_vendor_asset_is_not_found(client):
    assert client.get("/assets/../../pyproject.toml", base_url=host_url()).status_code == 404
    assert client.get("/assets/utrecht/nope.css", base_url=host_url()).status_code == 404


def test_branding_follows_the_host(client, make_tenant):
    herent = make_tenant("herent", colour="#1f5c99")
    css = client.get("/branding.css", base_url=host_url(herent))
    assert "--rl-brand: #1f5c99;" in css.get_data(as_text=True)
    again = client.get("/branding.css", base_url=host_url(herent), headers={"If-None-Match": css.headers["ETag"]})
    assert again.status_code == 304


def test_layout_is_accessible(client, make_tenant):
    herent = make_tenant("herent", desk={"name": "Loket Herent", "phone": "+32 16 85 30 00",
                                         "email": "kinderopvang@herent.be"})
    body = client.get("/", base_url=host_url(herent)).get_data(as_text=True)
    assert 'href="#main"' in body and 'id="main"' in body  # skip link and its target
    for landmark in ('role="banner"', "<main", 'role="contentinfo"', '<nav class="rl-nav" aria-label='):
        assert landmark in body
    assert 'href="tel:+3216853000"' in body and "kinderopvang@herent.be" in body


def test_404_page_on_the_region_is_translated(client):
    response = client.get("/nope", base_url=host_url(), headers={"Accept-Language": "en"})
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)


def test_health_check(client):
    assert client.get("/healthz", base_url=host_url()).json == {"status": "ok"}


def test_health_check_without_a_database(redis_url):
    """/healthz says the process is alive (issue 16); the database is /readyz's to report."""
    broken = create_app(make_config("postgresql://nobody@127.0.0.1:1/none", redis_url))
    assert broken.test_client().get("/healthz", base_url=host_url()).json == {"status": "ok"}
    response = broken.test_client().get("/readyz", base_url=host_url())
    assert response.status_code == 503 and response.json["status"] == "unavailable"
    assert response.json["checks"]["database"]["ok"] is False
