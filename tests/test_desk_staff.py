"""Provider staff (issue #12 item 2): the desk invites by e-mail to some of its locations, the
link creates or links an account, the staff member sees only those locations; locations are
changed and roles revoked; the region administrator's grant form has the same picker."""

import html
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from regional_loket.accounts import invitations
from regional_loket.accounts.models import Membership, Role, User
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.notifications import Notification, render
from regional_loket.tenancy import AuditEntry, tenant_scope

from .conftest import PASSWORD, follow_across_hosts, hand_over, host_url, login, translated

NEW_PASSWORD = "drie kleine kindjes op de fiets"


@pytest.fixture
def desk(app, make_tenant, make_location, make_user):
    herent = make_tenant("herent", name="Herent")
    tienen = make_tenant("tienen", name="Tienen")
    places = {  # ids only: a tenant row cannot be reloaded after the commit without its tenant bound
        "zon": make_location(herent, "Kinderdagverblijf De Zonnebloem").id,
        "els": make_location(herent, "Onthaalouder Els", kind="family").id,
        "bos": make_location(herent, "Het Bos").id,
        "tienen": make_location(tienen, "Kinderdagverblijf Tienen", postcode="3300", locality="Tienen").id,
    }
    coordinator = make_user("coordinator", tenant=herent, name="Coördinator Herent")
    tienen_coordinator = make_user("coordinator", tenant=tienen)
    db.session.commit()
    return {"herent": herent, "tienen": tienen, "places": places,
            "coordinator": coordinator, "tienen_coordinator": tienen_coordinator}


def _client_on(app, user, tenant, path="/beheer/", password=PASSWORD):
    client = app.test_client()
    assert login(client, user, password=password).status_code == 302
    hand_over(client, tenant, path)
    return client


def _csrf(page) -> str:
    """The page's CSRF token (tests run with CSRF off: then none, and the page must still load)."""
    assert page.status_code == 200, page.status_code
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    return found.group(1) if found else ""


def _post(client, tenant, path, data):
    token = _csrf(client.get(path, base_url=host_url(tenant)))
    return client.post(path, data={"csrf_token": token, **data}, base_url=host_url(tenant))


def _invite(client, desk, email, locations, language="nl"):
    return _post(client, desk["herent"], "/beheer/medewerkers/uitnodigen",
                 {"email": email, "language": language, "locations": [str(i) for i in locations]})


def _mails(to):
    return list(db.session.scalars(sa.select(Notification).where(
        Notification.template == "staff_invitation", Notification.recipient_email == to)
        .order_by(Notification.created_at)))


def _link_path(mail, tenant):
    parts = urlsplit(mail.data["url"])
    assert parts.netloc == urlsplit(host_url(tenant)).netloc  # the link opens on the municipality's host
    return parts.path


def _memberships(email):
    return list(db.session.scalars(sa.select(Membership).join(User).where(
        User.email == email, Membership.role == Role.PROVIDER_STAFF)))


def _audit(tenant, action):
    with tenant_scope(db.session, tenant):
        return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def _counts(tenant):
    with tenant_scope(db.session, tenant):
        audit = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    return (db.session.scalar(sa.select(sa.func.count()).select_from(invitations.StaffInvitation)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Notification)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Membership)), audit)


# --- invite → new account → only those locations ----------------------------------------------


