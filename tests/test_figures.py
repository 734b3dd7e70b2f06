"""Supply and demand in figures (issue #15): the desk's dashboard, the region's, their exports
and the yearly report, each number against the figure counted by hand on the region of
tests/test_statistics_snapshot.py (Herent and Leuven, a cross-border request, a placement, a
refusal, and an erased family whose figures stay)."""

from __future__ import annotations

import html as html_text
import io
import re
import uuid

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from regional_loket.extensions import db
from regional_loket.families import Family, privacy
from regional_loket.months import add_months, month_start
from regional_loket.statistics import ApplicationRecord, MonthlyFigure, dashboard, monthly
from regional_loket.statistics.dashboard import Period, Scope

from . import factories as f
from .conftest import hand_over, host_url, login
from .test_statistics_snapshot import NOW, TODAY, _snapshot
from .test_statistics_snapshot import region as region  # noqa: F401 — the fixture, reused

MONTH = month_start(TODAY)
THIS_MONTH = Period(MONTH, MONTH)


@pytest.fixture(autouse=True)
def _clock(app):
    app.config["CLOCK_NOW"] = NOW.isoformat()
    yield
    app.config["CLOCK_NOW"] = None


@pytest.fixture
def counted(app, region):  # noqa: F811
    _snapshot(app, region)
    return region


def _desk(app, make_user, tenant, path="/beheer/cijfers"):
    client = app.test_client()
    login(client, make_user("coordinator", tenant=tenant))
    hand_over(client, tenant, path)
    return client


def _cells(html: str, key: str) -> list[list[str]]:
    """The rows of one figure's table on a page, as text."""
    section = html.split(f'id="fig-{key}"', 1)[1].split("</section>", 1)[0]
    body = section.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    return [[html_text.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body)]


# --- the numbers, counted by hand ----------------------------------------------------------------


def test_the_desks_numbers_equal_those_counted_by_hand(app, counted):
    herent, leuven, h = counted["herent"], counted["leuven"], counted["h"]
    scope = Scope(tenant_id=herent.id)
    # Ann (placed in Leuven, her Herent choice withdrawn), Bart and Chloé asked in Herent this month
    assert dashboard.requests_per_month(db.session, scope, THIS_MONTH) == {
        MONTH: {"new": 3, "placed": 1, "withdrawn": 0, "inactive": 0}}
    # Bart (waitlisted) and Chloé (unanswered) wait without any offer; both started this month
    # and want to start in three months
    waiting = dashboard.waiting_without_offer(db.session, scope, TODAY)
    assert sorted(waiting) == [(0, 3), (0, 3)]
    assert dashboard.unmet_demand(waiting) == [[0, 0, 2, 0], [0] * 4, [0] * 4, [0] * 4]
    day = dashboard.latest_day(db.session, herent.id, TODAY)
    assert dashboard.demand_and_supply(db.session, scope, day, from_month=MONTH) == {(f.START, "baby"): (2, 2)}
    answers = dashboard.answer_times(db.session, scope, THIS_MONTH)
    assert {k: (v.answered, v.median, v.p90) for k, v in answers.items()} == {h: (1, 3.0, 3.0), None: (1, 3.0, 3.0)}
    assert dashboard.vulnerable_shares(db.session, scope, THIS_MONTH)[None].placed == 0
    leuven_share = dashboard.vulnerable_shares(db.session, Scope(tenant_id=leuven.id), THIS_MONTH)[None]
    assert (leuven_share.vulnerable, leuven_share.placed, leuven_share.meets_norm) == (1, 1, True)
    flows = dashboard.flows(db.session, herent.id, THIS_MONTH)
    assert (flows.residents_elsewhere, flows.from_elsewhere, flows.residents_placed) == (1, 1, {leuven.id: 1})


def test_the_regions_numbers_equal_those_counted_by_hand(app, counted):
    herent, leuven = counted["herent"], counted["leuven"]
    rows = dashboard.per_municipality(db.session, THIS_MONTH)
    assert (rows[herent.id].new, rows[herent.id].placed, rows[herent.id].waiting_without_offer,
            rows[herent.id].median_answer_days) == (3, 0, 2, 3.0)
    assert (rows[leuven.id].new, rows[leuven.id].placed, rows[leuven.id].waiting_without_offer,
            rows[leuven.id].median_answer_days, rows[leuven.id].vulnerable.ratio) == (2, 1, 0, 7.5, 1.0)
    assert dashboard.cross_border(db.session, THIS_MONTH) == {
        (herent.id, herent.id): 2, (herent.id, leuven.id): 1, (leuven.id, herent.id): 1, (leuven.id, leuven.id): 1}
    # one child, two choices: one request in the region's trend
    assert dashboard.requests_per_month(db.session, Scope(), THIS_MONTH)[MONTH]["new"] == 4


