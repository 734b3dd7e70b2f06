"""The administrators' health page: failed jobs shown and retried, a dead scheduler shown loudly,
a page that still renders with Redis down, migrate-all as a job with its progress, and nobody
but an administrator gets in. Real Redis and PostgreSQL."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import redis
import sqlalchemy as sa

from regional_loket import jobs
from regional_loket.admin import health
from regional_loket.extensions import db
from regional_loket.jobs import runs
from regional_loket.tenancy import RegionAuditEntry

from .conftest import free_port, host_url, login, work_burst

PAGE = "/beheer/regio/gezondheid"


def broken_job(slug):
    """What a job's bug looks like to rq."""
    raise RuntimeError(f"kapot voor {slug}")


@pytest.fixture
def own_queue(app):
    """A queue (and Redis keys) of this test's own; removed afterwards."""
    before = app.config["JOBS_QUEUE"]
    app.config["JOBS_QUEUE"] = f"test-{uuid.uuid4().hex[:10]}"
    yield app
    connection = jobs.redis_connection(app)
    for key in connection.scan_iter(f"*{app.config['JOBS_QUEUE']}*"):
        connection.delete(key)
    app.config["JOBS_QUEUE"] = before


@pytest.fixture
def admin_client(app, make_user):
    client = app.test_client()
    login(client, make_user("admin"))
    return client


def page(client):
    response = client.get(PAGE, base_url=host_url())
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_a_failed_job_is_shown_and_retried_with_an_audit_line(own_queue, admin_client):
    app = own_queue
    assert jobs.enqueue(app, broken_job, "herent", job_id="test-broken-herent", retry=None)
    work_burst(app)
    html = page(admin_client)
    assert 'data-failed-job="test-broken-herent"' in html
    assert "kapot voor herent" in html
    assert re.search(r'data-health="failed-jobs">1<', html)

    answer = admin_client.post(f"{PAGE}/taken/test-broken-herent/opnieuw", base_url=host_url())
    assert answer.status_code == 302
    assert jobs.queue(app).job_ids == ["test-broken-herent"]  # back in the queue
    assert 'data-failed-job="test-broken-herent"' not in page(admin_client)
    entry = db.session.scalars(sa.select(RegionAuditEntry).where(RegionAuditEntry.action == "jobs.retry")).one()
    assert entry.subject == "test-broken-herent" and entry.detail["tenant"] == "herent"
    assert entry.detail["function"] == "broken_job" and entry.actor_role == "admin"


def test_the_buttons_need_the_forms_csrf_token(own_queue, admin_client):
    app = own_queue
    assert jobs.enqueue(app, broken_job, "herent", job_id="test-broken-csrf", retry=None)
    work_burst(app)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        for path in (f"{PAGE}/taken/test-broken-csrf/opnieuw", f"{PAGE}/migraties"):
            admin_client.post(path, base_url=host_url())
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert jobs.queue(app).count == 0  # nothing retried, nothing started
    assert 'data-failed-job="test-broken-csrf"' in page(admin_client)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RegionAuditEntry)) == 0


def test_retrying_a_job_that_is_not_failed_says_so_and_changes_nothing(own_queue, admin_client):
    for job_id in ("no-such-job", "bad%20id!"):
        answer = admin_client.post(f"{PAGE}/taken/{job_id}/opnieuw", base_url=host_url(), follow_redirects=True)
        assert "Deze taak staat niet (meer) bij de mislukte taken." in answer.get_data(as_text=True)
    assert jobs.queue(own_queue).count == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RegionAuditEntry)) == 0


def test_a_stale_scheduler_is_shown_loudly_and_a_fresh_one_is_not(own_queue, admin_client):
    app = own_queue
    assert 'data-health="scheduler-dead"' in page(admin_client)  # never beat
    jobs.record_heartbeat(app, now=time.time() - 3600)
    html = page(admin_client)
    assert 'data-health="scheduler-dead"' in html and "De planner draait niet." in html
    jobs.record_heartbeat(app)
    assert 'data-health="scheduler-dead"' not in page(admin_client)


