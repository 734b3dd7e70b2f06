"""Scheduled notices (issue #13): the desk's daily digest of late answers, the start approaching
without an offer, the provider staff's weekly digest, and the opt-out on the account page.

Each digest is checked against a fixture whose members are written next to it: the right
counts, only the right locations (a staff member never reads another location's or
municipality's applications), one mail per person per day or week, nothing when empty, the
recipient's language, opt-outs respected; a malformed, unknown or archived municipality is a
skipped run with nothing done. Time is moved with ``CLOCK_NOW``."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from regional_loket import clock
from regional_loket.accounts import User, preferences
from regional_loket.care_requests import CareRequest
from regional_loket.coordinator.call_list import CallEntry, describe
from regional_loket.coordinator.jobs import desk_digest_now, start_approaching_now
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.families import Family, Guardian
from regional_loket.families import services as families
from regional_loket.jobs import runs
from regional_loket.notifications.models import Notification
from regional_loket.notifications.services import render
from regional_loket.provider.jobs import staff_digest_now
from regional_loket.tenancy import Postcode, tenant_scope
from regional_loket.tenancy.models import TenantStatus

from . import factories as f
from .conftest import PASSWORD, host_url, login, translated

LATER = f.add_months(f.START, 6)  # 9 months away: outside the 6-month window

HERENT_DESK = {"name": "Lokaal Loket Kinderopvang Herent", "phone": "+32 16 85 30 00",
               "email": "kinderopvang@herent.be", "address": "Wijgmaalsesteenweg 15, 3020 Herent",
               "hours": {"nl": "ma–vr 9–12 u", "fr": "lun–ven 9 h–12 h", "en": "Mon–Fri 9:00–12:00"}}


@pytest.fixture
def at(app):
    """Move the app's clock: ``at(moment)``; put back afterwards."""

    def move(moment):
        app.config["CLOCK_NOW"] = moment.isoformat()

    yield move
    app.config["CLOCK_NOW"] = None