def test_an_erased_family_stays_in_the_figures(app, counted):
    herent = counted["herent"]
    before = dashboard.requests_per_month(db.session, Scope(tenant_id=herent.id), THIS_MONTH)
    chloe = db.session.scalars(db.select(Family).where(Family.postcode == "3000")).all()
    for family in chloe:
        privacy.erase(db.session, family, actor_id=None, now=NOW)
    db.session.commit()
    assert dashboard.requests_per_month(db.session, Scope(tenant_id=herent.id), THIS_MONTH) == before


# --- the pages -----------------------------------------------------------------------------------


def test_the_desks_page_shows_each_figure_as_chart_table_and_headline(app, counted, make_user):
    herent = counted["herent"]
    page = _desk(app, make_user, herent).get("/beheer/cijfers", base_url=host_url(herent))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'rl-headline-number">2</strong>\s*gezinnen wachten zonder enig aanbod', html)
    assert _cells(html, "aanvragen")[-1][1:] == ["3", "1", "0", "0"]
    assert _cells(html, "vraag-aanbod") == [[f"{_month_nl(f.START)}", "baby's", "2", "2", "0"]]
    assert _cells(html, "zonder-aanbod")[0] == ["0 tot 3 maanden", "0", "0", "2", "0", "2"]
    assert _cells(html, "antwoordtijd") == [["Alle locaties", "1", "3", "3"],
                                           ["Kinderdagverblijf De Zonnebloem", "1", "3", "3"]]
    assert _cells(html, "over-de-grens")[:2] == [["Inwoners die elders vragen", "1"],
                                                 ["Gezinnen van elders die hier vragen", "1"]]
    # each chart is an image with a title and a summary for screen readers, drawn on the server
    # six figures; the vulnerable share has no chart while Herent placed nobody (its table says so)
    assert html.count('<svg class="rl-chart"') == 5 and 'role="img"' in html and "<desc" in html
    # Leuven's location never shows on Herent's desk
    assert "Les Petits Pas" not in html


def _month_nl(value):
    from babel.dates import format_date

    return format_date(value, "MMM yyyy", locale="nl")


def test_the_desks_exports_hold_the_tables_period_and_filters(app, counted, make_user):
    herent = counted["herent"]
    client = _desk(app, make_user, herent)
    stamp = MONTH.strftime("%Y-%m")
    xlsx = client.get(f"/beheer/cijfers/aanvragen.xlsx?van={stamp}&tot={stamp}&leeftijd=baby",
                      base_url=host_url(herent))
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.data))
    described = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert ["Van", stamp] in described and ["Tot en met", stamp] in described and ["Leeftijdsgroep", "baby's"] in described
    table = [list(r) for r in book.worksheets[1].iter_rows(values_only=True)]
    assert table[0] == ["Maand", "Nieuw", "Geplaatst", "Ingetrokken", "Inactief"] and table[1][1:] == [3, 1, 0, 0]
    assert not any(isinstance(c, str) and c.startswith("=") for s in book.worksheets for r in s.iter_rows(values_only=True)
                   for c in r)
    csv = client.get(f"/beheer/cijfers/over-de-grens.csv?van={stamp}", base_url=host_url(herent)).get_data(as_text=True)
    assert f"Van;{stamp}" in csv and "Inwoners die elders vragen;1" in csv


def test_the_yearly_report_is_one_workbook_with_a_sheet_per_table(app, counted, make_user):
    herent = counted["herent"]
    report = _desk(app, make_user, herent).get(f"/beheer/cijfers/jaarrapport.xlsx?jaar={NOW.year}",
                                               base_url=host_url(herent))
    assert report.status_code == 200
    book = load_workbook(io.BytesIO(report.data))
    assert len(book.sheetnames) == 7  # period and filters, then six tables
    per_location = [list(r) for r in book.worksheets[2].iter_rows(values_only=True)]
    assert per_location == [["Locatie", "Leeftijdsgroep", "Aanvragen", "Plaatsingen"],
                            ["Kinderdagverblijf De Zonnebloem", "baby's", 3, 0]]


