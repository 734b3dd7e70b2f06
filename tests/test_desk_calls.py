"""The desk's call list and acting for a family by phone (issue #12, items 3 and 4): news for a
family without e-mail goes on the call list of the desk that filed it instead of the outbox;
the desk marks it as called with a note, and afterwards accepts, declines, withdraws or
changes the plan for the family — each act in the history with the desk as actor and the
family's consent. Another municipality's coordinator sees none of it (404)."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
import sqlalchemy as sa
from babel.dates import format_date as babel_date
from openpyxl import load_workbook

from regional_loket import clock
from regional_loket.applications import ActorRole, Application, EventKind, Status, StatusNote
from regional_loket.care_requests import services as requests
from regional_loket.coordinator.call_list import CallEntry, describe, record_news
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.families import Family, Guardian
from regional_loket.families import services as families
from regional_loket.notifications.models import Notification
from regional_loket.tenancy import AuditEntry, tenant_scope

from . import factories as f
from .conftest import hand_over, host_url, login


@pytest.fixture
def desk(make_tenant, make_location, make_user):
    herent, tienen = make_tenant("herent", name="Herent"), make_tenant("tienen", name="Tienen")
    free = {(f.START, "baby"): 2}
    return {
        "herent": herent, "tienen": tienen,
        "a": make_location(herent, "De Zonnebloem", free=free),
        "b": make_location(herent, "Het Klavertje", free=free),
        "t": make_location(tienen, "De Tuimelaar", free=free, postcode="3300", locality="Tienen"),
        "herent_desk": make_user("coordinator", tenant=herent, name="Loket Herent"),
        "tienen_desk": make_user("coordinator", tenant=tienen, name="Loket Tienen"),
    }


def _phone_family(tenant, *, language="fr", phone="+32 16 12 34 56") -> Family:
    """A family the desk of ``tenant`` filed without any e-mail address (as the assisted intake
    does): one guardian with a name only, a phone number and an address."""
    family = Family(language=language, desk_tenant_id=tenant.id, phone=phone,
                    guardians=[Guardian(name="Fatima El Amrani", email="")])
    db.session.add(family)
    db.session.flush()
    families.update_details(db.session, family, street="Kerkstraat", number="2", postcode="3020", locality="Herent",
                            phone=phone, needs_care_for_work=True, single_parent=False, low_income=False)
    return family


def _filed_request(family, locations, *, by):
    """A request the desk files for the family (actor: the desk), submitted."""
    child = f.make_child(db.session, family, first_name="Yasmine", last_name="El Amrani")
    care = requests.draft(db.session, family, child, actor_id=by.id)
    requests.set_plan(care, child, start_date=f.START, flexibility_weeks=0, care_plan=dict(f.PLAN),
                      keep_higher_choices=False, today=f.TODAY)
    for location in locations:
        requests.add_choice(db.session, care, child, location.id)
    requests.submit(db.session, care, family, child, actor_id=by.id, actor_role=ActorRole.DESK, now=utcnow(),
                    today=f.TODAY)
    db.session.flush()
    return care


def _entries(tenant):
    with tenant_scope(db.session, tenant):
        return list(db.session.scalars(sa.select(CallEntry).order_by(CallEntry.created_at)))


def _desk_client(app, user, tenant):
    client = app.test_client()
    login(client, user)
    hand_over(client, tenant, "/beheer/")
    return client


# --- filling the list ------------------------------------------------------------------------------


def test_an_offer_to_a_family_without_email_goes_on_the_desks_call_list(app, desk):
    family = _phone_family(desk["herent"])
    care = _filed_request(family, [desk["a"]], by=desk["herent_desk"])
    assert _entries(desk["herent"]) == []  # the desk filed it itself: nothing to phone about
    f.make_offer(db.session, care.choices[0])
    [entry] = _entries(desk["herent"])
    assert entry.family_id == family.id and entry.template == "application_update" and entry.called_at is None
    assert entry.data["news"] == "offer" and "url" not in entry.data
    # Said in the family's language (French), with the mail's own words.
    text = describe(entry, "fr")
    assert "De Zonnebloem" in text and "Yasmine" in text and "Er is nieuws" not in text
    assert "Er is nieuws over de aanvraag voor Yasmine bij De Zonnebloem" in describe(entry, "nl")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0  # no mail at all


def test_a_family_with_email_is_mailed_and_not_put_on_the_call_list(app, desk):
    _, family = f.make_family(db.session, email="ouder@example.be")
    child = f.make_child(db.session, family)
    care = f.make_request(db.session, family, child, locations=[desk["a"]])
    f.make_offer(db.session, care.choices[0])
    assert _entries(desk["herent"]) == [] and _entries(desk["tienen"]) == []
    assert db.session.scalars(sa.select(Notification.recipient_email).where(
        Notification.template == "application_update")).all() == ["ouder@example.be"]


def test_the_news_goes_to_the_desk_that_filed_the_family_not_the_location_s_municipality(app, desk):
    family = _phone_family(desk["tienen"], language="nl")
    care = _filed_request(family, [desk["a"]], by=desk["tienen_desk"])  # a choice in Herent
    f.make_offer(db.session, care.choices[0])
    assert _entries(desk["herent"]) == [] and len(_entries(desk["tienen"])) == 1


def test_the_same_news_is_listed_once(app, desk):
    family = _phone_family(desk["herent"])
    for _ in range(2):
        record_news(db.session, family, template="offer_accepted", key="accepted:x", data={"withdrawn": 1},
                    tenant=None, actor_role=ActorRole.PROVIDER)
    assert len(_entries(desk["herent"])) == 1


# --- the worklist -----------------------------------------------------------------------------------


def test_mark_as_called_with_a_note_is_audited(app, desk):
    family = _phone_family(desk["herent"])
    care = _filed_request(family, [desk["a"]], by=desk["herent_desk"])
    f.make_offer(db.session, care.choices[0])
    [entry] = _entries(desk["herent"])
    entry_id = entry.id
    client = _desk_client(app, desk["herent_desk"], desk["herent"])
    home = client.get("/beheer/", base_url=host_url(desk["herent"])).get_data(as_text=True)
    assert "1 bericht te bellen" in home and "/beheer/te-bellen" in home
    page = client.get("/beheer/te-bellen", base_url=host_url(desk["herent"]))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "+32 16 12 34 56" in html and "Fatima El Amrani" in html
    assert 'lang="fr"' in html and f"/beheer/gezinnen/{family.id}/" in html

    too_long = client.post(f"/beheer/te-bellen/{entry_id}/gebeld", data={"note": "x" * 501},
                           base_url=host_url(desk["herent"]))
    assert too_long.status_code == 422 and "Hoogstens 500 tekens." in too_long.get_data(as_text=True)
    db.session.expire_all()
    assert _entries(desk["herent"])[0].called_at is None

    done = client.post(f"/beheer/te-bellen/{entry_id}/gebeld", data={"note": "Mama belt de crèche zelf."},
                       base_url=host_url(desk["herent"]))
    assert done.status_code == 302
    db.session.expire_all()
    [entry] = _entries(desk["herent"])
    assert entry.called_at is not None and entry.called_by == desk["herent_desk"].id
    assert entry.note == "Mama belt de crèche zelf."
    with tenant_scope(db.session, desk["herent"]):
        audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "call_list.called")).one()
        assert audit.actor_id == desk["herent_desk"].id and audit.subject == f"family:{family.id}"
    again = client.post(f"/beheer/te-bellen/{entry_id}/gebeld", data={}, base_url=host_url(desk["herent"]))
    assert again.status_code == 422  # already called: said, nothing changed
    assert "Niemand te bellen." in client.get("/beheer/te-bellen", base_url=host_url(desk["herent"])).get_data(
        as_text=True)


def test_the_worklist_is_paged_filtered_and_exported(app, desk):
    family = _phone_family(desk["herent"])
    for number in range(27):
        record_news(db.session, family, template="offer_accepted", key=f"accepted:{number}",
                    data={"withdrawn": number}, tenant=None, actor_role=ActorRole.SYSTEM)
    first = _entries(desk["herent"])[0]
    with tenant_scope(db.session, desk["herent"]):
        first.called_at, first.note = utcnow(), "=HYPERLINK(\"http://evil\")"
    client = _desk_client(app, desk["herent_desk"], desk["herent"])
    base = host_url(desk["herent"])
    one = client.get("/beheer/te-bellen", base_url=base).get_data(as_text=True)
    assert one.count('action="/beheer/te-bellen/') == 25 and "Pagina 1 van 2" in one and "26 berichten" in one
    assert 'href="/beheer/te-bellen?status=open&amp;page=2"' in one
    two = client.get("/beheer/te-bellen?status=open&page=2", base_url=base).get_data(as_text=True)
    assert two.count('action="/beheer/te-bellen/') == 1 and "Pagina 2 van 2" in two
    called = client.get("/beheer/te-bellen?status=called", base_url=base).get_data(as_text=True)
    assert "1 bericht" in called and 'action="/beheer/te-bellen/' not in called
    assert "27 berichten" in client.get("/beheer/te-bellen?status=all", base_url=base).get_data(as_text=True)
    assert "26 berichten" in client.get("/beheer/te-bellen?status=nonsense&page=%D9%A3",
                                        base_url=base).get_data(as_text=True)

    xlsx = client.get("/beheer/te-bellen/export.xlsx?status=all", base_url=base)
    assert xlsx.status_code == 200 and xlsx.headers["Cache-Control"] == "no-store"
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Aangemaakt", "Gezin", "Telefoon") and len(rows) == 28
    assert {row[2] for row in rows[1:]} == {"+32 16 12 34 56"}
    exported = client.get("/beheer/te-bellen/export.csv?status=called", base_url=base)
    lines = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert len(lines) == 2 and lines[1][6].startswith("'=")  # a formula-like note stays text


# --- acting for the family --------------------------------------------------------------------------


def test_the_desk_accepts_by_phone_and_the_other_choices_are_withdrawn_as_for_the_family(app, desk):
    family = _phone_family(desk["herent"])
    care = _filed_request(family, [desk["a"], desk["b"]], by=desk["herent_desk"])
    f.make_offer(db.session, care.choices[0])
    chosen, other = care.choices[0], care.choices[1]
    chosen_app, other_app, family_id = chosen.application_id, other.application_id, family.id
    client = _desk_client(app, desk["herent_desk"], desk["herent"])
    base = host_url(desk["herent"])
    page = client.get(f"/beheer/gezinnen/{family_id}/", base_url=base).get_data(as_text=True)
    assert "Plaats aanvaarden voor het gezin" in page and "De Zonnebloem" in page and "Het Klavertje" in page

    refused = client.post(f"/beheer/gezinnen/{family_id}/keuzes/{chosen.id}/aanvaarden", data={"method": "phone"},
                          base_url=base)
    assert refused.status_code == 422
    assert "Zonder toestemming van het gezin kunt u niet verder." in refused.get_data(as_text=True)
    db.session.expire_all()
    with tenant_scope(db.session, desk["herent"]):
        assert db.session.get(Application, chosen_app).status == Status.OFFERED

    done = client.post(f"/beheer/gezinnen/{family_id}/keuzes/{chosen.id}/aanvaarden",
                       data={"method": "phone", "consent": "y"}, base_url=base)
    assert done.status_code == 302
    db.session.expire_all()
    with tenant_scope(db.session, desk["herent"]):
        accepted = db.session.get(Application, chosen_app)
        withdrawn = db.session.get(Application, other_app)
        assert accepted.status == Status.ACCEPTED and withdrawn.status == Status.WITHDRAWN
        event = accepted.events[-1]
        assert event.actor_role == ActorRole.DESK and event.actor_id == desk["herent_desk"].id
        # The consent note, with the date as the family (French) writes it: the region's day
        # (from 23:00 UTC on, Brussels is a day ahead of f.TODAY).
        assert babel_date(clock.today(app), locale="fr") in event.text
        system = withdrawn.events[-1]
        assert system.actor_role == ActorRole.SYSTEM and system.text == StatusNote.ACCEPTED_ELSEWHERE
        assert db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.action.like("desk.%"))).all() == ["desk.accept"]
    # The desk's own act is not put on its call list; the offer before it was.
    assert [e.data.get("news") for e in _entries(desk["herent"])] == ["offer"]
    history = client.get(f"/beheer/gezinnen/{family_id}/", base_url=base).get_data(as_text=True)
    assert "het loket" in history


def test_the_desk_declines_withdraws_and_changes_the_plan_for_the_family(app, desk):
    family = _phone_family(desk["herent"])
    care = _filed_request(family, [desk["a"], desk["b"]], by=desk["herent_desk"])
    f.make_offer(db.session, care.choices[0])
    first, second, family_id, care_id = care.choices[0], care.choices[1], family.id, care.id
    first_app, second_app = first.application_id, second.application_id
    client = _desk_client(app, desk["herent_desk"], desk["herent"])
    base = host_url(desk["herent"])
    consent = {"method": "in_person", "consent": "y"}
    assert client.post(f"/beheer/gezinnen/{family_id}/keuzes/{first.id}/weigeren", data=consent,
                       base_url=base).status_code == 302
    later = f.add_months(f.START, 1)
    form = {"start_date": later.isoformat(), "day_1": "full", "day_2": "full", "day_3": "none", "day_4": "none",
            "day_5": "half"}
    assert client.get(f"/beheer/gezinnen/{family_id}/aanvragen/{care_id}/wijzigen", base_url=base).status_code == 200
    missing = client.post(f"/beheer/gezinnen/{family_id}/aanvragen/{care_id}/wijzigen", data=form, base_url=base)
    assert missing.status_code == 422
    assert client.post(f"/beheer/gezinnen/{family_id}/aanvragen/{care_id}/wijzigen", data={**form, **consent},
                       base_url=base).status_code == 302
    assert client.post(f"/beheer/gezinnen/{family_id}/keuzes/{second.id}/intrekken", data=consent,
                       base_url=base).status_code == 302
    db.session.expire_all()
    with tenant_scope(db.session, desk["herent"]):
        declined, withdrawn = db.session.get(Application, first_app), db.session.get(Application, second_app)
        assert declined.status == Status.DECLINED and declined.events[-1].actor_role == ActorRole.DESK
        change = next(e for e in withdrawn.events if e.kind == EventKind.CHANGE)
        assert change.actor_role == ActorRole.DESK and change.text and withdrawn.start_month == later
        assert withdrawn.status == Status.WITHDRAWN and withdrawn.events[-1].actor_role == ActorRole.DESK
        assert sorted(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("desk.%")))) == [
            "desk.change_plan", "desk.decline", "desk.withdraw"]


# --- isolation ---------------------------------------------------------------------------------------


def test_tienen_never_sees_herents_call_list_or_families(app, desk):
    family = _phone_family(desk["herent"])
    care = _filed_request(family, [desk["a"]], by=desk["herent_desk"])
    f.make_offer(db.session, care.choices[0])
    [entry] = _entries(desk["herent"])
    entry_id, family_id, choice_id, care_id = entry.id, family.id, care.choices[0].id, care.id
    client = _desk_client(app, desk["tienen_desk"], desk["tienen"])
    base = host_url(desk["tienen"])
    listing = client.get("/beheer/te-bellen?status=all", base_url=base).get_data(as_text=True)
    assert "Fatima" not in listing and "Geen berichten." in listing
    export = client.get("/beheer/te-bellen/export.csv?status=all", base_url=base).get_data(as_text=True)
    assert "Fatima" not in export
    consent = {"method": "phone", "consent": "y", "note": "x"}
    for method, path in [
        ("post", f"/beheer/te-bellen/{entry_id}/gebeld"),
        ("get", f"/beheer/gezinnen/{family_id}/"),
        ("post", f"/beheer/gezinnen/{family_id}/keuzes/{choice_id}/aanvaarden"),
        ("post", f"/beheer/gezinnen/{family_id}/keuzes/{choice_id}/weigeren"),
        ("post", f"/beheer/gezinnen/{family_id}/keuzes/{choice_id}/intrekken"),
        ("get", f"/beheer/gezinnen/{family_id}/aanvragen/{care_id}/wijzigen"),
        ("post", f"/beheer/gezinnen/{family_id}/aanvragen/{care_id}/wijzigen"),
        ("get", f"/beheer/gezinnen/{uuid.uuid4()}/"),
    ]:
        assert getattr(client, method)(path, data=consent, base_url=base).status_code == 404, path
    db.session.expire_all()
    assert _entries(desk["herent"])[0].called_at is None
    with tenant_scope(db.session, desk["herent"]):
        assert db.session.get(Application, care.choices[0].application_id).status == Status.OFFERED


def test_a_desk_with_an_application_of_the_family_may_open_it(app, desk):
    """Herent's desk did not file the family but has its application: its business."""
    family = _phone_family(desk["tienen"], language="nl")
    _filed_request(family, [desk["a"]], by=desk["tienen_desk"])
    client = _desk_client(app, desk["herent_desk"], desk["herent"])
    assert client.get(f"/beheer/gezinnen/{family.id}/", base_url=host_url(desk["herent"])).status_code == 200
    other = _phone_family(desk["tienen"], language="nl")
    _filed_request(other, [desk["t"]], by=desk["tienen_desk"])
    assert client.get(f"/beheer/gezinnen/{other.id}/", base_url=host_url(desk["herent"])).status_code == 404


def test_the_call_list_is_in_the_familys_download_and_goes_with_its_erasure(app, desk):
    from regional_loket.families import privacy

    family = _phone_family(desk["herent"], language="nl")
    care = _filed_request(family, [desk["a"]], by=desk["herent_desk"])
    f.make_offer(db.session, care.choices[0])
    [listed] = privacy.export(db.session, family)["call_list"]
    assert listed["municipality"] == "Herent" and "De Zonnebloem" in listed["news"] and listed["called_at"] is None
    privacy.erase(db.session, family, actor_id=None, now=utcnow())
    assert _entries(desk["herent"]) == []
