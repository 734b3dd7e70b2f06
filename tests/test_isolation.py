"""Tenant isolation: a tenant's queries never see another tenant's rows; cross-tenant work is
explicit and atomic."""

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from regional_loket.extensions import db
from regional_loket.tenancy import TenantMismatchError, bind_tenant, tenant_scope
from regional_loket.tenancy.models import AuditEntry, Tenant

from .conftest import PROBE, host_url


def _audit(tenant, action):
    with tenant_scope(db.session, tenant):
        db.session.add(AuditEntry(action=action, detail={}))


def _actions(session):
    return sorted(session.scalars(select(AuditEntry.action)))


@pytest.fixture
def two_tenants(make_tenant):
    herent, leuven = make_tenant("herent", name="Herent"), make_tenant("leuven", name="Leuven")
    _audit(herent, "herent-1")
    _audit(herent, "herent-2")
    _audit(leuven, "leuven-1")
    return herent, leuven


def test_bound_session_sees_only_its_tenant(app, two_tenants):
    herent, leuven = two_tenants
    bind_tenant(db.session, herent)
    assert _actions(db.session) == ["herent-1", "herent-2"]
    bind_tenant(db.session, leuven)
    assert _actions(db.session) == ["leuven-1"]


def test_unbound_session_cannot_read_tenant_tables(app, two_tenants):
    bind_tenant(db.session, None)
    with pytest.raises(sa.exc.ProgrammingError, match='schema "tenant" does not exist|relation "tenant.audit_log"'):
        db.session.execute(select(AuditEntry)).all()


def test_tenant_scope_returns_to_the_previous_binding(app, two_tenants):
    herent, leuven = two_tenants
    bind_tenant(db.session, herent)
    with tenant_scope(db.session, leuven):
        assert _actions(db.session) == ["leuven-1"]
    assert _actions(db.session) == ["herent-1", "herent-2"]


def test_writing_a_row_while_another_tenant_is_bound_is_refused(app, two_tenants):
    herent, leuven = two_tenants
    bind_tenant(db.session, herent)
    entry = db.session.scalars(select(AuditEntry)).first()
    bind_tenant(db.session, leuven)
    entry.note = "written into the wrong schema?"
    with pytest.raises(TenantMismatchError):
        db.session.flush()


def test_adding_a_tenant_row_without_a_tenant_is_refused(app):
    bind_tenant(db.session, None)
    db.session.add(AuditEntry(action="orphan", detail={}))
    with pytest.raises(TenantMismatchError):
        db.session.flush()


def test_cross_tenant_work_is_one_transaction(app, make_tenant):
    """A failure while writing the third tenant leaves nothing written in the first two."""
    tenants = [make_tenant() for _ in range(3)]
    savepoint = db.session.begin_nested()
    with pytest.raises(sa.exc.IntegrityError):
        for index, tenant in enumerate(tenants):
            with tenant_scope(db.session, tenant):
                # The third write breaks a NOT NULL constraint.
                db.session.add(AuditEntry(action=None if index == 2 else f"write-{index}", detail={}))
    savepoint.rollback()
    for tenant in tenants:
        with tenant_scope(db.session, tenant):
            assert _actions(db.session) == []


def test_each_host_sees_only_its_own_rows(client, two_tenants):
    herent, leuven = two_tenants
    for _ in range(3):  # alternate, to catch anything carried over between requests
        assert client.get(PROBE, base_url=host_url(herent)).json == {
            "tenant": "herent", "actions": ["herent-1", "herent-2"]}
        assert client.get(PROBE, base_url=host_url(leuven)).json == {
            "tenant": "leuven", "actions": ["leuven-1"]}


def test_region_host_is_bound_to_no_tenant(client, two_tenants):
    # The placeholder schema does not exist: a tenant query on the regional host fails closed.
    with pytest.raises(sa.exc.ProgrammingError, match='"tenant'):
        client.get(PROBE, base_url=host_url())


