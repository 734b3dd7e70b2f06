"""Tenant isolation: a tenant's queries never see another tenant's rows; cross-tenant work is
explicit and atomic."""

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from regional_loket.extensions import db
from regional_loket.tenancy import TenantMismatchError, bind_tenant, tenant_scope
from regional_loket.tenancy.models import AuditEntry

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
