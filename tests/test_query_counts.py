"""Pages whose number of SQL statements must not grow with what they show: one more choice or a
hundred more applications may cost rows, never round trips (an N+1 shows up here first)."""

import re
import uuid
from urllib.parse import urljoin, urlsplit

from regional_loket.database import utcnow
from regional_loket.extensions import db

from . import factories as f
from .conftest import host_url, login


def _request_page_statements(app, count_queries, choices: int):
    """Statements of GET /aanvragen/<id> for a request with ``choices`` waiting choices in one
    municipality, each with a message in its history."""
    tenant = f.make_tenant(db.session)
    places = [f.make_location(db.session, tenant, f"Locatie {n}") for n in range(choices)]
    user, family = f.make_family(db.session)
    child = f.make_child(db.session, family)
    care = f.make_request(db.session, family, child, locations=places, actor_id=user.id)
    for choice in care.choices:
        f.requests.message(db.session, choice, "Nog plaats?", actor_id=user.id, now=utcnow())
    db.session.flush()
    client = app.test_client()
    login(client, user)
    client.get(f"/aanvragen/{care.id}", base_url=host_url())  # warm: translations, templates
    with count_queries() as count:
        page = client.get(f"/aanvragen/{care.id}", base_url=host_url())
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert body.count("Nog plaats?") == choices and body.count("plaats 1 op de wachtlijst") == choices
    return count


def test_the_familys_request_page_does_not_grow_with_its_choices(app, count_queries):
    one = _request_page_statements(app, count_queries, 1)
    three = _request_page_statements(app, count_queries, 3)
    print(f"request page: {one()} statements with 1 choice, {three()} with 3")
    # Every waiting choice's place comes from one statement per municipality (the lists' window
    # functions UNION-ed), so three choices in one municipality cost what one does.
    assert three() <= one(), f"{one()} → {three()}:\n{three}"


def _follow(client, url: str, hops: int = 8):
    """GET ``url`` and follow its redirects across the region's hosts (the test client follows
    only within one host)."""
    for _ in range(hops):
        parts = urlsplit(url)
        response = client.get(parts.path, query_string=parts.query, base_url=f"{parts.scheme}://{parts.netloc}")
        if response.status_code not in (301, 302, 303):
            return response
        url = urljoin(url, response.headers["Location"])
    raise AssertionError(f"more than {hops} redirects: {url}")


def _inbox_statements(app, count_queries, rows: int):
    tenant = f.make_tenant(db.session)
    location = f.make_location(db.session, tenant, free={(f.START, "baby"): rows})
    staff = f.make_user(db.session, "provider_staff", tenant=tenant, locations=[location.id])
    location_id = location.id
    for n in range(rows):
        _user, family = f.make_family(db.session, low_income=n % 3 == 0)
        child = f.make_child(db.session, family, first_name=f"Kind{n}")
        care = f.make_request(db.session, family, child, locations=[location_id])
        if n % 5 == 0:
            f.make_offer(db.session, care.choices[0])
        elif n % 7 == 0:
            _tenant, application = f.application_of(db.session, care.choices[0])
            f.applications.waitlist(db.session, tenant, application, actor_id=None, now=utcnow())
    db.session.flush()
    client = app.test_client()
    login(client, staff)
    path = f"/opvang/{location_id}/"
    warm = _follow(client, f"{host_url()}/sessie/naar?to={host_url(tenant)}{path}")  # hand-over, page once
    assert warm.status_code == 200 and warm.request.path == path
    with count_queries() as count:
        page = client.get(path, base_url=host_url(tenant))
    assert page.status_code == 200
    assert page.get_data(as_text=True).count("Kind") >= min(rows, 40)
    return count


def test_the_provider_inbox_does_not_grow_with_its_applications(app, count_queries):
    ten = _inbox_statements(app, count_queries, 10)
    sixty = _inbox_statements(app, count_queries, 60)
    print(f"provider inbox: {ten()} statements with 10 applications, {sixty()} with 60")
    assert sixty() <= ten(), f"{ten()} → {sixty()}:\n{sixty}"


def _add_municipalities(count: int, listed: dict) -> None:
    """``count`` more municipalities, each with three localities under two postcodes (the
    second code twice, listed before the first: the page lists each code once, ascending)."""
    from regional_loket.tenancy import Postcode

    for _ in range(count):
        n = len(listed)
        tenant = f.make_tenant(db.session, name=f"Gemeente {n:02d} {uuid.uuid4().hex[:6]}")
        low, high = f"{3000 + 2 * n:04d}", f"{3001 + 2 * n:04d}"
        for code, place in ((high, "Noord"), (low, "Centrum"), (high, "Zuid")):
            tenant.postcodes.append(Postcode(code=code, locality=f"{place} {tenant.slug}", lat=50.9, lon=4.7))
        listed[tenant.name] = f"{low}, {high}"
    db.session.flush()


def _region_home_statements(app, count_queries, listed: dict):
    client = app.test_client()
    client.get("/", base_url=host_url())  # warm: translations, templates
    with count_queries() as count:
        page = client.get("/", base_url=host_url())
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for name, codes in listed.items():
        assert re.search(rf'>{re.escape(name)}</a>\s*<span class="rl-card__meta">{codes}</span>', body), name
    return count


