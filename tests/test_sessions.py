"""One login for the region; a host-only session per host; hand-over by single-use token;
logout, password change and revocation end sessions everywhere."""

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from regional_loket.accounts import tokens
from regional_loket.accounts.models import ServerSession
from regional_loket.extensions import db

from .conftest import PASSWORD, REGION, follow_across_hosts, host_url, login


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


def _follow(client, location):
    """GET an absolute URL the app redirected to, on its own host."""
    parts = urlsplit(location)
    return client.get(parts.path + ("?" + parts.query if parts.query else ""),
                      base_url=f"{parts.scheme}://{parts.netloc}")


def _handover_url(client, tenant, path="/account", source=None):
    """Walk the hand-over's hops up to the target's token link (not opened yet): source → target
    (state cookie) → source (token bound to it)."""
    response = client.get("/sessie/naar", query_string={"to": f"http://{tenant.subdomain}.{REGION}{path}"},
                          base_url=host_url(source))
    assert response.status_code == 302
    begin = urlsplit(response.headers["Location"])
    assert begin.netloc == f"{tenant.subdomain}.{REGION}" and begin.path == "/sessie/overdracht"
    assert "token" not in parse_qs(begin.query)
    bounced = _follow(client, response.headers["Location"])
    assert bounced.status_code == 302 and urlsplit(bounced.headers["Location"]).path == "/sessie/naar"
    minted = _follow(client, bounced.headers["Location"])
    assert minted.status_code == 302
    return minted.headers["Location"]


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
    replay = client.get(parts.path + "?" + parts.query, base_url=host_url(herent))
    assert replay.status_code == 302 and replay.headers["Location"].startswith(f"http://{REGION}/aanmelden")
    assert not _logged_in(client, herent)


def test_handover_token_replay_while_still_logged_in_is_refused(client, make_tenant, make_user):
    herent = make_tenant("herent")
    login(client, make_user())
    parts = urlsplit(_handover_url(client, herent))
    assert client.get(parts.path + "?" + parts.query, base_url=host_url(herent)).headers["Location"] == "/account"
    again = client.get(parts.path + "?" + parts.query, base_url=host_url(herent))
    assert again.headers["Location"].startswith(f"http://{REGION}/aanmelden")  # used once already
    thief = client.application.test_client()
    stolen = thief.get(parts.path + "?" + parts.query, base_url=host_url(herent))
    assert stolen.status_code == 400
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
    db.session.add(UsedToken(jti="old", purpose="reset", used_at=utcnow() - timedelta(days=120)))  # past every purpose's lifetime (90 days)
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


# --- the hand-over completes only in the browser that started it (issue #10, item 16) ------


def test_handover_link_opened_in_another_browser_logs_nobody_in(app, make_tenant, make_user):
    """Login CSRF: an attacker mints a hand-over link for their own account and has the victim's
    browser open it. The token is bound to the attacker's browser, so the victim's is refused."""
    herent = make_tenant("herent")
    attacker, victim_user = make_user(name="Aanvaller"), make_user(name="Slachtoffer")
    mallory, victim = app.test_client(), app.test_client()
    login(mallory, attacker)
    link = _handover_url(mallory, herent)

    refused = _follow(victim, link)
    assert refused.status_code == 400
    assert "Aanmelding niet overgenomen" in refused.get_data(as_text=True)
    assert not _logged_in(victim, herent)
    assert [row.host for row in _rows(attacker)] == [REGION]  # no session was opened for it

    # Also when the victim's browser holds a state of its own on that host (it is logged in on
    # the region and was handed over before): a token bound to another state is refused.
    login(victim, victim_user)
    _follow(victim, _handover_url(victim, herent))
    assert _logged_in(victim, herent)
    link = _handover_url(mallory, herent)
    assert _follow(victim, link).status_code == 400
    account = victim.get("/account", base_url=host_url(herent)).get_data(as_text=True)
    assert victim_user.email in account and attacker.email not in account


def test_handover_state_cookie_is_host_only_and_lax(client, make_tenant, make_user):
    make_tenant("herent")
    login(client, make_user())
    begin = client.get("/sessie/naar", query_string={"to": f"http://herent.{REGION}/account"}, base_url=host_url())
    bounced = _follow(client, begin.headers["Location"])
    [header] = [v for k, v in bounced.headers.items() if k == "Set-Cookie" and v.startswith("handover=")]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header and "Domain" not in header
    state = client.get_cookie("handover", domain=f"herent.{REGION}").value
    sent = parse_qs(urlsplit(bounced.headers["Location"]).query)["state"][0]
    assert state not in bounced.headers["Location"] and sent == tokens.state_hash(state)
    assert client.get_cookie("handover", domain=REGION) is None


