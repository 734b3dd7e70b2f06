"""The municipality's settings, kept by its desk (issue #12, item 5): each setting saved and
effective, out-of-range values refused with a message and nothing written, the logo checked from
its bytes and served on its own host only, the portal texts and the accessibility statement in
the reader's language, ``flask tenants sync`` reporting the desk's changes instead of
overwriting them, and a coordinator acting on its own municipality only."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import request
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from regional_loket.care_requests import services as requests
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.tenancy import AuditEntry, RegionSetting, profiles, tenant_scope
from regional_loket.tenancy import services as tenancy_services
from regional_loket.tenancy.models import MunicipalityProfile, TenantLogo

from . import factories
from .conftest import hand_over, host_url, login

SETTINGS = "/beheer/instellingen"


def png(width: int = 4, height: int = 2, *, comment: int = 0) -> bytes:
    """A real PNG (8-bit grey), with a text chunk of ``comment`` bytes to make it larger."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + (chunk(b"tEXt", b"Comment\x00" + b"x" * comment) if comment else b"")
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def jpeg(width: int = 3, height: int = 5) -> bytes:
    """The start of a baseline JPEG: what sniffing reads (SOI, APP0, SOF0)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x00" * 10 + b"\xff\xd9"


@pytest.fixture
def desk(app, make_tenant, make_user, client):
    """Herent and Tienen, Herent's coordinator logged in on Herent's host."""
    herent = make_tenant("herent", name="Herent", nis_code="24038",
                         desk={"email": "kinderopvang@herent.be", "hours": {"nl": "ma 9–12 u"}})
    tienen = make_tenant("tienen", name="Tienen", nis_code="24107", colour="#7a1a1a")
    coordinator = make_user("coordinator", tenant=herent)
    login(client, coordinator)
    hand_over(client, herent, SETTINGS + "/")
    return {"herent": herent, "tienen": tienen, "coordinator": coordinator, "client": client,
            "herent_id": herent.id, "tienen_id": tienen.id}


def post(desk, path, data, tenant="herent", **kwargs):
    return desk["client"].post(SETTINGS + path, data=data, base_url=host_url(desk[tenant]), **kwargs)


def audit_actions(tenant) -> list[str]:
    with tenant_scope(db.session, tenant):
        return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.at)))


def fresh(desk, name="herent"):
    db.session.expire_all()
    return db.session.get(type(desk[name]), desk[f"{name}_id"])


RULES = {"max_choices": "3", "response_days": "5", "offer_days": "10", "confirm_interval_months": "4",
         "confirm_grace_days": "20", "call_months_before_start": "8", "stale_free_places_weeks": "6"}


# --- rules ----------------------------------------------------------------------------------


def test_every_rule_is_saved_audited_and_read_typed(desk):
    page = desk["client"].get(SETTINGS + "/regels", base_url=host_url(desk["herent"]))
    assert page.status_code == 200 and "Van 1 tot 90." in page.text
    response = post(desk, "/regels", RULES)
    assert response.status_code == 302, response.text
    settings = fresh(desk).settings
    assert (settings.max_choices, settings.response_days, settings.offer_days, settings.confirm_interval_months,
            settings.call_months_before_start, settings.stale_free_places_weeks) == (3, 5, 10, 4, 8, 6)
    assert settings.confirm_grace_days == 20
    assert audit_actions(fresh(desk)) == ["settings.rules"]
    # Empty: back to the region's maximum.
    assert post(desk, "/regels", {**RULES, "max_choices": ""}).status_code == 302
    assert fresh(desk).settings.max_choices is None


def test_a_lower_maximum_makes_the_wizard_refuse_the_next_choice_here(desk, make_location):
    herent, tienen = desk["herent"], desk["tienen"]
    # Ids, not rows: reloading a tenant's row after expire_all needs that tenant bound.
    locations = [make_location(herent, f"Crèche {n}").id for n in range(4)]
    elsewhere = make_location(tienen, "Crèche Tienen").id
    assert post(desk, "/regels", RULES).status_code == 302  # max_choices 3
    fresh(desk)
    _user, family = factories.make_family(db.session)
    child = factories.make_child(db.session, family)
    care = factories.make_request(db.session, family, child, locations=locations[:3], submit=False)
    with pytest.raises(requests.RequestError, match="hoogstens 3 locaties in Herent"):
        requests.add_choice(db.session, care, child, locations[3])
    requests.add_choice(db.session, care, child, elsewhere)  # another municipality's limit is its own


def test_the_response_time_decides_what_is_overdue(desk, make_location):
    location = make_location(desk["herent"], "Crèche Overdue")
    _user, family = factories.make_family(db.session)
    child = factories.make_child(db.session, family)
    factories.make_request(db.session, family, child, locations=[location], now=utcnow() - timedelta(days=10))
    home = desk["client"].get("/beheer/", base_url=host_url(desk["herent"]))
    assert "langer dan 21 dagen" in home.text and '<strong class="rl-field-error">1</strong>' not in home.text
    assert post(desk, "/regels", RULES).status_code == 302  # response_days 5
    home = desk["client"].get("/beheer/", base_url=host_url(desk["herent"]))
    assert "langer dan 5 dagen" in home.text and '<strong class="rl-field-error">1</strong>' in home.text


@pytest.mark.parametrize(("field", "value", "message"), [
    ("response_days", "0", "Kies een getal van 1 tot 90."),
    ("response_days", "210", "Kies een getal van 1 tot 90."),
    ("offer_days", "31", "Kies een getal van 1 tot 30."),
    ("confirm_interval_months", "", "Vul een aantal maanden in."),
    ("call_months_before_start", "-1", "Kies een getal van 1 tot 12."),
    ("stale_free_places_weeks", "٣", "Vul een geheel getal in"),
    ("max_choices", "6", "de regio laat hoogstens 5 keuzes per aanvraag toe"),
])
def test_out_of_range_rules_are_refused_and_nothing_is_written(desk, field, value, message):
    before = dict(desk["herent"].settings_data)
    response = post(desk, "/regels", {**RULES, field: value})
    assert response.status_code == 422 and message in response.text
    assert 'aria-invalid="true"' in response.text and "error-summary" in response.text
    herent = fresh(desk)
    assert herent.settings_data == before and audit_actions(herent) == []
    assert db.session.get(MunicipalityProfile, desk["herent_id"]) is None


def test_the_maximum_follows_the_regions_cap(desk):
    db.session.add(RegionSetting(key="max_choices", value=4))
    db.session.flush()
    assert post(desk, "/regels", {**RULES, "max_choices": "5"}).status_code == 422
    assert post(desk, "/regels", {**RULES, "max_choices": "4"}).status_code == 302


# --- name and colour ------------------------------------------------------------------------


def test_contrast_with_white():
    assert profiles.contrast_with_white("#000000") == pytest.approx(21)
    assert profiles.contrast_with_white("#ffffff") == pytest.approx(1)
    assert profiles.contrast_with_white("#767676") == pytest.approx(4.54, abs=0.01)  # the classic limit
    assert profiles.contrast_with_white("#777777") < 4.5


def test_name_and_colour_are_saved_and_shown(desk):
    response = post(desk, "/gemeente", {"name": "Gemeente Herent", "colour": "#0B3D6E"})
    assert response.status_code == 302
    herent = fresh(desk)
    assert (herent.name, herent.colour) == ("Gemeente Herent", "#0b3d6e")
    css = desk["client"].get("/branding.css", base_url=host_url(herent)).text
    assert "--rl-brand: #0b3d6e" in css
    assert "#7a1a1a" in desk["client"].get("/branding.css", base_url=host_url(desk["tienen"])).text
    assert audit_actions(herent) == ["settings.identity"]
    index = desk["client"].get(SETTINGS + "/", base_url=host_url(herent))
    assert index.status_code == 200 and "#0b3d6e" in index.text and "de wet vraagt een verklaring" in index.text
    home = desk["client"].get("/beheer/", base_url=host_url(herent)).text
    assert 'href="/beheer/instellingen/"' in home and "1 verplicht onderdeel ontbreekt" in home


@pytest.mark.parametrize(("colour", "message"), [
    ("#ffff00", "minstens 4,5:1"), ("#777777", "contrast van 4.5:1"), ("blue", "#rrggbb"), ("#12345", "#rrggbb"),
])
def test_a_colour_white_text_cannot_be_read_on_is_refused(desk, colour, message):
    response = post(desk, "/gemeente", {"name": "Herent", "colour": colour})
    assert response.status_code == 422 and message in response.text
    herent = fresh(desk)
    assert herent.colour == "#1d4f91" and audit_actions(herent) == []


# --- logo -----------------------------------------------------------------------------------


def upload(desk, content: bytes, filename="logo.png", tenant="herent", field="logo", **data):
    # The body encoded in memory: the test client spools a large one to a file it never closes.
    boundary, body = encode_multipart({field: FileStorage(io.BytesIO(content), filename), **data})
    return post(desk, "/logo", body, tenant=tenant, content_type=f"multipart/form-data; boundary={boundary}")


def test_a_png_is_stored_and_served_by_its_own_host_only(desk):
    image = png(40, 20)
    response = upload(desk, image)
    assert response.status_code == 302, response.text
    logo = db.session.get(TenantLogo, desk["herent_id"])
    assert (logo.content_type, logo.width, logo.height) == ("image/png", 40, 20)
    served = desk["client"].get("/logo", base_url=host_url(desk["herent"]))
    assert served.status_code == 200 and served.data == image and served.mimetype == "image/png"
    assert served.headers["ETag"].strip('"') == logo.sha256
    assert desk["client"].get("/logo", base_url=host_url(desk["tienen"])).status_code == 404
    home = desk["client"].get("/", base_url=host_url(desk["herent"])).text
    assert f'src="/logo?v={logo.sha256[:12]}"' in home
    assert 'class="rl-brand__logo"' not in desk["client"].get("/", base_url=host_url(desk["tienen"])).text
    assert audit_actions(fresh(desk)) == ["settings.logo"]
    # A JPEG replaces it; removing needs the confirmation.
    assert upload(desk, jpeg(), "foto.jpg").status_code == 302
    assert desk["client"].get("/logo", base_url=host_url(desk["herent"])).mimetype == "image/jpeg"
    assert post(desk, "/logo/verwijderen", {}).status_code == 302
    assert db.session.get(TenantLogo, desk["herent_id"]) is not None
    assert post(desk, "/logo/verwijderen", {"confirm": "yes"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(TenantLogo, desk["herent_id"]) is None
    assert desk["client"].get("/logo", base_url=host_url(desk["herent"])).status_code == 404


@pytest.mark.parametrize(("content", "filename", "message"), [
    (b"Dit is geen afbeelding\n", "logo.png", "geen PNG- of JPEG-afbeelding"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "logo.svg", "ook SVG"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "logo.png", "ook SVG"),
    (png()[:30], "logo.png", "geen PNG- of JPEG-afbeelding"),  # truncated
    (png(3000, 10), "logo.png", "3000 × 10 pixels"),
    (png() + b"\x00" * (profiles.MAX_LOGO_BYTES + 1), "logo.png", "te groot"),
    (b"", "logo.png", "Kies een bestand."),
])
def test_a_logo_that_is_no_small_png_or_jpeg_is_refused(desk, content, filename, message):
    response = upload(desk, content, filename)
    assert response.status_code == 422 and message in response.text
    assert db.session.get(TenantLogo, desk["herent_id"]) is None and audit_actions(fresh(desk)) == []


def test_a_logo_larger_than_other_forms_may_send_is_accepted(desk, app):
    """The logo route reads up to its own limit, above the app's MAX_CONTENT_LENGTH."""
    image = png(comment=400 * 1024)
    assert len(image) > app.config["MAX_CONTENT_LENGTH"]
    assert upload(desk, image).status_code == 302
    assert desk["client"].get("/logo", base_url=host_url(desk["herent"])).data == image


