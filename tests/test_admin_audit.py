"""The region's audit log (issue 14, item 7): every municipality's entries in one list for the
region's administrators, with their municipality; the municipal page's filters plus the
municipality, pages and exports; bad filters answered next to the field with nothing listed;
nobody else opens it."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime

import pytest

from regional_loket import audit
from regional_loket.database import utcnow
from regional_loket.extensions import db

from .conftest import hand_over, host_url, login

PAGE = "/beheer/regio/audit"


@pytest.fixture
def region(make_tenant, make_user):
    herent, tienen = make_tenant(name="Herent"), make_tenant(name="Tienen")
    return {
        "herent": herent, "tienen": tienen,
        "admin": make_user("admin", email=f"regio-{uuid.uuid4().hex[:6]}@example.be"),
        "herent_coordinator": make_user("coordinator", tenant=herent, email=f"h-{uuid.uuid4().hex[:6]}@herent.be"),
        "tienen_coordinator": make_user("coordinator", tenant=tienen, email=f"t-{uuid.uuid4().hex[:6]}@tienen.be"),
        "family": uuid.uuid4(),  # this test's family: its entries are the test's own
    }


def _write(tenant, *, actor=None, role="coordinator", action="family.view", family_id=None, at=None, kind="read",
           host="herent.test"):
    return audit.record(db.session, tenant, actor_id=getattr(actor, "id", actor), actor_role=role, kind=kind,
                        action=action, subject=uuid.uuid4(), family_id=family_id, host=host, now=at or utcnow())


def _admin(app, region):
    client = app.test_client()
    login(client, region["admin"])
    return client


def _count(html: str) -> int:
    found = re.search(r"(\d+) vermelding", html)
    assert found, html
    return int(found.group(1))


def test_entries_of_two_municipalities_appear_with_their_municipality(app, region):
    family = region["family"]
    _write(region["herent"], actor=region["herent_coordinator"], family_id=family, host="herent-only.test")
    _write(region["tienen"], actor=region["tienen_coordinator"], family_id=family, host="tienen-only.test",
           action="application.view", role="provider_staff")
    db.session.flush()
    answer = _admin(app, region).get(PAGE, query_string={"gezin": str(family)}, base_url=host_url())
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and _count(html) == 2
    rows = re.findall(r"<tr class=\"utrecht-table__row\">\s*<td[^>]*>[^<]*</td>\s*<td[^>]*>([^<]*)</td>.*?"
                      r"<td[^>]*>([^<]*-only\.test)</td></tr>", html, re.S)
    assert sorted(rows) == [("Herent", "herent-only.test"), ("Tienen", "tienen-only.test")]
    assert region["herent_coordinator"].email in html and region["tienen_coordinator"].email in html


def test_the_region_log_filters_by_municipality_person_action_kind_and_period(app, region):
    family, herent, tienen = region["family"], region["herent"], region["tienen"]
    long_ago = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
    _write(herent, actor=region["herent_coordinator"], family_id=family, at=long_ago)
    _write(herent, actor=region["herent_coordinator"], family_id=family, action="application.view")
    _write(tienen, actor=region["tienen_coordinator"], family_id=family, kind="change", action="desk.withdraw")
    _write(tienen, actor=region["admin"], family_id=family, role="admin")
    db.session.flush()
    client = _admin(app, region)

    def count(**query):
        answer = client.get(PAGE, query_string={"gezin": str(family), **query}, base_url=host_url())
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return _count(answer.get_data(as_text=True))

    assert count() == 4
    assert count(gemeente=herent.slug) == 2 and count(gemeente=tienen.slug) == 2
    assert count(persoon=region["tienen_coordinator"].email.upper()) == 1
    assert count(persoon=str(region["admin"].id)) == 1
    assert count(persoon="niemand@example.be") == 0
    assert count(handeling="application.view") == 1
    assert count(soort="change") == 1
    assert count(van="2025-01-01", tot="2025-01-31") == 1
    assert count(gemeente=tienen.slug, persoon=region["herent_coordinator"].email) == 0
    # Without the family filter, another municipality's person is found across the region.
    answer = client.get(PAGE, query_string={"persoon": region["tienen_coordinator"].email}, base_url=host_url())
    assert _count(answer.get_data(as_text=True)) == 1


def test_the_region_log_comes_in_pages_of_fifty_newest_first(app, region):
    family = region["family"]
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    for minute in range(55):
        _write(region["herent" if minute % 2 else "tienen"], family_id=family,
               at=start.replace(minute=minute), host=f"page-{minute:02d}.test")
    db.session.flush()
    client = _admin(app, region)
    first = client.get(PAGE, query_string={"gezin": str(family)}, base_url=host_url()).get_data(as_text=True)
    second = client.get(PAGE, query_string={"gezin": str(family), "pagina": 2},
                        base_url=host_url()).get_data(as_text=True)
    hosts = re.findall(r"page-(\d\d)\.test", first)
    assert len(hosts) == 50 and hosts == sorted(hosts, reverse=True) and hosts[0] == "54"
    assert re.findall(r"page-(\d\d)\.test", second) == ["04", "03", "02", "01", "00"]
    assert "pagina=2" in first and f"gezin={family}" in first


def test_the_region_log_exports_as_csv_and_xlsx_with_the_municipality(app, region):
    family = region["family"]
    _write(region["herent"], actor=region["herent_coordinator"], family_id=family)
    _write(region["tienen"], actor=region["tienen_coordinator"], family_id=family, kind="change",
           action="desk.withdraw")
    db.session.flush()
    client = _admin(app, region)
    answer = client.get(f"{PAGE}/export.csv", query_string={"gezin": str(family)}, base_url=host_url())
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:5] == ["gemeente", "tijdstip", "soort", "handeling", "code"]
    assert sorted((r[0], r[4], r[6]) for r in rows[1:]) == [
        ("Herent", "family.view", region["herent_coordinator"].email),
        ("Tienen", "desk.withdraw", region["tienen_coordinator"].email)]
    narrowed = client.get(f"{PAGE}/export.csv", query_string={"gezin": str(family), "gemeente": region["tienen"].slug},
                          base_url=host_url()).get_data(as_text=True).strip().splitlines()
    assert len(narrowed) == 2 and narrowed[1].startswith("Tienen;")
    xlsx = client.get(f"{PAGE}/export.xlsx", query_string={"gezin": str(family)}, base_url=host_url())
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


@pytest.mark.parametrize(("query", "message"), [
    ({"van": "2026-03-10", "tot": "2026-03-01"}, "De einddatum ligt vóór de begindatum."),
    ({"van": "10 maart"}, "Vul een geldige datum in."),
    ({"gezin": "niet-een-nummer"}, "Geef het dossiernummer van het gezin"),
    ({"persoon": "geen adres"}, "Geef een e-mailadres of een gebruikersnummer."),
    ({"gemeente": "atlantis"}, "Kies een gemeente uit de lijst."),
    ({"handeling": "drop table"}, "Kies een handeling uit de lijst."),
    ({"soort": "alles"}, "Kies inzien of wijzigen."),
])
def test_bad_filters_are_refused_next_to_the_field_with_nothing_listed(app, region, query, message):
    _write(region["herent"], family_id=region["family"], host="listed.test")
    db.session.flush()
    client = _admin(app, region)
    answer = client.get(PAGE, query_string=query, base_url=host_url())
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and message in html and "rl-error-summary" in html
    assert "rl-field-error" in html and "listed.test" not in html and "vermelding" not in html
    exported = client.get(f"{PAGE}/export.csv", query_string=query, base_url=host_url())
    assert exported.status_code == 422 and message in exported.get_data(as_text=True)  # no file either


def test_only_the_regions_administrators_open_it(app, region, make_user):
    anonymous = app.test_client().get(PAGE, base_url=host_url())
    assert anonymous.status_code == 302 and "/aanmelden" in anonymous.headers["Location"]
    for who in (region["herent_coordinator"], make_user("provider_staff", tenant=region["herent"]),
                make_user("referrer", organisation="OCMW"), make_user()):
        client = app.test_client()
        login(client, who)
        for path in (PAGE, f"{PAGE}/export.csv", f"{PAGE}/export.xlsx"):
            assert client.get(path, base_url=host_url()).status_code == 403, (who.email, path)
    # Not on a municipality's host, not even for an administrator.
    client = _admin(app, region)
    assert hand_over(client, region["herent"], "/").status_code == 200
    assert client.get(PAGE, base_url=host_url(region["herent"])).status_code == 404
    assert client.get(PAGE, base_url=host_url()).status_code == 200


def test_the_admin_navigation_links_the_region_log(app, region):
    html = _admin(app, region).get("/beheer/regio/", base_url=host_url()).get_data(as_text=True)
    assert f'href="{PAGE}"' in html


def test_the_region_log_reads_every_municipality_in_one_statement(app, region, make_tenant, count_queries):
    """The page's statements do not grow with the municipalities: one UNION ALL lists them all."""
    client = _admin(app, region)
    query = {"gezin": str(region["family"])}
    client.get(PAGE, query_string=query, base_url=host_url())  # the login's first page loads
    with count_queries() as two:
        assert client.get(PAGE, query_string=query, base_url=host_url()).status_code == 200
    for _ in range(3):
        _write(make_tenant(), family_id=region["family"])
    db.session.flush()
    with count_queries() as five:
        html = client.get(PAGE, query_string=query, base_url=host_url()).get_data(as_text=True)
    assert _count(html) == 3
    assert five() == two(), f"{two}\n---\n{five}"


