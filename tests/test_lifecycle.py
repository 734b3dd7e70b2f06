"""The application's state machine is a table (``applications.lifecycle.TRANSITIONS``): every
transition it does not hold — from another status, by another role, on a stale page — is
refused with a translated message and changes nothing; the docs show the same table."""

from __future__ import annotations

import pathlib

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from regional_loket.applications import (
    TRANSITIONS,
    ActorRole,
    Application,
    ApplicationEvent,
    EventKind,
    LifecycleError,
    Status,
    lifecycle,
    status_label,
)
from regional_loket.applications import services as applications
from regional_loket.care_requests import CareRequest, RequestStatus
from regional_loket.care_requests import services as requests
from regional_loket.catalog import Availability
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.families import Child, Family, privacy
from regional_loket.months import add_months, age_in_months
from regional_loket.notifications import Notification, render
from regional_loket.provider import services as provider
from regional_loket.tenancy import tenant_scope

from . import factories as f

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "ARCHITECTURE.md"
ROLES = tuple(ActorRole)


def _world(free: int = 3):
    tenant = f.make_tenant(db.session)
    location = f.make_location(db.session, tenant, free={(f.START, "baby"): free})
    user, family = f.make_family(db.session)
    return tenant, location, user, family


def _application_in(status: str):
    """A fresh application brought to ``status`` through the real services; with its world."""
    tenant, location, user, family = _world()
    care = f.make_request(db.session, family, f.make_child(db.session, family), locations=[location],
                          actor_id=user.id)
    choice = care.choices[0]
    _tenant, application = f.application_of(db.session, choice)
    now = utcnow()
    if status == Status.IN_REVIEW:
        applications.mark_in_review(db.session, tenant, application, actor_id=None, now=now)
    elif status == Status.WAITLISTED:
        applications.waitlist(db.session, tenant, application, actor_id=None, now=now)
    elif status == Status.REJECTED:
        applications.reject(db.session, tenant, application, reason="no_place", text=None, actor_id=None, now=now)
    elif status == Status.WITHDRAWN:
        requests.withdraw(db.session, care, choice, actor_id=user.id, now=now)
    elif status != Status.SUBMITTED:
        f.make_offer(db.session, choice)
        if status == Status.ACCEPTED:
            requests.accept(db.session, care, family, choice, actor_id=user.id, now=now, today=f.TODAY)
        elif status == Status.DECLINED:
            requests.decline(db.session, family, choice, actor_id=user.id, now=now)
        elif status == Status.EXPIRED:
            applications.expire(db.session, tenant, application, now=now)
    db.session.flush()
    assert application.status == status and choice.status == status
    return tenant, location, choice, application


def _state(tenant, location, choice, application) -> tuple:
    """Everything a refused transition must leave as it was, read back from the database."""
    db.session.flush()
    with tenant_scope(db.session, tenant):
        row = db.session.execute(sa.select(
            Application.status, Application.version, Application.held_month, Application.offer_deadline,
            Application.reject_reason, Application.answered_at).where(Application.id == application.id)).one()
        events = db.session.scalar(sa.select(sa.func.count()).select_from(ApplicationEvent)
                                   .where(ApplicationEvent.application_id == application.id))
        free = db.session.scalar(sa.select(Availability.free_places).where(
            Availability.location_id == location.id, Availability.month == f.START))
    mirror = db.session.scalar(sa.text("SELECT status FROM shared.choices WHERE id = :id"), {"id": choice.id})
    return tuple(row), events, free, mirror


def _call(name: str, tenant, application, role: str = ""):
    """The service function of transition ``name``, as a role the table allows for it."""
    now, today = utcnow(), f.TODAY
    calls = {
        "mark_in_review": lambda: applications.mark_in_review(db.session, tenant, application, actor_id=None,
                                                              now=now),
        "waitlist": lambda: applications.waitlist(db.session, tenant, application, actor_id=None, now=now),
        "offer": lambda: applications.offer(db.session, tenant, application, deadline=None, actor_id=None, now=now,
                                            today=today),
        "cancel_offer": lambda: applications.cancel_offer(db.session, tenant, application, actor_id=None, now=now),
        "reject": lambda: applications.reject(db.session, tenant, application, reason="no_place", text=None,
                                              actor_id=None, now=now),
        "accept": lambda: applications.accept(db.session, tenant, application, actor_id=None,
                                              actor_role=ActorRole.FAMILY, now=now, today=today),
        "decline": lambda: applications.decline(db.session, tenant, application, actor_id=None,
                                                actor_role=ActorRole.FAMILY, now=now),
        "withdraw": lambda: applications.withdraw(db.session, tenant, application, actor_id=None,
                                                  actor_role=ActorRole.FAMILY, now=now),
        "expire": lambda: applications.expire(db.session, tenant, application, now=now),
    }
    return calls[name]()


