"""Region administration of municipalities (issue #14 items 1–3): the list with key figures,
creating one by a provisioning job (idempotent, a failure leaves nothing and can be retried),
archive and restore, renaming the subdomain, the definition files staying consistent, and the
coordinators of a municipality."""

import json
import re
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from regional_loket.accounts.invitations import StaffInvitation
from regional_loket.accounts.models import Membership, Role
from regional_loket.admin import provisioning, services
from regional_loket.admin.models import TenantProvisioning
from regional_loket.applications import Application, Status
from regional_loket.extensions import db
from regional_loket.jobs.models import JobRun
from regional_loket.notifications import Notification, render
from regional_loket.tenancy import AuditEntry, Tenant, tenant_scope
from regional_loket.tenancy import services as tenancy_services
from regional_loket.tenancy.models import MunicipalityProfile

from . import factories
from .conftest import PASSWORD, REGION, host_url, login, translated

BASE = "/beheer/regio"


@pytest.fixture
def admin(app, make_user, client):
    user = make_user("admin", name="Ilse Regiobeheer")
    db.session.commit()
    assert login(client, user).status_code == 302
    return user


def _form(**values):
    form = {"name": "Nieuwgem", "slug": "nieuwgem", "subdomain": "", "nis_code": "24999", "colour": "#1d4f91",
            "domains": "", "coordinator_email": "coordinator@nieuwgem.be", "coordinator_language": "fr"}
    form.update(values)
    return form