@pytest.fixture
def region(app, make_tenant, make_location, make_user):
    """Herent and Tienen. Members of each digest are written next to what makes them."""
    now = utcnow()
    herent = make_tenant(name="Herent", desk=HERENT_DESK)
    tienen = make_tenant(name="Tienen")
    leuven = make_tenant(name="Leuven")  # nothing late, nothing new: no mail at all
    herent.postcodes.append(Postcode(code="3020", locality="Herent", lat=50.9085, lon=4.6715))
    tienen.postcodes.append(Postcode(code="3300", locality="Tienen", lat=50.8073, lon=4.9378))
    db.session.flush()
    free = {(f.START, "baby"): 2}
    fresh = now - timedelta(days=1)
    places = {
        "a": make_location(herent, "A Zonnebloem", free=free, free_places_updated_at=fresh),
        "b": make_location(herent, "B Klavertje", free=free, free_places_updated_at=fresh),
        # Free places 6 weeks old (Herent's stale rule: 4 weeks); no applications.
        "c": make_location(herent, "C Oud", free_places_updated_at=now - timedelta(weeks=6)),
        "d": make_location(herent, "D Rustig", free_places_updated_at=fresh),
        "t": make_location(tienen, "T Tuimelaar", postcode="3300", locality="Tienen", free=free,
                           free_places_updated_at=fresh),
        "l": make_location(leuven, "L Leuven", postcode="3000", locality="Leuven", free_places_updated_at=fresh),
    }

    def family(name, postcode, child, keys, *, days_ago=0, start=f.START, language="nl"):
        _, fam = f.make_family(db.session, name=name, postcode=postcode, language=language,
                               locality={"3020": "Herent", "3300": "Tienen"}[postcode])
        kid = f.make_child(db.session, fam, first_name=child)
        return f.make_request(db.session, fam, kid, locations=[places[k] for k in keys], start_date=start,
                              now=now - timedelta(days=days_ago))

    requests = {
        # Herent family (French); late at A (30 - 21 = 9 days) and at T; no offer: told the start nears.
        "anna": family("Anne Aerts", "3020", "Anna", ["a", "t"], days_ago=30, language="fr"),
        # Tienen family; late at A (40 - 21 = 19 days): Herent's digest counts it, Tienen's desk tells it.
        "cas": family("Chris Claes", "3300", "Cas", ["a"], days_ago=40),
        # Herent family; new at B 2 days ago, offered with a deadline in 2 days: expiring at B.
        "bram": family("Bert Bos", "3020", "Bram", ["b"], days_ago=2),
        # Herent family; new at A yesterday; no offer: told the start nears.
        "dora": family("Dora Dams", "3020", "Dora", ["a"], days_ago=1),
        # Herent family; starts in 9 months: not yet told.
        "emma": family("Els Eyck", "3020", "Emma", ["d"], days_ago=3, start=LATER),
    }
    f.make_offer(db.session, requests["bram"].choices[0], deadline=f.TODAY + timedelta(days=2))
    # D has Emma's application, new this week; E is the quiet one.
    places["e"] = make_location(herent, "E Stil", free_places_updated_at=fresh)
    people = {
        "desk_nl": make_user("coordinator", tenant=herent, name="Hilde", language="nl"),
        "desk_fr": make_user("coordinator", tenant=herent, name="Henri", language="fr"),
        "desk_off": make_user("coordinator", tenant=herent, name="Hugo"),
        "desk_unverified": make_user("coordinator", tenant=herent, verified=False),
        "desk_tienen": make_user("coordinator", tenant=tienen, name="Tine"),
        "desk_leuven": make_user("coordinator", tenant=leuven, name="Lea"),
        "staff_a": make_user("provider_staff", tenant=herent, locations=[places["a"].id], name="Anouk", language="en"),
        "staff_ab": make_user("provider_staff", tenant=herent, locations=[places["a"].id, places["b"].id], name="Ab"),
        "staff_b_off": make_user("provider_staff", tenant=herent, locations=[places["b"].id], name="Bo"),
        "staff_c": make_user("provider_staff", tenant=herent, locations=[places["c"].id], name="Cor"),
        "staff_e": make_user("provider_staff", tenant=herent, locations=[places["e"].id], name="Eef"),
        # A Tienen location's id in a Herent membership (a stale grant): not Herent's, never read.
        "staff_stray": make_user("provider_staff", tenant=herent, locations=[places["t"].id], name="Sam"),
        "staff_t": make_user("provider_staff", tenant=tienen, locations=[places["t"].id], name="Toon"),
    }
    preferences.set_wanted(people["desk_off"], {preferences.DESK_DIGEST: False})
    preferences.set_wanted(people["staff_b_off"], {preferences.STAFF_DIGEST: False})
    ids = {key: place.id for key, place in places.items()}  # read before the commit expires the rows
    db.session.commit()
    return {"herent": herent, "tienen": tienen, "leuven": leuven, "ids": ids, "requests": requests,
            "people": people, "now": now}


def _mails(template, *, user=None):
    query = sa.select(Notification).where(Notification.template == template).order_by(Notification.created_at)
    if user is not None:
        query = query.where(Notification.recipient_user_id == user.id)
    return list(db.session.scalars(query))


def _recipients(template):
    return sorted(n.recipient_user_id for n in _mails(template))


def _ids(region, *names):
    return sorted(region["people"][n].id for n in names)


def _entries(tenant):
    """The municipality's call list entries about a start approaching (the request's own
    "submitted" news of a family without e-mail is listed too; not this test's business)."""
    with tenant_scope(db.session, tenant):
        return list(db.session.scalars(sa.select(CallEntry).where(CallEntry.template == "start_approaching")
                                       .order_by(CallEntry.created_at)))


def _last_run(job):
    return runs.last_runs(db.session)[job]


# --- 1. the desk's daily digest of late answers ------------------------------------------------------