def test_invite_a_new_person_who_then_sees_only_their_locations(app, desk):
    herent, places = desk["herent"], desk["places"]
    boss = _client_on(app, desk["coordinator"], herent)
    form = boss.get("/beheer/medewerkers/uitnodigen", base_url=host_url(herent)).get_data(as_text=True)
    assert "Kinderdagverblijf De Zonnebloem" in form and "Kinderdagverblijf Tienen" not in form
    sent = _invite(boss, desk, "Mira.Staff@Example.be", [places["zon"], places["els"]], language="fr")
    assert sent.status_code == 302 and sent.headers["Location"] == "/beheer/medewerkers"

    [mail] = _mails("mira.staff@example.be")
    assert mail.language == "fr" and mail.tenant_slug == "herent"
    assert mail.data["locations"] == ["Kinderdagverblijf De Zonnebloem", "Onthaalouder Els"]
    subject, text, _html = render(app, mail)
    with app.test_request_context():
        from flask_babel import force_locale, gettext

        with force_locale("fr"):
            expected = gettext("Uitnodiging: medewerker kinderopvang in %(municipality)s", municipality="Herent")
    assert subject == expected and "Onthaalouder Els" in text
    assert translated(app, "fr", "Goeddag,") in text  # rendered in French
    [audited] = _audit(herent, "staff.invite")
    assert audited.actor_id == desk["coordinator"].id and audited.kind == "change" and audited.actor_role == "coordinator"
    assert set(audited.detail["locations"]) == {str(places["zon"]), str(places["els"])}
    assert audited.host == "herent.loket.test" and "mira" not in str(audited.detail)  # ids only

    listed = boss.get("/beheer/medewerkers", base_url=host_url(herent)).get_data(as_text=True)
    assert "mira.staff@example.be" in listed and "uitgenodigd tot" in listed
    home = boss.get("/beheer/", base_url=host_url(herent)).get_data(as_text=True)
    assert re.search(r'href="/beheer/medewerkers">Medewerkers van de opvanglocaties</a> \(1\)', home)

    visitor = app.test_client()
    path = _link_path(mail, herent)
    page = visitor.get(path, base_url=host_url(herent))
    assert page.status_code == 200 and "Maak uw account" in page.get_data(as_text=True)
    refused = visitor.post(path, data={"csrf_token": _csrf(page), "name": "Mira", "password": "kort",
                                       "confirm": "kort"}, base_url=host_url(herent))
    assert refused.status_code == 422 and not _memberships("mira.staff@example.be")
    done = visitor.post(path, data={"csrf_token": _csrf(page), "name": "Mira Staff", "password": NEW_PASSWORD,
                                    "confirm": NEW_PASSWORD}, base_url=host_url(herent))
    assert done.status_code == 200 and "Uw account is klaar" in done.get_data(as_text=True)
    user = db.session.scalar(sa.select(User).where(User.email == "mira.staff@example.be"))
    assert user.is_verified and user.language == "fr" and user.roles() == {"provider_staff"}
    [membership] = _memberships(user.email)
    assert membership.tenant_id == herent.id and set(membership.location_ids) == {places["zon"], places["els"]}
    assert _audit(herent, "staff.invitation_accept")[0].actor_id == user.id

    again = visitor.get(path, base_url=host_url(herent))
    assert again.status_code == 400 and "al aanvaard" in again.get_data(as_text=True)

    staff = _client_on(app, user, herent, "/opvang/", password=NEW_PASSWORD)
    home = staff.get("/opvang/", base_url=host_url(herent)).get_data(as_text=True)
    assert "Kinderdagverblijf De Zonnebloem" in home and "Onthaalouder Els" in home and "Het Bos" not in home
    assert staff.get(f"/opvang/{places['zon']}/", base_url=host_url(herent)).status_code == 200
    assert staff.get(f"/opvang/{places['bos']}/", base_url=host_url(herent)).status_code == 403
    assert staff.get(f"/opvang/{places['tienen']}/", base_url=host_url(herent)).status_code == 403
    listed = boss.get("/beheer/medewerkers", base_url=host_url(herent)).get_data(as_text=True)
    assert "Mira Staff" in listed and "actief" in listed


def test_the_invitation_mail_is_in_the_invitees_language(app, desk):
    """French invite → French subject (needs the fr catalog of /tmp/i18n/staff.json merged)."""
    boss = _client_on(app, desk["coordinator"], desk["herent"])
    _invite(boss, desk, "fr@example.be", [desk["places"]["zon"]], language="fr")
    [mail] = _mails("fr@example.be")
    subject, _text, _html = render(app, mail)
    assert subject == translated(app, "fr", "Uitnodiging: medewerker kinderopvang in %(municipality)s",
                                 municipality="Herent")


