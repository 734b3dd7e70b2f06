"""Confirmations (issue #13): before a request's confirmation is due the family is reminded once
(mail with a one-click link, or the desk's call list); after the grace period an unanswered
request goes inactive and its applications are paused — out of the ranked lists, shown to staff
as paused, never deleted; confirming (the link, the family's page, the desk by phone) brings
them back at their original place. One rule for the due date: the desk's worklist and the job
agree. Every time is the test clock's (``CLOCK_NOW``)."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from regional_loket.accounts.models import UsedToken
from regional_loket.applications import Application, EventKind, ranking
from regional_loket.care_requests import CareRequest, RequestStatus, confirmations, queries
from regional_loket.care_requests import services as requests
from regional_loket.care_requests.jobs import run_confirmations
from regional_loket.coordinator.call_list import CallEntry
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.families import Family, Guardian
from regional_loket.families import privacy as family_privacy
from regional_loket.families import services as families
from regional_loket.jobs import runs
from regional_loket.notifications.models import Notification
from regional_loket.tenancy import Postcode, tenant_scope

from . import factories as f
from .conftest import hand_over, host_url, login, translated


@pytest.fixture
def region(app, make_tenant, make_location, make_user):
    """Herent (where the families live) and Tienen; Anna applied at both, Bo later at Herent's
    crèche only (the same list), so Anna is first there."""
    start = utcnow() - timedelta(days=1)
    herent, tienen = make_tenant("herent", name="Herent"), make_tenant("tienen", name="Tienen")
    herent.postcodes.append(Postcode(code="3020", locality="Herent", lat=50.9085, lon=4.6715))
    tienen.postcodes.append(Postcode(code="3300", locality="Tienen", lat=50.8073, lon=4.9378))
    db.session.flush()
    free = {(f.START, "baby"): 2}
    h1 = make_location(herent, "De Zonnebloem", free=free)
    t1 = make_location(tienen, "De Tuimelaar", free=free, postcode="3300", locality="Tienen")
    _, anna_family = f.make_family(db.session, name="Ann Aerts", email="ann@example.be")
    anna = f.make_request(db.session, anna_family, f.make_child(db.session, anna_family, first_name="Anna"),
                          locations=[h1, t1], now=start)
    _, bo_family = f.make_family(db.session, name="Bert Bos")
    bo = f.make_request(db.session, bo_family, f.make_child(db.session, bo_family, first_name="Bo"),
                        locations=[h1], now=start + timedelta(hours=1))
    staff = make_user("provider_staff", tenant=herent, locations=[h1.id])
    desks = {"herent": make_user("coordinator", tenant=herent), "tienen": make_user("coordinator", tenant=tienen)}
    db.session.flush()
    yield {"herent": herent, "tienen": tienen, "h1": h1, "t1": t1, "h1_id": h1.id, "anna": anna, "bo": bo, "start": start,
           "staff": staff, "desks": desks, "anna_family": anna_family}
    app.config["CLOCK_NOW"] = None


def _at(app, moment):
    app.config["CLOCK_NOW"] = moment.isoformat()
    return moment


def _due(request_id):
    return queries.timing(db.session, request_id).due_at


def _run(app):
    counts = run_confirmations(app)
    db.session.expire_all()
    return counts


def _mails(template):
    return list(db.session.scalars(sa.select(Notification).where(Notification.template == template)
                                   .order_by(Notification.created_at)))


def _ranked_names(region):
    with tenant_scope(db.session, region["herent"]):
        rows, _total = ranking.list_page(db.session, region["h1"], f.START, "baby", today=f.TODAY)
    return [row.application.snapshot["child"]["first_name"] for row in rows]


def _applications(care):
    return [requests.load_application(db.session, choice).application for choice in care.choices]


def _inactive(app, region):
    """Anna reminded, then past the grace period: inactive (Bo, 1 hour younger, too)."""
    due = _due(region["anna"].id)
    _at(app, due - timedelta(days=10))
    _run(app)
    _at(app, due + timedelta(days=31))
    _run(app)
    return due


# --- the rule --------------------------------------------------------------------------------


def test_the_worklist_and_the_job_agree_on_the_due_date(app, region):
    anna = region["anna"]
    due = _due(anna.id)
    # Herent's interval (3 months, the family lives in Herent) from the submission.
    assert due == db.session.scalar(sa.select(CareRequest.submitted_at).where(CareRequest.id == anna.id)) + (
        due - region["start"])
    assert due.date() in {(region["start"] + timedelta(days=d)).date() for d in range(89, 93)}
    listed = {}
    for moment in (due - timedelta(days=15), due - timedelta(days=13), due + timedelta(days=1)):
        statement = queries.confirmation_due(tenant_id=region["herent"].id, now=moment)
        listed[moment] = {row.id: row for row in db.session.execute(statement)}
    assert anna.id not in listed[due - timedelta(days=15)]
    assert listed[due - timedelta(days=13)][anna.id].due_at == due
    assert listed[due + timedelta(days=1)][anna.id].missed
    # The job reminds exactly when the worklist starts listing the request as due.
    assert anna.id not in confirmations.due_work(db.session, now=due - timedelta(days=15))
    assert anna.id in confirmations.due_work(db.session, now=due - timedelta(days=13))
    # Tienen's desk does not list Herent's family; a shorter interval of the home municipality counts.
    assert anna.id not in {r.id for r in db.session.execute(
        queries.confirmation_due(tenant_id=region["tienen"].id, now=due + timedelta(days=1)))}
    region["herent"].settings_data = {**region["herent"].settings_data, "confirm_interval_months": 1}
    db.session.flush()
    assert _due(anna.id) < due and _due(anna.id) == next(
        row.due_at for row in db.session.execute(queries.confirmation_due(tenant_id=region["herent"].id,
                                                                            now=due)) if row.id == anna.id)


def test_a_family_from_outside_the_region_is_timed_by_its_first_choice(app, region, make_location):
    _, family = f.make_family(db.session, name="Ubbo Utrecht", postcode="3500", locality="Hasselt")
    care = f.make_request(db.session, family, f.make_child(db.session, family, first_name="Uma"),
                          locations=[region["t1"], region["h1"]], now=region["start"])
    region["tienen"].settings_data = {**region["tienen"].settings_data, "confirm_interval_months": 2}
    db.session.flush()
    timing = queries.timing(db.session, care.id)
    assert timing.tenant_id == region["tienen"].id and timing.due_at < _due(region["anna"].id)
    rows = db.session.execute(queries.confirmation_due(tenant_id=region["tienen"].id,
                                                       now=timing.due_at + timedelta(days=1)))
    assert care.id in {row.id for row in rows}


# --- reminding -------------------------------------------------------------------------------


def test_the_reminder_is_sent_once_with_a_link_and_a_second_run_does_nothing(app, region):
    due = _due(region["anna"].id)
    _at(app, due - timedelta(days=20))
    assert _run(app) == {}
    assert _mails("confirmation_reminder") == []
    _at(app, due - timedelta(days=10))
    counts = _run(app)
    assert counts == {"reminded": 2}  # Anna's and Bo's families
    mails = [m for m in _mails("confirmation_reminder") if m.recipient_email == "ann@example.be"]
    assert len(mails) == 1
    assert mails[0].idempotency_key.startswith(f"confirm-reminder:{region['anna'].id}:{due.date().isoformat()}")
    assert "/aanvragen/bevestig/" in mails[0].data["url"] and mails[0].data["child"] == "Anna"
    reminded_at = db.session.get(CareRequest, region["anna"].id).reminded_at
    # Twice: nothing more; an hour later neither.
    assert _run(app) == {}
    _at(app, due - timedelta(days=9))
    assert _run(app) == {}
    assert len(_mails("confirmation_reminder")) == 2
    assert db.session.get(CareRequest, region["anna"].id).reminded_at == reminded_at
    run = runs.last_runs(db.session)["confirmations"]
    assert run.outcome == "ok" and run.tenant_slug is None


def test_the_reminder_mail_renders_in_the_familys_language(app, region):
    from regional_loket.notifications import services as outbox

    due = _due(region["anna"].id)
    _at(app, due - timedelta(days=10))
    _run(app)
    mail = next(m for m in _mails("confirmation_reminder") if m.recipient_email == "ann@example.be")
    mail.language = "fr"
    subject, text, body = outbox.render(app, mail)
    assert "Anna" in subject and mail.data["url"] in text and mail.data["url"] in body
    assert translated(app, "fr", "Bevestig uw aanvraag") in text


def test_a_family_without_email_goes_on_the_desks_call_list(app, region):
    family = Family(language="nl", desk_tenant_id=region["herent"].id, phone="+32 16 12 34 56",
                    guardians=[Guardian(name="Fatima El Amrani", email="")])
    db.session.add(family)
    db.session.flush()
    families.update_details(db.session, family, street="Kerkstraat", number="2", postcode="3020",
                            locality="Herent", phone=family.phone, needs_care_for_work=True, single_parent=False,
                            low_income=False)
    care = f.make_request(db.session, family, f.make_child(db.session, family, first_name="Yasmine"),
                          locations=[region["t1"]], now=region["start"])
    due = _due(care.id)
    _at(app, due - timedelta(days=10))
    counts = _run(app)
    assert counts == {"reminded": 2, "call-list": 1}
    with tenant_scope(db.session, region["herent"]):
        entries = list(db.session.scalars(sa.select(CallEntry).where(CallEntry.family_id == family.id)))
    entries = [e for e in entries if e.template == "confirmation_reminder"]
    assert len(entries) == 1
    assert "url" not in entries[0].data and entries[0].data["child"] == "Yasmine"  # no link on the phone
    # The desk reads it in the family's language, with the mail's words.
    from regional_loket.coordinator.call_list import describe

    said = describe(entries[0], "fr")
    assert "Yasmine" in said and said.startswith("Avez-vous toujours besoin")
    assert not [m for m in _mails("confirmation_reminder") if m.data.get("child") == "Yasmine"]
    assert _run(app) == {}  # listed once


# --- inactivity ------------------------------------------------------------------------------


def test_after_the_grace_period_the_request_goes_inactive_and_its_applications_pause(app, region):
    anna = region["anna"]
    assert _ranked_names(region) == ["Anna", "Bo"]
    due = _due(anna.id)
    _at(app, due - timedelta(days=10))
    _run(app)
    _at(app, due + timedelta(days=29))  # still within Herent's 30 days
    assert _run(app) == {}
    assert db.session.get(CareRequest, anna.id).status == RequestStatus.OPEN
    _at(app, due + timedelta(days=31))
    assert _run(app) == {"inactivated": 2}
    assert _run(app) == {}  # twice: nothing more
    care = db.session.get(CareRequest, anna.id)
    assert care.status == RequestStatus.INACTIVE and care.inactive_at is not None
    for application in _applications(care):
        assert application.paused_at is not None and application.status == "submitted"  # not deleted
        assert [e.kind for e in application.events][-1] == EventKind.PAUSED
    assert _ranked_names(region) == []
    # Told how to come back, once.
    told = [m for m in _mails("request_inactive") if m.recipient_email == "ann@example.be"]
    assert len(told) == 1 and "/aanvragen/bevestig/" in told[0].data["url"]
    # The audit log saw it (lifecycle events).
    from regional_loket.tenancy import AuditEntry
    with tenant_scope(db.session, region["herent"]):
        assert "application.paused" in set(db.session.scalars(sa.select(AuditEntry.action)))


def test_no_inactivity_without_a_reminder_first(app, region):
    """The job was down (or the desk shortened the interval): the family still gets the whole
    grace period after its reminder."""
    due = _due(region["anna"].id)
    late = _at(app, due + timedelta(days=40))
    assert _run(app) == {"reminded": 2}
    assert db.session.get(CareRequest, region["anna"].id).status == RequestStatus.OPEN
    _at(app, late + timedelta(days=29))
    assert _run(app) == {}
    _at(app, late + timedelta(days=31))
    assert _run(app) == {"inactivated": 2}


def test_staff_see_paused_applications_apart_and_cannot_offer_them(app, region):
    _inactive(app, region)
    client = app.test_client()
    login(client, region["staff"])
    hand_over(client, region["herent"], "/opvang/")
    base = host_url(region["herent"])
    inbox = html.unescape(client.get(f"/opvang/{region['h1_id']}/", base_url=base).get_data(as_text=True))
    assert "Gepauzeerd (2)" in inbox and "Anna" in inbox and "Er wacht niemand op een plaats." in inbox
    application = _applications(db.session.get(CareRequest, region["anna"].id))[0]
    page = client.get(f"/opvang/{region['h1_id']}/aanvragen/{application.id}", base_url=base)
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and "gepauzeerd" in text and 'value="offer"' not in text
    home = html.unescape(client.get("/opvang/", base_url=base).get_data(as_text=True))
    assert re.search(r"De Zonnebloem.*?numeric-data\">0<.*?numeric-data\">0<.*?numeric-data\">2<", home, re.S)
    # An offer posted anyway is refused, nothing changed.
    answer = client.post(f"/opvang/{region['h1_id']}/aanvragen/{application.id}", base_url=base,
                         data={"action": "offer", "version": application.version, "month": f.START.strftime("%Y-%m"),
                               "deadline": (f.TODAY + timedelta(days=7)).isoformat()})
    assert answer.status_code == 422
    db.session.expire_all()
    assert requests.load_application(db.session, region["anna"].choices[0]).application.status == "submitted"


# --- coming back -----------------------------------------------------------------------------


def _link(template="request_inactive"):
    mail = next(m for m in _mails(template) if m.recipient_email == "ann@example.be")
    parts = urlsplit(mail.data["url"])
    return parts.path, f"{parts.scheme}://{parts.netloc}"


def _confirm_tokens_used() -> int:
    """This test's confirm links used (other tests' committed tokens of other purposes may sit in
    the same database)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(UsedToken).where(UsedToken.purpose == "confirm"))


