"""The local offer on the desk: the coordinator creates, edits, deactivates and reactivates
locations and keeps organisers; the catalog follows in the same transaction, bad input writes
nothing, and another municipality's rows are not there (404)."""

import html
import uuid

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from regional_loket.applications import OPEN_STATUSES, Application
from regional_loket.catalog import CatalogLocation, Location, Organiser, search
from regional_loket.catalog import services as offer
from regional_loket.catalog.mirror import rebuild
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.tenancy import AuditEntry, tenant_scope

from . import factories
from .conftest import hand_over, host_url, login
from .factories import START, TODAY

VALID = {
    "name": "Kinderdagverblijf Het Zonnetje", "organiser_id": "", "kind": "group", "street": "Wijgmaalsesteenweg",
    "number": "12", "postcode": "3020", "locality": "Herent", "lat": "50.9101", "lon": "4.6702",
    "licensed_places": "21", "min_age_months": "0", "max_age_months": "36", "opening_days": ["1", "2", "3", "4", "5"],
    "opens_at": "07:00", "closes_at": "18:30", "closures": "2027-07-19 2027-08-06 zomersluiting",
    "languages": ["nl", "fr"], "tariff": "free", "day_price": "35.50", "special_care": "y",
    "description_nl": "Een kleine crèche aan het park.", "description_fr": "Une petite crèche près du parc.",
    "description_en": "", "website": "www.zonnetje.be", "phone": "016 12 34 56", "email": "Info@Zonnetje.be",
    "accepts_online": "y",
}


def _organiser(tenant, name="vzw Kinderopvang Tienen", **fields):
    with tenant_scope(db.session, tenant):
        return offer.create_organiser(db.session, {"name": name, **fields}, actor_id=None, now=utcnow())


@pytest.fixture
def desk(make_tenant, make_location, make_user):
    herent, tienen = make_tenant("herent", name="Herent"), make_tenant("tienen", name="Tienen")
    place = make_location(herent, "Kinderdagverblijf De Zonnebloem", free={(START, "baby"): 1})
    other = make_location(tienen, "Kinderdagverblijf Tiense Suiker", postcode="3300", locality="Tienen")
    organiser = _organiser(tienen)
    coordinator = make_user("coordinator", tenant=herent)
    return {"herent": herent, "tienen": tienen, "place_id": place.id, "other_id": other.id,
            "tienen_organiser_id": organiser.id, "coordinator": coordinator,
            "staff": make_user("provider_staff", tenant=herent, locations=[place.id]), "parent": make_user()}


def _client(app, user, tenant):
    client = app.test_client()
    login(client, user)
    hand_over(client, tenant, "/beheer/aanbod/")
    return client


@pytest.fixture
def client(app, desk):
    return _client(app, desk["coordinator"], desk["herent"])


def _post(client, tenant, path, data):
    return client.post(path, data=data, base_url=host_url(tenant))


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _found(q: str) -> list[str]:
    query, _ = search.parse(MultiDict({"q": q}), session=db.session, today=TODAY)
    return [row["name"] for row in search.run(db.session, query, today=TODAY).rows]


def _audit(tenant, action=None) -> list[AuditEntry]:
    with tenant_scope(db.session, tenant):
        statement = sa.select(AuditEntry).order_by(AuditEntry.at)
        if action:
            statement = statement.where(AuditEntry.action == action)
        return list(db.session.scalars(statement))


def _counts(tenant) -> tuple[int, int, int, int]:
    db.session.expire_all()
    with tenant_scope(db.session, tenant):
        counted = tuple(db.session.scalar(sa.select(sa.func.count()).select_from(t))
                        for t in (Location, Organiser, AuditEntry))
    return (*counted, db.session.scalar(sa.select(sa.func.count()).select_from(CatalogLocation)))


def _clean_catalog(tenant) -> bool:
    return all(drift.clean for drift in rebuild(db.session, [tenant], fix=False))