def test_handover_state_cookie_is_secure_when_configured(app, make_tenant, monkeypatch):
    make_tenant("herent")
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    bounced = app.test_client().get("/sessie/overdracht", query_string={"next": "/account", "from": REGION},
                                    base_url=f"https://herent.{REGION}")
    assert bounced.status_code == 302
    [header] = [v for k, v in bounced.headers.items() if k == "Set-Cookie" and v.startswith("__Host-handover=")]
    assert "Secure" in header and "Domain" not in header and "Path=/" in header


@pytest.mark.parametrize("source", ["evil.example", f"nowhere.{REGION}", "", f"herent.{REGION}"])
def test_handover_only_bounces_back_to_another_host_of_the_region(client, make_tenant, source):
    make_tenant("herent")
    response = client.get("/sessie/overdracht", query_string={"next": "/account", "from": source},
                          base_url=f"http://herent.{REGION}")
    assert response.status_code == 400


@pytest.mark.parametrize("state", ["", "abc", "z" * 64, "A" * 64])
def test_handover_state_hash_must_be_well_formed(client, make_tenant, make_user, state):
    make_tenant("herent")
    login(client, make_user())
    response = client.get("/sessie/naar", query_string={"to": f"http://herent.{REGION}/account", "state": state},
                          base_url=host_url())
    assert response.status_code == 400


def test_handover_never_silently_replaces_another_users_session(app, make_tenant, make_user):
    herent = make_tenant("herent")
    first, second = make_user(name="Eerste Ouder"), make_user(name="Tweede Ouder")
    client = app.test_client()
    login(client, first)
    _follow(client, _handover_url(client, herent))
    login(client, second)  # on the region, in the same browser, without logging out on Herent

    asked = _follow(client, _handover_url(client, herent))
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "U bent hier al aangemeld" in page
    assert first.email in page and second.email in page
    assert first.email in client.get("/account", base_url=host_url(herent)).get_data(as_text=True)
    # The answer's form leads back to the region through redirects: form-action allows it.
    assert f"form-action 'self' http://{REGION}" in asked.headers["Content-Security-Policy"]

    # "Verder als …": this host's session ends and the hand-over starts again from the region.
    switched = client.post("/sessie/overdracht?next=/account", data={"from": REGION}, base_url=host_url(herent))
    assert switched.status_code == 302
    assert urlsplit(switched.headers["Location"]).netloc == REGION
    url, landed = follow_across_hosts(client, switched.headers["Location"])  # region → Herent (state) → region → Herent (token)
    assert url == f"http://herent.{REGION}/account" and landed.status_code == 200
    account = client.get("/account", base_url=host_url(herent)).get_data(as_text=True)
    assert second.email in account and first.email not in account


def test_same_user_is_handed_over_without_asking(client, make_tenant, make_user):
    herent = make_tenant("herent")
    login(client, make_user())
    _follow(client, _handover_url(client, herent))
    again = _follow(client, _handover_url(client, herent))
    assert again.status_code == 302 and again.headers["Location"] == "/account"


# --- the login's redirect chain across hosts is allowed by the CSP (issue #10, item 1) ------


def _form_action(response):
    [directive] = [d.strip() for d in response.headers["Content-Security-Policy"].split(";")
                   if d.strip().startswith("form-action")]
    return directive


def test_login_page_allows_its_form_to_hand_over_to_the_host_asked_for(client, make_tenant):
    make_tenant("herent")
    page = client.get("/aanmelden", query_string={"next": f"http://herent.{REGION}/opvang/"}, base_url=host_url())
    assert _form_action(page) == f"form-action 'self' http://herent.{REGION}"
    # A failed attempt shows the same form again: still allowed.
    failed = client.post("/aanmelden", query_string={"next": f"http://herent.{REGION}/opvang/"},
                         data={"email": "nobody@example.be", "password": "wrong"}, base_url=host_url())
    assert _form_action(failed) == f"form-action 'self' http://herent.{REGION}"


