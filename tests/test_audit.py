"""The audit log (issue #12, item 6): every read of a family's dossier or application by
staff, the desk, a referrer or an administrator, and every change, is recorded in the
municipality's schema (who and in which role, when, what, read or change, from which host);
the coordinator's page lists it with filters, in pages, and exports it; the family's download
says who looked; another municipality's entries — and its ids in the filters — stay out."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from regional_loket import audit
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.families import services as family_services
from regional_loket.tenancy import AuditEntry, tenant_scope

from . import factories
from .conftest import REGION, hand_over, host_url, login

START = factories.START


@pytest.fixture
def towns(make_tenant, make_location, make_user):
    herent, tienen = make_tenant("herent", name="Herent"), make_tenant("tienen", name="Tienen")
    free = {(START, "baby"): 1}
    h1 = make_location(herent, "Kinderdagverblijf De Zonnebloem", free=free)
    t1 = make_location(tienen, "Crèche Tienen", postcode="3300", locality="Tienen", free=free)
    parent, family = factories.make_family(db.session, email="an@example.be", name="An Peeters")
    child = factories.make_child(db.session, family)
    care = factories.make_request(db.session, family, child, locations=[h1, t1], actor_id=parent.id)
    return {
        "herent": herent, "tienen": tienen, "h1": h1, "t1": t1, "parent": parent, "family": family, "care": care,
        "staff": make_user("provider_staff", tenant=herent, locations=[h1.id], email="staff@herent.be"),
        "coordinator": make_user("coordinator", tenant=herent, email="loket@herent.be"),
        "tienen_coordinator": make_user("coordinator", tenant=tienen, email="loket@tienen.be"),
    }


def _client(app, user, tenant, path):
    client = app.test_client()
    login(client, user)
    hand_over(client, tenant, path)
    return client


def _entries(tenant, **where) -> list[AuditEntry]:
    db.session.expire_all()
    with tenant_scope(db.session, tenant):
        query = sa.select(AuditEntry).order_by(AuditEntry.at)
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        return list(db.session.scalars(query))


def _application_id(towns, index=0):
    return towns["care"].choices[index].application_id


def _count(html: str) -> int:
    found = re.search(r"(\d+) vermelding", html)
    assert found, html
    return int(found.group(1))


# --- reads -------------------------------------------------------------------------------------


def test_reading_an_application_records_one_read_with_host_and_role(app, towns):
    herent, h1_id, application_id = towns["herent"], towns["h1"].id, _application_id(towns)
    client = _client(app, towns["staff"], herent, "/opvang/")
    assert _entries(herent, kind="read") == []  # the home and its list are no family's dossier
    page = client.get(f"/opvang/{h1_id}/aanvragen/{application_id}", base_url=host_url(herent))
    assert page.status_code == 200
    [entry] = _entries(herent, kind="read")
    assert (entry.action, entry.subject, entry.actor_id, entry.actor_role, entry.host, entry.family_id) == (
        "application.view", str(application_id), towns["staff"].id, "provider_staff", f"herent.{REGION}",
        towns["family"].id)
    assert entry.detail == {"location_id": str(h1_id)}
    assert _entries(towns["tienen"], kind="read") == []  # only the municipality whose rows were read


def test_an_export_records_one_entry_with_how_many_applications(app, towns):
    herent, h1_id = towns["herent"], towns["h1"].id
    client = _client(app, towns["staff"], herent, "/opvang/")
    answer = client.get(f"/opvang/{h1_id}/export.csv", base_url=host_url(herent))
    assert answer.status_code == 200
    [entry] = _entries(herent, kind="read")
    assert entry.action == "applications.export" and entry.subject == str(h1_id)
    assert entry.detail == {"location_id": str(h1_id), "applications": 1, "format": "csv"}
    assert entry.actor_role == "provider_staff" and entry.host == f"herent.{REGION}"


def test_a_referrer_reading_a_request_is_recorded_in_each_municipality_of_it(app, towns, make_user):
    referrer = make_user("referrer", organisation="OCMW Herent")
    family = family_services.file_family(db.session, referrer, organisation="OCMW Herent", guardian_name="Sara Diallo",
                                         phone="+32 470 12 34 56", street="Kerkstraat", number="2",
                                         postcode="3020", locality="Herent", language="nl", now=utcnow())
    child = factories.make_child(db.session, family, first_name="Awa", last_name="Diallo")
    care = factories.make_request(db.session, family, child, locations=[towns["h1"], towns["t1"]])
    client = app.test_client()
    login(client, referrer)
    assert client.get(f"/aanvragen/{care.id}", base_url=host_url()).status_code == 200
    for town in ("herent", "tienen"):
        [entry] = _entries(towns[town], kind="read")
        assert (entry.action, entry.subject, entry.family_id, entry.actor_role, entry.host) == (
            "request.view", str(care.id), family.id, "referrer", REGION)
        assert entry.detail == {"organisation": "OCMW Herent"}
    # The family's own look at its request is no audit matter.
    parent = app.test_client()
    login(parent, towns["parent"])
    assert parent.get(f"/aanvragen/{towns['care'].id}", base_url=host_url()).status_code == 200
    assert len(_entries(towns["herent"], kind="read")) == 1


# --- changes -----------------------------------------------------------------------------------


def test_a_coordinators_status_change_through_the_lifecycle_records_a_change(app, towns):
    herent, h1_id, application_id = towns["herent"], towns["h1"].id, _application_id(towns)
    [submitted] = _entries(herent, kind="change")  # the family's submission, written by the listener
    assert (submitted.action, submitted.actor_role, submitted.family_id) == (
        "application.submit", "parent", towns["family"].id)
    client = _client(app, towns["coordinator"], herent, "/opvang/")
    acted = client.post(f"/opvang/{h1_id}/aanvragen/{application_id}", data={"action": "review", "version": 1},
                        base_url=host_url(herent))
    assert acted.status_code == 302
    [change] = _entries(herent, kind="change", action="application.mark_in_review")
    assert (change.actor_id, change.actor_role, change.host, change.subject, change.family_id) == (
        towns["coordinator"].id, "coordinator", f"herent.{REGION}", str(application_id), towns["family"].id)
    assert change.detail["from"] == "submitted" and change.detail["to"] == "in_review"


def test_the_systems_changes_are_recorded_without_a_host(app, towns):
    from regional_loket.applications import services as applications

    tenant, application = factories.make_offer(db.session, towns["care"].choices[0])
    applications.expire(db.session, tenant, application, now=utcnow())
    db.session.flush()
    [expired] = _entries(towns["herent"], action="application.expire")
    assert (expired.kind, expired.actor_id, expired.actor_role, expired.host) == ("change", None, "system", None)


# --- the coordinator's page ------------------------------------------------------------------


def _write(tenant, *, actor=None, role="coordinator", action="family.view", family_id=None, at=None, kind="read",
           host="herent.test"):
    return audit.record(db.session, tenant, actor_id=getattr(actor, "id", actor), actor_role=role, kind=kind,
                        action=action, subject=uuid.uuid4(), family_id=family_id, host=host,
                        now=at or utcnow())


def test_the_audit_page_filters_by_person_family_action_and_period(app, towns, make_user):
    herent = towns["herent"]
    other_family = uuid.uuid4()
    colleague = make_user("coordinator", tenant=herent, email="collega@herent.be")
    long_ago = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
    _write(herent, actor=colleague, family_id=other_family, at=long_ago)
    _write(herent, actor=colleague, family_id=other_family, action="application.view")
    _write(herent, actor=towns["staff"], family_id=towns["family"].id)
    db.session.flush()
    client = _client(app, towns["coordinator"], herent, "/beheer/audit")
    everything = _count(client.get("/beheer/audit", base_url=host_url(herent)).get_data(as_text=True))
    assert everything == len(_entries(herent))  # the three above and the family's submission

    def count(**query):
        answer = client.get("/beheer/audit", query_string=query, base_url=host_url(herent))
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return _count(answer.get_data(as_text=True))

    assert count(persoon="collega@herent.be") == 2
    assert count(persoon=" COLLEGA@herent.be ") == 2  # an address is an address, however typed
    assert count(persoon=str(colleague.id)) == 2
    assert count(persoon="nobody@herent.be") == 0
    assert count(gezin=str(other_family)) == 2
    assert count(gezin=str(towns["family"].id)) == 2  # the staff's read and the submission
    assert count(handeling="application.view") == 1
    assert count(soort="change") == 1
    assert count(van="2025-01-01", tot="2025-01-31") == 1
    assert count(van="2025-01-16") == everything - 1
    assert count(tot="2025-01-15") == 1  # "until" includes that whole day
    assert count(persoon="collega@herent.be", handeling="family.view", van="2025-01-15", tot="2025-01-15") == 1
    page = client.get("/beheer/audit", query_string={"persoon": "collega@herent.be"},
                      base_url=host_url(herent)).get_data(as_text=True)
    assert "collega@herent.be" in page and "staff@herent.be" not in page


@pytest.mark.parametrize(("query", "message"), [
    ({"van": "2026-03-10", "tot": "2026-03-01"}, "De einddatum ligt vóór de begindatum."),
    ({"van": "10 maart"}, "Vul een geldige datum in."),
    ({"gezin": "niet-een-nummer"}, "Geef het dossiernummer van het gezin"),
    ({"persoon": "geen adres"}, "Geef een e-mailadres of een gebruikersnummer."),
    ({"handeling": "drop table"}, "Kies een handeling uit de lijst."),
    ({"soort": "alles"}, "Kies inzien of wijzigen."),
])
def test_bad_filters_are_refused_with_a_message(app, towns, query, message):
    herent = towns["herent"]
    client = _client(app, towns["coordinator"], herent, "/beheer/audit")
    answer = client.get("/beheer/audit", query_string=query, base_url=host_url(herent))
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and message in html and "rl-error-summary" in html
    exported = client.get("/beheer/audit/export.csv", query_string=query, base_url=host_url(herent))
    assert exported.status_code == 422 and message in exported.get_data(as_text=True)  # no file either


def test_the_audit_page_comes_in_pages_newest_first(app, towns):
    herent = towns["herent"]
    start = utcnow() - timedelta(days=1)
    for minute in range(55):
        _write(herent, at=start + timedelta(minutes=minute), host=f"page-{minute:02d}.test")
    db.session.flush()
    client = _client(app, towns["coordinator"], herent, "/beheer/audit")
    first = client.get("/beheer/audit", query_string={"handeling": "family.view"},
                       base_url=host_url(herent)).get_data(as_text=True)
    second = client.get("/beheer/audit", query_string={"handeling": "family.view", "pagina": 2},
                        base_url=host_url(herent)).get_data(as_text=True)
    hosts = re.findall(r"page-(\d\d)\.test", first)
    assert len(hosts) == 50 and hosts == sorted(hosts, reverse=True) and hosts[0] == "54"
    assert re.findall(r"page-(\d\d)\.test", second) == ["04", "03", "02", "01", "00"]
    assert "pagina=2" in first and "handeling=family.view" in first  # the pager keeps the filter
    beyond = client.get("/beheer/audit", query_string={"handeling": "family.view", "pagina": 99},
                        base_url=host_url(herent)).get_data(as_text=True)
    assert re.findall(r"page-(\d\d)\.test", beyond) == ["04", "03", "02", "01", "00"]  # the last page


def test_the_audit_log_exports_as_csv_and_xlsx(app, towns):
    herent = towns["herent"]
    _write(herent, actor=towns["staff"], family_id=towns["family"].id, role="provider_staff")
    db.session.flush()
    client = _client(app, towns["coordinator"], herent, "/beheer/audit")
    answer = client.get("/beheer/audit/export.csv", query_string={"soort": "read"}, base_url=host_url(herent))
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:4] == ["tijdstip", "soort", "handeling", "code"]
    assert [(r[3], r[5], r[6], r[8]) for r in rows[1:]] == [
        ("family.view", "staff@herent.be", "Medewerker opvang", str(towns["family"].id))]
    xlsx = client.get("/beheer/audit/export.xlsx", base_url=host_url(herent))
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_only_coordinators_of_this_municipality_see_the_log(app, towns):
    herent = towns["herent"]
    staff = _client(app, towns["staff"], herent, "/opvang/")
    assert staff.get("/beheer/audit", base_url=host_url(herent)).status_code == 403
    assert staff.get("/beheer/audit/export.csv", base_url=host_url(herent)).status_code == 403
    assert app.test_client().get("/beheer/audit", base_url=host_url()).status_code == 404  # not on the region


# --- isolation ---------------------------------------------------------------------------------


def test_herents_audit_page_never_shows_tienens_entries_nor_answers_tienens_ids(app, towns):
    herent, tienen = towns["herent"], towns["tienen"]
    tienen_family = uuid.uuid4()
    _write(tienen, actor=towns["tienen_coordinator"], family_id=tienen_family, host="tienen-only.test")
    db.session.flush()
    client = _client(app, towns["coordinator"], herent, "/beheer/audit")
    page = client.get("/beheer/audit", base_url=host_url(herent)).get_data(as_text=True)
    assert "tienen-only.test" not in page and "loket@tienen.be" not in page
    for query in ({"gezin": str(tienen_family)}, {"persoon": "loket@tienen.be"},
                  {"persoon": str(towns["tienen_coordinator"].id)}):
        answer = client.get("/beheer/audit", query_string=query, base_url=host_url(herent))
        assert answer.status_code == 200 and _count(answer.get_data(as_text=True)) == 0
        exported = client.get("/beheer/audit/export.csv", query_string=query, base_url=host_url(herent))
        assert len(exported.get_data(as_text=True).strip().splitlines()) == 1  # the header only
    # Tienen's coordinator, logged in on Herent's host, is nobody here.
    other = app.test_client()
    login(other, towns["tienen_coordinator"])
    assert hand_over(other, herent, "/beheer/audit").status_code == 403
    assert other.get("/beheer/audit/export.csv", base_url=host_url(herent)).status_code == 403


# --- the family's download ---------------------------------------------------------------------


def test_the_familys_data_export_lists_who_read_its_dossier(app, towns):
    herent, h1_id, application_id = towns["herent"], towns["h1"].id, _application_id(towns)
    staff = _client(app, towns["staff"], herent, "/opvang/")
    staff.get(f"/opvang/{h1_id}/aanvragen/{application_id}", base_url=host_url(herent))
    _write(towns["tienen"], actor=towns["tienen_coordinator"], family_id=towns["family"].id, host="tienen.test")
    _write(towns["tienen"], actor=towns["tienen_coordinator"], family_id=uuid.uuid4())  # another family
    db.session.flush()
    family = app.test_client()
    login(family, towns["parent"])
    data = json.loads(family.get("/gezin/gegevens?formaat=json", base_url=host_url()).get_data(as_text=True))
    seen = data["seen_by"]
    assert [(s["role"], s["municipality"], s["location"]) for s in seen] == [
        ("coordinator", "Tienen", None), ("provider_staff", "Herent", "Kinderdagverblijf De Zonnebloem")]
    text = json.dumps(data)
    # Changes are not "looking", and a reader is named by role and place, never by name or address.
    assert "application.submit" not in json.dumps(seen)
    assert "staff@herent.be" not in text and "loket@tienen.be" not in text
    page = family.get("/gezin/gegevens", base_url=host_url()).get_data(as_text=True)
    assert "Wie uw gegevens inkeek" in page and "Medewerker opvang, Kinderdagverblijf De Zonnebloem (Herent)" in page
    assert "Coördinator, gemeente Tienen" in page


def test_the_desk_opening_a_familys_dossier_is_a_read_in_its_log(app, towns):
    herent = towns["herent"]
    family = family_services.file_family(
        db.session, towns["coordinator"], desk_tenant_id=herent.id, guardian_name="Sara Diallo",
        phone="+32 470 12 34 56", language="nl", now=utcnow(), consent_method="phone")
    family_id = family.id
    client = _client(app, towns["coordinator"], herent, "/beheer/audit")
    assert client.get(f"/beheer/intake/{family_id}", base_url=host_url(herent)).status_code == 200
    [entry] = _entries(herent, kind="read", family_id=family_id)
    assert (entry.action, entry.actor_role, entry.host) == ("family.view", "coordinator", f"herent.{REGION}")
    # Tienen's desk cannot open it, and nothing is recorded for trying.
    other = app.test_client()
    login(other, towns["tienen_coordinator"])
    hand_over(other, towns["tienen"], "/beheer/audit")
    assert other.get(f"/beheer/intake/{family_id}", base_url=host_url(towns["tienen"])).status_code == 404
    assert _entries(towns["tienen"], family_id=family_id) == []


def test_every_action_the_code_records_has_a_label():
    """The audit page shows labels, never raw codes: every action code written anywhere in the
    package (``action="x.y"`` or a literal passed to the audit helpers) has one."""
    import re
    from pathlib import Path

    from regional_loket.audit import ACTION_LABELS

    root = Path(__file__).resolve().parents[1] / "regional_loket"
    pattern = re.compile(r'"((?:desk|intake|call_list|location|organiser|staff|membership|settings)\.[a-z_]+)"')
    codes = {code for path in root.rglob("*.py") for code in pattern.findall(path.read_text())}
    codes |= {f"desk.{act}" for act in ("accept", "decline", "withdraw")}  # built from calls.ACTS
    codes -= {"desk.hours", "settings.response_days"}  # a desk field and a setting, not actions
    assert codes and codes <= set(ACTION_LABELS), sorted(codes - set(ACTION_LABELS))