# --- locations --------------------------------------------------------------------------------------


def test_a_new_location_is_in_the_catalog_and_search_at_once_and_audited(client, desk):
    herent = desk["herent"]
    assert _post(client, herent, "/beheer/aanbod/nieuw", VALID).status_code == 302
    db.session.expire_all()
    with tenant_scope(db.session, herent):
        place = db.session.scalar(sa.select(Location).where(Location.name == VALID["name"]))
        assert (place.day_price, place.website, place.phone, place.email) == (
            35.5, "https://www.zonnetje.be", "+32 16 12 34 56", "info@zonnetje.be")
        assert place.closures == [{"from": "2027-07-19", "to": "2027-08-06", "reason": "zomersluiting"}]
        assert place.description == {"nl": VALID["description_nl"], "fr": VALID["description_fr"]}
        assert place.languages == ["nl", "fr"] and place.special_care and place.active
        place_id = place.id
    assert db.session.get(CatalogLocation, place_id).name == VALID["name"]
    assert _clean_catalog(herent)
    assert VALID["name"] in _found("zonnetje")
    [entry] = _audit(herent, "location.create")
    assert entry.actor_id == desk["coordinator"].id and entry.subject == str(place_id)
    assert entry.detail["name"] == [None, VALID["name"]]
    listed = _text(client.get("/beheer/aanbod/?q=zonnetje", base_url=host_url(herent)))
    assert VALID["name"] in listed and "De Zonnebloem" not in listed