def test_the_invitation_language_defaults_to_the_coordinators_page_language(app, desk):
    boss = _client_on(app, desk["coordinator"], desk["herent"])
    boss.get("/lang/en", base_url=host_url(desk["herent"]))
    page = boss.get("/beheer/medewerkers/uitnodigen", base_url=host_url(desk["herent"])).get_data(as_text=True)
    assert re.search(r'<option selected value="en">|<option value="en" selected>', page), page


# --- an existing account is linked -------------------------------------------------------------


def test_invite_an_existing_account_links_it_after_login(app, desk, make_user):
    herent, places = desk["herent"], desk["places"]
    parent = make_user(email="ouder@example.be", name="An Ouder", verified=False)
    db.session.commit()
    boss = _client_on(app, desk["coordinator"], herent)
    _invite(boss, desk, "ouder@example.be", [places["bos"]])
    [mail] = _mails("ouder@example.be")
    path = _link_path(mail, herent)

    browser = app.test_client()
    page = browser.get(path, base_url=host_url(herent))
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Er bestaat al een account" in body and "Maak uw account" not in body
    db.session.expire_all()
    assert db.session.get(User, parent.id).is_verified  # the link reached the mailbox
    login_url = html.unescape(re.search(r'id="invitation-login" href="([^"]+)"', body).group(1))
    assert urlsplit(login_url).netloc == urlsplit(host_url()).netloc

    other = _client_on(app, desk["tienen_coordinator"], herent, path)
    assert other.get(path, base_url=host_url(herent)).status_code == 403
    assert not _memberships("ouder@example.be")

    browser = _client_on(app, parent, herent, path)
    page = browser.get(path, base_url=host_url(herent))
    assert "Uitnodiging aanvaarden" in page.get_data(as_text=True)
    accepted = browser.post(path, data={"csrf_token": _csrf(page)}, base_url=host_url(herent))
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/opvang/"
    db.session.expire_all()
    user = db.session.get(User, parent.id)
    assert user.roles() == {"parent", "provider_staff"} and user.name == "An Ouder"
    assert [m.location_ids for m in _memberships("ouder@example.be")] == [[places["bos"]]]
    assert browser.get(f"/opvang/{places['bos']}/", base_url=host_url(herent)).status_code == 200


# --- change locations, revoke ------------------------------------------------------------------


@pytest.fixture
def member(desk, make_user):
    user = make_user("provider_staff", tenant=desk["herent"], locations=[desk["places"]["zon"]], name="Piet Staf")
    db.session.commit()
    return user, _memberships(user.email)[0].id


