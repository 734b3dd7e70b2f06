"""``flask tenants …`` checks its arguments, says what is wrong, exits non-zero and leaves
nothing half-created."""

import pytest
import sqlalchemy as sa

from regional_loket.extensions import db
from regional_loket.tenancy import migrate, services
from regional_loket.tenancy.models import Postcode, Tenant


def _schema_exists(name):
    return db.session.scalar(sa.text("SELECT count(*) FROM pg_namespace WHERE nspname = :n"), {"n": name}) == 1


def test_create_makes_a_ready_tenant(runner):
    result = runner.invoke(args=["tenants", "create", "tielt-winge", "--name", "Tielt-Winge",
                                 "--nis", "24135", "--colour", "#22577a", "--domain", "opvang.tielt-winge.be"])
    assert result.exit_code == 0, result.output
    assert "created tielt-winge (Tielt-Winge) in schema gem_tielt_winge" in result.output
    tenant = services.get_tenant(db.session, "tielt-winge")
    assert tenant.nis_code == "24135" and [d.domain for d in tenant.domains] == ["opvang.tielt-winge.be"]
    assert _schema_exists("gem_tielt_winge")
    listed = runner.invoke(args=["tenants", "list"])
    assert "tielt-winge" in listed.output and migrate.head() in listed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Herent", "--name", "H", "--nis", "24038"], "invalid slug 'Herent'"),
        (["her_ent", "--name", "H", "--nis", "24038"], "invalid slug"),
        (["-herent", "--name", "H", "--nis", "24038"], "invalid slug"),
        (["herent-", "--name", "H", "--nis", "24038"], "invalid slug"),
        (["h", "--name", "H", "--nis", "24038"], "invalid slug"),
        (["a" * 41, "--name", "H", "--nis", "24038"], "invalid slug"),
        (["www", "--name", "W", "--nis", "24038"], "slug 'www' is reserved"),
        (["admin", "--name", "W", "--nis", "24038"], "slug 'admin' is reserved"),
        (["api", "--name", "W", "--nis", "24038"], "slug 'api' is reserved"),
        (["static", "--name", "W", "--nis", "24038"], "slug 'static' is reserved"),
        (["herent", "--name", "H", "--nis", "2403"], "invalid NIS code '2403'"),
        (["herent", "--name", "H", "--nis", "abcde"], "invalid NIS code"),
        (["herent", "--name", " ", "--nis", "24038"], "name is required"),
        (["herent", "--name", "H", "--nis", "24038", "--colour", "blue"], "invalid colour"),
        (["herent", "--name", "H", "--nis", "24038", "--domain", "not a domain"], "invalid domain"),
    ],
)
def test_create_refuses_bad_arguments(runner, args, message):
    slug, *options = args
    result = runner.invoke(args=["tenants", "create", *options, "--", slug])
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 0
    assert not _schema_exists("gem_herent")


def test_missing_options_are_usage_errors(runner):
    result = runner.invoke(args=["tenants", "create", "herent"])
    assert result.exit_code == 2 and "Missing option '--name'" in result.output
    result = runner.invoke(args=["tenants", "migrate", "--parallel", "0"])
    assert result.exit_code == 2 and "--parallel" in result.output


def test_duplicates_are_refused_and_nothing_is_half_created(runner, make_tenant):
    make_tenant("herent", nis_code="24038", domains=["opvang.herent.be"])
    cases = [
        (["herent", "--name", "H", "--nis", "11111"], "tenant 'herent' already exists"),
        (["leuven", "--name", "L", "--nis", "24038"], "NIS code 24038 already belongs"),
        (["leuven", "--name", "L", "--nis", "24062", "--domain", "opvang.herent.be"], "domain 'opvang.herent.be' already"),
    ]
    for args, message in cases:
        result = runner.invoke(args=["tenants", "create", *args])
        assert result.exit_code == 1 and message in result.output
    assert not _schema_exists("gem_leuven")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 1


def test_a_failure_inside_create_leaves_no_schema(app, monkeypatch):
    """Even when the failure comes after the schema was made, the transaction takes it back."""
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.migrate, "stamp_tenant", boom)
    savepoint = db.session.begin_nested()
    with pytest.raises(RuntimeError):
        services.create_tenant(db.session, slug="herent", name="Herent", nis_code="24038")
    savepoint.rollback()
    assert not _schema_exists("gem_herent")
    assert services.get_tenant(db.session, "herent") is None


def test_archive_and_restore(runner, make_tenant):
    make_tenant("herent")
    assert runner.invoke(args=["tenants", "archive", "herent"]).output.strip() == "archived herent"
    again = runner.invoke(args=["tenants", "archive", "herent"])
    assert again.exit_code == 1 and "already archived" in again.output
    assert runner.invoke(args=["tenants", "restore", "herent"]).exit_code == 0
    unknown = runner.invoke(args=["tenants", "archive", "nowhere"])
    assert unknown.exit_code == 1 and "no tenant 'nowhere'" in unknown.output