def test_editing_changes_the_catalog_and_audits_only_the_changed_fields(client, desk):
    herent, place_id = desk["herent"], desk["place_id"]
    organiser_id = _organiser(herent, "vzw Kinderopvang Herent").id
    page = client.get(f"/beheer/aanbod/{place_id}", base_url=host_url(herent))
    assert page.status_code == 200 and 'value="Kinderdagverblijf De Zonnebloem"' in page.get_data(as_text=True)
    changed = {**VALID, "name": "Kinderdagverblijf De Nieuwe Zonnebloem", "organiser_id": str(organiser_id),
               "tariff": "income", "day_price": "", "accepts_online": ""}
    assert _post(client, herent, f"/beheer/aanbod/{place_id}", changed).status_code == 302
    db.session.expire_all()
    row = db.session.get(CatalogLocation, place_id)
    assert (row.name, row.organiser, row.tariff, row.day_price, row.accepts_online) == (
        "Kinderdagverblijf De Nieuwe Zonnebloem", "vzw Kinderopvang Herent", "income", None, False)
    assert _clean_catalog(herent)
    [entry] = _audit(herent, "location.update")
    assert entry.detail["name"] == ["Kinderdagverblijf De Zonnebloem", "Kinderdagverblijf De Nieuwe Zonnebloem"]
    assert "kind" not in entry.detail and "postcode" not in entry.detail  # unchanged: not listed
    # Saving again without a change writes nothing.
    assert _post(client, herent, f"/beheer/aanbod/{place_id}", changed).status_code == 302
    assert len(_audit(herent, "location.update")) == 1
    # The organiser's new name follows onto its locations and into the catalog.
    assert _post(client, herent, f"/beheer/aanbod/organisatoren/{organiser_id}",
                 {"name": "vzw Opvang Herent"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(CatalogLocation, place_id).organiser == "vzw Opvang Herent"


def test_deactivating_takes_the_location_out_of_search_and_reactivating_back(client, desk):
    herent, place_id = desk["herent"], desk["place_id"]
    assert "De Zonnebloem" in " ".join(_found("zonnebloem"))
    page = client.get(f"/beheer/aanbod/{place_id}/deactiveren", base_url=host_url(herent))
    assert page.status_code == 200 and "Ja, deactiveren" in page.get_data(as_text=True)
    assert _post(client, herent, f"/beheer/aanbod/{place_id}/deactiveren",
                 {"confirm": "yes", "seen": "0"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(CatalogLocation, place_id).active is False and _found("zonnebloem") == []
    assert _post(client, herent, f"/beheer/aanbod/{place_id}/activeren", {}).status_code == 302
    db.session.expire_all()
    assert db.session.get(CatalogLocation, place_id).active is True and _found("zonnebloem")
    assert [e.action for e in _audit(herent) if e.action.startswith("location.")] == [
        "location.deactivate", "location.activate"]


def test_deactivating_with_open_applications_needs_the_confirmation_and_keeps_them(app, client, desk):
    herent, place_id = desk["herent"], desk["place_id"]
    parent, family = factories.make_family(db.session)
    child = factories.make_child(db.session, family)
    care = factories.make_request(db.session, family, child, locations=[place_id])
    application_id = care.choices[0].application_id
    page = _text(client.get(f"/beheer/aanbod/{place_id}/deactiveren", base_url=host_url(herent)))
    assert "Deze locatie heeft 1 open aanvraag." in page and "niet ingetrokken" in page
    before = _counts(herent)
    for data in ({}, {"seen": "1"}, {"confirm": "yes", "seen": "0"}):  # no confirmation, or of fewer than open
        refused = _post(client, herent, f"/beheer/aanbod/{place_id}/deactiveren", data)
        assert refused.status_code == 422 and "Bevestig eerst" in _text(refused), data
        assert _counts(herent) == before
        assert db.session.get(CatalogLocation, place_id).active is True
    assert _post(client, herent, f"/beheer/aanbod/{place_id}/deactiveren",
                 {"confirm": "yes", "seen": "1"}).status_code == 302
    db.session.expire_all()
    with tenant_scope(db.session, herent):
        assert db.session.get(Location, place_id).active is False
        assert db.session.get(Application, application_id).status in OPEN_STATUSES  # kept, not withdrawn
    [entry] = _audit(herent, "location.deactivate")
    assert entry.detail == {"active": [True, False], "open_applications": 1}
    family_side = app.test_client()
    login(family_side, parent)
    page = _text(family_side.get(f"/aanvragen/{care.id}", base_url=host_url()))
    assert "De Zonnebloem" in page and "neemt geen nieuwe aanvragen meer aan. Uw aanvraag blijft wel lopen." in page


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"min_age_months": "40", "max_age_months": "36"}, "max_age_months", "De hoogste leeftijd ligt niet onder"),
    ({"licensed_places": "-1"}, "licensed_places", "0 tot 500."),
    ({"licensed_places": "tien"}, "licensed_places", "Vul een geheel getal in"),
    ({"website": "javascript:alert(1)"}, "website", "Geef een webadres dat begint met https://"),
    ({"phone": "12"}, "phone", "Dit is geen geldig telefoonnummer"),
    ({"email": "geen-adres"}, "email", "Dit is geen geldig e-mailadres"),
    ({"tariff": "free", "day_price": ""}, "day_price", "Geef bij een vrije prijs de dagprijs"),
    ({"opens_at": "19:00", "closes_at": "18:00"}, "closes_at", "Het sluitingsuur ligt na het openingsuur."),
    ({"opens_at": "7u"}, "opens_at", "Gebruik een uur als 07:30."),
    ({"closures": "2027-08-06 2027-07-19 omgekeerd"}, "closures", "Schrijf elke periode als"),
    ({"lat": "4.67", "lon": "50.91"}, "lat", "ligt niet in België"),
    ({"postcode": "30200"}, "postcode", "Een postcode heeft vier cijfers"),
    ({"name": " "}, "name", "Vul dit veld in."),
    ({"opening_days": []}, "opening_days", "Kies minstens één dag"),
    ({"languages": []}, "languages", "Kies minstens één taal."),
    ({"organiser_id": str(uuid.uuid4())}, "organiser_id", "Deze organisator bestaat niet (meer)."),
    ({"organiser_id": "vzw"}, "organiser_id", "Kies een organisator uit de lijst."),
    ({"kind": "crèche"}, "kind", "Ongeldige keuze."),
])
def test_bad_input_is_explained_next_to_the_field_and_writes_nothing(client, desk, changes, field, message):
    herent, place_id = desk["herent"], desk["place_id"]
    before = _counts(herent)
    created = _post(client, herent, "/beheer/aanbod/nieuw", {**VALID, **changes})
    edited = _post(client, herent, f"/beheer/aanbod/{place_id}", {**VALID, **changes})
    for answer in (created, edited):
        assert answer.status_code == 422
        page = _text(answer)
        assert message in page and f'id="{field}-error"' in page and "Controleer wat u invulde" in page
    assert _counts(herent) == before
    assert db.session.get(CatalogLocation, place_id).name == "Kinderdagverblijf De Zonnebloem"


