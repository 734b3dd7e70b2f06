"""The daily statistics snapshot: demand against free places per location, month and age group,
and an anonymous record per application; the same day run again gives the same rows, and the
figures survive the retention purge."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from regional_loket import clock
from regional_loket.applications import services as applications
from regional_loket.care_requests import services as requests
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.jobs import runs
from regional_loket.months import month_start
from regional_loket.retention import jobs as retention
from regional_loket.statistics import ApplicationRecord, DailyFigure, figures
from regional_loket.statistics import jobs as snapshots
from regional_loket.tenancy.models import Postcode

from . import factories as f

NOW = utcnow()
# The region's day and month of NOW (from 23:00 or 22:00 UTC on, Brussels is a day ahead).
TODAY = NOW.astimezone(ZoneInfo("Europe/Brussels")).date()


@pytest.fixture(autouse=True)
def _clock(app):
    app.config["CLOCK_NOW"] = NOW.isoformat()
    yield
    app.config["CLOCK_NOW"] = None


@pytest.fixture
def region(app, make_tenant, make_location):
    """Herent and Leuven. Herent families: Ann (low income) asks in Herent and Leuven and is
    placed in Leuven; Bart waits in Herent (waitlisted after 3 days). Leuven families: Chloé
    (single parent) waits in Herent, unanswered; Dirk is refused in Leuven after 10 days."""
    herent, leuven = make_tenant(name="Herent"), make_tenant(name="Leuven")
    herent.postcodes.append(Postcode(code="3020", locality="Herent", lat=50.9085, lon=4.6715))
    leuven.postcodes.append(Postcode(code="3000", locality="Leuven", lat=50.88, lon=4.70))
    h = make_location(herent, "Kinderdagverblijf De Zonnebloem", free={(f.START, "baby"): 2})
    lv = make_location(leuven, "Crèche Les Petits Pas", postcode="3000", locality="Leuven",
                       free={(f.START, "baby"): 1})
    h_id, lv_id = h.id, lv.id  # read now: a tenant's row expires at commit, reloadable only with its schema bound

    def family(name, postcode, **declared):
        user, fam = f.make_family(db.session, name=name, postcode=postcode,
                                  locality="Herent" if postcode == "3020" else "Leuven", **declared)
        return user, fam, f.make_child(db.session, fam, first_name=name.split()[0])

    later = lambda days: NOW + timedelta(days=days)  # noqa: E731
    ann, ann_family, ann_child = family("Ann Aerts", "3020", low_income=True)
    placed = f.make_request(db.session, ann_family, ann_child, locations=[h, lv], actor_id=ann.id, now=NOW)
    f.make_offer(db.session, placed.choices[1], now=later(5))
    requests.accept(db.session, placed, ann_family, placed.choices[1], actor_id=ann.id, now=later(6), today=f.TODAY)

    bart, bart_family, bart_child = family("Bart Boon", "3020")
    waiting = f.make_request(db.session, bart_family, bart_child, locations=[h], actor_id=bart.id, now=NOW)
    tenant, application = f.application_of(db.session, waiting.choices[0])
    applications.waitlist(db.session, tenant, application, actor_id=None, now=later(3))

    chloe, chloe_family, chloe_child = family("Chloé Claes", "3000", single_parent=True)
    f.make_request(db.session, chloe_family, chloe_child, locations=[h], actor_id=chloe.id, now=NOW)

    dirk, dirk_family, dirk_child = family("Dirk Dewit", "3000")
    refused = f.make_request(db.session, dirk_family, dirk_child, locations=[lv], actor_id=dirk.id, now=NOW)
    tenant, application = f.application_of(db.session, refused.choices[0])
    applications.reject(db.session, tenant, application, reason="no_place", text=None, actor_id=None, now=later(10))
    db.session.commit()
    assert ann_family.home_tenant_id == herent.id and dirk_family.home_tenant_id == leuven.id
    return dict(herent=herent, leuven=leuven, h=h_id, lv=lv_id)


def _snapshot(app, region, day=None):
    day = (day or clock.today(app)).isoformat()
    counts = [snapshots.snapshot_now(app, region[slug].slug, day) for slug in ("herent", "leuven")]
    db.session.expire_all()
    return counts


def _rows(day):
    return [(r.tenant_id, r.location_id, r.month, r.age_group, r.waiting, r.offered, r.accepted, r.free_places,
             r.waiting_from_elsewhere, r.waiting_vulnerable) for r in figures.daily(db.session, day=day)]


def test_the_snapshot_equals_the_figures_counted_by_hand(app, region):
    herent, leuven, h, lv = region["herent"], region["leuven"], region["h"], region["lv"]
    today = clock.today(app)
    assert _snapshot(app, region) == [{"records": 3, "rows": 1}, {"records": 2, "rows": 1}]
    # Herent: Bart and Chloé wait (Chloé from Leuven, a single parent), Ann's choice withdrawn;
    # both free places still free. Leuven: Ann placed (her offer took the one place), Dirk refused.
    assert sorted(_rows(today), key=lambda r: r[0] != herent.id) == [
        (herent.id, h, f.START, "baby", 2, 0, 0, 2, 1, 1),
        (leuven.id, lv, f.START, "baby", 0, 0, 1, 0, 0, 0),
    ]
    assert figures.latest_day(db.session, tenant_id=herent.id) == today
    assert [r.waiting for r in figures.daily(db.session, day=today, tenant_id=leuven.id)] == [0]

    month = month_start(TODAY)
    # Requests, not applications: Ann's two choices are one request.
    assert figures.requests_per_month(db.session, since=month, until=month) == {
        month: {"new": 4, "placed": 1, "withdrawn": 1}}
    assert figures.requests_per_month(db.session, since=month, until=month, tenant_id=herent.id) == {
        month: {"new": 3, "placed": 1}}
    assert figures.requests_per_month(db.session, since=month, until=month, tenant_id=leuven.id) == {
        month: {"new": 2, "placed": 1, "withdrawn": 1}}
    assert figures.cross_border(db.session, since=month, until=month) == {
        (herent.id, herent.id): 2, (herent.id, leuven.id): 1, (leuven.id, herent.id): 1, (leuven.id, leuven.id): 1}
    # First answers: Bart waitlisted after 3 days in Herent; in Leuven Ann offered after 5, Dirk refused after 10.
    assert figures.answer_times(db.session, tenant_id=herent.id, since=month, until=month) == {h: (1, 3.0, 3.0)}
    assert figures.answer_times(db.session, tenant_id=leuven.id, since=month, until=month) == {lv: (2, 7.5, 9.5)}
    ann = db.session.scalar(sa.select(ApplicationRecord).where(ApplicationRecord.location_id == lv,
                                                               ApplicationRecord.status == "accepted"))
    assert (ann.placed_days, ann.vulnerable, ann.home_tenant_id, ann.request_status) == (6, True, herent.id, "placed")

    recorded, _ = runs.list_runs(db.session, job="statistics-snapshot")
    assert {(r.tenant_slug, r.outcome, r.counts["records"]) for r in recorded} == {
        (herent.slug, "ok", 3), (leuven.slug, "ok", 2)}


def test_running_the_same_day_again_replaces_its_rows(app, region, make_location):
    today = clock.today(app)
    _snapshot(app, region)
    first = _rows(today)
    _snapshot(app, region)
    assert _rows(today) == first
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DailyFigure)) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApplicationRecord)) == 5
    # Later the same day another family asks in Herent: the day's Herent row is replaced, not doubled.
    user, fam = f.make_family(db.session, name="Eva Eerdekens")
    f.make_request(db.session, fam, f.make_child(db.session, fam), locations=[region["h"]], actor_id=user.id)
    db.session.commit()
    _snapshot(app, region)
    herent_rows = figures.daily(db.session, day=today, tenant_id=region["herent"].id)
    assert [r.waiting for r in herent_rows] == [3]
    # Another day has rows of its own; the first day's stay as they were.
    app.config["CLOCK_NOW"] = (NOW + timedelta(days=1)).isoformat()
    _snapshot(app, region)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DailyFigure)) == 4
    assert [r.waiting for r in figures.daily(db.session, day=today, tenant_id=region["herent"].id)] == [3]


def test_the_figures_survive_the_retention_purge(app, region):
    _snapshot(app, region)
    month = month_start(TODAY)
    before = (figures.requests_per_month(db.session, since=month, until=month),
              figures.cross_border(db.session, since=month, until=month),
              figures.answer_times(db.session, tenant_id=region["leuven"].id, since=month, until=month))
    app.config["CLOCK_NOW"] = (NOW + timedelta(days=5 * 365 + 20)).isoformat()
    plan = retention.run_now(app)
    db.session.expire_all()
    assert sum(map(len, plan.families.values())) == 2  # Ann's and Dirk's requests: closed long ago
    _snapshot(app, region)  # a later snapshot leaves the erased requests' records as they were
    after = (figures.requests_per_month(db.session, since=month, until=month),
             figures.cross_border(db.session, since=month, until=month),
             figures.answer_times(db.session, tenant_id=region["leuven"].id, since=month, until=month))
    assert after == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApplicationRecord)
                             .where(ApplicationRecord.erased.is_(True))) == 3


@pytest.mark.parametrize("slug, day, reason", [("herent", "yesterday", "bad-argument"),
                                                ("nowhere", "2027-01-01", "missing")])
def test_a_bad_job_argument_is_skipped_and_writes_nothing(app, region, slug, day, reason):
    slug = region[slug].slug if slug in region else slug
    assert snapshots.snapshot_now(app, slug, day) is None
    run = runs.last_runs(db.session)["statistics-snapshot"]
    assert (run.outcome, run.error) == ("skipped", reason)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DailyFigure)) == 0