def test_the_page_renders_with_redis_down(own_queue, admin_client):
    app = own_queue
    state = jobs._state(app)
    working = state.connection
    state.connection = redis.Redis(port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        html = page(admin_client)
    finally:
        state.connection.close()
        state.connection = working
    assert 'data-health="queue-unknown"' in html
    assert re.search(r'data-health="redis"><span class="utrecht-status-badge utrecht-status-badge--danger">', html)
    assert re.search(r'data-health="database"><span class="utrecht-status-badge utrecht-status-badge--active">', html)
    assert 'data-health="scheduler-dead"' in html  # its heartbeat cannot be read: shown, not hidden


def test_every_periodic_job_is_listed_with_its_last_run_and_late_ones_flagged(own_queue, admin_client):
    app = own_queue
    with runs.recorded(app, "catalog-drift") as run:
        run.count("checked", 3)
        run.count("drifted", 1)
    html = page(admin_client)
    for job in jobs.periodic_jobs(app):
        assert f'data-periodic="{job.name}"' in html
    row = re.search(r'data-periodic="catalog-drift">(.*?)</tr>', html, re.S)[1]
    assert "checked: 3" in row and "drifted: 1" in row
    assert 'data-health="catalog-drift"' in html  # the alert
    # The drift check's run just went well (Redis has no success for it: the run counts); a job
    # that never ran anywhere (no record in this test database, nothing in this queue) is late.
    assert "data-late" not in row
    recorded = runs.last_runs(db.session)
    never = [job.name for job in jobs.periodic_jobs(app) if job.name not in recorded]
    assert never  # this queue's scheduler never ran: some job has no run at all
    for name in never:
        assert "data-late" in re.search(rf'data-periodic="{re.escape(name)}">(.*?)</tr>', html, re.S)[1], name


def test_mail_not_delivered_is_counted(own_queue, admin_client):
    from datetime import timedelta

    from regional_loket.database import utcnow
    from regional_loket.notifications.models import Notification
    from regional_loket.notifications.services import notify

    before = page(admin_client)
    pending = int(re.search(r'data-health="mail-pending">(\d+)<', before)[1])
    row = notify(db.session, recipient_email="ouder@example.be", language="nl", template="notice",
                 data={"subject": "x", "paragraphs": ["y"]}, idempotency_key=f"test:{uuid.uuid4()}")
    db.session.execute(sa.update(Notification).where(Notification.id == row.id)
                       .values(created_at=utcnow() - timedelta(hours=2)))
    db.session.flush()
    html = page(admin_client)
    assert int(re.search(r'data-health="mail-pending">(\d+)<', html)[1]) == pending + 1
    assert re.search(r'data-health="mail-overdue"><span[^>]*>\d+<', html)


def test_migrate_all_runs_as_a_job_with_its_progress(own_queue, admin_client, make_tenant):
    app = own_queue
    make_tenant("herent")
    html = page(admin_client)
    assert 'data-schema="herent"' in html

    answer = admin_client.post(f"{PAGE}/migraties", base_url=host_url(), follow_redirects=True)
    assert "De migraties zijn gestart." in answer.get_data(as_text=True)
    assert jobs.queue(app).job_ids == [health.MIGRATION]
    html = page(admin_client)
    assert 'data-state="queued"' in html and '<meta http-equiv="refresh"' in html
    # A second click while it waits starts nothing more.
    again = admin_client.post(f"{PAGE}/migraties", base_url=host_url(), follow_redirects=True)
    assert "De migraties lopen al." in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RegionAuditEntry)
                             .where(RegionAuditEntry.action == "tenants.migrate_all")) == 1

    jobs.queue(app).empty()
    health.run_migrations_now(app)  # what the worker runs
    html = page(admin_client)
    assert 'data-state="done"' in html and '<meta http-equiv="refresh"' not in html
    run = runs.last_runs(db.session)[health.MIGRATION]
    assert run.outcome == "ok" and run.counts["failed"] == 0


def test_the_schema_versions_are_read_again_only_when_not_all_good_or_after_a_few_seconds(
        own_queue, admin_client, make_tenant, count_queries):
    """The page shares /readyz's memory of a good answer (every municipality at head) for
    TENANT_VERSIONS_CACHE_SECONDS; a municipality behind is read again at every visit."""
    from regional_loket.tenancy import migrate, versions

    app = own_queue
    cache = versions.version_cache(app)
    clock, window = [1000.0], app.config["TENANT_VERSIONS_CACHE_SECONDS"]
    cache.clock, cache.seconds = (lambda: clock[0]), window
    cache.clear()
    herent = make_tenant("herent")
    head = migrate.head()
    older = migrate.script_directory(migrate.TENANT_TRACK).get_revision(head).down_revision

    def visit():
        with count_queries() as count:
            html = page(admin_client)
        return html, any(f'"{herent.schema}".alembic_version' in s for s in count.statements)

    try:
        db.session.execute(sa.text(f'UPDATE "{herent.schema}".alembic_version SET version_num = :v'), {"v": older})
        for _ in range(2):
            html, scanned = visit()
            assert scanned and f'<td class="utrecht-table__cell">{older}</td>' in html
        db.session.execute(sa.text(f'UPDATE "{herent.schema}".alembic_version SET version_num = :v'), {"v": head})
        html, scanned = visit()
        assert scanned and f'<td class="utrecht-table__cell">{older}</td>' not in html  # migrated: shown at once
        clock[0] += window - 0.1
        assert visit()[1] is False
        clock[0] += 0.2
        assert visit()[1] is True
    finally:
        cache.clock, cache.seconds = time.monotonic, app.config["TENANT_VERSIONS_CACHE_SECONDS"]
        cache.clear()


NOT_ADMIN = ["parent", "referrer", "staff", "coordinator"]


@pytest.mark.parametrize("who", NOT_ADMIN)
def test_nobody_but_an_administrator_gets_in(app, make_tenant, make_user, who, own_queue):
    herent = make_tenant("herent")
    user = {"parent": lambda: make_user(), "referrer": lambda: make_user("referrer", organisation="OCMW"),
            "staff": lambda: make_user("provider_staff", tenant=herent),
            "coordinator": lambda: make_user("coordinator", tenant=herent)}[who]()
    assert jobs.enqueue(app, broken_job, "herent", job_id="test-broken", retry=None)
    work_burst(app)
    client = app.test_client()
    login(client, user)
    assert client.get(PAGE, base_url=host_url()).status_code == 403
    assert client.post(f"{PAGE}/taken/test-broken/opnieuw", base_url=host_url()).status_code == 403
    assert client.post(f"{PAGE}/migraties", base_url=host_url()).status_code == 403
    assert jobs.queue(app).count == 0  # nothing retried, nothing started
    anonymous = app.test_client().get(PAGE, base_url=host_url())
    assert anonymous.status_code == 302 and "/aanmelden" in anonymous.headers["Location"]
    # Not on a municipality's host either.
    assert client.get(PAGE, base_url=host_url(herent)).status_code == 404