def test_the_service_refuses_what_a_form_might_let_through(desk):
    """The rules between fields hold whoever calls: nothing is changed on a refusal."""
    with tenant_scope(db.session, desk["herent"]):
        place = db.session.get(Location, desk["place_id"])
        with pytest.raises(offer.OfferError) as refused:
            offer.update_location(db.session, place, {"min_age_months": 24, "max_age_months": 12,
                                                      "licensed_places": -3}, actor_id=None, now=utcnow())
        assert set(refused.value.errors) == {"max_age_months", "licensed_places"}
        assert (place.min_age_months, place.licensed_places) == (0, 18)


# --- organisers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["0403.170.702", "12345", "0403.170.70a", "2403.170.701"])
def test_a_bad_enterprise_number_writes_nothing(client, desk, number):
    herent = desk["herent"]
    before = _counts(herent)
    answer = _post(client, herent, "/beheer/aanbod/organisatoren/nieuw",
                   {"name": "vzw Test", "enterprise_number": number})
    assert answer.status_code == 422 and "Dit is geen geldig ondernemingsnummer" in _text(answer)
    assert _counts(herent) == before


def test_organisers_are_created_listed_edited_and_deleted_only_without_locations(client, desk):
    herent, place_id = desk["herent"], desk["place_id"]
    made = _post(client, herent, "/beheer/aanbod/organisatoren/nieuw", {
        "name": "vzw Kinderopvang Herent", "enterprise_number": "403170701", "email": "Info@Opvang.be",
        "phone": "016 12 34 56"})
    assert made.status_code == 302
    with tenant_scope(db.session, herent):
        organiser = db.session.scalar(sa.select(Organiser).where(Organiser.name == "vzw Kinderopvang Herent"))
        assert (organiser.enterprise_number, organiser.email) == ("0403.170.701", "info@opvang.be")
        organiser_id = organiser.id
    listed = _text(client.get("/beheer/aanbod/organisatoren/", base_url=host_url(herent)))
    assert "vzw Kinderopvang Herent" in listed and "0403.170.701" in listed
    twice = _post(client, herent, "/beheer/aanbod/organisatoren/nieuw",
                  {"name": "Een ander", "enterprise_number": "0403 170 701"})
    assert twice.status_code == 422 and "hoort al bij vzw Kinderopvang Herent" in _text(twice)
    # With a location, deleting is refused with a clear message.
    assert _post(client, herent, f"/beheer/aanbod/{place_id}",
                 {**VALID, "organiser_id": str(organiser_id)}).status_code == 302
    before = _counts(herent)
    refused = _post(client, herent, f"/beheer/aanbod/organisatoren/{organiser_id}/verwijderen", {"confirm": "yes"})
    assert refused.status_code == 422 and "heeft nog 1 locatie." in _text(refused)
    assert _counts(herent) == before
    # Without: the confirmation page, then gone.
    assert _post(client, herent, f"/beheer/aanbod/{place_id}", {**VALID, "organiser_id": ""}).status_code == 302
    assert _post(client, herent, f"/beheer/aanbod/organisatoren/{organiser_id}/verwijderen", {}).status_code == 422
    confirm = client.get(f"/beheer/aanbod/organisatoren/{organiser_id}/verwijderen", base_url=host_url(herent))
    assert confirm.status_code == 200 and "Ja, verwijderen" in confirm.get_data(as_text=True)
    assert _post(client, herent, f"/beheer/aanbod/organisatoren/{organiser_id}/verwijderen",
                 {"confirm": "yes"}).status_code == 302
    with tenant_scope(db.session, herent):
        assert db.session.get(Organiser, organiser_id) is None
    assert [e.action for e in _audit(herent, "organiser.delete")] == ["organiser.delete"]