def _schema_exists(name: str) -> bool:
    return bool(db.session.scalar(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": name}))


def _create(client, **values):
    response = client.post(f"{BASE}/gemeenten/nieuw", data=_form(**values), base_url=host_url())
    assert response.status_code == 302, response.get_data(as_text=True)
    return uuid.UUID(response.headers["Location"].rstrip("/").split("/")[-1])


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_status_locations_and_open_applications_in_one_statement(
        app, client, admin, make_tenant, make_location, count_queries):
    herent, tienen = make_tenant(name="Herent"), make_tenant(name="Tienen")
    first, second = make_location(herent, "Een"), make_location(herent, "Twee")
    make_location(tienen, "Drie")
    _user, family = factories.make_family(db.session)
    child = factories.make_child(db.session, family)
    factories.make_request(db.session, family, child, locations=[first, second])
    tenancy_services.archive_tenant(db.session, tienen.slug)
    db.session.commit()

    with count_queries() as count:
        rows = {row.tenant.slug: row for row in services.municipalities(db.session)}
    assert count() == 1, str(count)
    assert (rows[herent.slug].locations, rows[herent.slug].open_applications) == (2, 2)
    assert (rows[tienen.slug].locations, rows[tienen.slug].open_applications) == (1, 0)

    page = client.get(f"{BASE}/", base_url=host_url()).get_data(as_text=True)
    assert "Herent" in page and "gearchiveerd" in page and "Gemeente toevoegen" in page


# --- creating -------------------------------------------------------------------------------


def test_creating_runs_the_job_and_running_it_twice_makes_one_municipality(app, client, admin):
    provisioning_id = _create(client, subdomain="nieuw-loket", domains="kinderopvang.nieuwgem.be")
    row = db.session.get(TenantProvisioning, provisioning_id)
    assert (row.status, row.slug, row.subdomain) == ("pending", "nieuwgem", "nieuw-loket")
    assert tenancy_services.get_tenant(db.session, "nieuwgem") is None  # the job builds it, not the form
    page = client.get(f"{BASE}/gemeenten/aanmaak/{provisioning_id}", base_url=host_url()).get_data(as_text=True)
    assert "admin-provisioning.js" in page and "Vernieuwen" in page and "<progress" in page

    assert provisioning.provision_now(app, str(provisioning_id)) == "done"
    assert provisioning.provision_now(app, str(provisioning_id)) == "done"  # again: nothing more

    tenants = db.session.scalars(sa.select(Tenant).where(Tenant.slug == "nieuwgem")).all()
    assert len(tenants) == 1
    tenant = tenants[0]
    assert tenant.subdomain == "nieuw-loket" and [d.domain for d in tenant.domains] == ["kinderopvang.nieuwgem.be"]
    assert _schema_exists("gem_nieuwgem")
    invitations = db.session.scalars(sa.select(StaffInvitation).where(StaffInvitation.tenant_id == tenant.id)).all()
    assert [(i.role, i.email, i.language) for i in invitations] == [("coordinator", "coordinator@nieuwgem.be", "fr")]
    mails = db.session.scalars(sa.select(Notification).where(
        Notification.recipient_email == "coordinator@nieuwgem.be")).all()
    assert [(m.template, m.language) for m in mails] == [("coordinator_invitation", "fr")]
    assert "nieuw-loket." + REGION in mails[0].data["url"]
    profile = db.session.get(MunicipalityProfile, tenant.id)
    assert set(profile.managed) >= {"name", "nis_code", "colour", "extra_domains"}
    with tenant_scope(db.session, tenant):
        assert db.session.scalars(sa.select(AuditEntry.action)).all() == ["tenant.create"]
    runs = db.session.scalars(sa.select(JobRun).where(JobRun.job == "provision-tenant",
                                                      JobRun.tenant_slug == "nieuwgem")).all()
    assert sorted(r.outcome for r in runs) == ["ok", "skipped"]

    state = client.get(f"{BASE}/gemeenten/aanmaak/{provisioning_id}/stand", base_url=host_url()).get_json()
    assert state["status"] == "done" and state["step"] == state["steps"] == len(provisioning.STEPS)
    assert state["portal"] == f"http://nieuw-loket.{REGION}/"
    # The new portal answers at its subdomain.
    assert client.get("/", base_url=f"http://nieuw-loket.{REGION}").status_code == 200


def test_a_failure_midway_leaves_nothing_and_can_be_retried(app, client, admin, monkeypatch):
    provisioning_id = _create(client)
    steps = list(provisioning.STEPS)

    def broken(app_, session, row, state, now):
        assert _schema_exists("gem_nieuwgem")  # midway: the schema and the row were already made
        raise RuntimeError("the mail relay refused the invitation")

    monkeypatch.setattr(provisioning, "STEPS", [s if s[0] != "coordinator" else (s[0], s[1], broken) for s in steps])
    with pytest.raises(RuntimeError):
        provisioning.provision_now(app, str(provisioning_id))

    assert tenancy_services.get_tenant(db.session, "nieuwgem") is None
    assert not _schema_exists("gem_nieuwgem")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffInvitation).where(
        StaffInvitation.email == "coordinator@nieuwgem.be")) == 0
    row = db.session.get(TenantProvisioning, provisioning_id)
    db.session.refresh(row)
    assert row.status == "failed" and "the mail relay refused the invitation" in row.error
    page = client.get(f"{BASE}/gemeenten/aanmaak/{provisioning_id}", base_url=host_url()).get_data(as_text=True)
    assert "the mail relay refused the invitation" in page and "Opnieuw proberen" in page
    assert db.session.scalar(sa.select(JobRun.outcome).where(JobRun.tenant_slug == "nieuwgem")) == "failed"

    monkeypatch.setattr(provisioning, "STEPS", steps)
    response = client.post(f"{BASE}/gemeenten/aanmaak/{provisioning_id}/opnieuw", base_url=host_url())
    assert response.status_code == 302
    db.session.refresh(row)
    assert row.status == "pending"
    assert provisioning.provision_now(app, str(provisioning_id)) == "done"
    assert tenancy_services.get_tenant(db.session, "nieuwgem") is not None and _schema_exists("gem_nieuwgem")


def test_a_slug_taken_between_the_form_and_the_job_fails_with_its_cause(app, client, admin, make_tenant):
    provisioning_id = _create(client)
    make_tenant("nieuwgem", nis_code="24998")
    with pytest.raises(provisioning.ProvisioningError):
        provisioning.provision_now(app, str(provisioning_id))
    row = db.session.get(TenantProvisioning, provisioning_id)
    db.session.refresh(row)
    assert row.status == "failed" and "slug" in row.error


