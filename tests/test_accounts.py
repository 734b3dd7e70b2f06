"""Registration, verification, login, lockout, password reset, e-mail change, account pages."""

import html
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from regional_loket.accounts import services, tokens
from regional_loket.accounts.models import Role, ServerSession, User
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.notifications.models import Notification

from .conftest import PASSWORD, REGION, follow_across_hosts, host_url, login, translated


def outbox(template=None, to=None):
    query = sa.select(Notification).order_by(Notification.created_at)
    if template:
        query = query.where(Notification.template == template)
    if to:
        query = query.where(Notification.recipient_email == to)
    return list(db.session.scalars(query))


def path_of(url):
    parts = urlsplit(url)
    assert parts.netloc == REGION, url  # every link in a mail points at the regional portal
    return parts.path


def users_named(email):
    return db.session.scalars(sa.select(User).where(User.email == email)).all()


REGISTRATION = {
    "name": "An Peeters", "email": "An.Peeters@Example.be", "phone": "", "language": "fr",
    "password": "fiets naar de crèche om acht", "confirm": "fiets naar de crèche om acht", "consent": "y",
}


def test_register_verify_login(client):
    page = client.post("/registreren", data=REGISTRATION, base_url=host_url())
    assert page.status_code == 200 and "an.peeters@example.be" in page.get_data(as_text=True)
    user = users_named("an.peeters@example.be")[0]
    assert not user.is_verified and user.language == "fr" and user.roles() == {"parent"}
    assert user.password_hash.startswith("$argon2id$")

    refused = login(client, "an.peeters@example.be", REGISTRATION["password"])
    assert refused.status_code == 422 and "Bevestig eerst uw e-mailadres" in refused.get_data(as_text=True)

    [mail] = outbox("verify_email", to="an.peeters@example.be")
    assert mail.language == "fr"
    verified = client.get(path_of(mail.data["url"]), base_url=host_url())
    assert verified.status_code == 302 and verified.headers["Location"] == "/aanmelden"
    welcome = login(client, "AN.PEETERS@example.be", REGISTRATION["password"])
    assert welcome.status_code == 302
    assert client.get("/account", base_url=host_url()).status_code == 200


def test_registering_a_taken_address_looks_the_same_and_tells_the_owner(client, make_user):
    owner = make_user(email="an@example.be")
    page = client.post("/registreren", data={**REGISTRATION, "email": "AN@example.be"}, base_url=host_url())
    assert page.status_code == 200 and "We stuurden een e-mail naar an@example.be" in page.get_data(as_text=True)
    assert len(users_named("an@example.be")) == 1
    assert [n.recipient_user_id for n in outbox("already_registered")] == [owner.id]
    assert outbox("verify_email") == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "not-an-address"}, "Dit is geen geldig e-mailadres"),
        ({"email": "a" * 250 + "@example.be"}, "hoogstens 254 tekens"),
        ({"email": ""}, "Vul uw e-mailadres in"),
        ({"name": ""}, "Vul uw naam in"),
        ({"name": "x" * 121}, "hoogstens 120 tekens"),
        ({"password": "kort", "confirm": "kort"}, "te kort"),
        ({"password": "wachtwoord1234", "confirm": "wachtwoord1234"}, "gekraakte wachtwoorden"),
        ({"password": "123456789012", "confirm": "123456789012"}, "gekraakte wachtwoorden"),
        ({"password": "aaaaaaaaaaaaaaa", "confirm": "aaaaaaaaaaaaaaa"}, "gekraakte wachtwoorden"),
        ({"password": "peeters was hier 2026", "confirm": "peeters was hier 2026"}, "naam of e-mailadres"),
        ({"confirm": "iets anders dan het wachtwoord"}, "niet gelijk"),
        ({"consent": ""}, "Zonder uw akkoord"),
    ],
)
def test_bad_registration_is_explained_and_writes_nothing(client, changes, message):
    data = {**REGISTRATION, **changes}
    if not data["consent"]:
        del data["consent"]
    page = client.post("/registreren", data=data, base_url=host_url())
    assert page.status_code == 422
    body = page.get_data(as_text=True)
    assert message in body
    assert "Minstens 12 tekens" in body  # the rule is always shown
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    assert outbox() == []