def test_the_regions_page_shows_every_municipality_and_the_matrix(app, counted, make_user):
    herent, leuven = counted["herent"], counted["leuven"]
    client = app.test_client()
    login(client, make_user("admin"))
    page = client.get("/beheer/regio/cijfers", base_url=host_url())
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = {r[0]: r[1:] for r in _cells(html, "gemeenten")}
    assert rows[herent.name][:3] == ["3", "0", "2"] and rows[leuven.name][:3] == ["2", "1", "0"]
    matrix = _cells(html, "stromen")
    assert [herent.name, leuven.name, "1"] in matrix and [leuven.name, herent.name, "1"] in matrix
    assert 'id="chart-matrix"' in html
    export = client.get("/beheer/regio/cijfers/stromen.xlsx", base_url=host_url())
    table = [list(r) for r in load_workbook(io.BytesIO(export.data)).worksheets[1].iter_rows(values_only=True)]
    assert [herent.name, leuven.name, 1] in table


# --- who sees what, and bad input ---------------------------------------------------------------


def test_only_the_desk_and_administrators_see_the_figures(app, counted, make_user):
    herent, leuven = counted["herent"], counted["leuven"]
    for who in (make_user(), make_user("provider_staff", tenant=herent, locations=[counted["h"]]),
                make_user("coordinator", tenant=leuven)):
        client = app.test_client()
        login(client, who)
        hand_over(client, herent, "/")
        assert client.get("/beheer/cijfers", base_url=host_url(herent)).status_code == 403
        assert client.get("/beheer/cijfers/aanvragen.csv", base_url=host_url(herent)).status_code == 403
        assert client.get("/beheer/regio/cijfers", base_url=host_url()).status_code == 403


@pytest.mark.parametrize(("query", "field", "message"), [
    ("van=2026-13", "van", "Geef een maand als JJJJ-MM"),
    ("van=2026-06&tot=2026-01", "tot", "De laatste maand ligt vóór de eerste."),
    ("van=2020-01&tot=2026-01", "tot", "Kies hoogstens 36 maanden."),
    (f"locatie={uuid.uuid4()}", "locatie", "Kies een locatie uit de lijst."),
    ("leeftijd=volwassen", "leeftijd", "Kies een leeftijdsgroep uit de lijst."),
    ("soort=zwembad", "soort", "Kies een soort opvang uit de lijst."),
])
def test_bad_filters_get_a_message_next_to_the_field_and_no_figures(app, counted, make_user, query, field, message):
    herent = counted["herent"]
    client = _desk(app, make_user, herent)
    page = client.get(f"/beheer/cijfers?{query}", base_url=host_url(herent))
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert f'id="f-{field}-error">{message}' in html and 'class="rl-chart"' not in html
    assert client.get(f"/beheer/cijfers/aanvragen.csv?{query}", base_url=host_url(herent)).status_code == 422


def test_another_municipalitys_location_is_not_a_filter(app, counted, make_user):
    herent = counted["herent"]
    page = _desk(app, make_user, herent).get(f"/beheer/cijfers?locatie={counted['lv']}", base_url=host_url(herent))
    assert page.status_code == 422 and "Les Petits Pas" not in page.get_data(as_text=True)


def test_a_long_table_shows_its_first_rows_and_the_export_holds_them_all(app, counted, make_user):
    from regional_loket.statistics import reports

    herent, leuven = counted["herent"], counted["leuven"]
    names = {herent.id: "Herent", leuven.id: "Leuven"}
    names.update({uuid.uuid4(): f"Gemeente {n:03d}" for n in range(3)})
    matrix = reports.matrix_figure(db.session, THIS_MONTH, names)
    assert matrix.shown == reports.SHOWN_ROWS and [r[2] for r in matrix.rows] == sorted((r[2] for r in matrix.rows),
                                                                                      reverse=True)
    matrix.rows *= 20  # as many pairs as a big region has
    macro = app.jinja_env.get_template("macros/figures.html").module.figure
    with app.test_request_context():
        html = str(macro(matrix, lambda key, fmt: f"/{key}.{fmt}"))
    assert len(_cells(html, "stromen")) == reports.SHOWN_ROWS
    assert f"De eerste {reports.SHOWN_ROWS} van {len(matrix.rows)} rijen" in html


def test_an_empty_period_shows_empty_states(app, counted, make_user):
    herent = counted["herent"]
    old = add_months(MONTH, -30).strftime("%Y-%m")
    page = _desk(app, make_user, herent).get(f"/beheer/cijfers?van={old}&tot={old}", base_url=host_url(herent))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Nog geen antwoorden in deze periode." in html and "Nog geen plaatsen in deze periode." in html