@pytest.mark.parametrize(("field", "values", "message"), [
    ("slug", {"slug": "Niet Goed"}, "Gebruik 2 tot 40 kleine letters"),
    ("slug", {"slug": "www"}, "is voorbehouden voor het platform"),
    ("slug", {"slug": "api"}, "is voorbehouden voor het platform"),
    ("slug", {"slug": "bestaand"}, "Er bestaat al een gemeente met de korte naam"),
    ("subdomain", {"subdomain": "admin"}, "is voorbehouden voor het platform"),
    ("subdomain", {"subdomain": "intranet"}, "is voorbehouden voor het platform"),  # the region's own list
    ("subdomain", {"subdomain": "bestaand"}, "is al in gebruik"),
    ("subdomain", {"subdomain": "-x"}, "Gebruik 2 tot 40 kleine letters"),
    ("nis_code", {"nis_code": "1234"}, "Een NIS-code bestaat uit vijf cijfers"),
    ("nis_code", {"nis_code": "12a45"}, "Een NIS-code bestaat uit vijf cijfers"),
    ("nis_code", {"nis_code": "24001"}, "hoort al bij een andere gemeente"),
    ("colour", {"colour": "#ffff00"}, "Witte tekst op deze kleur"),
    ("colour", {"colour": "blue"}, "Geef een kleur als #rrggbb"),
    ("domains", {"domains": "not a domain"}, "is geen geldige domeinnaam"),
    ("domains", {"domains": f"x.{REGION}"}, "valt onder het domein van de regio"),
    ("coordinator_email", {"coordinator_email": "geen-adres"}, "geldig e-mailadres"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_bad_input_is_refused_with_a_translated_message_and_nothing_written(
        app, client, admin, make_tenant, field, values, message):
    make_tenant("bestaand", nis_code="24001")
    tenancy_services.region_settings(db.session)
    db.session.add(tenancy_services.RegionSetting(key="reserved_subdomains", value=["intranet"]))
    db.session.commit()
    response = client.post(f"{BASE}/gemeenten/nieuw", data=_form(**values), base_url=host_url())
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page, page
    assert f'id="{field}-error"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TenantProvisioning)) == 0
    assert tenancy_services.get_tenant(db.session, "nieuwgem") is None


def test_the_messages_are_translated(app):
    for language in ("fr", "en"):
        translated(app, language, "Een NIS-code bestaat uit vijf cijfers, bv. 24038.")
        translated(app, language, "“%(name)s” is voorbehouden voor het platform; kies een andere naam.", name="www")
        translated(app, language, "“%(name)s” is al in gebruik (of was dat vroeger) bij een gemeente.", name="x")
        translated(app, language, "De NIS-code %(code)s hoort al bij een andere gemeente.", code="24001")


def test_a_second_form_for_a_slug_being_provisioned_is_refused(app, client, admin):
    _create(client)
    response = client.post(f"{BASE}/gemeenten/nieuw", data=_form(nis_code="24997"), base_url=host_url())
    assert response.status_code == 422
    assert "Er bestaat al een gemeente met de korte naam" in response.get_data(as_text=True)


# --- who may ------------------------------------------------------------------------------------

NEW_ENDPOINTS = ("admin.new_municipality", "admin.provisioning_status", "admin.provisioning_progress",
                 "admin.retry_provisioning", "admin.municipality", "admin.rename_municipality",
                 "admin.archive_municipality", "admin.restore_municipality", "admin.invite_coordinator",
                 "admin.resend_coordinator_invitation", "admin.cancel_coordinator_invitation",
                 "admin.revoke_coordinator")


def _urls(app, slug):
    values = {"slug": slug, "provisioning_id": uuid.uuid4(), "invitation_id": uuid.uuid4(),
              "membership_id": uuid.uuid4()}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NEW_ENDPOINTS:
            path = rule.build({k: v for k, v in values.items() if k in rule.arguments})[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, path


@pytest.mark.parametrize("role", ["coordinator", "provider_staff", "referrer", "parent"])
def test_every_new_route_refuses_anyone_but_an_administrator(app, client, make_tenant, make_user, role):
    herent = make_tenant("herent")
    user = make_user(role, tenant=herent if role in ("coordinator", "provider_staff") else None)
    db.session.commit()
    assert login(client, user).status_code == 302
    urls = list(_urls(app, "herent"))
    assert len({path for _, path in urls}) >= len(NEW_ENDPOINTS) - 1
    for method, path in urls:
        response = client.open(path, method=method, base_url=host_url())
        assert response.status_code == 403, (method, path, response.status_code)
    assert tenancy_services.get_tenant(db.session, "herent").status == "active"


def test_the_new_routes_are_not_served_on_a_municipal_host(app, client, admin, make_tenant):
    herent = make_tenant("herent")
    db.session.commit()
    for method, path in _urls(app, "herent"):
        assert client.open(path, method=method, base_url=host_url(herent)).status_code == 404, path


# --- archive and restore -------------------------------------------------------------------------


def test_archiving_withdraws_open_applications_tells_families_and_staff_and_shows_the_archive_page(
        app, client, admin, make_tenant, make_location, make_user):
    herent, leuven = make_tenant("herent", name="Herent"), make_tenant("leuven", name="Leuven")
    zon, elders = make_location(herent, "De Zonnebloem"), make_location(leuven, "Elders")
    staff = make_user("provider_staff", tenant=herent, locations=[zon.id], email="staff@zon.be")
    _user, family = factories.make_family(db.session, email="ouder@example.be")
    child = factories.make_child(db.session, family)
    care = factories.make_request(db.session, family, child, locations=[zon, elders])
    db.session.commit()

    page = client.get(f"{BASE}/gemeenten/herent/archiveren", base_url=host_url())
    assert page.status_code == 200 and "1 open aanvraag wordt ingetrokken" in page.get_data(as_text=True)
    refused = client.post(f"{BASE}/gemeenten/herent/archiveren", data={"reason": ""}, base_url=host_url())
    assert refused.status_code == 422 and "Geef een reden op" in refused.get_data(as_text=True)
    assert tenancy_services.get_tenant(db.session, "herent").status == "active"

    response = client.post(f"{BASE}/gemeenten/herent/archiveren", data={"reason": "Fusie met Leuven"},
                           base_url=host_url())
    assert response.status_code == 302
    db.session.expire_all()
    herent = tenancy_services.get_tenant(db.session, "herent")
    assert herent.is_archived
    with tenant_scope(db.session, herent):
        application = db.session.scalar(sa.select(Application))
        assert application.status == Status.WITHDRAWN
        assert application.events[-1].text == "municipality-archived" and application.events[-1].actor_role == "system"
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "tenant.archive"))
        assert entry.note == "Fusie met Leuven" and entry.detail == {"withdrawn": 1}
    choices = {c.tenant_id: c.status for c in db.session.get(type(care), care.id).choices}
    assert choices[herent.id] == Status.WITHDRAWN and choices[leuven.id] == Status.SUBMITTED  # Leuven's stays
    family_mail = db.session.scalars(sa.select(Notification).where(
        Notification.recipient_email == "ouder@example.be", Notification.idempotency_key.like("archived:%"))).all()
    assert len(family_mail) == 1 and "neemt niet meer deel" in family_mail[0].data["status"]
    staff_mail = db.session.scalars(sa.select(Notification).where(Notification.recipient_email == staff.email)).all()
    assert [m.template for m in staff_mail] == ["staff_update"]
    assert staff_mail[0].data["note"] == "municipality-archived"

    portal = client.get("/", base_url=host_url(herent))
    assert portal.status_code == 410

    # Restore: the portal answers again; the withdrawn application stays withdrawn.
    assert client.post(f"{BASE}/gemeenten/herent/herstellen", base_url=host_url()).status_code == 302
    db.session.expire_all()
    assert client.get("/", base_url=host_url(herent)).status_code == 200
    with tenant_scope(db.session, herent):
        assert db.session.scalar(sa.select(Application.status)) == Status.WITHDRAWN
        assert "tenant.restore" in db.session.scalars(sa.select(AuditEntry.action)).all()


# --- renaming the subdomain ---------------------------------------------------------------------


def test_renaming_redirects_the_old_host_and_keeps_the_old_name_reserved(app, client, admin, make_tenant):
    herent = make_tenant("herent", name="Herent")
    make_tenant("tienen")
    db.session.commit()
    taken = client.post(f"{BASE}/gemeenten/herent/subdomein", data={"subdomain": "tienen"}, base_url=host_url())
    assert taken.status_code == 422 and "is al in gebruik" in taken.get_data(as_text=True)
    reserved = client.post(f"{BASE}/gemeenten/herent/subdomein", data={"subdomain": "www"}, base_url=host_url())
    assert reserved.status_code == 422

    response = client.post(f"{BASE}/gemeenten/herent/subdomein", data={"subdomain": "herent-loket"},
                           base_url=host_url())
    assert response.status_code == 302
    old = client.get("/zoeken?q=zon", base_url=f"http://herent.{REGION}")
    assert old.status_code == 308
    assert old.headers["Location"] == f"http://herent-loket.{REGION}/zoeken?q=zon"
    assert client.get("/", base_url=f"http://herent-loket.{REGION}").status_code == 200
    assert client.get("/", base_url=f"http://nergens.{REGION}").status_code == 404

    # The old name stays reserved: no other municipality may take it.
    errors = services_check(subdomain="herent")
    assert "subdomain" in errors
    with pytest.raises(tenancy_services.TenantError):
        tenancy_services.create_tenant(db.session, slug="herent2", subdomain="herent", name="X", nis_code="24777")
    with tenant_scope(db.session, herent):
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "tenant.rename"))
        assert entry.detail == {"from": "herent", "to": "herent-loket"}
    page = client.get(f"{BASE}/gemeenten/herent", base_url=host_url()).get_data(as_text=True)
    assert "vroeger: herent" in page