def test_every_transition_has_its_service_function():
    for spec in TRANSITIONS:
        assert callable(getattr(applications, "create" if spec.name == "submit" else spec.name)), spec.name


@pytest.mark.parametrize("status", list(Status))
def test_a_transition_not_in_the_table_is_refused_and_changes_nothing(app, status):
    tenant, location, choice, application = _application_in(status)
    before = _state(tenant, location, choice, application)
    refused = [spec for spec in TRANSITIONS if spec.from_ and status not in spec.from_]
    assert refused, "every status has a transition it may not take"
    for spec in refused:
        with pytest.raises(LifecycleError) as error:
            _call(spec.name, tenant, application)
        assert error.value.kind == "status" and not error.value.stale
        assert error.value.message == str(spec.refused) % {"status": status_label(status)}, spec.name
        assert _state(tenant, location, choice, application) == before, spec.name


@pytest.mark.parametrize("status", [Status.SUBMITTED, Status.OFFERED, Status.ACCEPTED])
def test_a_role_the_table_does_not_name_is_refused_and_changes_nothing(app, status):
    tenant, location, choice, application = _application_in(status)
    before = _state(tenant, location, choice, application)
    tried = 0
    for spec in TRANSITIONS:
        if status not in spec.from_:
            continue
        for role in set(ROLES) - spec.by:
            with pytest.raises(LifecycleError) as error:
                lifecycle.transition(db.session, tenant, application, spec.name, actor_id=None, actor_role=role,
                                     now=utcnow())
            assert error.value.kind == "actor" and error.value.message == "Dit mag u niet doen met deze aanvraag."
            tried += 1
    assert tried and _state(tenant, location, choice, application) == before


def test_only_the_family_side_creates_an_application(app):
    tenant, location, _user, _family = _world()
    with pytest.raises(LifecycleError) as error:
        applications.create(db.session, tenant, location=location, request_id=location.id, rank=1, snapshot={},
                            start_month=f.START, age_group="baby", actor_id=None, actor_role=ActorRole.PROVIDER,
                            now=utcnow())
    assert error.value.kind == "actor"
    with tenant_scope(db.session, tenant):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == 0


def test_the_refusal_is_in_the_readers_language(app):
    tenant, _location, _choice, application = _application_in(Status.REJECTED)
    with force_locale("fr"):
        with pytest.raises(LifecycleError) as error:
            applications.offer(db.session, tenant, application, deadline=None, actor_id=None, now=utcnow(),
                               today=f.TODAY)
    assert "intussen" not in error.value.message and status_label(Status.REJECTED) not in error.value.message


def test_a_stale_version_is_refused_and_changes_nothing(app):
    tenant, location, choice, application = _application_in(Status.SUBMITTED)
    before = _state(tenant, location, choice, application)
    for name in ("waitlist", "offer", "reject", "mark_in_review"):
        with pytest.raises(LifecycleError) as error:
            lifecycle.transition(db.session, tenant, application, name, actor_id=None,
                                 actor_role=ActorRole.PROVIDER, now=utcnow(), version=application.version - 1)
        assert error.value.stale and error.value.kind == "stale"
    with pytest.raises(LifecycleError) as error:
        applications.offer(db.session, tenant, application, deadline=None, actor_id=None, now=utcnow(),
                           today=f.TODAY, version=application.version + 1)
    assert error.value.stale
    assert _state(tenant, location, choice, application) == before