def test_a_year_outside_the_list_is_refused(app, counted, make_user):
    herent = counted["herent"]
    answer = _desk(app, make_user, herent).get("/beheer/cijfers/jaarrapport.xlsx?jaar=1999", base_url=host_url(herent))
    assert answer.status_code == 302


# --- the region's monthly figures (statistics.monthly) ---------------------------------------------


def _raw_per_municipality(period: Period) -> dict:
    """The region's table counted straight from the records, as the page did before the
    monthly figures: the reference they must equal."""
    R = ApplicationRecord
    in_period = R.request_month.between(period.since, period.until)
    new = dict(db.session.execute(sa.select(R.tenant_id, sa.func.count(R.request_id.distinct()))
                                  .where(in_period).group_by(R.tenant_id)).all())
    medians = dict(db.session.execute(
        sa.select(R.tenant_id, sa.func.percentile_cont(0.5).within_group(R.first_answer_days))
        .where(R.first_answer_days.is_not(None), R.submitted_month.between(period.since, period.until))
        .group_by(R.tenant_id)).all())
    return {t: (n, medians.get(t)) for t, n in new.items()}


def test_the_monthly_figures_follow_every_write_of_the_records(app, counted):
    """A snapshot that changes the records makes the next reading rebuild the monthly figures:
    the region's page never shows figures older than the records."""
    herent = counted["herent"]
    before = dashboard.per_municipality(db.session, THIS_MONTH)[herent.id]
    assert not monthly.ensure_fresh(db.session)  # just built by the reading above
    user, fam = f.make_family(db.session, name="Eva Eyskens", postcode="3020", locality="Herent")
    child = f.make_child(db.session, fam, first_name="Eva")
    f.make_request(db.session, fam, child, locations=[counted["h"]], actor_id=user.id, now=NOW)
    db.session.commit()
    assert not monthly.ensure_fresh(db.session)  # nothing recorded yet: still fresh
    _snapshot(app, counted)
    after = dashboard.per_municipality(db.session, THIS_MONTH)[herent.id]
    assert (after.new, after.waiting_without_offer) == (before.new + 1, before.waiting_without_offer + 1)
    assert dashboard.requests_per_month(db.session, Scope(), THIS_MONTH)[MONTH]["new"] == 5
    rows = dashboard.per_municipality(db.session, THIS_MONTH)
    assert {t: (r.new, r.median_answer_days) for t, r in rows.items()} == _raw_per_municipality(THIS_MONTH)


def test_the_snapshot_job_has_the_monthly_figures_rebuilt_ahead_of_their_reader(app, counted):
    from regional_loket import jobs
    from regional_loket.statistics import jobs as statistics_jobs

    queued = [job.id for job in jobs.queue(app).jobs]
    assert statistics_jobs.MONTHLY_JOB in queued and queued.count(statistics_jobs.MONTHLY_JOB) == 1
    assert statistics_jobs.refresh_monthly_now(app) is True
    assert statistics_jobs.refresh_monthly_now(app) is False  # the records did not change since
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MonthlyFigure)) > 0


def _raw_region(period: Period, age_group: str | None) -> dict:
    """Every column of the region's table and the matrix, counted straight from the records."""
    R = ApplicationRecord
    age = (R.age_group == age_group,) if age_group else ()
    between = lambda column: column.between(period.since, period.until)  # noqa: E731
    requests = sa.func.count(R.request_id.distinct())

    def per_tenant(value, *where):
        return dict(db.session.execute(sa.select(R.tenant_id, value).where(*where, *age).group_by(R.tenant_id)).all())

    placed = (R.status == "accepted", between(R.closed_month))
    return {
        "new": per_tenant(requests, between(R.request_month)),
        "placed": per_tenant(sa.func.count(), *placed),
        "vulnerable": {t: v for t, v in per_tenant(sa.func.count().filter(R.vulnerable.is_(True)), *placed).items()},
        "waiting": per_tenant(requests, R.request_status == "open", R.request_offered.is_(False)),
        "median": {t: float(m) for t, m in per_tenant(sa.func.percentile_cont(0.5).within_group(R.first_answer_days),
                                                      R.first_answer_days.is_not(None),
                                                      between(R.submitted_month)).items()},
        "trend_new": dict(db.session.execute(sa.select(R.request_month, requests).where(between(R.request_month), *age)
                                             .group_by(R.request_month)).all()),
        "trend_closed": {(m, s): n for m, s, n in db.session.execute(
            sa.select(R.closed_month, R.request_status, requests)
            .where(between(R.closed_month), R.request_status.in_(("placed", "withdrawn", "inactive")), *age)
            .group_by(R.closed_month, R.request_status))},
        "matrix": {(h, t): n for h, t, n in db.session.execute(
            sa.select(R.home_tenant_id, R.tenant_id, requests).where(between(R.request_month))
            .group_by(R.home_tenant_id, R.tenant_id))},
    }