def test_registration_errors_are_translated(app, client):
    client.get("/lang/en", base_url=host_url())
    page = client.post("/registreren", data={**REGISTRATION, "password": "kort", "confirm": "kort"},
                       base_url=host_url())
    english = translated(app, "en", "Uw wachtwoord is te kort: gebruik minstens 12 tekens.")
    assert english in html.unescape(page.get_data(as_text=True))


def test_wrong_password_and_unknown_address_get_the_same_answer(client, make_user):
    user = make_user()
    wrong = login(client, user, "niet het goede wachtwoord")
    unknown = login(client, "nobody@example.be", "niet het goede wachtwoord")
    strip = lambda r: re.sub(r'name="csrf_token"[^>]*>|value="[^"]*"', "", r.get_data(as_text=True))  # noqa: E731
    assert wrong.status_code == unknown.status_code == 422
    assert strip(wrong) == strip(unknown)


STRANGER, OWNER = "203.0.113.66", "198.51.100.7"


def login_from(client, source, email, password=PASSWORD):
    """Log in through the form as a client at ``source``."""
    return client.post("/aanmelden", data={"email": email, "password": password}, base_url=host_url(),
                       environ_base={"REMOTE_ADDR": source})


def test_a_stranger_cannot_lock_the_owner_out(client, make_user):
    user = make_user()
    for _ in range(services.THROTTLE_AFTER - 1):
        assert login_from(client, STRANGER, user.email, "niet het goede wachtwoord").status_code == 422
    throttled = login_from(client, STRANGER, user.email, "niet het goede wachtwoord")
    assert throttled.status_code == 429
    assert "Probeer het opnieuw over 1 minuut" in throttled.get_data(as_text=True)
    assert throttled.headers["Retry-After"] == "60"
    # The stranger's source waits, even with the right password; the owner's does not.
    assert login_from(client, STRANGER, user.email).status_code == 429
    assert login_from(client, OWNER, user.email).status_code == 302


def test_one_source_is_throttled_progressively(app, make_user):
    user = make_user()
    now = services.utcnow()

    def attempt(at, password="niet het goede wachtwoord", source=STRANGER):
        return services.authenticate(db.session, user.email, password, source=source, now=at)

    assert [attempt(now).outcome for _ in range(services.THROTTLE_AFTER - 1)] == ["invalid"] * 4
    fifth = attempt(now)
    assert fifth.outcome == "throttled" and fifth.retry_at == now + timedelta(minutes=1)
    assert fifth.notify_owner
    # Asking again before the wait is over is refused unchecked and does not lengthen it.
    early = attempt(now + timedelta(seconds=30), password=PASSWORD)
    assert early.outcome == "throttled" and early.retry_at == now + timedelta(minutes=1)
    waits, at = [], now + timedelta(minutes=1)
    for _ in range(4):
        refused = attempt(at)
        waits.append(refused.retry_at - at)
        assert not refused.notify_owner  # one mail per run of failures
        at = refused.retry_at
    assert waits == [timedelta(minutes=m) for m in (2, 4, 8, 16)]
    for _ in range(3):
        at = attempt(at).retry_at
    assert attempt(at).retry_at - at == services.MAX_DELAY  # never longer than an hour
    assert attempt(at, source=OWNER, password=PASSWORD).ok


def test_unknown_addresses_are_throttled_alike(client, make_user):
    user = make_user()
    known = [login_from(client, STRANGER, user.email, "fout").status_code for _ in range(6)]
    unknown = [login_from(client, STRANGER, "nobody@example.be", "fout").status_code for _ in range(6)]
    assert known == unknown == [422] * 4 + [429] * 2