def test_every_status_change_is_one_event_with_its_actor(app):
    tenant, location, choice, application = _application_in(Status.SUBMITTED)
    applications.mark_in_review(db.session, tenant, application, actor_id=None, now=utcnow())
    applications.offer(db.session, tenant, application, deadline=None, actor_id=None, now=utcnow(), today=f.TODAY)
    with tenant_scope(db.session, tenant):
        moves = [(e.from_status, e.to_status, e.actor_role) for e in application.events]
    assert moves == [(None, "submitted", "family"), ("submitted", "in_review", "provider"),
                     ("in_review", "offered", "provider")]
    assert choice.status == Status.OFFERED


# --- defects the table made plain ------------------------------------------------------------------


def test_erasing_a_family_gives_an_accepted_place_back(app):
    """Defect: erasure withdrew an accepted place without giving it back (withdrawing did)."""
    tenant, location, choice, application = _application_in(Status.ACCEPTED)
    family = db.session.get(Family, db.session.get(CareRequest, choice.request_id).family_id)
    assert _state(tenant, location, choice, application)[2] == 2  # 3 free, one accepted
    application_id = application.id
    privacy.erase(db.session, family, actor_id=None, now=utcnow())
    db.session.flush()
    with tenant_scope(db.session, tenant):
        assert db.session.scalar(sa.select(Availability.free_places).where(
            Availability.location_id == location.id, Availability.month == f.START)) == 3
        assert db.session.get(Application, application_id).status == Status.WITHDRAWN


def test_a_phone_acceptance_is_logged_as_the_staffs(app):
    """Defect: an acceptance recorded by staff was logged with the family as actor."""
    tenant, location, choice, application = _application_in(Status.OFFERED)
    staff = f.make_user(db.session, "provider_staff", tenant=tenant, locations=[location.id])
    provider.record_phone_acceptance(db.session, tenant, application, actor_id=staff.id, now=utcnow(),
                                     today=f.TODAY, version=application.version)
    with tenant_scope(db.session, tenant):
        last = application.events[-1]
    assert (last.to_status, last.actor_role, last.actor_id) == ("accepted", "provider", staff.id)
    assert choice.status == Status.ACCEPTED


# --- defects of issue #11: mails, plan changes, the request's status, staff news -------------------


def _mails(template: str, email: str | None = None) -> list[Notification]:
    query = sa.select(Notification).where(Notification.template == template).order_by(Notification.created_at)
    if email is not None:
        query = query.where(Notification.recipient_email == email)
    return list(db.session.scalars(query))


def _family_of(choice) -> tuple[CareRequest, Family]:
    care = db.session.get(CareRequest, choice.request_id)
    return care, db.session.get(Family, care.family_id)


def test_a_providers_message_after_a_status_mail_reaches_the_family(app):
    """Defect: the outbox key was ``update:{id}:{version}``; a message does not change the
    version, so a message right after a status mail was swallowed."""
    tenant, _location, choice, application = _application_in(Status.SUBMITTED)
    _care, family = _family_of(choice)
    email = family.guardians[0].email
    applications.mark_in_review(db.session, tenant, application, actor_id=None, now=utcnow())
    applications.message(db.session, tenant, application, text="Komt u langs?", actor_id=None, now=utcnow())
    applications.message(db.session, tenant, application, text="Nog één vraag.", actor_id=None, now=utcnow())
    assert len(_mails("application_update", email)) == 3


def test_a_new_start_date_moves_the_age_group_the_snapshot_age_and_the_place_an_offer_takes(app):
    """Defect: a changed start date kept the old age group and snapshot age, so the ranking
    and the place an offer takes used the wrong group."""
    later = add_months(f.START, 12)  # born BORN: a baby at START, a toddler a year later
    tenant = f.make_tenant(db.session)
    location = f.make_location(db.session, tenant, free={(f.START, "baby"): 1, (later, "baby"): 1,
                                                         (later, "toddler"): 1})
    user, family = f.make_family(db.session)
    child = f.make_child(db.session, family)
    care = f.make_request(db.session, family, child, locations=[location], actor_id=user.id)
    requests.change_plan(db.session, care, child, start_date=later, care_plan=f.PLAN, actor_id=user.id,
                         now=utcnow(), today=f.TODAY)
    _tenant, application = f.application_of(db.session, care.choices[0])
    with tenant_scope(db.session, tenant):
        assert (application.start_month, application.age_group) == (later, "toddler")
        assert application.snapshot["child"]["age_months_at_start"] == age_in_months(child.reference_date, later)
        assert application.snapshot["child"]["first_name"] == child.first_name  # the rest of it stays
    applications.offer(db.session, tenant, application, deadline=None, actor_id=None, now=utcnow(), today=f.TODAY)
    with tenant_scope(db.session, tenant):
        assert (application.held_month, application.held_age_group) == (later, "toddler")
        free = dict(db.session.execute(sa.select(Availability.age_group, Availability.free_places).where(
            Availability.location_id == location.id, Availability.month == later)).all())
    assert free == {"baby": 1, "toddler": 0}


