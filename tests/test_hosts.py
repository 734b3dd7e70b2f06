"""The tenant comes from the Host header, in one place; bad hosts never reach a portal."""

import pytest

from regional_loket.extensions import db
from regional_loket.tenancy import Hosts, services
from regional_loket.tenancy.hosts import rule_for
from regional_loket.tenancy.resolver import HostKind, HostMatch, classify_host

from .conftest import REGION, host_url

REGION_WITH_PORT = "localhost:5000"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost:5000", HostMatch(HostKind.REGION)),
        ("herent.localhost:5000", HostMatch(HostKind.SUBDOMAIN, "herent")),
        ("HERENT.LocalHost:5000", HostMatch(HostKind.SUBDOMAIN, "herent")),  # case-insensitive
        ("herent.localhost.:5000", HostMatch(HostKind.SUBDOMAIN, "herent")),  # FQDN trailing dot
        ("tielt-winge.localhost:5000", HostMatch(HostKind.SUBDOMAIN, "tielt-winge")),
        ("herent.localhost", HostMatch(HostKind.UNKNOWN)),  # port missing
        ("herent.localhost:5001", HostMatch(HostKind.UNKNOWN)),  # other port
        ("herent.localhost:99999", HostMatch(HostKind.UNKNOWN)),  # impossible port
        ("herent.localhost:50a0", HostMatch(HostKind.UNKNOWN)),
        ("a.herent.localhost:5000", HostMatch(HostKind.UNKNOWN)),  # nested subdomain
        ("-herent.localhost:5000", HostMatch(HostKind.UNKNOWN)),
        ("her_ent.localhost:5000", HostMatch(HostKind.UNKNOWN)),
        ("127.0.0.1:5000", HostMatch(HostKind.UNKNOWN)),  # IP literal
        ("127.0.0.1", HostMatch(HostKind.UNKNOWN)),
        ("[::1]:5000", HostMatch(HostKind.UNKNOWN)),
        ("evil.example:5000", HostMatch(HostKind.UNKNOWN)),  # custom domains: default ports only
        ("h\u00e9rent.localhost:5000", HostMatch(HostKind.UNKNOWN)),  # non-ASCII
        ("xn--hrent-bsa.localhost:5000", HostMatch(HostKind.UNKNOWN)),  # punycode is not a slug
        ("a" * 300 + ".localhost:5000", HostMatch(HostKind.UNKNOWN)),  # overlong
        ("", HostMatch(HostKind.UNKNOWN)),
        ("herent..localhost:5000", HostMatch(HostKind.UNKNOWN)),
        ("herent.localhost:5000/x", HostMatch(HostKind.UNKNOWN)),
        ("herent.localhost:5000@evil.example", HostMatch(HostKind.UNKNOWN)),
        ("evil.example", HostMatch(HostKind.DOMAIN, "evil.example")),  # a candidate, looked up
        ("Kinderopvang.Herent.be.", HostMatch(HostKind.DOMAIN, "kinderopvang.herent.be")),
    ],
)
def test_classify_host(host, expected):
    assert classify_host(host, REGION_WITH_PORT) == expected


def test_region_without_port_accepts_default_ports_only():
    assert classify_host("herent.loket.be", "loket.be") == HostMatch(HostKind.SUBDOMAIN, "herent")
    assert classify_host("herent.loket.be:443", "loket.be") == HostMatch(HostKind.SUBDOMAIN, "herent")
    assert classify_host("herent.loket.be:8443", "loket.be") == HostMatch(HostKind.UNKNOWN)
    assert classify_host("loket.be", "loket.be") == HostMatch(HostKind.REGION)


def test_subdomain_serves_its_municipality(client, make_tenant):
    make_tenant("herent", name="Herent")
    make_tenant("leuven", name="Leuven")
    page = client.get("/", base_url="http://herent." + REGION)
    assert page.status_code == 200
    assert "Kinderopvang in Herent" in page.get_data(as_text=True)
    assert "Kinderopvang in Leuven" not in page.get_data(as_text=True)


def test_upper_case_host_serves_the_same_municipality(client, make_tenant):
    make_tenant("herent", name="Herent")
    page = client.get("/", base_url="http://HERENT." + REGION.upper())
    assert page.status_code == 200
    assert "Kinderopvang in Herent" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "host",
    ["evil.example", "127.0.0.1", "unknown." + REGION, "herent." + REGION + ":8080",
     "a.herent." + REGION, "x" * 300 + "." + REGION, "www." + REGION],
)
def test_bad_hosts_get_the_not_found_page(client, make_tenant, host):
    make_tenant("herent", name="Herent")
    page = client.get("/", headers={"Host": host})
    assert page.status_code == 404
    body = page.get_data(as_text=True)
    assert "Pagina niet gevonden" in body
    assert "Herent" not in body


def test_non_ascii_host_gets_the_not_found_page(client):
    page = client.get("/", environ_overrides={"HTTP_HOST": "h\u00e9rent." + REGION})
    assert page.status_code == 404


def test_static_files_are_not_served_on_unknown_hosts(client):
    assert client.get("/static/web/app.css", headers={"Host": "evil.example"}).status_code == 404
    with client.get("/static/web/app.css", base_url=host_url()) as served:
        assert served.status_code == 200
        assert b".rl-header" in served.data


def test_custom_domain_resolves_to_its_municipality(client, make_tenant):
    make_tenant("herent", name="Herent", domains=["kinderopvang.herent.be"])
    page = client.get("/", headers={"Host": "kinderopvang.herent.be"})
    assert page.status_code == 200
    assert "Kinderopvang in Herent" in page.get_data(as_text=True)
    assert client.get("/", headers={"Host": "kinderopvang.leuven.be"}).status_code == 404


