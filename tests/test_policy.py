"""Authorization lives in one layer: every route declares a policy, and the role matrix holds."""

import pytest

from regional_loket.accounts.policy import Policy

from .conftest import hand_over, host_url, login


def _is_static(endpoint):
    """Flask's own file routes (the app's and each blueprint's static folder)."""
    return endpoint == "static" or endpoint.endswith(".static")


def test_every_route_declares_a_policy(app):
    missing = [
        endpoint for endpoint, view in app.view_functions.items()
        if not _is_static(endpoint) and endpoint != "probe" and not isinstance(getattr(view, "policy", None), Policy)
    ]
    assert missing == [], f"routes without @public, @login_required or @require: {missing}"


# (path, host) → who may open it: roles listed get 200, others 403, anonymous a login redirect.
BACK_OFFICE = [
    ("/beheer/regio/", None, {"admin"}),
    ("/beheer/regio/gebruikers", None, {"admin"}),
    ("/beheer/regio/gezondheid", None, {"admin"}),
    ("/beheer/", "herent", {"coordinator_herent", "admin"}),
    ("/opvang/", "herent", {"staff_herent", "coordinator_herent", "admin"}),
    ("/toeleider/", None, {"referrer"}),
]
PEOPLE = ["parent", "referrer", "staff_herent", "coordinator_herent", "coordinator_leuven", "admin"]


@pytest.fixture
def people(make_tenant, make_user):
    herent, leuven = make_tenant("herent"), make_tenant("leuven")
    return {
        "tenants": {"herent": herent, "leuven": leuven},
        "parent": make_user(),
        "referrer": make_user("referrer", organisation="OCMW Leuven"),
        "staff_herent": make_user("provider_staff", tenant=herent),
        "coordinator_herent": make_user("coordinator", tenant=herent),
        "coordinator_leuven": make_user("coordinator", tenant=leuven),
        "admin": make_user("admin"),
    }


@pytest.mark.parametrize(("path", "slug", "allowed"), BACK_OFFICE)
def test_role_matrix(app, people, path, slug, allowed):
    tenant = people["tenants"].get(slug)
    anonymous = app.test_client().get(path, base_url=host_url(tenant))
    assert anonymous.status_code == 302 and "/aanmelden" in anonymous.headers["Location"]
    for who in PEOPLE:
        client = app.test_client()
        login(client, people[who])
        if tenant is not None:  # bring the login to the municipal host
            hand_over(client, tenant, path)
        status = client.get(path, base_url=host_url(tenant)).status_code
        assert status == (200 if who in allowed else 403), (who, path, status)


def test_coordinator_of_one_municipality_is_a_stranger_in_another(app, people):
    client = app.test_client()
    login(client, people["coordinator_leuven"])
    herent = people["tenants"]["herent"]
    hand_over(client, herent, "/beheer/")
    assert client.get("/beheer/", base_url=host_url(herent)).status_code == 403


def test_region_pages_do_not_exist_on_municipal_hosts(app, people):
    client = app.test_client()
    login(client, people["admin"])
    herent = people["tenants"]["herent"]
    hand_over(client, herent, "/")
    assert client.get("/beheer/regio/", base_url=host_url(herent)).status_code == 404
    assert client.get("/beheer/", base_url=host_url()).status_code == 404


def test_can_checks_location_for_provider_staff(people):
    import uuid

    from regional_loket.accounts import can, services
    from regional_loket.extensions import db

    herent = people["tenants"]["herent"]
    mine, other = uuid.uuid4(), uuid.uuid4()
    staff = people["staff_herent"]
    services.grant(db.session, staff, "provider_staff", tenant=herent, location_ids=[mine])
    assert can(staff, "provider_staff", tenant=herent, location_id=mine)
    assert not can(staff, "provider_staff", tenant=herent, location_id=other)
    assert not can(staff, "provider_staff", tenant=people["tenants"]["leuven"], location_id=mine)
    assert can(people["admin"], ("provider_staff", "admin"), tenant=herent, location_id=other)