def test_every_tenant_table_keeps_its_rows_to_its_tenant(app, make_tenant, make_location, make_user):
    """Rows of every tenant table written for Herent are invisible to Leuven, and vice versa."""
    from datetime import date

    from regional_loket.care_requests import services as requests
    from regional_loket.database import utcnow
    from regional_loket.extensions import db as database
    from regional_loket.families import services as families
    from regional_loket.tenancy.services import tenant_tables

    herent, leuven = make_tenant("herent"), make_tenant("leuven")
    herent_place = make_location(herent, "Alleen Herent", free={(date.today().replace(day=1), "baby"): 1})
    make_location(leuven, "Alleen Leuven", postcode="3000", locality="Leuven")
    parent = make_user("parent")
    family = families.ensure_family(database.session, parent, language="nl")
    family.postcode = "3020"
    child = families.add_child(database.session, family, first_name="Iso", last_name="Latie",
                               birth_date=date.today().replace(day=1, year=date.today().year - 1), due_date=None,
                               national_number=None, pepper="p", today=date.today())
    care = requests.draft(database.session, family, child, actor_id=None)
    requests.set_plan(care, child, start_date=date.today().replace(day=28), flexibility_weeks=0,
                      care_plan={"1": "full"}, keep_higher_choices=False, today=date.today())
    requests.add_choice(database.session, care, child, herent_place.id)
    requests.submit(database.session, care, family, child, actor_id=None, now=utcnow(), today=date.today())
    _audit(herent, "herent-only")
    models = {table.name: table for table in tenant_tables()}
    assert {"audit_log", "locations", "availability", "applications", "application_events"} <= set(models)
    for mine, other in ((herent, leuven), (leuven, herent)):
        with tenant_scope(database.session, other):
            other_ids = set()
            for table in models.values():
                other_ids |= {row.id for row in database.session.execute(sa.select(table.c.id))}
        with tenant_scope(database.session, mine):
            for name, table in models.items():
                ids = {row.id for row in database.session.execute(sa.select(table.c.id))}
                assert not ids & other_ids, name
    with tenant_scope(database.session, leuven):
        assert database.session.execute(sa.select(models["applications"].c.id)).all() == []


def test_a_desk_confirms_only_requests_it_has_business_with(app, make_tenant, make_location, make_user):
    """Confirming by phone (``/beheer/gezinnen/<id>/aanvragen/<id>/bevestigen``): Leuven's desk
    has no business with a Herent family applying in Herent only — 404 on its host, a login
    page on Herent's — and the request is unchanged."""
    from regional_loket.care_requests import CareRequest

    from . import factories
    from .conftest import hand_over, login

    herent, leuven = make_tenant("herent"), make_tenant("leuven")
    place = make_location(herent, "Alleen Herent")
    _, family = factories.make_family(db.session)
    care = factories.make_request(db.session, family, factories.make_child(db.session, family), locations=[place])
    confirmed_at = care.confirmed_at
    url = f"/beheer/gezinnen/{family.id}/aanvragen/{care.id}/bevestigen"
    client = app.test_client()
    login(client, make_user("coordinator", tenant=leuven))
    hand_over(client, leuven, "/beheer/")
    data = {"method": "phone", "consent": "y"}
    assert client.post(url, data=data, base_url=host_url(leuven)).status_code == 404
    # On Herent's host it has no session (sessions are per host): sent to log in, nothing done.
    answer = client.post(url, data=data, base_url=host_url(herent))
    assert answer.status_code == 302 and "/aanmelden" in answer.headers["Location"]
    db.session.expire_all()
    assert db.session.get(CareRequest, care.id).confirmed_at == confirmed_at


# --- the search cache (catalog/cache.py) ------------------------------------------------------


def test_a_cached_search_of_one_portal_is_never_served_on_another(committed):
    """Each municipal portal starts filtered to its own municipality, and keeps an inactive
    location of its own out of its answers: a cached answer from one portal must not leak
    to the other or the region, even for the same URL."""
    from .test_search_cache import CACHE, _location

    app, slugs = committed(2, **CACHE)
    with app.app_context():
        first, second = (db.session.scalar(select(Tenant).where(Tenant.slug == s)) for s in slugs)
        _location(first, "Zichtbaar Eerste")
        _location(second, "Zichtbaar Tweede")
        _location(second, "Gesloten Tweede", active=False)
        db.session.commit()
        hosts = {"first": host_url(first), "second": host_url(second), "region": host_url()}
    assert app.extensions["search_cache"].generation.wait_for_change(None, timeout=10) is not None
    client = app.test_client()
    for _ in range(2):  # the second round is answered from the cache
        on_first = client.get("/zoeken", base_url=hosts["first"]).data.decode()
        on_second = client.get("/zoeken", base_url=hosts["second"]).data.decode()
        on_region = client.get(f"/zoeken?gemeente={slugs[0]}&gemeente={slugs[1]}", base_url=hosts["region"]).data
        assert "Zichtbaar Eerste" in on_first and "Zichtbaar Tweede" not in on_first
        assert "Zichtbaar Tweede" in on_second and "Zichtbaar Eerste" not in on_second
        assert b"Zichtbaar Eerste" in on_region and b"Zichtbaar Tweede" in on_region
        assert not any("Gesloten Tweede" in page for page in (on_first, on_second, on_region.decode()))