def test_a_body_beyond_the_upload_limit_is_413(desk):
    response = upload(desk, b"\x89PNG" + b"\x00" * (profiles.MAX_LOGO_BYTES + 64 * 1024))
    assert response.status_code == 413
    assert db.session.get(TenantLogo, desk["herent_id"]) is None


def test_files_are_refused_everywhere_else(desk):
    # Another field of the upload form, and another settings form: the input hook answers 400.
    assert upload(desk, png(), field="csrf_token").status_code == 400
    response = post(desk, "/regels", {**RULES, "response_days": (io.BytesIO(b"5"), "x.txt")},
                    content_type="multipart/form-data")
    assert response.status_code == 400
    assert fresh(desk).settings_data == {}


# --- portal texts ---------------------------------------------------------------------------

TEXTS = {"welcome_nl": "Welkom bij het loket van Herent.", "welcome_fr": "Bienvenue au guichet de Herent.",
         "welcome_en": "Welcome to Herent's desk.", "address": "Wijgmaalsesteenweg 14, 3020 Herent",
         "phone": "016 85 20 00", "email": "opvang@herent.be", "hours_nl": "ma–vr 9–12 u",
         "hours_fr": "lun–ven 9 h–12 h", "hours_en": "Mon–Fri 9:00–12:00"}