# --- who may ------------------------------------------------------------------------------------------


def _routes(location_id, organiser_id):
    return [
        ("get", f"/beheer/aanbod/{location_id}"), ("post", f"/beheer/aanbod/{location_id}"),
        ("get", f"/beheer/aanbod/{location_id}/deactiveren"), ("post", f"/beheer/aanbod/{location_id}/deactiveren"),
        ("post", f"/beheer/aanbod/{location_id}/activeren"),
        ("get", f"/beheer/aanbod/organisatoren/{organiser_id}"),
        ("post", f"/beheer/aanbod/organisatoren/{organiser_id}"),
        ("get", f"/beheer/aanbod/organisatoren/{organiser_id}/verwijderen"),
        ("post", f"/beheer/aanbod/organisatoren/{organiser_id}/verwijderen"),
    ]


def test_a_coordinator_of_herent_finds_nothing_of_tienen(client, desk):
    herent, tienen = desk["herent"], desk["tienen"]
    before = _counts(tienen)
    for method, path in _routes(desk["other_id"], desk["tienen_organiser_id"]):
        data = {**VALID, "confirm": "yes", "seen": "9", "name": "Overgenomen"} if method == "post" else None
        answer = getattr(client, method)(path, data=data, base_url=host_url(herent))
        assert answer.status_code == 404, (method, path)
    listed = _text(client.get("/beheer/aanbod/?status=all", base_url=host_url(herent)))
    assert "Tiense Suiker" not in listed and "De Zonnebloem" in listed
    assert "vzw Kinderopvang Tienen" not in _text(client.get("/beheer/aanbod/organisatoren/",
                                                              base_url=host_url(herent)))
    assert _counts(tienen) == before


@pytest.mark.parametrize("who", ["staff", "parent"])
def test_provider_staff_and_parents_may_not(app, desk, who):
    herent = desk["herent"]
    organiser = _organiser(herent, "vzw Herent")
    other = _client(app, desk[who], herent)
    paths = [("get", "/beheer/aanbod/"), ("get", "/beheer/aanbod/nieuw"), ("post", "/beheer/aanbod/nieuw"),
             ("get", "/beheer/aanbod/organisatoren/"), ("get", "/beheer/aanbod/organisatoren/nieuw"),
             *_routes(desk["place_id"], organiser.id)]
    before = _counts(herent)
    for method, path in paths:
        data = {**VALID, "confirm": "yes", "seen": "9"} if method == "post" else None
        assert getattr(other, method)(path, data=data, base_url=host_url(herent)).status_code in (403, 404), path
    assert _counts(herent) == before


def test_the_demo_locations_have_their_organisers_as_records(make_tenant):
    from types import SimpleNamespace

    from regional_loket.catalog import demo

    tenant = make_tenant("herent", name="Herent")
    definition = SimpleNamespace(slug="herent", name="Herent", streets={},
                                 postcodes=[{"code": "3020", "name": "Herent", "lat": 50.9085, "lon": 4.6715}])
    demo.load(db.session, SimpleNamespace(municipalities=[definition]), echo=lambda text: None)
    with tenant_scope(db.session, tenant):
        locations = list(db.session.scalars(sa.select(Location)))
        assert locations and all(p.organiser_record and p.organiser_record.name == p.organiser for p in locations)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organiser)) == len({p.organiser
                                                                                           for p in locations})