def test_the_desk_digest_counts_herents_late_answers_per_location_oldest_first(app, region, at):
    at(region["now"])
    assert desk_digest_now(app, region["herent"].slug) == {"mailed": 2}
    # Herent's two coordinators who want it and can be mailed; not the one who turned it off,
    # nor the unverified one, nor Tienen's.
    assert _recipients("desk_digest") == _ids(region, "desk_nl", "desk_fr")
    [mail] = _mails("desk_digest", user=region["people"]["desk_nl"])
    data, a = mail.data, region["ids"]["a"]
    assert data["total"] == 2 and mail.tenant_slug == region["herent"].slug
    assert [(loc["name"], loc["overdue"]) for loc in data["locations"]] == [("A Zonnebloem", 2)]
    assert [(row["location"], row["days"]) for row in data["oldest"]] == [("A Zonnebloem", 19), ("A Zonnebloem", 9)]
    herent_host = host_url(region["herent"]).split("//")[1]
    assert data["locations"][0]["url"].endswith(f"{herent_host}/opvang/{a}/")
    assert all(f"{herent_host}/opvang/{a}/aanvragen/" in row["url"] for row in data["oldest"])
    assert data["url"].endswith(f"{herent_host}/beheer/werklijsten/te-laat")
    subject, text, html = render(app, mail)
    assert subject == "2 aanvragen in Herent wachten te lang op een antwoord"
    assert "A Zonnebloem: 2 te laat" in text and "19 dagen te laat" in text and "9 dagen te laat" in text
    assert "Anna" not in text and "Cas" not in text and "Anna" not in html  # no child's name in a mail
    assert "T Tuimelaar" not in text  # Tienen's location is not Herent's business
    assert data["preferences_url"] in text
    # Henri reads French.
    [french] = _mails("desk_digest", user=region["people"]["desk_fr"])
    subject, text, _html = render(app, french)
    assert french.language == "fr" and "Herent" in subject and "Zonnebloem" in text
    assert translated(app, "fr", "Per locatie:") in text
    run = _last_run("desk-digest")
    assert (run.outcome, run.tenant_slug, run.counts) == ("ok", region["herent"].slug, {"mailed": 2})


def test_tienens_desk_digest_holds_only_tienens_late_application(app, region, at):
    at(region["now"])
    desk_digest_now(app, region["tienen"].slug)
    [mail] = _mails("desk_digest")
    assert mail.recipient_user_id == region["people"]["desk_tienen"].id
    assert [(loc["name"], loc["overdue"]) for loc in mail.data["locations"]] == [("T Tuimelaar", 1)]
    assert "Zonnebloem" not in str(mail.data)


def test_the_desk_digest_is_sent_once_a_day_and_not_when_nothing_is_late(app, region, at):
    at(region["now"])
    desk_digest_now(app, region["herent"].slug)
    assert desk_digest_now(app, region["herent"].slug) == {"mailed": 0}  # the same day: nothing more
    assert len(_mails("desk_digest")) == 2
    at(region["now"] + timedelta(days=1))
    assert desk_digest_now(app, region["herent"].slug) == {"mailed": 2}  # the next day: a new digest
    # Leuven has nothing late: no mail, the run says so.
    assert desk_digest_now(app, region["leuven"].slug) == {"mailed": 0}
    assert not _mails("desk_digest", user=region["people"]["desk_leuven"])
    # Twenty days earlier nothing of Herent was late yet (21 days to answer).
    db.session.execute(sa.delete(Notification))
    at(region["now"] - timedelta(days=20))
    assert desk_digest_now(app, region["herent"].slug) == {"mailed": 0} and not _mails("desk_digest")


# --- 2. the start approaching without an offer -------------------------------------------------------


def _phone_family(tenant, *, language="fr"):
    """A family Herent's desk filed without any e-mail address, living in Herent."""
    family = Family(language=language, desk_tenant_id=tenant.id, phone="+32 16 12 34 56",
                    guardians=[Guardian(name="Fatima El Amrani", email="")])
    db.session.add(family)
    db.session.flush()
    families.update_details(db.session, family, street="Kerkstraat", number="2", postcode="3020", locality="Herent",
                            phone="+32 16 12 34 56", needs_care_for_work=True, single_parent=False, low_income=False)
    return family