def test_archived_municipality_says_so(client, make_tenant):
    make_tenant("herent", name="Herent")
    services.archive_tenant(db.session, "herent")
    db.session.flush()
    page = client.get("/", base_url="http://herent." + REGION)
    assert page.status_code == 410
    assert "niet meer actief" in page.get_data(as_text=True)


def test_region_portal_lists_active_municipalities_with_links(client, make_tenant):
    make_tenant("herent", name="Herent")
    make_tenant("leuven", name="Leuven")
    make_tenant("opwijk", name="Opwijk")
    services.archive_tenant(db.session, "opwijk")
    db.session.flush()
    body = client.get("/", base_url=host_url()).get_data(as_text=True)
    assert f'href="http://herent.{REGION}/"' in body
    assert f'href="http://leuven.{REGION}/"' in body
    assert "Opwijk" not in body


@pytest.mark.parametrize("who", ["anonymous", "french", "logged in", "on herent's host"])
def test_the_directorys_links_are_switch_urls(app, make_tenant, make_user, who):
    """``switch_urls`` (one link built, the host label swapped) gives exactly what
    ``switch_url`` gives each municipality: language carried, hand-over for a login."""
    import flask_login

    from regional_loket.web.urls import switch_url, switch_urls

    tenants = [make_tenant(slug, name=slug.title()) for slug in ("herent", "tielt-winge", "o2")]
    host = f"herent.{REGION}" if who == "on herent's host" else REGION
    headers = {"Cookie": "lang=fr"} if who in ("french", "on herent's host") else {}
    with app.test_request_context("/", base_url=f"http://{host}", headers=headers):
        if who == "logged in":
            flask_login.login_user(make_user())
        one_by_one = [switch_url(t) for t in tenants]
        assert switch_urls(tenants) == one_by_one
        assert switch_urls(tenants, "catalog.search_page", gemeente="x y") == [
            switch_url(t, "catalog.search_page", gemeente="x y") for t in tenants]
    expected = {"anonymous": f"http://herent.{REGION}/", "french": f"http://herent.{REGION}/?lang=fr",
                "logged in": f"/sessie/naar?to=http://herent.{REGION}/",
                "on herent's host": f"http://herent.{REGION}/"}[who]
    assert one_by_one[0] == expected
    if who == "on herent's host":
        assert one_by_one[1] == f"http://tielt-winge.{REGION}/?lang=fr"


# --- which hosts a route serves: declared per blueprint, enforced by the resolver --------------


def test_every_route_declares_the_hosts_it_serves(app):
    """``tenancy.serves(bp, …)`` on its blueprint or ``@only_on(…)`` on the view: a route that
    declares neither is served nowhere, so it must not reach production."""
    missing = sorted({rule.endpoint for rule in app.url_map.iter_rules() if rule_for(app, rule.endpoint) is None})
    assert missing == [], f"routes without a host declaration (tenancy.serves / only_on): {missing}"


@pytest.mark.parametrize("path", ["/beheer/regio/", "/aanvragen/", "/aanvragen/nieuw", "/gezin/", "/toeleider/"])
def test_region_pages_are_not_found_on_a_municipal_host(client, make_tenant, path):
    herent = make_tenant("herent")
    assert client.get(path, base_url=host_url(herent)).status_code == 404


@pytest.mark.parametrize("path", ["/beheer/", "/opvang/", "/logo"])
def test_municipal_pages_are_not_found_on_the_region(client, path):
    """Anonymous visitors included: the host decides before the login is asked for."""
    assert client.get(path, base_url=host_url()).status_code == 404


@pytest.mark.parametrize("path", ["/", "/zoeken", "/healthz", "/branding.css", "/api/v1/municipalities"])
def test_pages_of_every_host_are_served_on_both(client, make_tenant, path):
    herent = make_tenant("herent")
    for base in (host_url(), host_url(herent)):
        assert client.get(path, base_url=base).status_code == 200, base


@pytest.mark.parametrize("path", ["/aanmelden", "/registreren", "/registreren/opnieuw", "/wachtwoord-vergeten"])
def test_account_pages_on_a_municipal_host_lead_to_the_region_keeping_next(client, make_tenant, path):
    herent = make_tenant("herent")
    response = client.get(path, query_string={"next": "/opvang/"}, base_url=host_url(herent))
    assert response.status_code == 302
    assert response.headers["Location"] == f"http://{REGION}{path}?next=http://herent.{REGION}/opvang/"
    assert client.get(path, base_url=host_url()).status_code == 200


def test_an_undeclared_route_is_served_nowhere(committed, caplog):
    app, (slug,) = committed(1)
    app.add_url_rule("/_undeclared", "undeclared", lambda: "served")
    client = app.test_client()
    for base in (host_url(), f"http://{slug}.{REGION}"):
        assert client.get("/_undeclared", base_url=base).status_code == 404
    assert "undeclared declares no hosts" in caplog.text


def test_a_view_declaration_overrides_its_blueprint(app):
    assert rule_for(app, "accounts.profile").hosts is Hosts.ALL  # the blueprint's
    assert rule_for(app, "accounts.login").hosts is Hosts.REGION  # the view's own
    assert rule_for(app, "accounts.login").elsewhere is not None
    assert rule_for(app, "web.static").hosts is Hosts.ALL  # a blueprint's static files too