def test_change_locations_and_revoke(app, desk, member):
    herent, places = desk["herent"], desk["places"]
    user, membership_id = member
    staff = _client_on(app, user, herent, "/opvang/")
    assert staff.get(f"/opvang/{places['els']}/", base_url=host_url(herent)).status_code == 403
    boss = _client_on(app, desk["coordinator"], herent)
    edit = f"/beheer/medewerkers/{membership_id}"
    assert "Piet Staf" in boss.get(edit, base_url=host_url(herent)).get_data(as_text=True)

    empty = _post(boss, herent, edit, {})
    assert empty.status_code == 422 and "Kies minstens één locatie." in empty.get_data(as_text=True)
    assert db.session.get(Membership, membership_id).location_ids == [places["zon"]]

    changed = _post(boss, herent, edit, {"locations": [str(places["els"]), str(places["bos"])]})
    assert changed.status_code == 302
    db.session.expire_all()
    assert set(db.session.get(Membership, membership_id).location_ids) == {places["els"], places["bos"]}
    [audited] = _audit(herent, "staff.locations_change")
    assert audited.detail["before"] == [str(places["zon"])]
    assert staff.get(f"/opvang/{places['els']}/", base_url=host_url(herent)).status_code == 200
    assert staff.get(f"/opvang/{places['zon']}/", base_url=host_url(herent)).status_code == 403

    revoke = f"/beheer/medewerkers/{membership_id}/intrekken"
    question = boss.get(revoke, base_url=host_url(herent))
    assert question.status_code == 200 and "Ja, intrekken" in question.get_data(as_text=True)
    assert db.session.get(Membership, membership_id) is not None  # asking changes nothing
    gone = boss.post(revoke, data={"csrf_token": _csrf(question)}, base_url=host_url(herent))
    db.session.expire_all()
    assert gone.status_code == 302 and db.session.get(Membership, membership_id) is None
    assert _audit(herent, "staff.revoke")[0].subject == str(user.id)
    # The same session, the role gone: the provider's pages stop at once.
    assert staff.get(f"/opvang/{places['els']}/", base_url=host_url(herent)).status_code == 403
    assert staff.get("/opvang/", base_url=host_url(herent)).status_code == 403


def test_resend_replaces_the_link_and_cancel_kills_it(app, desk):
    herent = desk["herent"]
    boss = _client_on(app, desk["coordinator"], herent)
    _invite(boss, desk, "nieuw@example.be", [desk["places"]["zon"]])
    [invitation] = db.session.scalars(sa.select(invitations.StaffInvitation)).all()
    invitation_id = invitation.id
    listing = boss.get("/beheer/medewerkers", base_url=host_url(herent))
    token = _csrf(listing)
    assert boss.post(f"/beheer/medewerkers/uitnodigingen/{invitation_id}/opnieuw", data={"csrf_token": token},
                     base_url=host_url(herent)).status_code == 302
    first, second = _mails("nieuw@example.be")
    replaced = app.test_client().get(_link_path(first, herent), base_url=host_url(herent))
    assert replaced.status_code == 400 and "nieuwere uitnodiging" in replaced.get_data(as_text=True)
    assert app.test_client().get(_link_path(second, herent), base_url=host_url(herent)).status_code == 200

    assert boss.post(f"/beheer/medewerkers/uitnodigingen/{invitation_id}/annuleren", data={"csrf_token": token},
                     base_url=host_url(herent)).status_code == 302
    cancelled = app.test_client().get(_link_path(second, herent), base_url=host_url(herent))
    assert cancelled.status_code == 400 and "geannuleerd" in cancelled.get_data(as_text=True)
    assert "Opnieuw versturen" not in boss.get("/beheer/medewerkers", base_url=host_url(herent)).get_data(as_text=True)
    assert [a.subject for a in _audit(herent, "staff.invitation_resend") + _audit(herent, "staff.invitation_cancel")] \
        == [str(invitation_id)] * 2