def services_check(**values):
    from regional_loket.tenancy import administration

    fields = {"slug": "anders", "subdomain": "anders", "name": "Anders", "nis_code": "24555", "colour": "#1d4f91",
              "domains": [], "region_host": REGION}
    fields.update(values)
    return administration.check_new(db.session, **fields)


# --- the definition files -----------------------------------------------------------------------


def test_sync_reports_what_the_administrator_changed_instead_of_overwriting_it(app, client, admin, runner, tmp_path):
    provisioning_id = _create(client, name="Nieuwgem", colour="#1d4f91", domains="kinderopvang.nieuwgem.be")
    assert provisioning.provision_now(app, str(provisioning_id)) == "done"
    Path(tmp_path / "nieuwgem.toml").write_text(
        'slug = "nieuwgem"\nname = "Nieuwgem uit bestand"\nnis_code = "24999"\ncolour = "#0b3d6e"\n'
        'extra_domains = ["ander.nieuwgem.be"]\n', encoding="utf-8")
    result = runner.invoke(args=["tenants", "sync", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "nieuwgem name: database 'Nieuwgem', definition 'Nieuwgem uit bestand'" in result.output
    assert "nieuwgem extra_domains" in result.output
    tenant = tenancy_services.get_tenant(db.session, "nieuwgem")
    db.session.refresh(tenant)
    assert tenant.name == "Nieuwgem" and tenant.colour == "#1d4f91"
    assert [d.domain for d in tenant.domains] == ["kinderopvang.nieuwgem.be"]

    app.config["TENANTS_DIR"], before = str(tmp_path), app.config.get("TENANTS_DIR")
    try:
        page = client.get(f"{BASE}/gemeenten/nieuwgem", base_url=host_url()).get_data(as_text=True)
    finally:
        app.config["TENANTS_DIR"] = before
    assert "tenants/nieuwgem.toml" in page and "NIS-code, kleur, extra domeinen" in page
    assert "colour, extra_domains, name, nis_code" in page


def test_a_municipality_without_a_file_says_so(app, client, admin, make_tenant, tmp_path):
    make_tenant("herent")
    db.session.commit()
    app.config["TENANTS_DIR"], before = str(tmp_path), app.config.get("TENANTS_DIR")
    try:
        page = client.get(f"{BASE}/gemeenten/herent", base_url=host_url()).get_data(as_text=True)
    finally:
        app.config["TENANTS_DIR"] = before
    assert "heeft geen definitiebestand" in page


# --- coordinators -------------------------------------------------------------------------------


def test_inviting_a_coordinator_mails_in_their_language_and_the_link_makes_them_coordinator(
        app, client, admin, make_tenant):
    herent = make_tenant("herent", name="Herent")
    db.session.commit()
    response = client.post(f"{BASE}/gemeenten/herent/coordinatoren/uitnodigen",
                           data={"email": "Nieuwe.Coord@Herent.be", "language": "en"}, base_url=host_url())
    assert response.status_code == 302
    invitation = db.session.scalar(sa.select(StaffInvitation).where(StaffInvitation.tenant_id == herent.id))
    assert (invitation.role, invitation.email, invitation.language) == ("coordinator", "nieuwe.coord@herent.be", "en")
    mail = db.session.scalar(sa.select(Notification).where(Notification.recipient_email == invitation.email))
    assert (mail.template, mail.language) == ("coordinator_invitation", "en")
    subject, text, _html = render(app, mail)
    assert subject == "Invitation: coordinator of the Herent childcare desk"
    assert "invites you to be coordinator of the Herent childcare desk" in text and mail.data["url"] in text
    page = client.get(f"{BASE}/gemeenten/herent", base_url=host_url()).get_data(as_text=True)
    assert "nieuwe.coord@herent.be" in page and "uitgenodigd" in page
    with tenant_scope(db.session, herent):
        assert "coordinator.invite" in db.session.scalars(sa.select(AuditEntry.action)).all()

    # The link, on the municipality's host: a new account, with the coordinator role.
    path = "/" + mail.data["url"].split("/", 3)[3]
    invitee = app.test_client()
    accept = invitee.get(path, base_url=host_url(herent))
    assert accept.status_code == 200 and "Uitnodiging als coördinator" in accept.get_data(as_text=True)
    done = invitee.post(path, data={"name": "Nieuwe Coördinator", "password": PASSWORD, "confirm": PASSWORD},
                        base_url=host_url(herent))
    assert done.status_code == 200, done.get_data(as_text=True)
    membership = db.session.scalar(sa.select(Membership).where(Membership.tenant_id == herent.id))
    assert membership.role == Role.COORDINATOR and membership.location_ids == []


def test_an_address_already_coordinator_is_refused(app, client, admin, make_tenant, make_user):
    herent = make_tenant("herent", name="Herent")
    make_user("coordinator", tenant=herent, email="koen@herent.be")
    db.session.commit()
    response = client.post(f"{BASE}/gemeenten/herent/coordinatoren/uitnodigen",
                           data={"email": "koen@herent.be", "language": "nl"}, base_url=host_url())
    assert response.status_code == 422 and "al coördinator van Herent" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffInvitation)) == 0