@pytest.mark.parametrize(("language", "welcome", "hours"), [
    ("nl", "Welkom bij het loket van Herent.", "ma–vr 9–12 u"),
    ("fr", "Bienvenue au guichet de Herent.", "lun–ven 9 h–12 h"),
    ("en", "Welcome to Herent&#39;s desk.", "Mon–Fri 9:00–12:00"),
])
def test_portal_texts_are_shown_in_the_readers_language(desk, language, welcome, hours):
    assert post(desk, "/teksten", TEXTS).status_code == 302
    page = desk["client"].get("/", base_url=host_url(desk["herent"]), headers={"Accept-Language": language},
                              query_string={"lang": language})
    assert welcome in page.text and hours in page.text
    assert "Wijgmaalsesteenweg 14, 3020 Herent" in page.text and "+32 16 85 20 00" in page.text
    herent = fresh(desk)
    assert herent.desk["phone"] == "+32 16 85 20 00" and herent.desk["email"] == "opvang@herent.be"
    assert audit_actions(herent) == ["settings.portal_texts"]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("phone", "12", "telefoonnummer"), ("email", "geen-adres", "e-mailadres"),
    ("hours_nl", "", "ook in het Nederlands"), ("welcome_fr", "x" * 2001, "Hoogstens 2000 tekens."),
])
def test_bad_portal_texts_are_refused(desk, field, value, message):
    response = post(desk, "/teksten", {**TEXTS, field: value})
    assert response.status_code == 422 and message in response.text.lower() or message in response.text
    herent = fresh(desk)
    assert herent.desk == {"email": "kinderopvang@herent.be", "hours": {"nl": "ma 9–12 u"}}
    assert audit_actions(herent) == []


