"""Retention: requests closed longer than the retention period lose their personal data in every
schema (statistics kept), families with nothing live are erased whole, unused parents' accounts
are warned and then removed; a dry run lists it all and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from regional_loket.accounts import User
from regional_loket.applications import Application, Status
from regional_loket.applications import services as applications
from regional_loket.care_requests import CareRequest, RequestStatus
from regional_loket.care_requests import services as requests
from regional_loket.coordinator.call_list import CallEntry
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.families import ClaimCode, Family
from regional_loket.families import services as families
from regional_loket.jobs import runs
from regional_loket.notifications import Notification
from regional_loket.retention import jobs as retention
from regional_loket.statistics import ApplicationRecord
from regional_loket.tenancy import tenant_scope

from . import factories as f
from .conftest import host_url, login

# The test clock, relative to when the fixture is built (the real now: factories write real times).
T0 = utcnow()


def at(app, **delta) -> None:
    app.config["CLOCK_NOW"] = (T0 + timedelta(**delta)).isoformat()


@pytest.fixture(autouse=True)
def _clock(app):
    yield
    app.config["CLOCK_NOW"] = None


@pytest.fixture
def region(app, make_tenant, make_location):
    """Two municipalities and four families: Griet (an account) placed in Leuven after asking in
    Herent too; Fatima (filed at Herent's desk, no e-mail: news goes to the call list) refused
    everywhere; Bram still waiting; a coordinator who never logs in."""
    herent, leuven = make_tenant(name="Herent"), make_tenant(name="Leuven")
    free = {(f.START, "baby"): 1}
    h = make_location(herent, "Kinderdagverblijf De Zonnebloem", free=free)
    lv = make_location(leuven, "Crèche Les Petits Pas", postcode="3000", locality="Leuven", free=free)
    desk = f.make_user(db.session, "coordinator", tenant=herent, name="Loketmedewerker")

    griet, griet_family = f.make_family(db.session, email="griet.vandeperre@example.be", name="Griet Vandeperre",
                                        street="Vaartstraat", phone="+32 470 99 88 77")
    wannes = f.make_child(db.session, griet_family, first_name="Wannes", last_name="Vandeperre")
    placed = f.make_request(db.session, griet_family, wannes, locations=[h, lv], actor_id=griet.id)
    requests.message(db.session, placed.choices[0], "Wannes slaapt slecht, bel Griet op 0470 99 88 77",
                     actor_id=griet.id, now=utcnow())
    tenant, application = f.application_of(db.session, placed.choices[1])
    applications.note(db.session, tenant, application, text="Griet Vandeperre belt na 17u", actor_id=None,
                      now=utcnow())
    f.make_offer(db.session, placed.choices[1])
    requests.accept(db.session, placed, griet_family, placed.choices[1], actor_id=griet.id, now=utcnow(),
                    today=f.TODAY, note=None)
    assert placed.status == RequestStatus.PLACED

    fatima = families.file_family(db.session, desk, desk_tenant_id=herent.id, guardian_name="Fatima Benali",
                                  phone="016 55 44 33", street="Molenstraat", number="4", postcode="3020",
                                  locality="Herent", language="nl", now=utcnow(), consent_method="phone",
                                  consent_note="Fatima Benali gaf toestemming aan de telefoon")
    yasmine = f.make_child(db.session, fatima, first_name="Yasmine", last_name="Benali")
    families.issue_claim_code(db.session, fatima, actor_id=desk.id, now=utcnow())
    refused = f.make_request(db.session, fatima, yasmine, locations=[h], actor_id=desk.id)
    tenant, application = f.application_of(db.session, refused.choices[0])
    applications.reject(db.session, tenant, application, reason="other", text="Yasmine gaat naar oma Benali",
                        actor_id=None, now=utcnow())
    assert refused.status == RequestStatus.WITHDRAWN  # every application rejected: closed

    bram, bram_family = f.make_family(db.session, email="bram.oosterlinck@example.be", name="Bram Oosterlinck")
    lotte = f.make_child(db.session, bram_family, first_name="Lotte", last_name="Oosterlinck")
    waiting = f.make_request(db.session, bram_family, lotte, locations=[h], actor_id=bram.id)
    db.session.flush()
    with tenant_scope(db.session, herent):  # the desk's phone list holds Fatima's news
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CallEntry)) >= 1
    ids = dict(griet_family=griet_family.id, placed=placed.id, fatima=fatima.id, refused=refused.id, griet=griet.id,
               bram=bram.id)
    return dict(ids=ids, herent=herent, h=h, leuven=leuven, desk=desk, griet=griet, griet_family=griet_family, placed=placed,
                fatima=fatima, refused=refused, bram=bram, waiting=waiting,
                griet_words=["Griet", "Vandeperre", "Wannes", "griet.vandeperre@example.be", griet_family.phone,
                             "Vaartstraat"],
                fatima_words=["Fatima", "Benali", "Yasmine", fatima.phone, "Molenstraat"])


def _text_columns():
    """(schema, table, column) of every text, varchar and jsonb column in ``shared`` and every
    municipality's schema, from the catalog (no list to forget a table in)."""
    return db.session.execute(sa.text(
        "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE t.table_type = 'BASE TABLE' AND (c.table_schema = 'shared' OR c.table_schema LIKE 'gem\\_%') "
        "AND c.data_type IN ('text', 'character varying', 'jsonb', 'ARRAY') "
        "ORDER BY 1, 2, 3")).all()


def _found(words) -> list[tuple[str, str]]:
    """(schema.table.column, word) wherever a word occurs, case-insensitively."""
    hits = []
    for schema, table, column in _text_columns():
        for word in words:
            count = db.session.scalar(sa.text(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}"::text ILIKE :w'), {"w": f"%{word}%"})
            if count:
                hits.append((f"{schema}.{table}.{column}", word))
    return hits


def _everything() -> list[tuple[str, str]]:
    """Every row of every table (the runs' own records aside), to see that nothing changed."""
    rows = []
    tables = db.session.execute(sa.text(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
        "AND (table_schema = 'shared' OR table_schema LIKE 'gem\\_%') AND table_name <> 'job_runs'")).all()
    for schema, table in tables:
        rows.extend((f"{schema}.{table}", str(tuple(row)))
                    for row in db.session.execute(sa.text(f'SELECT * FROM "{schema}"."{table}"')))
    return sorted(rows)


def _run(app, **kwargs):
    plan = retention.run_now(app, **kwargs)
    db.session.expire_all()
    return plan


def _last_counts():
    return runs.last_runs(db.session)["retention"]


def test_retention_erases_closed_requests_everywhere_keeps_statistics_and_the_rest(app, region):
    griet_words, fatima_words = region["griet_words"], region["fatima_words"]
    placed = [c.application_id for c in region["placed"].choices]
    refused = region["refused"].choices[0].application_id
    waiting_id, waiting_application = region["waiting"].id, region["waiting"].choices[0].application_id
    assert {w for _, w in _found(griet_words)} == set(griet_words)  # the scan does find them
    assert {w for _, w in _found(fatima_words)} == set(fatima_words)

    at(app, days=4 * 365)  # closed four years ago: kept
    plan = _run(app)
    assert (plan.families, plan.requests, plan.warn) == ({}, [], [])
    assert plan.staff_unused == 1  # the coordinator: counted, never removed here
    assert {w for _, w in _found(griet_words)} == set(griet_words)

    at(app, days=5 * 365 + 3)  # past five years
    plan = _run(app)
    ids = region["ids"]
    assert plan.families == {ids["griet_family"]: [ids["placed"]], ids["fatima"]: [ids["refused"]]}
    assert plan.requests == [] and plan.warn == [ids["griet"]]  # nothing left but the account
    assert _last_counts().counts == {"families": 2, "family_requests": 2, "accounts_warned": 1, "staff_unused": 1}
    assert _found(fatima_words) == []
    # Only Griet's account (and the warning mailed to it) still name her: the account rule's.
    assert {table for table, _ in _found(griet_words)} == {"shared.users.email", "shared.users.name",
                                                           "shared.notifications.recipient_email",
                                                           "shared.notifications.data"}

    at(app, days=5 * 365 + 3 + 31)  # the warning unanswered: the account goes
    _run(app)
    assert _last_counts().counts == {"accounts_removed": 1, "staff_unused": 1}
    assert _found(griet_words + fatima_words) == []
    assert db.session.get(User, ids["griet"]).deleted_at is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ClaimCode)) == 0
    for tenant in (region["herent"], region["leuven"]):
        with tenant_scope(db.session, tenant):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(CallEntry)) == 0

    # The applications stay in the providers' lists, anonymised, as they ended: Griet's place
    # in Leuven is still a placement (not given back years later).
    with tenant_scope(db.session, region["leuven"]):
        [kept] = db.session.scalars(sa.select(Application)).all()
        assert kept.status == Status.ACCEPTED and kept.snapshot["erased"] is True
    # The open request is untouched, its application's snapshot whole.
    assert db.session.get(CareRequest, waiting_id).status == RequestStatus.OPEN
    with tenant_scope(db.session, region["herent"]):
        open_one = db.session.get(Application, waiting_application)
        assert open_one.snapshot["child"]["first_name"] == "Lotte"
    assert db.session.get(User, ids["bram"]).deleted_at is None

    # The statistics survive: one anonymous record per application, frozen.
    records = {r.application_id: r for r in db.session.scalars(sa.select(ApplicationRecord))}
    assert set(records) == {*placed, refused}
    assert [records[a].status for a in placed] == ["withdrawn", "accepted"]
    assert {records[a].request_status for a in placed} == {"placed"}
    assert (records[refused].status, records[refused].request_status) == ("rejected", "withdrawn")
    assert all(r.erased for r in records.values())
    assert records[placed[1]].tenant_id == region["leuven"].id and records[placed[1]].placed_days == 0

    # Running again (a day later) changes nothing more.
    before = _everything()
    at(app, days=5 * 365 + 3 + 32)
    _run(app)
    assert _everything() == before
    assert _last_counts().counts == {"staff_unused": 1}