def test_the_region_home_does_not_grow_with_the_municipalities(app, count_queries):
    """Every municipality with its postcodes from a fixed number of statements (the page read
    each one's postcodes lazily: one SELECT more per municipality)."""
    from regional_loket.tenancy import services as tenancy_services

    listed: dict[str, str] = {}
    _add_municipalities(2, listed)
    two = _region_home_statements(app, count_queries, listed)
    _add_municipalities(4, listed)
    archived = f.make_tenant(db.session, name="Gemeente Gearchiveerd")
    tenancy_services.archive_tenant(db.session, archived.slug)
    db.session.flush()
    six = _region_home_statements(app, count_queries, listed)
    print(f"region home: {two()} statements with 2 municipalities, {six()} with 6")
    assert six() <= two(), f"{two()} → {six()}:\n{six}"
    assert "Gemeente Gearchiveerd" not in app.test_client().get("/", base_url=host_url()).get_data(as_text=True)


def _municipalities_api_statements(app, count_queries, listed: dict):
    client = app.test_client()
    client.get("/api/v1/municipalities", base_url=host_url())  # warm
    db.session.expunge_all()  # the postcodes as a new request finds them: not loaded
    with count_queries() as count:
        answer = client.get("/api/v1/municipalities", base_url=host_url())
    assert answer.status_code == 200
    items = {item["name"]: item for item in answer.get_json()["items"]}
    for name, codes in listed.items():
        assert ", ".join(sorted({p["code"] for p in items[name]["postcodes"]})) == codes, name
        assert len(items[name]["postcodes"]) == 3
    return count


def test_the_municipalities_api_does_not_grow_with_the_municipalities(app, count_queries):
    """``/api/v1/municipalities`` lists every municipality with its postcodes: two statements
    whatever their number (it read each one's postcodes lazily, as the home page did)."""
    listed: dict[str, str] = {}
    _add_municipalities(2, listed)
    two = _municipalities_api_statements(app, count_queries, listed)
    _add_municipalities(4, listed)
    six = _municipalities_api_statements(app, count_queries, listed)
    assert six() <= two(), f"{two()} → {six()}:\n{six}"


def test_count_queries_counts_what_the_engine_runs(app, count_queries):
    """The fixture itself: every statement, also from another session; none outside the block."""
    import sqlalchemy as sa

    db.session.execute(sa.text("SELECT 1"))
    with count_queries() as count:
        db.session.execute(sa.text("SELECT 1"))
        db.session.execute(sa.select(sa.literal(uuid.uuid4())))
        db.session.begin_nested().rollback()  # the harness's savepoints are not counted
    db.session.execute(sa.text("SELECT 2"))
    assert count() == 2 and "SELECT 1" in count.statements[0]


def test_places_read_in_one_statement_are_the_places_read_one_by_one(app):
    """``explain_many`` UNIONs the lists of several locations, each with its own criteria (the
    region's policy at an income-related tariff, the provider's own at another): every place
    and explanation equals what ``explain`` gives for that application alone."""
    from regional_loket.applications import ranking
    from regional_loket.tenancy import tenant_scope

    tenant = f.make_tenant(db.session)
    income = f.make_location(db.session, tenant, "Inkomenstarief")
    own = f.make_location(db.session, tenant, "Eigen criteria", tariff="free", day_price=35,
                          extra_criteria=[{"code": "staff_child", "label": "kind van personeel"}])
    applications = []
    for n in range(6):
        _user, family = f.make_family(db.session, single_parent=n % 2 == 0, low_income=n % 3 == 0,
                                      needs_care_for_work=n != 4)
        child = f.make_child(db.session, family, first_name=f"Kind{n}")
        care = f.make_request(db.session, family, child, locations=[income, own] if n % 2 else [own, income])
        applications += [f.application_of(db.session, choice)[1] for choice in care.choices]
    with tenant_scope(db.session, tenant):
        staff_child = next(a for a in applications if a.location_id == own.id)
        staff_child.flags = {"staff_child": True}
        db.session.flush()
        today = f.TODAY
        together = ranking.explain_many(db.session, applications, today=today)
        alone = {a.id: ranking.explain(db.session, a, today=today) for a in applications}
    assert len(together) == len(applications)
    assert {k: (r.position, r.met, r.explanation) for k, r in together.items()} == {
        k: (r.position, r.met, r.explanation) for k, r in alone.items()}
    assert together[staff_child.id].position == 1 and "kind van personeel" in together[staff_child.id].explanation


def test_knowing_who_asks_costs_one_statement(app, count_queries):
    """A logged-in request reads its session row, its user and the memberships (the header's
    back-office links need them) in one statement on the request's own connection: not a second
    pooled connection for the session, a statement for the user and one for the memberships."""
    tenant = f.make_tenant(db.session)
    staff = f.make_user(db.session, "coordinator", tenant=tenant)
    db.session.flush()
    anonymous, signed_in = app.test_client(), app.test_client()
    login(signed_in, staff)
    for client in (anonymous, signed_in):  # warm: translations, templates
        client.get("/toegankelijkheid", base_url=host_url())
    db.session.expunge_all()  # as in a new request: nothing of the user in the identity map
    with count_queries() as without:
        assert anonymous.get("/toegankelijkheid", base_url=host_url()).status_code == 200
    with count_queries() as with_login:
        page = signed_in.get("/toegankelijkheid", base_url=host_url())
    assert page.status_code == 200 and "Afmelden" in page.get_data(as_text=True)
    assert with_login() - without() == 1, f"{without()} anonymous → {with_login()} logged in:\n{with_login}"
    statement = " ".join(next(s for s in with_login.statements if "FROM shared.sessions" in s).split())
    assert "LEFT OUTER JOIN shared.users" in statement and "LEFT OUTER JOIN shared.memberships" in statement
