"""One clock, and every job run recorded outside the job's own transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from regional_loket import clock
from regional_loket.extensions import db
from regional_loket.jobs import recorded, runs
from regional_loket.tenancy.models import Tenant


def test_the_test_clock_moves_now_and_today(app):
    app.config["CLOCK_NOW"] = "2027-03-31T23:30:00+00:00"
    try:
        assert clock.now() == datetime(2027, 3, 31, 23, 30, tzinfo=UTC)
        # 01:30 in Brussels (summer time): the region's day is already the first of April
        assert clock.today() == date(2027, 4, 1)
        app.config["CLOCK_NOW"] = date(2027, 5, 2)
        assert clock.today() == date(2027, 5, 2)
    finally:
        app.config["CLOCK_NOW"] = None
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5


def test_the_test_clock_is_ignored_outside_tests(app):
    app.config.update(CLOCK_NOW="2001-01-01T00:00:00+00:00", TESTING=False)
    try:
        assert clock.now().year > 2001
    finally:
        app.config.update(CLOCK_NOW=None, TESTING=True)


def test_a_run_is_recorded_with_its_counts(app):
    with recorded(app, "test-counting", tenant_slug="herent") as run:
        run.count("reminded")
        run.count("reminded", 2)
    rows, total = runs.list_runs(db.session, job="test-counting")
    assert total == 1
    assert (rows[0].outcome, rows[0].tenant_slug, rows[0].counts) == ("ok", "herent", {"reminded": 3})
    assert rows[0].finished_at >= rows[0].started_at


def test_a_failed_run_keeps_its_record_when_the_work_rolls_back(app, make_tenant):
    make_tenant(slug="runfail")
    db.session.commit()
    with pytest.raises(ZeroDivisionError), recorded(app, "test-failing") as run:
        db.session.execute(sa.update(Tenant).where(Tenant.slug == "runfail").values(name="half-done"))
        run.count("touched")
        try:
            raise ZeroDivisionError("division by zero")
        finally:
            db.session.rollback()
    assert db.session.scalar(sa.select(Tenant.name).where(Tenant.slug == "runfail")) != "half-done"
    row = runs.last_runs(db.session)["test-failing"]
    assert row.outcome == "failed"
    assert row.error.startswith("ZeroDivisionError")
    assert row.counts == {"touched": 1}


def test_a_skipped_run_says_why(app):
    with recorded(app, "test-skipping", tenant_slug="gone") as run:
        run.skip("archived")
    row = runs.last_runs(db.session)["test-skipping"]
    assert (row.outcome, row.error) == ("skipped", "archived")