def test_many_sources_slow_the_account_but_never_lock_it(app, make_user):
    user = make_user()
    now = services.utcnow()
    home = services.authenticate(db.session, user.email, PASSWORD, source=OWNER, now=now)
    assert home.ok  # the owner's browser is now a known source
    mails = []
    for i in range(services.ACCOUNT_CEILING):
        attempt = services.authenticate(db.session, user.email, "fout", source=f"10.1.{i // 250}.{i % 250}", now=now)
        assert attempt.outcome == "invalid"
        mails.append(attempt.notify_owner)
    assert mails == [False] * (services.ACCOUNT_CEILING - 1) + [True]
    fresh = services.authenticate(db.session, user.email, PASSWORD, source="192.0.2.1", now=now)
    assert fresh.outcome == "throttled" and fresh.retry_at == now + services.ACCOUNT_DELAY
    # Slowed, not locked: after the short wait the next guess is checked (and slows it again) …
    later = now + services.ACCOUNT_DELAY
    guess = services.authenticate(db.session, user.email, "fout", source="192.0.2.2", now=later)
    assert guess.outcome == "invalid"
    assert services.authenticate(db.session, user.email, PASSWORD, source="192.0.2.1",
                                 now=later).outcome == "throttled"
    # … and the owner's own browser is not slowed at all.
    assert services.authenticate(db.session, user.email, PASSWORD, source=OWNER, now=later).ok


def test_unlock_link_clears_the_wait(client, make_user):
    user = make_user()
    for _ in range(services.THROTTLE_AFTER + 1):
        login_from(client, OWNER, user.email, "niet het goede wachtwoord")
    [unlock_mail] = outbox("unlock_account")
    assert login_from(client, OWNER, user.email).status_code == 429

    unlocked = client.get(path_of(unlock_mail.data["url"]), base_url=host_url())
    assert unlocked.status_code == 302
    assert "De wachttijd is opgeheven" in client.get("/aanmelden", base_url=host_url()).get_data(as_text=True)
    assert login_from(client, OWNER, user.email).status_code == 302
    again = client.get(path_of(unlock_mail.data["url"]), base_url=host_url())
    assert again.status_code == 400 and "al gebruikt" in again.get_data(as_text=True)


def test_a_new_password_clears_the_wait(app, make_user):
    user = make_user()
    now = services.utcnow()
    for _ in range(services.THROTTLE_AFTER):
        services.authenticate(db.session, user.email, "fout", source=OWNER, now=now)
    services.set_password(db.session, user, "een heel nieuw wachtwoord voor mij")
    assert services.authenticate(db.session, user.email, "een heel nieuw wachtwoord voor mij",
                                 source=OWNER, now=now).ok


def test_password_reset_link_works_once(client, make_user):
    user = make_user()
    client.post("/wachtwoord-vergeten", data={"email": user.email}, base_url=host_url())
    [mail] = outbox("reset_password")
    link = path_of(mail.data["url"])
    assert client.get(link, base_url=host_url()).status_code == 200
    new = "een nieuwe zin voor het loket"
    done = client.post(link, data={"password": new, "confirm": new}, base_url=host_url())
    assert done.status_code == 302
    assert login(client, user, PASSWORD).status_code == 422
    assert login(client, user, new).status_code == 302
    second = client.post(link, data={"password": "nog een andere lange zin", "confirm": "nog een andere lange zin"},
                         base_url=host_url())
    assert second.status_code == 400 and "al gebruikt" in second.get_data(as_text=True)
    assert outbox("password_changed")


def test_password_reset_for_an_unknown_address_answers_the_same(client, make_user):
    user = make_user()
    known = client.post("/wachtwoord-vergeten", data={"email": user.email}, base_url=host_url())
    unknown = client.post("/wachtwoord-vergeten", data={"email": "nobody@example.be"}, base_url=host_url())
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True).replace(user.email, "X") == unknown.get_data(as_text=True).replace("nobody@example.be", "X")
    assert [n.recipient_email for n in outbox("reset_password")] == [user.email]


def test_expired_and_forged_reset_links_are_refused(app, client, make_user, monkeypatch):
    user = make_user()
    token = tokens.make(app.secret_key, "reset", uid=str(user.id), pw=services.password_fingerprint(user))
    monkeypatch.setitem(tokens.MAX_AGE, "reset", timedelta(seconds=-1))
    expired = client.get(f"/wachtwoord-herstellen/{token}", base_url=host_url())
    assert expired.status_code == 400 and "verlopen" in expired.get_data(as_text=True)
    monkeypatch.undo()
    forged = tokens.make("another region's secret", "reset", uid=str(user.id), pw=services.password_fingerprint(user))
    for bad in (forged, "garbage", token[:-3] + "abc"):
        response = client.get(f"/wachtwoord-herstellen/{bad}", base_url=host_url())
        assert response.status_code == 400 and "ongeldig" in response.get_data(as_text=True)