DEFINITION = """
slug = "{slug}"
name = "{name}"
nis_code = "{nis}"
colour = "#1f5c99"
extra_domains = []
[desk]
name = "Loket {name}"
email = "kinderopvang@{slug}.be"
[settings]
response_days = 21
[[postcodes]]
code = "{code}"
name = "{name}"
lat = 50.9
lon = 4.7
streets = ["Kerkstraat"]
"""


@pytest.fixture
def definitions(tmp_path):
    (tmp_path / "region.toml").write_text('[region]\nname = "Testregio"\nmax_choices = 5\n')
    (tmp_path / "herent.toml").write_text(DEFINITION.format(slug="herent", name="Herent", nis="24038", code="3020"))
    (tmp_path / "leuven.toml").write_text(DEFINITION.format(slug="leuven", name="Leuven", nis="24062", code="3000"))
    return tmp_path


def test_sync_is_idempotent(runner, definitions):
    first = runner.invoke(args=["tenants", "sync", "--dir", str(definitions)])
    assert first.exit_code == 0, first.output
    assert "created: herent, leuven" in first.output
    second = runner.invoke(args=["tenants", "sync", "--dir", str(definitions)])
    assert "created: -" in second.output and "unchanged: herent, leuven" in second.output
    assert services.region_settings(db.session) == {"name": "Testregio", "max_choices": 5}

    (definitions / "herent.toml").write_text(
        DEFINITION.format(slug="herent", name="Herent", nis="24038", code="3020").replace("lat = 50.9", "lat = 50.91"))
    third = runner.invoke(args=["tenants", "sync", "--dir", str(definitions)])
    assert "updated: herent" in third.output
    assert db.session.scalar(sa.select(Postcode.lat).where(Postcode.code == "3020")) == 50.91


def test_sync_reports_undeclared_tenants_and_keeps_them(runner, definitions, make_tenant):
    make_tenant("opwijk", nis_code="23060")
    result = runner.invoke(args=["tenants", "sync", "--dir", str(definitions)])
    assert "not declared (left as they are): opwijk" in result.output
    assert services.get_tenant(db.session, "opwijk") is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('slug = "other"\nname = "X"\nnis_code = "11111"\n', "does not match the file name"),
        ('name = "X"\n', "missing or malformed field 'slug'"),
        ('slug = "broken"\nname = "X"\nnis_code = "1"\n', "invalid NIS code"),
        ("slug = \n", "broken.toml"),
    ],
)
def test_sync_refuses_bad_definitions_and_writes_nothing(runner, definitions, content, message):
    (definitions / "broken.toml").write_text(content)
    result = runner.invoke(args=["tenants", "sync", "--dir", str(definitions)])
    assert result.exit_code == 1 and message in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 0


def test_sync_without_a_directory(runner, tmp_path):
    result = runner.invoke(args=["tenants", "sync", "--dir", str(tmp_path / "nope")])
    assert result.exit_code != 0


def test_sync_takes_the_logo_and_the_portal_shows_it(runner, client, definitions):
    from .conftest import host_url

    (definitions / "logos").mkdir()
    (definitions / "logos" / "herent.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    text = (definitions / "herent.toml").read_text().replace('colour = "#1f5c99"', 'colour = "#1f5c99"\nlogo = "logos/herent.svg"')
    (definitions / "herent.toml").write_text(text)
    assert runner.invoke(args=["tenants", "sync", "--dir", str(definitions)]).exit_code == 0
    original = client.application.config["TENANTS_DIR"]
    client.application.config["TENANTS_DIR"] = str(definitions)
    try:
        herent = services.get_tenant(db.session, "herent")
        page = client.get("/", base_url=host_url(herent)).get_data(as_text=True)
        assert '<img class="rl-brand__logo" src="/logo" alt="">' in page
        with client.get("/logo", base_url=host_url(herent)) as logo:
            assert logo.status_code == 200 and logo.mimetype == "image/svg+xml"
        leuven = services.get_tenant(db.session, "leuven")
        assert client.get("/logo", base_url=host_url(leuven)).status_code == 404
        assert client.get("/logo", base_url=host_url()).status_code == 404
    finally:
        client.application.config["TENANTS_DIR"] = original


def test_a_logo_outside_the_definitions_is_refused(runner, definitions):
    text = (definitions / "herent.toml").read_text().replace('colour = "#1f5c99"', 'colour = "#1f5c99"\nlogo = "../../etc/passwd"')
    (definitions / "herent.toml").write_text(text)
    result = runner.invoke(args=["tenants", "sync", "--dir", str(definitions)])
    assert result.exit_code == 1 and "is not an .svg or .png file" in result.output