def test_revoking_keeps_the_last_coordinator_of_an_active_municipality(app, client, admin, make_tenant, make_user):
    herent = make_tenant("herent", name="Herent")
    first = make_user("coordinator", tenant=herent, email="een@herent.be")
    second = make_user("coordinator", tenant=herent, email="twee@herent.be")
    db.session.commit()
    ids = {u.email: next(m.id for m in u.memberships if m.role == "coordinator") for u in (first, second)}

    assert client.post(f"{BASE}/gemeenten/herent/coordinatoren/{ids['een@herent.be']}/intrekken",
                       base_url=host_url()).status_code == 302
    assert client.post(f"{BASE}/gemeenten/herent/coordinatoren/{ids['twee@herent.be']}/intrekken",
                       base_url=host_url()).status_code == 302
    left = db.session.scalars(sa.select(Membership.id).where(Membership.tenant_id == herent.id,
                                                             Membership.role == "coordinator")).all()
    assert left == [ids["twee@herent.be"]]  # the last one stays
    page = client.get(f"{BASE}/gemeenten/herent", base_url=host_url(), follow_redirects=True)
    assert "twee@herent.be" in page.get_data(as_text=True)
    with tenant_scope(db.session, herent):
        assert db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.action == "coordinator.revoke")).all() == ["coordinator.revoke"]