def test_email_change_needs_the_new_address_to_confirm(client, make_user):
    user = make_user(email="oud@example.be")
    login(client, user)
    wrong = client.post("/account/e-mail", data={"email": "nieuw@example.be", "current": "fout wachtwoord"},
                        base_url=host_url())
    assert wrong.status_code == 422 and "klopt niet" in wrong.get_data(as_text=True)
    client.post("/account/e-mail", data={"email": "Nieuw@example.be", "current": PASSWORD}, base_url=host_url())
    db.session.refresh(user)
    assert user.email == "oud@example.be"
    [mail] = outbox("confirm_email")
    assert mail.recipient_email == "nieuw@example.be"
    client.get(path_of(mail.data["url"]), base_url=host_url())
    db.session.refresh(user)
    assert user.email == "nieuw@example.be"
    assert [n.recipient_email for n in outbox("email_changed")] == ["oud@example.be"]


def test_profile_update(client, make_user):
    user = make_user()
    login(client, user)
    saved = client.post("/account", data={"name": "Nieuwe Naam", "phone": "+32 470 00 00 00", "language": "en"},
                        base_url=host_url())
    assert saved.status_code == 302
    db.session.refresh(user)
    assert (user.name, user.phone, user.language) == ("Nieuwe Naam", "+32 470 00 00 00", "en")
    bad = client.post("/account", data={"name": "", "language": "xx"}, base_url=host_url())
    assert bad.status_code == 422


def test_delete_account_needs_confirmation_and_ends_every_session(client, make_user):
    user = make_user()
    login(client, user)
    unconfirmed = client.post("/account/verwijderen", data={"current": PASSWORD}, base_url=host_url())
    assert unconfirmed.status_code == 422
    done = client.post("/account/verwijderen", data={"current": PASSWORD, "confirm": "y"}, base_url=host_url())
    assert done.status_code == 302
    db.session.refresh(user)
    assert user.deleted_at is not None and user.email.startswith("deleted-") and user.name == ""
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ServerSession).where(ServerSession.user_id == user.id)) == 0
    assert login(client, "deleted@example.be").status_code == 422
    assert client.get("/account", base_url=host_url()).status_code == 302


def test_pages_that_need_a_login_send_you_to_it(client):
    response = client.get("/account/wachtwoord", base_url=host_url())
    assert response.status_code == 302
    assert response.headers["Location"] == "/aanmelden?next=/account/wachtwoord"


def test_login_on_a_municipal_host_goes_to_the_region_and_comes_back(client, make_tenant, make_user):
    herent = make_tenant("herent")
    user = make_user()
    start = client.get("/aanmelden?next=/beheer/", base_url=host_url(herent))
    assert start.status_code == 302
    assert start.headers["Location"] == (
        f"http://{REGION}/aanmelden?next=http://herent.{REGION}/beheer/")
    done = client.post(f"/aanmelden?next=http://herent.{REGION}/beheer/",
                       data={"email": user.email, "password": PASSWORD}, base_url=host_url())
    assert done.status_code == 302 and done.headers["Location"].startswith("/sessie/naar?to=")
    url, landed = follow_across_hosts(client, host_url() + done.headers["Location"])
    assert url == f"http://herent.{REGION}/beheer/" and landed.status_code == 403  # a parent, not its coordinator
    assert client.get("/account", base_url=host_url(herent)).status_code == 200  # logged in there


def test_open_redirects_are_refused_after_login(client, make_user):
    user = make_user()
    for target in ("https://evil.example/", "//evil.example", "http://herent.evil.example/"):
        response = client.post("/aanmelden", query_string={"next": target},
                               data={"email": user.email, "password": PASSWORD}, base_url=host_url())
        assert response.headers["Location"] == "/"
        client.post("/afmelden", base_url=host_url())