@pytest.mark.parametrize("next_url", [None, "/account", "http://evil.example/", f"http://nowhere.{REGION}/",
                                      f"http://{REGION}/account", "http://herent.loket.test\r\nX: y/"])
def test_login_page_allows_no_other_form_action(client, make_tenant, next_url):
    make_tenant("herent")
    page = client.get("/aanmelden", query_string={"next": next_url} if next_url else {}, base_url=host_url())
    assert _form_action(page) == "form-action 'self'"


# --- the menu of a parent on a municipal host (issue #10, item 6) --------------------------


def test_parent_on_a_municipal_host_has_the_family_menu(client, make_tenant, make_user):
    herent = make_tenant("herent")
    login(client, make_user())
    _follow(client, _handover_url(client, herent))
    page = client.get("/", base_url=host_url(herent)).get_data(as_text=True)
    for label, path in (("Mijn aanvragen", "/aanvragen/"), ("Mijn gezin", "/gezin/")):
        match = re.search(r'<a class="rl-nav__link" href="([^"]+)">' + label + "</a>", page)
        assert match, label
        href = html.unescape(match.group(1))
        assert urlsplit(href).path == "/sessie/naar"
        assert parse_qs(urlsplit(href).query)["to"] == [f"http://{REGION}{path}"]
        url, landed = follow_across_hosts(client, host_url(herent) + href)
        assert url == f"http://{REGION}{path}" and landed.status_code == 200


def test_staff_without_a_parent_role_gets_no_family_menu(client, make_tenant, make_user):
    herent = make_tenant("herent")
    user = make_user("coordinator", tenant=herent)
    db.session.execute(sa.text("DELETE FROM shared.memberships WHERE user_id = :u AND role = 'parent'"),
                       {"u": user.id})
    login(client, user)
    _follow(client, _handover_url(client, herent, path="/"))
    assert "Mijn aanvragen" not in client.get("/", base_url=host_url(herent)).get_data(as_text=True)


# --- the language choice travels across hosts (issue #10, item 8) ---------------------------


def test_language_choice_travels_to_another_host_for_anonymous_visitors(client, make_tenant):
    herent = make_tenant("herent")
    client.get("/lang/fr?next=/", base_url=host_url(herent))
    page = client.get("/", base_url=host_url(herent)).get_data(as_text=True)
    match = re.search(r'href="(http://' + re.escape(REGION) + r'/[^"]*)"', page)
    assert match and parse_qs(urlsplit(html.unescape(match.group(1))).query)["lang"] == ["fr"]

    arrived = client.get("/?lang=fr", base_url=host_url())
    assert '<html lang="fr"' in arrived.get_data(as_text=True)
    assert client.get_cookie("lang", domain=REGION).value == "fr"  # adopted by this host
    assert '<html lang="fr"' in client.get("/", base_url=host_url()).get_data(as_text=True)


def test_login_redirect_from_a_municipal_host_keeps_the_language(client, make_tenant):
    herent = make_tenant("herent")
    client.get("/lang/en?next=/", base_url=host_url(herent))
    response = client.get("/aanmelden", base_url=host_url(herent))
    assert response.status_code == 302
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc == REGION and parse_qs(parts.query)["lang"] == ["en"]


def test_no_language_parameter_without_a_choice_or_on_the_same_host(client, make_tenant):
    herent = make_tenant("herent")
    carried = re.compile(r"[?&;]lang=|lang%3D")
    page = client.get("/", base_url=host_url(herent)).get_data(as_text=True)
    assert f"http://{REGION}/" in page and not carried.search(page)
    client.get("/lang/fr?next=/", base_url=host_url(herent))
    page = client.get("/", base_url=host_url(herent)).get_data(as_text=True)
    # Only the link to the other host carries it; this host's own links need no parameter.
    lines = [line for line in page.splitlines() if carried.search(line)]
    assert lines and all(f'href="http://{REGION}/' in line for line in lines)


@pytest.mark.parametrize("value", ["xx", "<script>alert(1)</script>", "FR", "fr;", ""])
def test_an_invalid_language_parameter_is_ignored_and_never_reflected(client, value):
    response = client.get("/", query_string={"lang": value}, base_url=host_url())
    assert response.status_code == 200
    assert '<html lang="nl"' in response.get_data(as_text=True)
    assert client.get_cookie("lang", domain=REGION) is None
    assert "<script>alert" not in response.get_data(as_text=True)