def test_one_municipalitys_coordinators_and_invitations_are_not_reached_through_another(
        app, client, admin, make_tenant, make_user):
    herent, tienen = make_tenant("herent"), make_tenant("tienen")
    make_user("coordinator", tenant=herent)
    tienen_coordinator = make_user("coordinator", tenant=tienen)
    make_user("coordinator", tenant=tienen)
    db.session.commit()
    client.post(f"{BASE}/gemeenten/tienen/coordinatoren/uitnodigen", data={"email": "x@tienen.be", "language": "nl"},
                base_url=host_url())
    invitation = db.session.scalar(sa.select(StaffInvitation).where(StaffInvitation.tenant_id == tienen.id))
    membership = next(m.id for m in tienen_coordinator.memberships)
    for path in (f"coordinatoren/{membership}/intrekken", f"coordinatoren/uitnodigingen/{invitation.id}/annuleren",
                 f"coordinatoren/uitnodigingen/{invitation.id}/opnieuw"):
        assert client.post(f"{BASE}/gemeenten/herent/{path}", base_url=host_url()).status_code == 404, path
    assert client.post(f"{BASE}/gemeenten/tienen/coordinatoren/uitnodigingen/{invitation.id}/annuleren",
                       base_url=host_url()).status_code == 302
    db.session.refresh(invitation)
    assert invitation.cancelled_at is not None
    assert client.get(f"{BASE}/gemeenten/onbekend", base_url=host_url()).status_code == 404
    assert client.get(f"{BASE}/gemeenten/aanmaak/{uuid.uuid4()}", base_url=host_url()).status_code == 404