def test_the_link_shows_a_button_and_only_the_button_confirms_back_at_the_original_place(app, region):
    _inactive(app, region)
    path, base = _link()
    client = app.test_client()
    # Opening it (a mail scanner's prefetch) changes nothing.
    for _ in range(2):
        page = client.get(path, base_url=base)
        assert page.status_code == 200 and "Ja, ik heb nog altijd opvang nodig" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CareRequest, region["anna"].id).status == RequestStatus.INACTIVE
    assert _confirm_tokens_used() == 0
    # Bo confirms on the family's page first (submitted an hour later).
    bo_care = db.session.get(CareRequest, region["bo"].id)
    requests.confirm(db.session, bo_care, actor_id=None, now=utcnow())
    db.session.flush()
    assert _ranked_names(region) == ["Bo"]
    done = client.post(path, base_url=base)
    assert done.status_code == 200 and "Bedankt" in done.get_data(as_text=True)
    db.session.expire_all()
    care = db.session.get(CareRequest, region["anna"].id)
    assert care.status == RequestStatus.OPEN and care.inactive_at is None
    assert all(a.paused_at is None and a.events[-1].kind == EventKind.RESUMED for a in _applications(care))
    assert _ranked_names(region) == ["Anna", "Bo"]  # back before the later submission
    # Used: said clearly, in French too, and nothing changes.
    again = client.post(path, base_url=base)
    assert again.status_code == 410
    assert "Deze link werd al gebruikt" in html.unescape(again.get_data(as_text=True))
    french = client.get(path + "?lang=fr", base_url=base)
    assert translated(app, "fr", str(confirmations.LINK_PROBLEMS["used"]._args[0])) in html.unescape(
        french.get_data(as_text=True))


