"""The lifecycle as a whole, driven by hypothesis: random sequences of what families, staff and
the clock do, over several municipalities, with the refusals an illegal move gets; after every
step the rules that must always hold are checked against the database:

- free places are never negative, and per location, month and age group the places taken
  since the start are exactly those that offered and accepted applications hold;
- a request is placed iff one of its choices is accepted (and, keeping higher choices open,
  none ranked above it is still open); open iff it has an open choice; else withdrawn;
- every status change is one status event (counted from the statuses this test saw change,
  not from the code under test);
- the family's ``Choice.status`` equals its application's status in the municipality.

Each example runs in a savepoint of its own inside the test's rolled-back transaction, so
examples never see each other's rows; the municipalities and locations are made once.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from regional_loket.applications import (
    OPEN_STATUSES,
    WAITING,
    Application,
    ApplicationEvent,
    EventKind,
    LifecycleError,
    Status,
)
from regional_loket.applications import services as applications
from regional_loket.care_requests import CareRequest, Choice, RequestStatus
from regional_loket.care_requests import services as requests
from regional_loket.catalog import Availability
from regional_loket.extensions import db
from regional_loket.families import Child, Family
from regional_loket.months import add_months, month_start
from regional_loket.provider import services as provider
from regional_loket.tenancy import tenant_scope

from . import factories as f

REFUSED = (LifecycleError, requests.RequestError, provider.ActionError)
MONTHS = 18  # free places from this month on: every start the machine picks, a baby or a toddler
HOLDING = (Status.OFFERED, Status.ACCEPTED)
PICK = st.integers(min_value=0, max_value=10_000)  # an index into what exists, modulo its length
# Most moves aim at a choice whose status allows them (else random sequences rarely get past
# the first offer); the rest try any choice, and the table must refuse what it does not hold.
AIM = st.sampled_from([True, True, False])
LOCATIONS = 6  # two in each of three municipalities


def _world() -> list[tuple]:
    """Three municipalities with two locations each (LOCATIONS), one free place per month and
    age group."""
    first = month_start(f.TODAY)
    free = {(add_months(first, m), group): 1 for m in range(MONTHS) for group in ("baby", "toddler")}
    world = []
    for n in range(3):
        tenant = f.make_tenant(db.session)
        world += [(tenant, f.make_location(db.session, tenant, f"Locatie {n}{letter}", free=free))
                  for letter in "ab"]
    db.session.flush()
    return world


class Lifecycle(RuleBasedStateMachine):
    world: list[tuple] = []  # set by the test: (tenant, location) pairs

    def __init__(self):
        super().__init__()
        self.savepoint = db.session.begin_nested()
        self.tenants = {tenant.id: tenant for tenant, _location in self.world}
        self.today = f.TODAY
        self.requests: list = []  # request ids
        self.choices: list = []  # choice ids of submitted requests
        self.seen: dict = {}  # application id -> status last seen
        self.changes: Counter = Counter()  # application id -> status changes seen (creation: 1)
        self.initial = self._free()

    def teardown(self):
        self.savepoint.rollback()

    # --- helpers ----------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return datetime.combine(self.today, time(12), tzinfo=UTC)

    def _act(self, action) -> None:
        """One user action in a savepoint of its own, as a page commits or rolls back: a refusal
        leaves nothing behind."""
        try:
            with db.session.begin_nested():
                action()
        except REFUSED:
            return
        self._count_changes()

    def _count_changes(self) -> None:
        """Count the status changes one action made, as this test sees them (an action changes
        an application's status at most once)."""
        db.session.flush()
        for application_id, row in self._applications().items():
            if self.seen.get(application_id) != row.status:
                self.changes[application_id] += 1
                self.seen[application_id] = row.status

    def _choice(self, pick: int, aim: bool = False, statuses=()) -> Choice:
        """A submitted choice; with ``aim``, one in ``statuses`` when there is one."""
        choices = [db.session.get(Choice, choice_id) for choice_id in self.choices]
        aimed = [choice for choice in choices if choice.status in statuses] if aim else []
        return (aimed or choices)[pick % len(aimed or choices)]

    def _request(self, pick: int) -> CareRequest:
        return db.session.get(CareRequest, self.requests[pick % len(self.requests)])

    def _application(self, choice: Choice):
        loaded = requests.load_application(db.session, choice)
        return loaded.tenant, loaded.application

    def _free(self) -> dict:
        free = {}
        for tenant in self.tenants.values():
            with tenant_scope(db.session, tenant):
                free.update({(location, month, group): places for location, month, group, places in db.session.execute(
                    sa.select(Availability.location_id, Availability.month, Availability.age_group,
                              Availability.free_places))})
        return free

    # --- the family's side ------------------------------------------------------------------

    SUBMIT = dict(picks=st.lists(st.integers(0, LOCATIONS - 1), min_size=1, max_size=3, unique=True),
                  keep_higher=st.booleans(), months_ahead=st.integers(1, 6))

    @initialize(**SUBMIT, offers=st.lists(st.integers(0, 2), max_size=2, unique=True), days=st.integers(0, 10),
                answer=st.sampled_from([None, "accept", "decline", "by_phone"]))
    def first_request(self, picks, keep_higher, months_ahead, offers, days, answer):
        """Every example starts with a request, often with offers and an answer to the last:
        random steps alone rarely get as far in a few steps."""
        self.submit(picks, keep_higher, months_ahead)
        for pick in offers:
            self.offer(pick, False, days)
        if offers and answer:
            self.answer_offer(answer, offers[-1], False)

    @rule(**SUBMIT)
    def submit(self, picks, keep_higher, months_ahead):
        def action():
            user, family = f.make_family(db.session)
            child = f.make_child(db.session, family, today=self.today)
            care = f.make_request(db.session, family, child, locations=[self.world[p][1] for p in picks],
                                  start_date=add_months(month_start(self.today), months_ahead),
                                  keep_higher_choices=keep_higher, actor_id=user.id, now=self.now, today=self.today)
            self.requests.append(care.id)
            self.choices.extend(c.id for c in care.choices)

        self._act(action)

    @precondition(lambda self: self.choices)
    @rule(how=st.sampled_from(["accept", "decline", "by_phone"]), pick=PICK, aim=AIM)
    def answer_offer(self, how, pick, aim):
        """The family accepts or declines online, or staff record an acceptance by phone."""
        choice = self._choice(pick, aim, [Status.OFFERED])
        care = db.session.get(CareRequest, choice.request_id)
        family, user_id = db.session.get(Family, care.family_id), care.created_by_user_id
        tenant, application = self._application(choice)
        self._act({
            "accept": lambda: requests.accept(db.session, care, family, choice, actor_id=user_id, now=self.now,
                                              today=self.today),
            "decline": lambda: requests.decline(db.session, family, choice, actor_id=user_id, now=self.now),
            "by_phone": lambda: provider.record_phone_acceptance(db.session, tenant, application, actor_id=None,
                                                                 now=self.now, today=self.today),
        }[how])

    @precondition(lambda self: self.choices)
    @rule(pick=PICK, aim=AIM, everything=st.booleans())
    def withdraw(self, pick, aim, everything):
        """The family withdraws one choice (an open one or an accepted place), or the request."""
        choice = self._choice(pick, aim, [*OPEN_STATUSES, Status.ACCEPTED])
        care = db.session.get(CareRequest, choice.request_id)
        if everything:
            self._act(lambda: requests.withdraw_request(db.session, care, actor_id=care.created_by_user_id,
                                                        now=self.now))
        else:
            self._act(lambda: requests.withdraw(db.session, care, choice, actor_id=care.created_by_user_id,
                                                now=self.now))

    @precondition(lambda self: self.requests)
    @rule(pick=PICK, months_ahead=st.integers(1, MONTHS - 2))
    def change_plan(self, pick, months_ahead):
        care = self._request(pick)
        self._act(lambda: requests.change_plan(
            db.session, care, db.session.get(Child, care.child_id),
            start_date=add_months(month_start(self.today), months_ahead), care_plan=f.PLAN,
            actor_id=care.created_by_user_id, now=self.now, today=self.today))

    # --- the provider's side ----------------------------------------------------------------

    def _staff_act(self, pick: int, aim: bool, statuses, what) -> None:
        tenant, application = self._application(self._choice(pick, aim, statuses))
        self._act(lambda: what(tenant, application))

    @precondition(lambda self: self.choices)
    @rule(to=st.sampled_from(["in_review", "waitlist", "reject"]), pick=PICK, aim=AIM)
    def triage(self, to, pick, aim):
        """Staff look at an application: in review, on the waiting list, or rejected."""
        self._staff_act(pick, aim, [Status.SUBMITTED] if to == "in_review" else WAITING, {
            "in_review": lambda tenant, application: applications.mark_in_review(
                db.session, tenant, application, actor_id=None, now=self.now),
            "waitlist": lambda tenant, application: applications.waitlist(
                db.session, tenant, application, actor_id=None, now=self.now),
            "reject": lambda tenant, application: applications.reject(
                db.session, tenant, application, reason="no_place", text=None, actor_id=None, now=self.now),
        }[to])

    @precondition(lambda self: self.choices)
    @rule(pick=PICK, aim=AIM, days=st.integers(0, 10))
    def offer(self, pick, aim, days):
        self._staff_act(pick, aim, WAITING, lambda tenant, application: applications.offer(
            db.session, tenant, application, deadline=self.today + timedelta(days=days), actor_id=None,
            now=self.now, today=self.today))

    @precondition(lambda self: self.choices)
    @rule(pick=PICK, aim=AIM)
    def cancel_offer(self, pick, aim):
        self._staff_act(pick, aim, [Status.OFFERED], lambda tenant, application: applications.cancel_offer(
            db.session, tenant, application, actor_id=None, now=self.now))

    # --- the clock --------------------------------------------------------------------------

    @rule(days=st.integers(1, 7))
    def advance(self, days):
        self.today += timedelta(days=days)

    @rule()
    def expire_offers(self):
        for tenant in self.tenants.values():
            self._act(lambda tenant=tenant: applications.expire_offers(db.session, tenant, today=self.today,
                                                                        now=self.now))

    # --- what always holds ------------------------------------------------------------------

    def _applications(self) -> dict:
        rows = {}
        for tenant in self.tenants.values():
            with tenant_scope(db.session, tenant):
                rows.update({row.id: row for row in db.session.execute(sa.select(
                    Application.id, Application.location_id, Application.status, Application.held_month,
                    Application.held_age_group))})
        return rows

    @invariant()
    def free_places_are_never_negative_and_holds_add_up(self):
        db.session.flush()
        free = self._free()
        assert min(free.values()) >= 0
        held = Counter()
        for row in self._applications().values():
            assert (row.held_month is not None) == (row.status in HOLDING), row
            if row.status in HOLDING:
                held[(row.location_id, row.held_month, row.held_age_group)] += 1
        for slot, places in free.items():
            assert self.initial[slot] == places + held[slot], slot
        assert set(held) <= set(free)

    @invariant()
    def the_request_follows_its_choices(self):
        db.session.flush()  # what the session holds is what the database holds
        for request_id in self.requests:
            care = db.session.get(CareRequest, request_id)
            statuses = [choice.status for choice in care.choices]  # in rank order
            accepted = [rank for rank, status in enumerate(statuses) if status == Status.ACCEPTED]
            still_open = [rank for rank, status in enumerate(statuses) if status in OPEN_STATUSES]
            placed = bool(accepted) and not (care.keep_higher_choices and any(r < min(accepted) for r in still_open))
            expected = (RequestStatus.PLACED if placed else RequestStatus.OPEN if still_open
                        else RequestStatus.WITHDRAWN)
            assert care.status == expected, (statuses, care.keep_higher_choices)

    @invariant()
    def every_status_change_is_one_event_and_the_mirror_agrees(self):
        db.session.flush()
        rows = self._applications()
        events = Counter()
        for tenant in self.tenants.values():
            with tenant_scope(db.session, tenant):
                events.update(dict(db.session.execute(
                    sa.select(ApplicationEvent.application_id, sa.func.count())
                    .where(ApplicationEvent.kind == EventKind.STATUS).group_by(ApplicationEvent.application_id)).all()))
        assert events == self.changes
        mirror = dict(db.session.execute(sa.select(Choice.application_id, Choice.status).where(
            Choice.id.in_(self.choices))).all())
        assert mirror == {application_id: row.status for application_id, row in rows.items()}


def test_the_lifecycle_holds_whatever_families_staff_and_the_clock_do(app):
    Lifecycle.world = _world()
    run_state_machine_as_test(Lifecycle, settings=settings(
        max_examples=25, stateful_step_count=20, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))


@pytest.fixture(autouse=True)
def _forget_the_world():
    yield
    Lifecycle.world = []