def test_the_regions_own_changes_are_listed_as_the_region_and_filtered_like_the_rest(app, region):
    admin = region["admin"]
    audit.record(db.session, None, actor_id=admin.id, actor_role="admin", kind="change", action="policy.add",
                 subject=uuid.uuid4(), host="region-only.test", now=utcnow())
    audit.record(db.session, None, actor_id=admin.id, actor_role="admin", kind="change", action="tenant.migrate",
                 subject=None, host="about-herent.test", detail={}, now=utcnow())
    db.session.flush()
    client = _admin(app, region)
    html = client.get(PAGE, query_string={"persoon": admin.email}, base_url=host_url()).get_data(as_text=True)
    assert _count(html) == 2 and "region-only.test" in html and "de regio" in html
    # a family's filter or one municipality's leaves the region's own changes out
    assert _count(client.get(PAGE, query_string={"persoon": admin.email, "gemeente": region["herent"].slug},
                             base_url=host_url()).get_data(as_text=True)) == 0
    assert _count(client.get(PAGE, query_string={"persoon": admin.email, "soort": "read"},
                             base_url=host_url()).get_data(as_text=True)) == 0
    exported = client.get(PAGE + "/export.csv", query_string={"persoon": admin.email}, base_url=host_url())
    assert "de regio" in exported.get_data(as_text=True)