def test_families_near_their_start_without_an_offer_are_told_once_what_the_desk_can_do(app, region, at):
    phoned = _phone_family(region["herent"])
    kid = f.make_child(db.session, phoned, first_name="Yasmine")
    yasmine = f.make_request(db.session, phoned, kid, locations=[region["ids"]["b"]])
    db.session.commit()
    at(region["now"])
    # Anna's and Dora's families are mailed; Yasmine's (no address) goes on the call list. Not
    # Bram (offered), Emma (9 months away), Cas (lives in Tienen: Tienen's desk tells him).
    assert start_approaching_now(app, region["herent"].slug) == {"mailed": 2, "phoned": 1}
    mails = _mails("start_approaching")
    anna, dora = region["requests"]["anna"], region["requests"]["dora"]
    assert sorted(m.idempotency_key.rsplit(":", 1)[0] for m in mails) == sorted(
        [f"start-near:{anna.id}", f"start-near:{dora.id}"])
    [french] = [m for m in mails if m.data["child"] == "Anna"]
    assert french.language == "fr"  # the family's language
    subject, text, html = render(app, french)
    assert "Anna" in subject and "+32 16 85 30 00" in text and "kinderopvang@herent.be" in html
    assert "lun–ven 9 h–12 h" in text  # the desk's hours in French
    assert translated(app, "fr", "Neem contact op met het loket:") in text
    # The family without e-mail is on Herent's call list, said in its language; the mailed ones are not.
    [entry] = _entries(region["herent"])
    assert entry.family_id == phoned.id and entry.key == f"start-near:{yasmine.id}" and "url" not in entry.data
    assert "Yasmine" in describe(entry, "fr")
    assert _entries(region["tienen"]) == []
    assert {r.start_notice_at is not None for r in (anna, dora, yasmine)} == {True}
    assert region["requests"]["bram"].start_notice_at is None and region["requests"]["emma"].start_notice_at is None
    # Again the same day, the next week, or after the outbox was purged: nothing new.
    assert start_approaching_now(app, region["herent"].slug) == {"mailed": 0, "phoned": 0}
    db.session.execute(sa.delete(Notification))
    at(region["now"] + timedelta(days=7))
    assert start_approaching_now(app, region["herent"].slug) == {"mailed": 0, "phoned": 0}
    assert not _mails("start_approaching") and len(_entries(region["herent"])) == 1


def test_the_window_follows_the_municipalitys_setting(app, region, at):
    region["herent"].settings_data = {"call_months_before_start": 12}  # Emma's start is 9 months away
    db.session.commit()
    at(region["now"])
    assert start_approaching_now(app, region["herent"].slug) == {"mailed": 3, "phoned": 0}
    assert region["requests"]["emma"].start_notice_at is not None
    # Tienen's desk tells Cas's family, who lives there.
    assert start_approaching_now(app, region["tienen"].slug) == {"mailed": 1, "phoned": 0}
    [cas] = [m for m in _mails("start_approaching") if m.data["child"] == "Cas"]
    assert cas.data["desk"]["municipality"] == "Tienen"


# --- 3. the provider staff's weekly digest ---------------------------------------------------------


def _locations(mail):
    return {loc["name"]: (loc["new"], loc["overdue"], loc["expiring"], loc["stale"]) for loc in mail.data["locations"]}


def test_the_staff_digest_holds_only_each_persons_own_locations(app, region, at):
    at(region["now"])
    assert staff_digest_now(app, region["herent"].slug) == {"mailed": 3}
    # Not Bo (turned it off), not Eef (E had nothing this week), not Sam (no Herent location), not Toon (Tienen).
    assert _recipients("staff_digest") == _ids(region, "staff_a", "staff_ab", "staff_c")
    people = region["people"]
    [anouk] = _mails("staff_digest", user=people["staff_a"])
    # A: Dora's new application; Anna's and Cas's are late; no offer; free places fresh.
    assert _locations(anouk) == {"A Zonnebloem": (1, 2, 0, False)}
    [ab] = _mails("staff_digest", user=people["staff_ab"])
    # B: Bram's application is new and its offer ends in 2 days.
    assert _locations(ab) == {"A Zonnebloem": (1, 2, 0, False), "B Klavertje": (1, 0, 1, False)}
    [cor] = _mails("staff_digest", user=people["staff_c"])
    assert _locations(cor) == {"C Oud": (0, 0, 0, True)}
    # Anouk reads English; no child's name, nothing of B or Tienen.
    subject, text, html = render(app, anouk)
    assert anouk.language == "en" and "Herent" in subject
    assert translated(app, "en", "Weekoverzicht van uw opvanglocaties in %(municipality)s",
                      municipality="Herent") == subject
    assert "A Zonnebloem" in text and "Klavertje" not in text and "Tuimelaar" not in text
    assert "Dora" not in text and "Anna" not in html
    subject, text, _html = render(app, ab)
    assert "1 nieuwe aanvraag deze week" in text and "2 aanvragen wachten te lang op een eerste antwoord" in text
    assert "1 aanbod verloopt binnen 3 dagen" in text
    _s, text, _h = render(app, cor)
    assert "De vrije plaatsen werden sinds" in text and "/vrije-plaatsen" in text