@pytest.mark.parametrize("seed", range(4))
def test_the_monthly_figures_equal_the_records_counted_directly(app, make_tenant, seed):
    """Random records of three municipalities (several choices per request, across borders,
    every outcome, long answer times): every figure of the region's page equals the same figure
    counted over the records, for several periods and age groups."""
    import random

    rng = random.Random(seed)
    tenants = [make_tenant(name=f"Gemeente {seed}-{i}").id for i in range(3)]
    homes = [*tenants, None]
    groups, statuses = ("baby", "peuter"), ("submitted", "waitlisted", "offered", "accepted", "rejected", "withdrawn")
    months = [add_months(MONTH, -n) for n in range(6)]
    records = []
    for _ in range(rng.randint(30, 80)):
        request_id, home, first = uuid.uuid4(), rng.choice(homes), rng.choice(months)
        outcome = rng.choice(("open", "open", "placed", "withdrawn", "inactive"))
        closed = rng.choice([m for m in months if m >= first]) if outcome != "open" else None
        offered = rng.random() < 0.3
        vulnerable = rng.random() < 0.25
        for rank in range(rng.randint(1, 4)):
            answered = rng.random() < 0.7
            records.append(ApplicationRecord(
                application_id=uuid.uuid4(), request_id=request_id, tenant_id=rng.choice(tenants),
                location_id=uuid.uuid4(), home_tenant_id=home, rank=rank + 1, age_group=rng.choice(groups),
                start_month=add_months(first, 3), submitted_month=first, request_month=first,
                status=rng.choice(statuses), request_status=outcome, closed_month=closed,
                first_answer_days=rng.choice((0, 1, 2, 3, 5, 8, 13, 60, 210)) if answered else None,
                vulnerable=vulnerable, request_offered=offered, erased=False, recorded_on=TODAY))
    db.session.add_all(records)
    monthly.records_changed(db.session)  # as every write of records does
    db.session.flush()
    for period in (Period(months[-1], MONTH), Period(months[3], months[1]), THIS_MONTH):
        for age_group in (None, "baby", "peuter"):
            expected = _raw_region(period, age_group)
            rows = dashboard.per_municipality(db.session, period, age_group=age_group)
            for t in tenants:
                row = rows.get(t)
                assert (row.new if row else 0) == expected["new"].get(t, 0)
                assert (row.placed if row else 0) == expected["placed"].get(t, 0)
                assert (row.vulnerable.vulnerable if row else 0) == expected["vulnerable"].get(t, 0)
                assert (row.waiting_without_offer if row else 0) == expected["waiting"].get(t, 0)
                assert (row.median_answer_days if row else None) == pytest.approx(expected["median"].get(t))
            trend = dashboard.requests_per_month(db.session, Scope(age_group=age_group), period)
            for month in period.months:
                assert trend[month]["new"] == expected["trend_new"].get(month, 0)
                for outcome in ("placed", "withdrawn", "inactive"):
                    assert trend[month][outcome] == expected["trend_closed"].get((month, outcome), 0)
            for t in tenants:  # a desk's own trend (the whole municipality: from the monthly figures too)
                R, scope = ApplicationRecord, Scope(tenant_id=t, age_group=age_group)
                desk = dashboard.requests_per_month(db.session, scope, period)
                counted = dict(db.session.execute(
                    sa.select(R.request_month, sa.func.count(R.request_id.distinct()))
                    .where(*scope.where(), R.request_month.between(period.since, period.until))
                    .group_by(R.request_month)).all())
                assert {m: c["new"] for m, c in desk.items() if c["new"]} == counted
                closed = {(m, o): n for m, o, n in db.session.execute(
                    sa.select(R.closed_month, R.request_status, sa.func.count(R.request_id.distinct()))
                    .where(*scope.where(), R.closed_month.between(period.since, period.until),
                           R.request_status.in_(("placed", "withdrawn", "inactive")))
                    .group_by(R.closed_month, R.request_status))}
                assert {(m, o): c[o] for m, c in desk.items() for o in ("placed", "withdrawn", "inactive")
                        if c[o]} == closed
            if age_group is None:
                assert {k: v for k, v in dashboard.cross_border(db.session, period).items()
                        if k[1] in tenants} == expected["matrix"]