def test_cli_creates_an_administrator(runner):
    result = runner.invoke(args=["accounts", "create", "boss@example.be", "--name", "Boss",
                                 "--password", "een lange zin als wachtwoord"])
    assert result.exit_code == 0, result.output
    granted = runner.invoke(args=["accounts", "grant", "boss@example.be", "admin"])
    assert granted.exit_code == 0
    user = users_named("boss@example.be")[0]
    assert user.is_verified and Role.ADMIN in user.roles()
    weak = runner.invoke(args=["accounts", "create", "x@example.be", "--name", "X", "--password", "kort"])
    assert weak.exit_code == 1 and "te kort" in weak.output
    wrong = runner.invoke(args=["accounts", "grant", "boss@example.be", "coordinator"])
    assert wrong.exit_code == 1 and "needs municipality" in wrong.output


def test_the_user_list_pages_and_its_pager_keeps_the_search(client, make_user):
    from regional_loket.admin.views import PER_PAGE

    admin = make_user("admin")
    for number in range(PER_PAGE + 2):
        make_user(email=f"pager-{number:02d}@pager.example.be")
    login(client, admin)
    first = client.get("/beheer/regio/gebruikers", query_string={"q": "pager.example"}, base_url=host_url())
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and html.count("@pager.example.be") == PER_PAGE
    assert "Pagina 1 van 2" in html and 'href="/beheer/regio/gebruikers?q=pager.example&amp;page=2"' in html
    second = client.get("/beheer/regio/gebruikers?q=pager.example&page=2", base_url=host_url()).get_data(as_text=True)
    assert second.count("@pager.example.be") == 2 and "Pagina 2 van 2" in second and "Volgende" not in second


def _admin_role(user):
    return next(m for m in user.memberships if m.role == Role.ADMIN)


def test_the_last_administrator_cannot_lose_the_role_or_be_blocked(client, make_user):
    """Defect: an administrator could remove the last administrator role, leaving the region
    without anyone to give it back (the CLI aside)."""
    admin = make_user("admin", email="boss@example.be")
    login(client, admin)
    answer = client.post(f"/beheer/regio/gebruikers/{admin.id}/rollen/{_admin_role(admin).id}/verwijderen",
                         base_url=host_url(), follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert "minstens één actieve regiobeheerder" in html.unescape(page) and "De rol is ingetrokken." not in page
    db.session.expire_all()
    assert Role.ADMIN in [m.role for m in admin.memberships]
    with pytest.raises(services.LastAdminError):
        services.set_active(db.session, admin, False)
    with pytest.raises(services.LastAdminError):
        services.delete_account(db.session, admin, now=utcnow())
    assert admin.active and admin.deleted_at is None


def test_an_administrator_role_goes_once_another_active_administrator_remains(client, make_user):
    admin, colleague = make_user("admin", email="boss@example.be"), make_user("admin", email="deputy@example.be")
    login(client, admin)
    colleague.active = False  # a blocked colleague cannot administer: they do not count
    db.session.flush()
    role_url = f"/beheer/regio/gebruikers/{admin.id}/rollen/{_admin_role(admin).id}/verwijderen"
    client.post(role_url, base_url=host_url())
    db.session.expire_all()
    assert Role.ADMIN in [m.role for m in admin.memberships]
    services.set_active(db.session, colleague, True)
    db.session.flush()
    done = client.post(role_url, base_url=host_url(), follow_redirects=True)
    assert "De rol is ingetrokken." in done.get_data(as_text=True)
    db.session.expire_all()
    assert Role.ADMIN not in [m.role for m in admin.memberships]
    assert services.is_last_active_admin(db.session, colleague)


def test_the_last_administrator_cannot_delete_their_account(client, make_user):
    admin = make_user("admin", email="boss@example.be")
    login(client, admin)
    answer = client.post("/account/verwijderen", data={"current": PASSWORD, "confirm": "y"}, base_url=host_url())
    assert answer.status_code == 422 and "minstens één actieve regiobeheerder" in html.unescape(answer.get_data(as_text=True))
    db.session.expire_all()
    assert admin.deleted_at is None and admin.email == "boss@example.be"