def test_the_staff_digest_is_sent_once_a_week(app, region, at):
    at(region["now"])
    staff_digest_now(app, region["herent"].slug)
    assert staff_digest_now(app, region["herent"].slug) == {"mailed": 0}
    at(region["now"] + timedelta(days=7))  # the next ISO week: a new digest (Cor's place still stale)
    assert staff_digest_now(app, region["herent"].slug)["mailed"] >= 1
    weeks = {m.idempotency_key.split(":")[2] for m in _mails("staff_digest", user=region["people"]["staff_c"])}
    assert len(weeks) == 2


def test_tienens_staff_digest_is_tienens_only(app, region, at):
    at(region["now"])
    assert staff_digest_now(app, region["tienen"].slug) == {"mailed": 1}
    [toon] = _mails("staff_digest")
    assert toon.recipient_user_id == region["people"]["staff_t"].id
    assert _locations(toon) == {"T Tuimelaar": (0, 1, 0, False)}
    assert staff_digest_now(app, region["leuven"].slug) == {"mailed": 0}  # no staff, nothing


# --- 4. bad input: a skipped run, nothing done -----------------------------------------------------


@pytest.mark.parametrize("job, name", [(desk_digest_now, "desk-digest"), (start_approaching_now, "start-approaching"),
                                       (staff_digest_now, "staff-digest")])
@pytest.mark.parametrize("slug, reason", [("../herent", "bad-argument"), ("x" * 300, "bad-argument"),
                                          (None, "bad-argument"), (42, "bad-argument"),
                                          ("bestaat-niet", "missing")])
def test_a_malformed_or_unknown_municipality_is_a_skipped_run(app, at, job, name, slug, reason):
    at(utcnow())
    assert job(app, slug) == {}
    run = _last_run(name)
    assert run.outcome == "skipped" and run.error.startswith(reason)
    assert run.tenant_slug == (slug if reason == "missing" else None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_an_archived_municipality_is_skipped_with_nothing_done(app, region, at):
    herent = region["herent"]
    herent.status, herent.archived_at = TenantStatus.ARCHIVED, region["now"]
    db.session.commit()
    at(region["now"])
    mails = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))  # the requests' own
    for job, name in ((desk_digest_now, "desk-digest"), (start_approaching_now, "start-approaching"),
                      (staff_digest_now, "staff-digest")):
        assert job(app, herent.slug) == {}
        run = _last_run(name)
        assert (run.outcome, run.error, run.tenant_slug) == ("skipped", "archived", herent.slug)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == mails
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CareRequest)
                             .where(CareRequest.start_notice_at.is_not(None))) == 0


def test_a_failing_digest_leaves_nothing_half_done(app, region, at, monkeypatch):
    """A mail that cannot be written (a bug) fails the run: no mail and no request marked."""
    from regional_loket.care_requests import notices

    told = []

    def broken(session, family, template, key, **data):
        told.append(key)
        if len(told) == 2:
            raise RuntimeError("template broke")

    monkeypatch.setattr(notices, "tell_family", broken)
    at(region["now"])
    with pytest.raises(RuntimeError):
        start_approaching_now(app, region["herent"].slug)
    assert _last_run("start-approaching").outcome == "failed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CareRequest)
                             .where(CareRequest.start_notice_at.is_not(None))) == 0


# --- 5. the opt-out on the account page -----------------------------------------------------------


def test_a_coordinator_turns_the_daily_digest_off_and_on_on_the_account_page(app, client, region, at):
    desk = region["people"]["desk_nl"]
    login(client, desk)
    page = client.get("/account/e-mails", base_url=host_url())
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Dagelijks overzicht van aanvragen die te lang wachten" in body
    assert "Wekelijks overzicht" not in body  # not provider staff
    assert 'name="desk_digest"' in body and "checked" in body
    saved = client.post("/account/e-mails", data={}, base_url=host_url())  # the box unticked
    assert saved.status_code == 302
    db.session.refresh(desk)
    assert desk.mail_preferences == {"desk_digest": False} and not preferences.wants(desk, "desk_digest")
    at(region["now"])
    desk_digest_now(app, region["herent"].slug)
    assert _recipients("desk_digest") == _ids(region, "desk_fr")
    client.post("/account/e-mails", data={"desk_digest": "y"}, base_url=host_url())
    db.session.refresh(desk)
    assert desk.mail_preferences == {} and preferences.wants(desk, "desk_digest")


