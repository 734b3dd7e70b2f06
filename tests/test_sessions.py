"""One login for the region; a host-only session per host; hand-over by single-use token;
logout, password change and revocation end sessions everywhere."""

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from regional_loket.accounts import tokens
from regional_loket.accounts.models import ServerSession
from regional_loket.extensions import db

from .conftest import PASSWORD, REGION, host_url, login


def _rows(user):
    return db.session.scalars(sa.select(ServerSession).where(ServerSession.user_id == user.id)).all()


def _logged_in(client, tenant=None):
    return client.get("/account", base_url=host_url(tenant)).status_code == 200


def _cookie_header(response):
    return [v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("session=")][0]


def test_login_issues_a_new_host_only_session(client, make_user):
    user = make_user()
    client.get("/registreren", base_url=host_url())  # an anonymous session (CSRF) may exist
    before = client.get_cookie("session", domain=REGION)
    response = login(client, user)
    header = _cookie_header(response)
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Domain" not in header  # host-only: never shared with the parent domain
    after = client.get_cookie("session", domain=REGION)
    assert after is not None and (before is None or before.value != after.value)
    [row] = _rows(user)
    assert row.host == REGION and row.id_hash != after.value  # only the hash is stored
    assert len(after.value) >= 40


def test_session_cookie_is_secure_and_host_prefixed_in_production(committed, make_user):
    app, _ = committed(0, SESSION_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https")
    from regional_loket.accounts import services

    with app.app_context():
        user, _ = services.register(db.session, email="prod@example.be", password=PASSWORD, name="P")
        user.verified_at = services.utcnow()
        db.session.commit()
        try:
            client = app.test_client()
            response = client.post("/aanmelden", data={"email": "prod@example.be", "password": PASSWORD},
                                   base_url=f"https://{REGION}")
            header = [v for k, v in response.headers.items() if k == "Set-Cookie" and "__Host-session=" in v][0]
            assert "Secure" in header and "Path=/" in header and "Domain" not in header
        finally:
            db.session.execute(sa.delete(services.User).where(services.User.email == "prod@example.be"))
            db.session.commit()


def _handover_url(client, tenant):
    response = client.get("/sessie/naar", query_string={"to": f"http://{tenant.subdomain}.{REGION}/account"},
                          base_url=host_url())
    assert response.status_code == 302
    return response.headers["Location"]


def test_handover_opens_a_session_on_the_municipal_host(client, make_tenant, make_user):
    herent = make_tenant("herent")
    user = make_user()
    login(client, user)
    assert not _logged_in(client, herent)
    target = _handover_url(client, herent)
    parts = urlsplit(target)
    assert parts.netloc == f"herent.{REGION}" and parts.path == "/sessie/overdracht"
    landed = client.get(parts.path + "?" + parts.query, base_url=host_url(herent))
    assert landed.status_code == 302 and landed.headers["Location"] == "/account"
    assert _logged_in(client, herent)
    hosts = sorted(row.host for row in _rows(user))
    assert hosts == sorted([REGION, f"herent.{REGION}"])
    assert len({row.login_id for row in _rows(user)}) == 1


def test_handover_token_cannot_be_replayed(client, make_tenant, make_user):
    herent = make_tenant("herent")
    login(client, make_user())
    parts = urlsplit(_handover_url(client, herent))
    client.get(parts.path + "?" + parts.query, base_url=host_url(herent))
    client.post("/afmelden", base_url=host_url(herent))  # also ends the region session
    other = client.application.test_client()
    replay = other.get(parts.path + "?" + parts.query, base_url=host_url(herent))
    assert replay.status_code == 302 and replay.headers["Location"].startswith(f"http://{REGION}/aanmelden")
    assert not _logged_in(other, herent)


def test_handover_token_replay_while_still_logged_in_is_refused(client, make_tenant, make_user):
    herent = make_tenant("herent")
    login(client, make_user())
    parts = urlsplit(_handover_url(client, herent))
    assert client.get(parts.path + "?" + parts.query, base_url=host_url(herent)).headers["Location"] == "/account"
    thief = client.application.test_client()
    stolen = thief.get(parts.path + "?" + parts.query, base_url=host_url(herent))
    assert stolen.headers["Location"].startswith(f"http://{REGION}/aanmelden")
    assert not _logged_in(thief, herent)


def test_expired_handover_token_is_refused(client, make_tenant, make_user, monkeypatch):
    herent = make_tenant("herent")
    login(client, make_user())
    parts = urlsplit(_handover_url(client, herent))
    from datetime import timedelta

    monkeypatch.setitem(tokens.MAX_AGE, "handover", timedelta(seconds=-1))
    response = client.get(parts.path + "?" + parts.query, base_url=host_url(herent))
    assert response.headers["Location"].startswith(f"http://{REGION}/aanmelden")
    assert not _logged_in(client, herent)


def test_handover_token_for_another_host_is_refused(client, make_tenant, make_user):
    herent, leuven = make_tenant("herent"), make_tenant("leuven")
    login(client, make_user())
    parts = urlsplit(_handover_url(client, herent))
    response = client.get(parts.path + "?" + parts.query, base_url=host_url(leuven))
    assert response.headers["Location"].startswith(f"http://{REGION}/aanmelden")
    assert not _logged_in(client, leuven)


def test_handover_token_of_another_region_is_refused(app, client, make_tenant, make_user):
    herent = make_tenant("herent")
    user = make_user()
    login(client, user)
    login_id = _rows(user)[0].login_id
    forged = tokens.make("the secret of another region", "handover", uid=str(user.id), login=str(login_id),
                         aud=f"herent.{REGION}")
    other = app.test_client()
    response = other.get("/sessie/overdracht", query_string={"token": forged, "next": "/account"},
                         base_url=host_url(herent))
    assert response.headers["Location"].startswith(f"http://{REGION}/aanmelden")
    assert not _logged_in(other, herent)


@pytest.mark.parametrize("target", ["http://evil.example/", "https://127.0.0.1/", "javascript:alert(1)",
                                    f"http://nowhere.{REGION}/", ""])
def test_handover_only_to_the_regions_own_hosts(client, make_user, target):
    login(client, make_user())
    assert client.get("/sessie/naar", query_string={"to": target}, base_url=host_url()).status_code == 400


def test_logout_ends_the_login_on_every_host(client, make_tenant, make_user):
    herent = make_tenant("herent")
    user = make_user()
    login(client, user)
    parts = urlsplit(_handover_url(client, herent))
    client.get(parts.path + "?" + parts.query, base_url=host_url(herent))
    assert _logged_in(client) and _logged_in(client, herent)
    client.post("/afmelden", base_url=host_url())
    assert not _logged_in(client) and not _logged_in(client, herent)
    assert _rows(user) == []


def test_logout_elsewhere_keeps_other_devices(app, make_user):
    user = make_user()
    phone, laptop = app.test_client(), app.test_client()
    login(phone, user)
    login(laptop, user)
    phone.post("/afmelden", base_url=host_url())
    assert not _logged_in(phone) and _logged_in(laptop)


def test_log_out_everywhere(app, make_user):
    user = make_user()
    phone, laptop = app.test_client(), app.test_client()
    login(phone, user)
    login(laptop, user)
    listing = laptop.get("/account/sessies", base_url=host_url()).get_data(as_text=True)
    assert listing.count(REGION) >= 2
    laptop.post("/account/sessies", base_url=host_url())
    assert not _logged_in(phone) and not _logged_in(laptop)


def test_password_change_ends_the_other_sessions(app, make_user):
    user = make_user()
    phone, laptop = app.test_client(), app.test_client()
    login(phone, user)
    login(laptop, user)
    new = "een nieuwe zin voor het loket"
    changed = laptop.post("/account/wachtwoord", data={"current": PASSWORD, "password": new, "confirm": new},
                          base_url=host_url())
    assert changed.status_code == 302
    assert _logged_in(laptop) and not _logged_in(phone)


def test_admin_revocation_ends_every_session(app, make_user):
    user, admin = make_user(), make_user("admin")
    victim, boss = app.test_client(), app.test_client()
    login(victim, user)
    login(boss, admin)
    assert boss.post(f"/beheer/regio/gebruikers/{user.id}/sessies-beeindigen", base_url=host_url()).status_code == 302
    assert not _logged_in(victim) and _logged_in(boss)


def test_blocked_account_is_logged_out_and_cannot_log_in(app, make_user):
    user, admin = make_user(), make_user("admin")
    victim, boss = app.test_client(), app.test_client()
    login(victim, user)
    login(boss, admin)
    boss.post(f"/beheer/regio/gebruikers/{user.id}/actief", base_url=host_url())
    assert not _logged_in(victim)
    assert login(victim, user).status_code == 422


def test_a_session_cookie_is_not_valid_on_another_host(client, make_tenant, make_user):
    herent = make_tenant("herent")
    login(client, make_user())
    cookie = client.get_cookie("session", domain=REGION)
    thief = client.application.test_client()
    thief.set_cookie("session", cookie.value, domain=f"herent.{REGION}")
    assert not _logged_in(thief, herent)


def test_handover_next_is_kept_on_the_target_host(client, make_tenant, make_user):
    herent = make_tenant("herent")
    login(client, make_user())
    parts = urlsplit(_handover_url(client, herent))
    assert parse_qs(parts.query)["next"] == ["/account"]


def test_expired_sessions_and_old_tokens_are_purged(app, make_user):
    from datetime import timedelta

    from regional_loket import jobs
    from regional_loket.accounts.jobs import purge_sessions_and_tokens
    from regional_loket.accounts.models import UsedToken
    from regional_loket.database import utcnow

    user = make_user()
    client = app.test_client()
    login(client, user)
    db.session.execute(sa.update(ServerSession).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.add(UsedToken(jti="old", purpose="reset", used_at=utcnow() - timedelta(days=30)))
    db.session.add(UsedToken(jti="new", purpose="reset", used_at=utcnow()))
    db.session.flush()
    jobs.set_job_app(app)
    try:
        sessions, tokens = purge_sessions_and_tokens()
    finally:
        jobs.set_job_app(None)
    assert sessions >= 1 and tokens >= 1  # other tests' committed leftovers may go too
    assert _rows(user) == []
    assert set(db.session.scalars(sa.select(UsedToken.jti))) >= {"new"}
    assert "old" not in set(db.session.scalars(sa.select(UsedToken.jti)))