def test_a_request_whose_only_offer_expires_is_no_longer_open(app):
    """Defect: the request stayed "open" after its only offer expired."""
    tenant, _location, choice, application = _application_in(Status.OFFERED)
    care, _family = _family_of(choice)
    assert care.status == RequestStatus.OPEN
    applications.expire(db.session, tenant, application, now=utcnow())
    assert care.status == RequestStatus.WITHDRAWN


def _keeping_higher_choices_open():
    """A request with two choices, keeping the higher open, whose lower offer was accepted."""
    tenant = f.make_tenant(db.session)
    higher = f.make_location(db.session, tenant, "Hoger", free={(f.START, "baby"): 1})
    lower = f.make_location(db.session, tenant, "Lager", free={(f.START, "baby"): 1})
    user, family = f.make_family(db.session)
    care = f.make_request(db.session, family, f.make_child(db.session, family), locations=[higher, lower],
                          keep_higher_choices=True, actor_id=user.id)
    f.make_offer(db.session, care.choices[1])
    requests.accept(db.session, care, family, care.choices[1], actor_id=user.id, now=utcnow(), today=f.TODAY)
    assert [c.status for c in care.choices] == ["submitted", "accepted"] and care.status == RequestStatus.OPEN
    return tenant, user, family, care


def _end_by_rejection(tenant, user, family, care, application):
    applications.reject(db.session, tenant, application, reason="no_place", text=None, actor_id=None,
                        now=utcnow())


def _end_by_withdrawal(tenant, user, family, care, application):
    requests.withdraw(db.session, care, care.choices[0], actor_id=user.id, now=utcnow())


def _end_by_declining(tenant, user, family, care, application):
    f.make_offer(db.session, care.choices[0])
    requests.decline(db.session, family, care.choices[0], actor_id=user.id, now=utcnow())


def _end_by_expiry(tenant, user, family, care, application):
    f.make_offer(db.session, care.choices[0])
    applications.expire(db.session, tenant, application, now=utcnow())


@pytest.mark.parametrize("end", [_end_by_rejection, _end_by_withdrawal, _end_by_declining, _end_by_expiry],
                         ids=["rejected", "withdrawn", "declined", "expired"])
def test_keeping_higher_choices_open_the_request_is_placed_once_the_higher_ones_end(app, end):
    """Defect: with "keep my higher choices open", the request was never marked placed once
    the higher choices ended."""
    tenant, user, family, care = _keeping_higher_choices_open()
    _tenant, higher = f.application_of(db.session, care.choices[0])
    end(tenant, user, family, care, higher)
    assert care.choices[0].status != Status.ACCEPTED and care.choices[1].status == Status.ACCEPTED
    assert care.status == RequestStatus.PLACED


def test_the_request_status_follows_its_choices_in_one_place(app):
    """``request_status`` is the rule; withdrawing the accepted place reopens nothing."""
    tenant, user, family, care = _keeping_higher_choices_open()
    requests.withdraw(db.session, care, care.choices[1], actor_id=user.id, now=utcnow())
    assert care.status == RequestStatus.OPEN  # the higher choice still runs
    requests.withdraw_request(db.session, care, actor_id=user.id, now=utcnow())
    assert care.status == RequestStatus.WITHDRAWN == requests.request_status(care)


# --- provider staff hear of the family's actions -----------------------------------------------------


def _staffed(status: str, language: str = "fr"):
    tenant, location, choice, application = _application_in(status)
    staff = f.make_user(db.session, "provider_staff", tenant=tenant, locations=[location.id], language=language)
    f.make_user(db.session, "provider_staff", tenant=tenant, locations=[], language="nl")  # another location's
    return tenant, location, choice, application, staff