def test_an_old_link_a_forged_one_and_another_accounts_are_refused_changing_nothing(app, region, make_user):
    due = _due(region["anna"].id)
    moment = _at(app, due - timedelta(days=10))
    _run(app)
    path, base = _link("confirmation_reminder")
    client = app.test_client()
    # Another account signed in: not its family's link.
    login(client, make_user("parent"))
    page = client.post(path, base_url=base)
    assert page.status_code == 409 and "ander gezin" in html.unescape(page.get_data(as_text=True))
    client = app.test_client()
    # Forged.
    assert client.post(path[:-3] + "xyz", base_url=base).status_code == 400
    # Confirmed meanwhile on the family's page: the reminder's link is for a period that is over.
    care = db.session.get(CareRequest, region["anna"].id)
    requests.confirm(db.session, care, actor_id=None, now=moment)
    db.session.flush()
    confirmed_at = care.confirmed_at
    page = client.post(path, base_url=base)
    assert page.status_code == 409 and "intussen al bevestigd" in html.unescape(page.get_data(as_text=True))
    # Too old (the region's clock).
    _at(app, moment + confirmations.LINK_VALID + timedelta(days=1))
    page = client.get(path, base_url=base)
    assert page.status_code == 410 and "verlopen" in html.unescape(page.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(CareRequest, region["anna"].id).confirmed_at == confirmed_at
    assert _confirm_tokens_used() == 0


def test_the_family_confirms_on_its_own_page(app, region):
    _inactive(app, region)
    user = db.session.scalar(sa.select(Guardian.user_id).where(Guardian.family_id == region["anna_family"].id))
    client = app.test_client()
    login(client, db.session.get(type(region["staff"]), user))
    page = client.get(f"/aanvragen/{region['anna'].id}", base_url=host_url())
    assert "Deze aanvraag is inactief" in html.unescape(page.get_data(as_text=True))
    assert client.post(f"/aanvragen/{region['anna'].id}/bevestigen", base_url=host_url()).status_code == 302
    db.session.expire_all()
    assert db.session.get(CareRequest, region["anna"].id).status == RequestStatus.OPEN
    assert _ranked_names(region)[0] == "Anna"


def test_the_desk_confirms_by_phone_and_a_desk_without_business_cannot(app, region, make_tenant, make_user):
    _inactive(app, region)
    anna, family = region["anna"], region["anna_family"]
    url = f"/beheer/gezinnen/{family.id}/aanvragen/{anna.id}/bevestigen"
    data = {"method": "phone", "consent": "y"}
    leuven = make_tenant("leuven", name="Leuven")
    stranger = app.test_client()
    login(stranger, make_user("coordinator", tenant=leuven))
    hand_over(stranger, leuven, "/beheer/")
    # Leuven's desk: no application of this family at its locations, not its desk → 404.
    assert stranger.post(url, data=data, base_url=host_url(leuven)).status_code == 404
    # On Herent's host it has no session (sessions are per host): sent to log in, nothing done.
    answer = stranger.post(url, data=data, base_url=host_url(region["herent"]))
    assert answer.status_code == 302 and "/aanmelden" in answer.headers["Location"]
    db.session.expire_all()
    assert db.session.get(CareRequest, anna.id).status == RequestStatus.INACTIVE
    desk = app.test_client()
    login(desk, region["desks"]["herent"])
    hand_over(desk, region["herent"], "/beheer/")
    # Without the family's consent: refused, nothing changed.
    assert desk.post(url, data={"method": "phone"}, base_url=host_url(region["herent"])).status_code == 422
    db.session.expire_all()
    assert db.session.get(CareRequest, anna.id).status == RequestStatus.INACTIVE
    assert desk.post(url, data=data, base_url=host_url(region["herent"])).status_code == 302
    db.session.expire_all()
    care = db.session.get(CareRequest, anna.id)
    assert care.status == RequestStatus.OPEN
    assert _applications(care)[0].events[-1].actor_role == "desk"
    from regional_loket.tenancy import AuditEntry
    with tenant_scope(db.session, region["herent"]):
        assert "desk.confirm" in set(db.session.scalars(sa.select(AuditEntry.action)))


def test_another_municipalitys_staff_see_nothing_paused(app, region, make_user):
    _inactive(app, region)
    client = app.test_client()
    login(client, make_user("provider_staff", tenant=region["tienen"], locations=[]))
    hand_over(client, region["tienen"], "/opvang/")
    # Herent's location is not in Tienen's schema: 404 (or 403 for a location not theirs).
    answer = client.get(f"/opvang/{region['h1_id']}/", base_url=host_url(region["tienen"]))
    assert answer.status_code in (403, 404) and "Anna" not in answer.get_data(as_text=True)


# --- between the scan and the act --------------------------------------------------------------


def test_a_request_erased_or_confirmed_meanwhile_ends_cleanly(app, region):
    due = _due(region["anna"].id)
    moment = _at(app, due - timedelta(days=10))
    secret = ["test-secret-key"]
    assert confirmations.step(db.session, region["anna"].id, secret=secret, now=moment) == "reminded"
    assert confirmations.step(db.session, region["anna"].id, secret=secret, now=moment) == "nothing"
    care = db.session.get(CareRequest, region["bo"].id)
    requests.confirm(db.session, care, actor_id=None, now=moment)  # confirmed between scan and run
    assert confirmations.step(db.session, care.id, secret=secret, now=moment) == "nothing"
    late = due + timedelta(days=40)
    assert confirmations.inactivate(db.session, care.id, secret=secret, now=late) == "nothing"
    family = db.session.get(Family, region["anna_family"].id)
    family_privacy.erase(db.session, family, actor_id=None, now=moment)
    db.session.flush()
    assert confirmations.step(db.session, region["anna"].id, secret=secret, now=late) == "gone"
    with tenant_scope(db.session, region["herent"]):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
            Application.paused_at.is_not(None))) == 0