def test_the_provisioning_page_shows_progress_from_redis(app, client, admin):
    provisioning_id = _create(client)
    provisioning._set_progress(app, provisioning_id, 2)
    state = client.get(f"{BASE}/gemeenten/aanmaak/{provisioning_id}/stand", base_url=host_url()).get_json()
    assert state["status"] == "pending" and state["step"] == 2
    assert state["label"] == str(provisioning.STEPS[2][1])
    assert re.search(r"Stap 2 van \d", state["text"])


# --- export and import -------------------------------------------------------------------------


def _drop(archive):
    """Remove exactly what the archive holds (children first) and the schema: the municipality
    is gone from this database, as if it were another deployment."""
    from regional_loket.admin import transfer

    for name, _where in reversed(transfer.SHARED_ROWS):
        rows = archive.shared.get(name) or []
        if not rows:
            continue
        table = db.metadata.tables[f"shared.{name}"]
        keys = [c.name for c in table.primary_key.columns]
        match = " AND ".join(f't."{k}" = r."{k}"' for k in keys)
        db.session.execute(sa.text(f'DELETE FROM shared."{name}" t USING json_populate_recordset('
                                   f'NULL::shared."{name}", CAST(:rows AS json)) r WHERE {match}'),
                           {"rows": json.dumps(rows)})
    db.session.execute(sa.text(f'DROP SCHEMA "gem_{archive.manifest["slug"]}" CASCADE'))
    db.session.commit()
    db.session.expire_all()