def test_expired_forged_and_foreign_links_give_a_clear_page(app, desk):
    herent, tienen = desk["herent"], desk["tienen"]
    boss = _client_on(app, desk["coordinator"], herent)
    _invite(boss, desk, "laat@example.be", [desk["places"]["zon"]])
    [mail] = _mails("laat@example.be")
    path = _link_path(mail, herent)
    visitor = app.test_client()
    forged = visitor.get(path[:-3] + "abc", base_url=host_url(herent))
    assert forged.status_code == 400 and "ongeldig" in forged.get_data(as_text=True)
    # Herent's link opened on Tienen's host is not Tienen's invitation.
    assert visitor.get(path, base_url=host_url(tienen)).status_code == 400
    invitation = db.session.scalars(sa.select(invitations.StaffInvitation)).one()
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    expired = visitor.get(path, base_url=host_url(herent))
    assert expired.status_code == 400 and "verlopen" in expired.get_data(as_text=True)
    assert "uitnodiging verlopen" in boss.get("/beheer/medewerkers", base_url=host_url(herent)).get_data(as_text=True)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "message"), [
    ({"email": "geen-adres", "locations": "zon"}, "Dit is geen geldig e-mailadres"),
    ({"email": "", "locations": "zon"}, "Vul het e-mailadres in."),
    ({"email": "ok@example.be"}, "Kies minstens één locatie."),
    ({"email": "ok@example.be", "locations": ["zon", "tienen"]}, "Kies alleen locaties uit de lijst"),
    ({"email": "ok@example.be", "locations": "not-a-uuid"}, "Kies alleen locaties uit de lijst"),
])
def test_bad_invitations_say_why_and_write_nothing(app, desk, data, message):
    herent = desk["herent"]
    boss = _client_on(app, desk["coordinator"], herent)
    before = _counts(herent)
    locations = data.get("locations", [])
    locations = [locations] if isinstance(locations, str) else locations
    values = {**data, "language": "nl",
              "locations": [str(desk["places"].get(name, name)) for name in locations]}
    answer = _post(boss, herent, "/beheer/medewerkers/uitnodigen", values)
    assert answer.status_code == 422 and message in html.unescape(answer.get_data(as_text=True))
    assert _counts(herent) == before


def test_an_address_already_on_the_staff_is_refused(app, desk, member):
    boss = _client_on(app, desk["coordinator"], desk["herent"])
    before = _counts(desk["herent"])
    answer = _invite(boss, desk, member[0].email, [desk["places"]["bos"]])
    assert answer.status_code == 422 and "al medewerker" in answer.get_data(as_text=True)
    assert _counts(desk["herent"]) == before


# --- isolation ---------------------------------------------------------------------------------


def test_herent_cannot_touch_tienen_staff(app, desk, make_user):
    herent, tienen = desk["herent"], desk["tienen"]
    theirs = make_user("provider_staff", tenant=tienen, locations=[desk["places"]["tienen"]], email="t@example.be")
    db.session.commit()
    [their_membership] = _memberships(theirs.email)
    membership_id = their_membership.id
    them = _client_on(app, desk["tienen_coordinator"], tienen)
    _post(them, tienen, "/beheer/medewerkers/uitnodigen",
          {"email": "tnieuw@example.be", "language": "nl", "locations": [str(desk["places"]["tienen"])]})
    invitation_id = db.session.scalars(sa.select(invitations.StaffInvitation.id)).one()

    boss = _client_on(app, desk["coordinator"], herent)
    listed = boss.get("/beheer/medewerkers", base_url=host_url(herent)).get_data(as_text=True)
    assert "t@example.be" not in listed and "tnieuw@example.be" not in listed
    token = _csrf(boss.get("/beheer/medewerkers", base_url=host_url(herent)))
    for method, path in [("get", f"/beheer/medewerkers/{membership_id}"),
                         ("post", f"/beheer/medewerkers/{membership_id}"),
                         ("get", f"/beheer/medewerkers/{membership_id}/intrekken"),
                         ("post", f"/beheer/medewerkers/{membership_id}/intrekken"),
                         ("post", f"/beheer/medewerkers/uitnodigingen/{invitation_id}/opnieuw"),
                         ("post", f"/beheer/medewerkers/uitnodigingen/{invitation_id}/annuleren")]:
        answer = getattr(boss, method)(path, data={"csrf_token": token, "locations": [str(desk["places"]["zon"])]},
                                       base_url=host_url(herent))
        assert answer.status_code == 404, (method, path)
    before = _counts(herent)
    injected = _invite(boss, desk, "x@example.be", [desk["places"]["tienen"]])
    assert injected.status_code == 422 and _counts(herent) == before
    assert db.session.get(Membership, membership_id).location_ids == [desk["places"]["tienen"]]
    assert len(_mails("tnieuw@example.be")) == 1