def test_the_account_page_speaks_the_readers_language_and_offers_only_their_mails(app, client, region, make_user):
    login(client, region["people"]["staff_a"])
    page = client.get("/account/e-mails", base_url=host_url(), headers={"Accept-Language": "en"})
    body = page.get_data(as_text=True)
    assert translated(app, "en", "Wekelijks overzicht van uw locaties") in body
    assert 'name="desk_digest"' not in body and 'name="staff_digest"' in body
    parent = make_user("parent")
    other = app.test_client()
    login(other, parent)
    page = other.get("/account/e-mails", base_url=host_url())
    assert page.status_code == 200 and "er is hier niets te kiezen" in page.get_data(as_text=True)
    assert other.post("/account/e-mails", data={"desk_digest": ""}, base_url=host_url()).status_code == 200
    db.session.refresh(parent)
    assert parent.mail_preferences == {}  # nothing to choose: nothing written
    assert app.test_client().get("/account/e-mails", base_url=host_url()).status_code == 302  # to the login


def test_the_preferences_form_needs_its_csrf_token(committed):
    from regional_loket.accounts import services as accounts

    app, _ = committed(0, WTF_CSRF_ENABLED=True)
    with app.app_context():
        user, _created = accounts.register(db.session, email=f"desk-{uuid.uuid4().hex[:8]}@example.be",
                                           password=PASSWORD, name="Desk", language="nl")
        user.verified_at = clock.now(app)
        db.session.commit()
        email = user.email
    client = app.test_client()

    def token(path):
        page = client.get(path, base_url=host_url()).get_data(as_text=True)
        return page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]

    try:
        client.post("/aanmelden", data={"email": email, "password": PASSWORD, "csrf_token": token("/aanmelden")},
                    base_url=host_url())
        assert client.post("/account/e-mails", data={}, base_url=host_url()).status_code == 400
        assert client.post("/account/e-mails", data={"csrf_token": token("/account/e-mails")},
                           base_url=host_url()).status_code == 200  # no digest for this account: nothing to save
    finally:  # committed: other tests count the region's users
        with app.app_context():
            db.session.execute(sa.delete(User).where(User.email == email))
            db.session.commit()


# --- 6. end to end: the scheduler's job, a worker, a real SMTP server ---------------------------------


def test_the_daily_digest_reaches_the_coordinator_through_the_queue_and_smtp(make_outbox_app, smtp_server):
    from regional_loket import jobs
    from regional_loket.coordinator.jobs import desk_digests_everywhere
    from regional_loket.tenancy import services as tenancy_services

    from .conftest import work_burst

    app = make_outbox_app(tenants=1)
    [slug] = app.extensions["test.tenant_slugs"]
    with app.app_context():
        tenant = tenancy_services.get_tenant(db.session, slug)
        place = f.make_location(db.session, tenant, "Zonnige Hoek")
        parent, family = f.make_family(db.session)
        child = f.make_child(db.session, family)
        f.make_request(db.session, family, child, locations=[place], now=utcnow() - timedelta(days=30))
        desk = f.make_user(db.session, "coordinator", tenant=tenant, name="Hilde", language="fr")
        db.session.commit()
        email, people, family_id = desk.email, [parent.id, desk.id], family.id
    try:
        for _ in range(2):  # the scheduler enqueues it twice the same day: one mail
            assert jobs.enqueue(app, desk_digests_everywhere)
            work_burst(app)
        [message] = smtp_server.to(email)
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert message["Content-Language"] == "fr" and "Zonnige Hoek" in message.get_body(("html",)).get_content()
        assert translated(app, "fr", "Per locatie:") in text and "/opvang/" in text
        with app.app_context():
            outcomes = [r.outcome for r in runs.list_runs(db.session, job="desk-digest", tenant_slug=slug)[0]]
            assert outcomes == ["ok", "ok"]
            fan_out = runs.list_runs(db.session, job="desk-digest-everywhere")[0][:2]
            assert [r.outcome for r in fan_out] == ["ok", "ok"] and all(r.counts["enqueued"] >= 1 for r in fan_out)
    finally:  # committed: other tests count the region's users (the tenant goes with the fixture)
        with app.app_context():
            db.session.rollback()
            db.session.execute(sa.delete(Family).where(Family.id == family_id))
            db.session.execute(sa.delete(User).where(User.id.in_(people)))
            db.session.commit()