def test_paused_applications_are_neither_open_nor_overdue_for_the_provider(app, region):
    from regional_loket.applications import queries as application_queries
    from regional_loket.jobs import periodic_job_ids

    assert "periodic-confirmations" in periodic_job_ids(app)
    due = _inactive(app, region)
    now = due + timedelta(days=31)  # both applications wait far beyond Herent's 21 days
    with tenant_scope(db.session, region["herent"]):
        assert application_queries.open_counts(db.session).get(region["h1_id"], 0) == 0
        assert application_queries.open_counts(db.session, include_paused=True)[region["h1_id"]] == 2
        assert application_queries.paused_counts(db.session)[region["h1_id"]] == 2
        assert application_queries.overdue_counts(db.session, now=now, response_days=21) == {}
        assert application_queries.waiting_groups(db.session, region["h1"]) == []
    requests.confirm(db.session, db.session.get(CareRequest, region["anna"].id), actor_id=None, now=now)
    db.session.flush()
    with tenant_scope(db.session, region["herent"]):
        assert application_queries.overdue_counts(db.session, now=now, response_days=21) == {region["h1_id"]: 1}
        assert application_queries.paused_counts(db.session)[region["h1_id"]] == 1


def test_the_reminder_arrives_by_smtp_and_its_link_confirms_once(make_outbox_app, smtp_server):
    """The whole way, committed: the job writes the reminder, the worker mails it through a real
    SMTP server in the family's language, and the link in it confirms once."""
    from regional_loket.accounts.models import User
    from regional_loket.tenancy.services import get_tenant

    from .conftest import work_burst

    app = make_outbox_app(tenants=1)
    email = f"confirm-{f._unique()}@example.be"
    with app.app_context():
        tenant = get_tenant(db.session, app.extensions["test.tenant_slugs"][0])
        place = f.make_location(db.session, tenant, "Het Nest", free={(f.START, "baby"): 1})
        user, family = f.make_family(db.session, email=email, language="fr")
        care = f.make_request(db.session, family, f.make_child(db.session, family, first_name="Noor"),
                              locations=[place], now=utcnow() - timedelta(days=85))
        db.session.commit()
        ids = {"care": care.id, "family": family.id, "user": user.id}
    try:
        app.config["CLOCK_NOW"] = utcnow().isoformat()  # due in about five days
        assert run_confirmations(app) == {"reminded": 1}
        work_burst(app)
        mails = smtp_server.wait_for(2)  # the submission's mail, then the reminder
        with app.app_context(), force_locale("fr"):
            subject = gettext("Heeft u nog opvang nodig voor %(child)s? Bevestig uw aanvraag", child="Noor")
        [mail] = [m for m in mails if m["Subject"] == subject]
        assert mail["To"] == email
        text = mail.get_body(preferencelist=("plain",)).get_content()
        path = urlsplit(re.search(r"http://\S+/aanvragen/bevestig/\S+", text).group(0)).path
        client = app.test_client()
        assert client.get(path, base_url=host_url()).status_code == 200
        assert client.post(path, base_url=host_url()).status_code == 200
        assert client.post(path, base_url=host_url()).status_code == 410
        assert run_confirmations(app) == {}
        with app.app_context():
            confirmed = db.session.get(CareRequest, ids["care"])
            assert confirmed.status == RequestStatus.OPEN and confirmed.confirmed_at > utcnow() - timedelta(hours=1)
    finally:
        app.config["CLOCK_NOW"] = None
        with app.app_context():
            db.session.rollback()
            db.session.execute(sa.delete(CareRequest).where(CareRequest.id == ids["care"]))
            db.session.delete(db.session.get(Family, ids["family"]))
            db.session.execute(sa.delete(User).where(User.id == ids["user"]))
            db.session.commit()