def test_a_request_of_a_family_with_a_live_request_goes_alone(app, region, make_location):
    """Griet asks again for a second child four years later: the old request goes, the family
    (and the new request) stay."""
    ids, family = region["ids"], region["griet_family"]
    second = f.make_child(db.session, family, first_name="Mieke", last_name="Vandeperre", birth_date=f.BORN)
    f.make_request(db.session, family, second, locations=[region["h"]], actor_id=region["griet"].id)
    db.session.commit()
    at(app, days=5 * 365 + 3)
    plan = _run(app)
    assert plan.families == {ids["fatima"]: [ids["refused"]]}
    assert plan.requests == [ids["placed"]]
    assert db.session.get(CareRequest, ids["placed"]) is None
    assert db.session.get(Family, ids["griet_family"]) is not None
    assert {w for _, w in _found(["Wannes"])} == set()  # the old request's child went with it
    assert _found(["Mieke"]) != []


def test_a_dry_run_lists_ids_and_changes_nothing(app, region, runner):
    at(app, days=5 * 365 + 3)
    before = _everything()
    result = runner.invoke(args=["retention", "run", "--dry-run"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert _everything() == before
    out = result.output
    for wanted in ("griet_family", "placed", "fatima", "refused", "griet"):
        assert str(region["ids"][wanted]) in out
    assert "families erased whole (would be): 2" in out and "accounts warned (would be): 1" in out
    assert not any(word.lower() in out.lower() for word in region["griet_words"] + region["fatima_words"])
    row = _last_counts()
    assert (row.outcome, row.error) == ("skipped", "dry-run")
    assert row.counts["families"] == 2 and row.counts["accounts_warned"] == 1

    at(app, days=5 * 365 + 4)  # the same by hand, for real
    result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "families erased whole (were): 2" in result.output
    db.session.expire_all()
    assert db.session.get(Family, region["ids"]["fatima"]) is None
    assert _last_counts().outcome == "ok"


@pytest.fixture
def lonely(app):
    """Parents without any request, and a coordinator and the only administrator, none of whom
    ever log in."""
    return dict(stays=f.make_user(db.session, "parent", name="Koen Claes", email="koen.claes@example.be"),
                goes=f.make_user(db.session, "parent", name="Els Wouters", email="els.wouters@example.be"),
                coordinator=f.make_user(db.session, "coordinator", tenant=f.make_tenant(db.session)),
                admin=f.make_user(db.session, "admin"))


def _warnings(user):
    return db.session.scalars(sa.select(Notification).where(Notification.recipient_user_id == user.id,
                                                            Notification.template == "account_unused")).all()


def test_unused_accounts_are_warned_once_then_removed_unless_their_owner_logs_in(app, lonely):
    db.session.execute(sa.update(User).where(User.deleted_at.is_(None), User.id.not_in(
        [u.id for u in lonely.values()])).values(deleted_at=utcnow()))  # only this test's accounts count
    at(app, days=2 * 365)
    assert _run(app).warn == []
    at(app, days=3 * 365 + 1)
    plan = _run(app)
    assert set(plan.warn) == {lonely["stays"].id, lonely["goes"].id}
    assert plan.staff_unused == 2  # the coordinator and the administrator: never warned, never removed
    [mail] = _warnings(lonely["goes"])
    assert mail.data["removal"] == (T0 + timedelta(days=3 * 365 + 31)).date().isoformat()
    at(app, days=3 * 365 + 2)
    _run(app)  # warned once
    assert len(_warnings(lonely["goes"])) == 1 and _last_counts().counts == {"staff_unused": 2}

    at(app, days=3 * 365 + 10)  # Koen logs in: his warning is cancelled
    client = app.test_client()
    login(client, lonely["stays"])
    db.session.expire_all()
    assert db.session.get(User, lonely["stays"].id).unused_warned_at is None

    at(app, days=3 * 365 + 32)
    plan = _run(app)
    assert plan.remove == [lonely["goes"].id]
    gone, stays = db.session.get(User, lonely["goes"].id), db.session.get(User, lonely["stays"].id)
    assert gone.deleted_at is not None and gone.email.endswith("@invalid") and gone.name == ""
    assert db.session.scalars(sa.select(Notification).where(Notification.recipient_user_id == gone.id)).all() == []
    assert stays.deleted_at is None and stays.unused_warned_at is None
    assert db.session.get(User, lonely["admin"].id).deleted_at is None
    assert db.session.get(User, lonely["coordinator"].id).deleted_at is None
    # Koen's login was at the clock's now: three more years before anyone warns him again.
    assert lonely["stays"].id not in _run(app).warn


def test_the_warning_mail_reads_in_the_owners_language(app, lonely):
    from regional_loket.notifications.services import render

    at(app, days=3 * 365 + 1)
    _run(app)
    [mail] = _warnings(lonely["goes"])
    subject, text, html = render(app, mail)
    assert "verwijderd" in subject and "Els Wouters" in text and host_url() in text
