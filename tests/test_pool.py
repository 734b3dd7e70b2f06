"""A pooled connection never carries one tenant's schema into the next request."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from regional_loket.extensions import db
from regional_loket.tenancy import migrate, services, tenant_scope
from regional_loket.tenancy.models import AuditEntry

from .conftest import PROBE, REGION


@pytest.fixture
def pooled(committed):
    """An app with a pool of ``pool_size`` real connections and two committed tenants,
    each holding one audit row of its own."""

    def build(pool_size):
        app, slugs = committed(2, SQLALCHEMY_ENGINE_OPTIONS={
            "pool_size": pool_size, "max_overflow": 0, "pool_timeout": 30})
        with app.app_context():
            for slug in slugs:
                with tenant_scope(db.session, services.get_tenant(db.session, slug)):
                    db.session.add(AuditEntry(action=f"only-{slug}", detail={}))
            db.session.commit()
        return app, slugs

    return build


def _search_path(app):
    with app.app_context(), db.engine.connect() as connection:
        return connection.exec_driver_sql("SHOW search_path").scalar()


def test_alternating_tenants_over_one_pooled_connection(pooled):
    app, slugs = pooled(pool_size=1)
    default_path = _search_path(app)
    client = app.test_client()
    for round_ in range(20):
        slug = slugs[round_ % 2]
        response = client.get(PROBE, base_url=f"http://{slug}.{REGION}")
        assert response.json == {"tenant": slug, "actions": [f"only-{slug}"]}
        assert _search_path(app) == default_path
    with app.app_context():
        assert db.engine.pool.size() == 1


def test_concurrent_requests_from_threads_never_mix_tenants(pooled):
    app, slugs = pooled(pool_size=2)

    def hit(index):
        slug = slugs[index % 2]
        response = app.test_client().get(PROBE, base_url=f"http://{slug}.{REGION}")
        return slug, response.json

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(hit, range(200)))
    for slug, body in results:
        assert body == {"tenant": slug, "actions": [f"only-{slug}"]}


def test_a_migration_leaves_no_search_path_on_the_pooled_connection(pooled):
    app, slugs = pooled(pool_size=1)
    default_path = _search_path(app)
    with app.app_context():
        with db.engine.begin() as connection:
            migrate.upgrade_tenant(connection, "gem_" + slugs[0])
            assert connection.exec_driver_sql("SHOW search_path").scalar() == f"gem_{slugs[0]}"
    assert _search_path(app) == default_path