def test_staff_pages_are_for_the_desk_only(app, desk, member):
    staff = _client_on(app, member[0], desk["herent"], "/opvang/")
    assert staff.get("/beheer/medewerkers", base_url=host_url(desk["herent"])).status_code == 403
    assert app.test_client().get("/beheer/medewerkers", base_url=host_url()).status_code == 404


# --- the region administrator's grant form -----------------------------------------------------


def test_admin_grants_provider_staff_with_the_same_picker(app, desk, make_user):
    herent, places = desk["herent"], desk["places"]
    admin = make_user("admin")
    person = make_user(email="kandidaat@example.be")
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    path = f"/beheer/regio/gebruikers/{person.id}"
    page = client.get(path, base_url=host_url())
    assert "Kinderdagverblijf De Zonnebloem" not in page.get_data(as_text=True)
    token = _csrf(page)
    shown = client.post(path, data={"csrf_token": token, "role": "provider_staff", "tenant": "herent",
                                    "show_locations": "1"}, base_url=host_url())
    body = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "Kinderdagverblijf De Zonnebloem" in body and "Kinderdagverblijf Tienen" not in body
    assert not _memberships(person.email)

    none = client.post(path, data={"csrf_token": token, "role": "provider_staff", "tenant": "herent"},
                       base_url=host_url())
    assert none.status_code == 422 and "Kies minstens één locatie." in none.get_data(as_text=True)
    foreign = client.post(path, data={"csrf_token": token, "role": "provider_staff", "tenant": "herent",
                                      "locations": [str(places["tienen"])]}, base_url=host_url())
    assert foreign.status_code == 422 and not _memberships(person.email)

    granted = client.post(path, data={"csrf_token": token, "role": "provider_staff", "tenant": "herent",
                                      "locations": [str(places["zon"]), str(places["bos"])]}, base_url=host_url())
    assert granted.status_code == 302
    [membership] = _memberships(person.email)
    assert membership.tenant_id == herent.id and set(membership.location_ids) == {places["zon"], places["bos"]}
    [audited] = _audit(herent, "membership.grant")
    assert audited.actor_id == admin.id and audited.detail["role"] == "provider_staff"

    # A coordinator needs no locations.
    assert client.post(path, data={"csrf_token": token, "role": "coordinator", "tenant": "herent"},
                       base_url=host_url()).status_code == 302


def test_the_invitation_table_matches_its_migration(app):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def only_invitations(obj, name, type_, reflected, compare_to):
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is not None and table.name == "staff_invitations"

    context = MigrationContext.configure(db.session.connection(), opts={
        "include_schemas": True, "include_object": only_invitations, "compare_type": True,
        "compare_server_default": False})
    assert compare_metadata(context, db.metadata) == []


def test_accept_url_survives_a_login_round_trip(app, desk, make_user):
    """The existing account's login link brings the person back to the invitation."""
    parent = make_user(email="rond@example.be")
    db.session.commit()
    boss = _client_on(app, desk["coordinator"], desk["herent"])
    _invite(boss, desk, "rond@example.be", [desk["places"]["zon"]])
    [mail] = _mails("rond@example.be")
    browser = app.test_client()
    body = browser.get(_link_path(mail, desk["herent"]), base_url=host_url(desk["herent"])).get_data(as_text=True)
    login_url = html.unescape(re.search(r'id="invitation-login" href="([^"]+)"', body).group(1))
    page = browser.get(urlsplit(login_url).path, query_string=urlsplit(login_url).query, base_url=host_url())
    answer = browser.post(urlsplit(login_url).path, query_string=urlsplit(login_url).query,
                          data={"csrf_token": _csrf(page), "email": parent.email, "password": PASSWORD},
                          base_url=host_url())
    assert answer.status_code == 302
    url, landed = follow_across_hosts(browser, urlsplit(host_url()).scheme + "://" + urlsplit(host_url()).netloc
                                      + answer.headers["Location"])
    assert url == mail.data["url"] and "Uitnodiging aanvaarden" in landed.get_data(as_text=True)