# --- accessibility statement ----------------------------------------------------------------

STATEMENT = {"status": "partial", "assessed_on": "2026-01-15", "feedback_email": "toegankelijk@herent.be",
             "feedback_phone": "016 85 20 10", "known_issues_nl": "De kaart werkt niet met het toetsenbord.",
             "known_issues_fr": "La carte ne fonctionne pas au clavier.",
             "known_issues_en": "The map does not work with a keyboard."}


@pytest.mark.parametrize(("language", "issue"), [
    ("nl", "De kaart werkt niet met het toetsenbord."),
    ("fr", "La carte ne fonctionne pas au clavier."),
    ("en", "The map does not work with a keyboard."),
])
def test_the_accessibility_statement_is_public_in_every_language(desk, app, language, issue):
    assert post(desk, "/toegankelijkheid", STATEMENT).status_code == 302
    anonymous = app.test_client()
    page = anonymous.get("/toegankelijkheid", base_url=host_url(desk["herent"]), query_string={"lang": language})
    assert page.status_code == 200 and issue in page.text
    assert "mailto:toegankelijk@herent.be" in page.text and "+32 16 85 20 10" in page.text
    assert 'data-status="partial"' in page.text and f'lang="{language}"' in page.text
    # Every page links it from its footer.
    home = anonymous.get("/", base_url=host_url(desk["herent"]))
    assert 'href="/toegankelijkheid"' in home.text
    assert audit_actions(fresh(desk)) == ["settings.accessibility"]