def _staff_news(application, staff) -> list[str]:
    return [n.data["action"] for n in _mails("staff_update") if n.data["url"].endswith(str(application.id))
            and n.recipient_email == staff.email]


@pytest.mark.parametrize("action", ["accept", "decline", "withdraw", "message", "change"])
def test_provider_staff_are_told_of_the_familys_actions(app, action):
    """Defect: provider staff were never told of what the family did."""
    status = Status.OFFERED if action in ("accept", "decline") else Status.SUBMITTED
    tenant, location, choice, application, staff = _staffed(status)
    care, family = _family_of(choice)
    user_id, now = care.created_by_user_id, utcnow()
    if action == "accept":
        requests.accept(db.session, care, family, choice, actor_id=user_id, now=now, today=f.TODAY)
    elif action == "decline":
        requests.decline(db.session, family, choice, actor_id=user_id, now=now)
    elif action == "withdraw":
        requests.withdraw(db.session, care, choice, actor_id=user_id, now=now)
    elif action == "message":
        requests.message(db.session, choice, "Wij verhuizen.", actor_id=user_id, now=now)
        requests.message(db.session, choice, "Nog een vraag.", actor_id=user_id, now=now)
    else:
        child = db.session.get(Child, care.child_id)
        requests.change_plan(db.session, care, child, start_date=add_months(f.START, 1), care_plan=f.PLAN,
                             actor_id=user_id, now=now, today=f.TODAY)
    news = _staff_news(application, staff)
    assert news == ([EventKind.MESSAGE_FAMILY] * 2 if action == "message" else
                    [EventKind.CHANGE] if action == "change" else [action])
    [mail] = [n for n in _mails("staff_update", staff.email)][-1:]
    assert mail.language == "fr" and mail.tenant_slug == tenant.slug and mail.recipient_user_id == staff.id
    assert len(_mails("staff_update")) == len(news)  # nobody else: the other staff has no such location
    subject, text, html = render(app, mail)
    assert location.name in subject and location.name in text and "Wij verhuizen" not in text
    assert f"/opvang/{location.id}/aanvragen/{application.id}" in text


def test_staff_hear_of_a_system_withdrawal_with_its_reason(app):
    tenant = f.make_tenant(db.session)
    first = f.make_location(db.session, tenant, "Zon & Maan <1>", free={(f.START, "baby"): 1})
    second = f.make_location(db.session, tenant, "Tweede", free={(f.START, "baby"): 1})
    staff = f.make_user(db.session, "provider_staff", tenant=tenant, locations=[first.id], language="nl")
    user, family = f.make_family(db.session)
    care = f.make_request(db.session, family, f.make_child(db.session, family), locations=[first, second],
                          actor_id=user.id)
    f.make_offer(db.session, care.choices[1])
    requests.accept(db.session, care, family, care.choices[1], actor_id=user.id, now=utcnow(), today=f.TODAY)
    [mail] = _mails("staff_update", staff.email)
    assert (mail.data["action"], mail.data["by_system"]) == ("withdraw", True)
    _subject, text, html = render(app, mail)
    assert "De aanvraag bij Zon & Maan <1> werd ingetrokken: een plaats bij een andere keuze werd aanvaard." in text
    assert "Zon &amp; Maan &lt;1&gt; werd ingetrokken" in html  # escaped once, in the HTML part only


def test_staff_are_not_told_of_their_own_actions(app):
    tenant, location, choice, application, staff = _staffed(Status.SUBMITTED)
    now = utcnow()
    applications.mark_in_review(db.session, tenant, application, actor_id=staff.id, now=now)
    applications.offer(db.session, tenant, application, deadline=None, actor_id=staff.id, now=now, today=f.TODAY)
    applications.message(db.session, tenant, application, text="Welkom", actor_id=staff.id, now=now)
    provider.record_phone_acceptance(db.session, tenant, application, actor_id=staff.id, now=now, today=f.TODAY)
    assert choice.status == Status.ACCEPTED and _mails("staff_update") == []


# --- the docs ------------------------------------------------------------------------------------


def test_the_architecture_document_shows_the_transition_table():
    assert lifecycle.markdown_table() in DOCS.read_text(), (
        "docs/ARCHITECTURE.md lags applications.lifecycle.TRANSITIONS; paste this table:\n"
        + lifecycle.markdown_table())