def test_export_then_import_restores_every_row(app, runner, make_tenant, make_location, make_user, tmp_path):
    from regional_loket.admin import transfer
    from regional_loket.tenancy import administration, profiles

    herent = make_tenant("herent", name="Herent", domains=["kinderopvang.herent.be"])
    leuven = make_tenant("leuven", name="Leuven")
    zon = make_location(herent, "De Zonnebloem", free={(factories.START, "baby"): 2})
    bos = make_location(herent, "Het Bos")
    elders = make_location(leuven, "Elders")
    staff = make_user("provider_staff", tenant=herent, locations=[zon.id])
    only_here_user, only_here = factories.make_family(db.session, email="hier@example.be")
    child = factories.make_child(db.session, only_here)
    care = factories.make_request(db.session, only_here, child, locations=[zon, bos])
    factories.make_offer(db.session, care.choices[0])
    _other_user, both = factories.make_family(db.session, email="beide@example.be")
    factories.make_request(db.session, both, factories.make_child(db.session, both, first_name="Mo"),
                           locations=[zon, elders])
    now = factories.utcnow()
    administration.rename_subdomain(db.session, herent, "herent-loket", now=now)
    profiles.update_identity(db.session, herent, actor_id=staff.id, name="Herent", colour="#0b3d6e", now=now)
    db.session.commit()

    path = tmp_path / "herent.tar.gz"
    result = runner.invoke(args=["tenants", "export", "herent", str(path)])
    assert result.exit_code == 0, result.output
    exported = transfer.load(path)
    tables = exported.manifest["tables"]
    assert tables["shared/families"] == 1 and tables["shared/requests"] == 1 and tables["shared/choices"] == 2
    assert tables["tenant/applications"] == 3 and tables["tenant/locations"] == 2
    assert tables["shared/retired_subdomains"] == 1 and tables["shared/catalog_locations"] == 2
    assert tables["tenant/application_events"] >= 4 and tables["tenant/audit_log"] >= 1
    assert exported.shared["families"][0]["id"] == str(only_here.id)  # the other family asked elsewhere too

    refused = runner.invoke(args=["tenants", "import", str(path)])
    assert refused.exit_code == 1 and "already exists" in refused.output

    _drop(exported)
    assert tenancy_services.get_tenant(db.session, "herent") is None
    result = runner.invoke(args=["tenants", "import", str(path)])
    assert result.exit_code == 0, result.output

    restored = tenancy_services.get_tenant(db.session, "herent")
    again = transfer.read(db.session, restored)
    assert again.shared == exported.shared
    assert again.tenant == exported.tenant
    assert {k: v for k, v in again.manifest.items() if k != "exported_at"} == {
        k: v for k, v in exported.manifest.items() if k != "exported_at"}
    # The guardian's account exists here: the link stays (it is cleared only when it does not).
    assert exported.shared["guardians"][0]["user_id"] == str(only_here_user.id)
    # It works again: the portal answers, on its (renamed) host, and the old one redirects.
    client = app.test_client()
    assert client.get("/", base_url=f"http://herent-loket.{REGION}").status_code == 200
    assert client.get("/", base_url=f"http://herent.{REGION}").status_code == 308


def test_an_import_of_other_versions_is_refused_and_writes_nothing(app, runner, make_tenant, tmp_path):
    import tarfile

    make_tenant("herent", name="Herent")
    db.session.commit()
    path = tmp_path / "herent.tar.gz"
    assert runner.invoke(args=["tenants", "export", "herent", str(path)]).exit_code == 0
    from regional_loket.admin import transfer

    archive = transfer.load(path)
    _drop(archive)
    archive.manifest["tenant_version"] = "tenant_0001"
    other = tmp_path / "old.tar.gz"
    with tarfile.open(other, "w:gz") as tar:
        transfer._add(tar, "manifest.json", json.dumps(archive.manifest))
        for name, rows in archive.shared.items():
            transfer._add(tar, f"shared/{name}.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    result = runner.invoke(args=["tenants", "import", str(other)])
    assert result.exit_code == 1 and "schema versions differ" in result.output
    assert tenancy_services.get_tenant(db.session, "herent") is None
    assert not _schema_exists("gem_herent")
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not an archive")
    assert runner.invoke(args=["tenants", "import", str(garbage)]).exit_code == 1