def test_without_a_statement_the_desk_is_the_feedback_contact_and_the_region_has_its_own(desk, app):
    anonymous = app.test_client()
    page = anonymous.get("/toegankelijkheid", base_url=host_url(desk["herent"]))
    assert page.status_code == 200 and "nog niet beoordeeld" in page.text
    assert "mailto:kinderopvang@herent.be" in page.text
    db.session.add(RegionSetting(key="contact_email", value="kinderopvang@regio.be"))
    db.session.flush()
    region = anonymous.get("/toegankelijkheid", base_url=host_url())
    assert region.status_code == 200 and "mailto:kinderopvang@regio.be" in region.text
    db.session.add(RegionSetting(key="accessibility", value={
        "status": "full", "assessed_on": "2025-12-01", "feedback_email": "a11y@regio.be"}))
    db.session.flush()
    region = anonymous.get("/toegankelijkheid", base_url=host_url())
    assert 'data-status="full"' in region.text and "mailto:a11y@regio.be" in region.text
    assert 'href="/toegankelijkheid"' in anonymous.get("/", base_url=host_url()).text


@pytest.mark.parametrize(("changes", "message"), [
    ({"feedback_email": "", "feedback_phone": ""}, "de wet vraagt een contactpunt"),
    ({"assessed_on": (date.today() + timedelta(days=30)).isoformat()}, "niet in de toekomst"),
    ({"assessed_on": ""}, "Vul de datum van de beoordeling in."),
    ({"status": ""}, "Kies in welke mate"),
    ({"known_issues_nl": ""}, "Beschrijf in het Nederlands"),
])
def test_an_incomplete_statement_is_refused(desk, changes, message):
    response = post(desk, "/toegankelijkheid", {**STATEMENT, **changes})
    assert response.status_code == 422 and message in response.text
    assert db.session.get(MunicipalityProfile, desk["herent_id"]) is None and audit_actions(fresh(desk)) == []


# --- tenants sync ---------------------------------------------------------------------------

DEFINITION = """
slug = "herent"
name = "Herent"
nis_code = "24038"
colour = "#1f5c99"
[desk]
email = "kinderopvang@herent.be"
hours = {{ nl = "ma 9–12 u" }}
[settings]
response_days = 21
offer_days = {offer_days}
"""


def test_tenants_sync_reports_the_desks_changes_instead_of_overwriting(desk, runner, tmp_path):
    (tmp_path / "herent.toml").write_text(DEFINITION.format(offer_days=7))
    first = runner.invoke(args=["tenants", "sync", "--dir", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert post(desk, "/gemeente", {"name": "Herent", "colour": "#0b3d6e"}).status_code == 302
    assert post(desk, "/regels", RULES).status_code == 302
    assert post(desk, "/teksten", TEXTS).status_code == 302
    # The definition moves on too: its own fields still follow, the desk's are kept.
    (tmp_path / "herent.toml").write_text(DEFINITION.format(offer_days=9).replace('"Herent"', '"Herent-Winksele"'))
    result = runner.invoke(args=["tenants", "sync", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "changed in the desk's settings, kept" in result.output
    assert "herent colour: database '#0b3d6e', definition '#1f5c99'" in result.output
    assert "herent settings.response_days: database 5, definition 21" in result.output
    assert "herent settings.offer_days: database 10, definition 9" in result.output
    assert "herent desk.hours" in result.output
    herent = fresh(desk)
    assert herent.colour == "#0b3d6e" and herent.name == "Herent-Winksele"
    assert herent.settings.response_days == 5 and herent.settings.offer_days == 10
    assert herent.desk["hours"]["fr"] == "lun–ven 9 h–12 h" and herent.desk["phone"] == "+32 16 85 20 00"
    again = runner.invoke(args=["tenants", "sync", "--dir", str(tmp_path)])
    assert "herent colour" in again.output  # still reported while they differ


# --- isolation ------------------------------------------------------------------------------


def test_only_the_hosts_municipality_is_changed_whatever_the_form_says(desk):
    forged = {"tenant_id": str(desk["tienen_id"]), "tenant": "tienen", "slug": "tienen"}
    assert post(desk, "/gemeente", {"name": "Herent", "colour": "#0b3d6e", **forged}).status_code == 302
    assert post(desk, "/regels", {**RULES, **forged}).status_code == 302
    assert upload(desk, png(), **forged).status_code == 302
    tienen = fresh(desk, "tienen")
    assert tienen.colour == "#7a1a1a" and tienen.settings_data == {} and tienen.name == "Tienen"
    assert db.session.get(TenantLogo, desk["tienen_id"]) is None
    assert audit_actions(tienen) == []
    assert fresh(desk).colour == "#0b3d6e"


@pytest.mark.parametrize("path", ["/", "/gemeente", "/regels", "/teksten", "/toegankelijkheid", "/logo"])
def test_herents_coordinator_cannot_open_or_change_tienens_settings(desk, path):
    client, tienen = desk["client"], desk["tienen"]
    assert client.get(SETTINGS + path, base_url=host_url(tienen)).status_code in (302, 403, 404)
    if path != "/":
        response = client.post(SETTINGS + path, data={**RULES, "name": "Tienen", "colour": "#000000"},
                               base_url=host_url(tienen))
        assert response.status_code in (302, 403, 404)
        assert response.status_code != 302 or "/aanmelden" in response.headers["Location"]
    tienen = fresh(desk, "tienen")
    assert tienen.colour == "#7a1a1a" and tienen.settings_data == {} and audit_actions(tienen) == []
    # And the settings pages do not exist on the regional portal.
    assert client.get(SETTINGS + path, base_url=host_url()).status_code == 404


def test_the_migration_matches_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def only_mine(obj, name, type_, reflected, compare_to):
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is not None and table.name in ("municipality_profiles", "tenant_logos")

    context = MigrationContext.configure(db.session.connection(), opts={
        "include_schemas": True, "include_object": only_mine, "compare_type": True, "compare_server_default": False})
    assert compare_metadata(context, db.metadata) == []


def test_the_settings_service_refuses_what_the_form_would(app, make_tenant):
    tenant = make_tenant()
    with pytest.raises(profiles.ProfileError) as refused:
        profiles.update_settings(db.session, tenant, actor_id=None, values={"response_days": True, "offer_days": 0},
                                 now=utcnow())
    assert set(refused.value.errors) == {"response_days", "offer_days"}
    assert tenant.settings_data == {}
    assert tenancy_services.max_choices(db.session, tenant) == 5


def test_the_upload_limit_holds_before_any_hook_reads_the_body(app):
    """CSRF reads the form before our hooks: the limit comes with the request, from its route."""
    from regional_loket.coordinator.settings import UPLOAD_LIMIT

    base = "http://herent." + app.config["REGION_SERVER_NAME"]
    with app.test_request_context(SETTINGS + "/logo", base_url=base, method="POST",
                                  content_type="multipart/form-data; boundary=x"):
        assert request.max_content_length == UPLOAD_LIMIT
    with app.test_request_context(SETTINGS + "/logo", base_url=base, method="POST", data={"a": "b"}):
        assert request.max_content_length == app.config["MAX_CONTENT_LENGTH"]
    with app.test_request_context(SETTINGS + "/regels", base_url=base, method="POST",
                                  content_type="multipart/form-data; boundary=x"):
        assert request.max_content_length == app.config["MAX_CONTENT_LENGTH"]
