"""axe-core on every page of the site (issue #18, item 4), found in the URL map, not listed by
hand: each role — anonymous, parent, referrer, provider staff, the coordinator on the
municipality's host, the administrator on the region's — opens every GET page its policy lets
it open, filled with real objects of the demo region it may see, in Dutch, French and English,
at 360 and 1280 px. Expected: no violation of WCAG 2.1 A/AA (nor of the extra rules the other
axe tests use). A full-page screenshot per page and width (in Dutch) lands in
test-results/screenshots/, which CI keeps with the working folder.

The pages behind the links in mails (a route with a ``token`` argument: password reset, e-mail
verification, unlock, an invitation to a municipality's team, a new e-mail address, a request's
confirmation) are opened as the mail's link opens them: on the host the link points at, with a
token minted for that visit (several are single use), so the real page shows, and once more with a
token that is none, for the page a mangled or old link shows (MAIL_VISITS).

A GET route that is not a page (a download, a probe, a redirect between hosts) is skipped by a
declared rule (NOT_PAGES); a GET route no role opens, no mail visit opens and no rule skips fails
test_every_get_route_is_swept_or_skipped, so a new page is swept before it can land."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from werkzeug.routing import AnyConverter, Rule

from regional_loket import clock
from regional_loket.accounts import Role, User, invitations, tokens
from regional_loket.accounts import services as accounts
from regional_loket.admin import provisioning
from regional_loket.applications import ActorRole, policies
from regional_loket.applications.ranking import CRITERIA, TIE_BREAKS
from regional_loket.care_requests import CareRequest, confirmations, queries
from regional_loket.care_requests import services as requests
from regional_loket.catalog.services import create_organiser
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.families import Family, Guardian
from regional_loket.families import services as families
from regional_loket.tariffs import IncomeTariff, LowIncomeThreshold
from regional_loket.tariffs import services as tariff_services
from regional_loket.tenancy import Hosts, tenant_scope
from regional_loket.tenancy import services as tenancy
from regional_loket.tenancy.hosts import rule_for

from .. import factories as f
from . import test_accessibility
from .steps import choosable
from .test_accessibility import DEMO_PASSWORD, PASSWORD, WIDTHS, _log_in, _violations

pytestmark = pytest.mark.browser
axe_page = test_accessibility.axe_page  # the fixture: a page that may take axe's script
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
LANGUAGES = ("nl", "fr", "en")
MUNICIPALITY = "herent"

# GET routes that are not pages a person reads: (test on the rule, why it is skipped).
NOT_PAGES = (
    (lambda r: r.endpoint.endswith("static") or r.rule.startswith("/assets/"), "a static asset"),
    (lambda r: "fmt" in r.arguments or re.search(r"\.(csv|xlsx|pdf|json|css)$", r.rule) is not None,
     "a download (export, spreadsheet, PDF, JSON, stylesheet)"),
    (lambda r: r.rule.startswith("/api/"), "the JSON API (tests/test_api.py)"),
    (lambda r: r.rule in ("/metrics", "/healthz", "/readyz"), "a probe for machines"),
    (lambda r: r.endpoint == "web.logo", "an image"),
    (lambda r: r.endpoint == "admin.provisioning_progress", "JSON polled by the provisioning page's script"),
    (lambda r: r.endpoint in ("accounts.go", "accounts.handover"), "the session handover between hosts (redirects)"),
    (lambda r: r.endpoint == "web.set_language", "the language switch (a redirect the sweep itself uses)"),
    (lambda r: "logout" in r.endpoint, "logging out"),
    (lambda r: r.endpoint == "catalog.location_elsewhere",
     "a redirect to the location's page on its municipality's portal (swept there as catalog.location)"),
)

# Who works where, and which policy names them. Public pages are swept as the anonymous
# visitor only: a logged-in role sees the same page with its own header, which every one of its
# own pages already puts through axe.
ROLE_HOST = {"anonymous": None, "parent": None, "referrer": None, "staff": MUNICIPALITY,
             "coordinator": MUNICIPALITY, "admin": None}
ROLE_NAMES = {"parent": {Role.PARENT}, "referrer": {Role.REFERRER}, "staff": {Role.PROVIDER_STAFF},
              "coordinator": {Role.COORDINATOR}, "admin": {Role.ADMIN}}
# The wizard's steps open a draft; the other request pages a submitted request.
DRAFT_PAGES = {"requests.plan", "requests.choices", "requests.family_details", "requests.review"}
# Query arguments a page needs to be the page it is (not a redirect back).
QUERY = {"requests.pick": lambda ids: f"?locatie={ids['location_id']}"}


@dataclass
class Login:
    email: str
    password: str = PASSWORD


@dataclass
class World:
    logins: dict  # role → Login
    ids: dict  # role → {argument: value}; (endpoint, argument) keys win over argument keys
    people: dict = field(default_factory=dict)


def _desk_family(session, tenant, location_id, actor_id):
    """A family the desk filed by phone (no e-mail address), with a submitted request."""
    phoned = Family(language="nl", desk_tenant_id=tenant.id, phone="+32 16 12 34 56",
                    guardians=[Guardian(name="Bel Toegankelijk", email="")])
    session.add(phoned)
    session.flush()
    families.update_details(session, phoned, street="Wijgmaalsesteenweg", number="7", postcode="3020",
                            locality="Herent", phone="+32 16 12 34 56", needs_care_for_work=True,
                            single_parent=False, low_income=False)
    child = f.make_child(session, phoned, first_name="Desi", last_name="Toegankelijk")
    filed = requests.draft(session, phoned, child, actor_id=actor_id)
    requests.set_plan(filed, child, start_date=f.START, flexibility_weeks=0, care_plan=dict(f.PLAN),
                      keep_higher_choices=False, today=f.TODAY)
    requests.add_choice(session, filed, child, location_id)
    requests.submit(session, filed, phoned, child, actor_id=actor_id, actor_role=ActorRole.DESK, now=utcnow(),
                    today=f.TODAY)
    return phoned, filed


def _editable_row(session, model, save, values) -> uuid.UUID:
    """A row of this year or later (only those open their form): the demo's, else the latest
    figures carried to the last year the form accepts."""
    row = session.scalar(sa.select(model).where(model.year >= f.TODAY.year).order_by(model.year.desc()).limit(1))
    if row is None:
        latest = session.scalar(sa.select(model).order_by(model.year.desc()).limit(1))
        row = save(session, {"year": f.TODAY.year + tariff_services.YEARS_AHEAD, **values(latest),
                             "source": "Toegankelijkheidstest"}, today=f.TODAY).row
    return row.id


@pytest.fixture(scope="session")
def world(live_region):
    """Real objects of the demo region, one per argument a role's pages take: the staff's
    location and an application of it, the parent's draft and submitted requests and a pending
    invitation to another family, a family the desk filed, an organiser, a provisioning run…"""
    app = live_region["app"]
    (location_id, _name), = choosable(live_region, MUNICIPALITY, 1)
    with app.app_context():
        session = db.session
        now = utcnow()
        herent = tenancy.get_tenant(session, MUNICIPALITY)
        coordinator = accounts.find_user(session, "coordinator.herent@demo-loket.be")
        parent, family = f.make_family(session, name="Ouder Toegankelijk", email=f"sweep-{uuid.uuid4().hex[:8]}@example.be")
        child = f.make_child(session, family, first_name="Axel", last_name="Toegankelijk")
        submitted = f.make_request(session, family, child, locations=[location_id])
        draft = f.make_request(session, family, f.make_child(session, family, first_name="Bea",
                                                             last_name="Toegankelijk"),
                               locations=[location_id], submit=False)
        _, application = f.application_of(session, submitted.choices[0])
        _, other_family = f.make_family(session, name="Gastgezin Toegankelijk")
        guardian = families.invite_guardian(session, other_family, name="Ouder Toegankelijk", email=parent.email,
                                            now=now)
        staff = f.make_user(session, "provider_staff", tenant=herent, locations=[location_id], name="Opvang Sweep")
        membership = next(m for m in staff.memberships if m.role == "provider_staff")
        phoned, filed = _desk_family(session, herent, location_id, coordinator.id)
        with tenant_scope(session, herent):
            organiser = create_organiser(session, {"name": "vzw Toegankelijke Opvang"}, actor_id=None, now=now)
        suffix = uuid.uuid4().hex[:6]
        run = provisioning.request(session, slug=f"toegankelijk{suffix}", subdomain=f"toegankelijk{suffix}",
                                   name="Toegankelijk", nis_code=str(20000 + int(suffix, 16) % 9999), colour="#0b3d6e", domains=[],
                                   coordinator_email="coordinator@toegankelijk.be", coordinator_language="nl",
                                   requested_by=None, region_host=live_region["host"], now=now)
        tariff = _editable_row(session, IncomeTariff, tariff_services.save_tariff,
                               lambda row: {name: getattr(row, name) for name in tariff_services.TARIFF_FIELDS})
        threshold = _editable_row(session, LowIncomeThreshold, tariff_services.save_threshold,
                                  lambda row: {"amount": row.amount})
        # A version that starts in a year and a bit: only a future one opens its form (and today's ranking
        # stays as it is for the other browser tests sharing this region).
        policy = policies.add(session, {"name_nl": "Toegankelijk later", "criteria": [next(iter(CRITERIA))],
                                        "tie_break": next(iter(TIE_BREAKS)),
                                        "effective_from": f.TODAY + timedelta(days=400 + int(suffix, 16) % 300)}, today=f.TODAY).id
        ids = {
            "anonymous": {"location_id": location_id},
            "parent": {"request_id": submitted.id, "draft_request_id": draft.id, "guardian_id": guardian.id,
                       "location_id": location_id},
            "referrer": {"location_id": location_id},
            "staff": {"location_id": location_id, "application_id": application.id},
            "coordinator": {"location_id": location_id, "application_id": application.id, "family_id": phoned.id,
                            "request_id": filed.id, "organiser_id": organiser.id,
                            "membership_id": membership.id},
            "admin": {"user_id": parent.id, "slug": MUNICIPALITY, "provisioning_id": run.id, "policy_id": policy,
                      ("admin.tariff_form", "row_id"): tariff, ("admin.threshold_form", "row_id"): threshold},
        }
        session.commit()  # after reading the ids: the tenant's rows expire outside their scope
        logins = {"parent": Login(parent.email), "staff": Login(staff.email),
                  "referrer": Login("toeleider@demo-loket.be", DEMO_PASSWORD),
                  "coordinator": Login("coordinator.herent@demo-loket.be", DEMO_PASSWORD),
                  "admin": Login("admin@demo-loket.be", DEMO_PASSWORD)}
    return World(logins, ids)


def _not_a_page(rule: Rule) -> str | None:
    return next((why for test, why in NOT_PAGES if test(rule)), None)


def _admits(app, role: str, rule: Rule) -> bool:
    policy = getattr(app.view_functions.get(rule.endpoint), "policy", None)
    hosts = rule_for(app, rule.endpoint).hosts
    if role == "anonymous":
        return policy is not None and policy.kind == "public"
    host = Hosts.MUNICIPALITY if ROLE_HOST[role] else Hosts.REGION
    if host not in hosts or policy is None or policy.kind == "public":
        return False
    return policy.kind == "login" or bool(ROLE_NAMES[role] & {Role(r) for r in policy.roles})


def _paths(rule: Rule, ids: dict) -> list[str] | None:
    """The paths that open ``rule`` with the role's objects (one per item of an ``any`` in the
    path), or None when the role has no object for one of its arguments."""
    variants = [{}]
    for name, converter in rule._converters.items():
        if rule.defaults and name in rule.defaults:
            continue
        if isinstance(converter, AnyConverter):
            variants = [{**v, name: item} for v in variants for item in sorted(converter.items)]
            continue
        key = (rule.endpoint, name)
        if name == "request_id" and rule.endpoint in DRAFT_PAGES:
            key = "draft_request_id"
        value = ids.get(key, ids.get(name)) if key in ids or name in ids else None
        if value is None:
            return None
        variants = [{**v, name: value} for v in variants]
    query = QUERY[rule.endpoint](ids) if rule.endpoint in QUERY else ""
    return [rule.build({**(rule.defaults or {}), **v}, append_unknown=False)[1] + query for v in variants]


def _plan(app, role: str, ids: dict) -> list[tuple[str, str, str | None]]:
    """(endpoint, path, host slug) of every page ``role`` opens, in the URL map's order."""
    plan = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if "GET" not in rule.methods or rule.endpoint == "probe" or _not_a_page(rule):
            continue
        if not _admits(app, role, rule):
            continue
        hosts = rule_for(app, rule.endpoint).hosts
        slugs = [ROLE_HOST[role]] if role != "anonymous" else \
            [slug for slug, kind in ((None, Hosts.REGION), (MUNICIPALITY, Hosts.MUNICIPALITY)) if kind in hosts]
        for path in _paths(rule, ids) or []:
            plan.extend((rule.endpoint, path, slug) for slug in slugs)
    return plan


def test_every_get_route_is_swept_or_skipped(live_region, world):
    app = live_region["app"]
    swept = {endpoint for role in ROLE_HOST for endpoint, _, _ in _plan(app, role, world.ids[role])}
    swept |= {visit.endpoint for visit in MAIL_VISITS}
    # Every link a mail can carry is opened with a working token and with a broken one.
    links = {r.endpoint for r in app.url_map.iter_rules() if "token" in r.arguments}
    assert {v.endpoint for v in MAIL_VISITS if v.status == 200} == links
    assert {v.endpoint for v in MAIL_VISITS if v.status != 200} == links
    unswept = sorted(r.rule for r in app.url_map.iter_rules()
                     if "GET" in r.methods and r.endpoint != "probe" and not _not_a_page(r)
                     and r.endpoint not in swept)
    assert unswept == [], "give these pages an object in tests/browser/test_accessibility_sweep.py's world"


def _axe_at_each_width(page, where: str, language: str, problems: list, shot) -> int:
    """The open page in its language, through axe at each width (a Dutch one photographed as
    ``shot(width)``); violations go to ``problems``. Returns the number of axe runs."""
    expect(page.locator("html")).to_have_attribute("lang", re.compile(f"^{language}"))
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_timeout(30)
        problems += [f"{where} @ {width}px: {v}" for v in _violations(page)]
        if language == "nl":
            page.screenshot(path=str(SCREENSHOTS / shot(width)), full_page=True)
    return len(WIDTHS)


def _shot_name(role: str, slug: str | None, path: str, width: int) -> str:
    flat = re.sub(r"[^A-Za-z0-9]+", "-", path.split("?")[0]).strip("-") or "home"
    return f"{role}--{slug or 'regio'}--{flat}--{width}.png"


@pytest.mark.parametrize("role", list(ROLE_HOST))
def test_every_page_of_every_role_has_no_axe_violations(axe_page, live_region, world, role):
    app = live_region["app"]
    page = axe_page
    plan = _plan(app, role, world.ids[role])
    assert plan, role
    if role != "anonymous":
        login = world.logins[role]
        _log_in(page, live_region, login.email, login.password, slug=ROLE_HOST[role], path="/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems, runs = [], 0
    for language in LANGUAGES:
        for slug in {slug for _, _, slug in plan}:
            page.goto(live_region["portal"](slug) + f"/lang/{language}?next=/")
        for endpoint, path, slug in plan:
            response = page.goto(live_region["portal"](slug) + path)
            where = f"{role} {language} {slug or 'region'}{path} ({endpoint})"
            if response is None or response.status >= 400:
                problems.append(f"{where}: answers {response and response.status}")
                continue
            if urlsplit(page.url).path != path.split("?")[0]:  # sent elsewhere: this page was not seen
                problems.append(f"{where}: redirected to {page.url}")
                continue
            runs += _axe_at_each_width(page, where, language, problems,
                                       lambda width, slug=slug, path=path: _shot_name(role, slug, path, width))
    print(f"axe sweep {role}: {len(plan)} pages, {runs} axe runs")
    assert problems == [], "\n".join(problems)


# --- the pages behind the links in mails ------------------------------------------------------

GARBAGE = "dit-is-geen-geldige-link"  # what a link cut short by a mail program, or typed wrongly, carries


@dataclass(frozen=True)
class MailVisit:
    """One click on a link from a mail. ``mint(session, secret, people, language)`` makes the
    visit's token (and what the link needs, e.g. an open invitation) just before the click: a
    link that acts is used up by its visit. ``shows``: what proves it is the page meant (a form
    field, the button, the success message), not another one."""

    endpoint: str
    variant: str
    mint: Callable
    shows: str
    status: int = 200
    lands: str | None = None  # a link that acts at once sends the person on: that page, with its message
    press: bool = False  # then press the page's one button (the confirmation link's result page)
    signed_in: bool = False  # the invitee opens the link logged in (the login brings them back to it)


def _account(session, people) -> User:
    return session.get(User, people["account"])


def _verify(session, secret, people, language):
    user = _account(session, people)
    user.verified_at = None  # as just registered: the link is what verifies the address
    return tokens.make(secret, "verify", uid=str(user.id), email=user.email)


def _reset(session, secret, people, language):
    user = _account(session, people)
    return tokens.make(secret, "reset", uid=str(user.id), pw=accounts.password_fingerprint(user))


def _unlock(session, secret, people, language):
    return tokens.make(secret, "unlock", uid=str(people["account"]))


def _new_email(session, secret, people, language):
    return tokens.make(secret, "email", uid=str(people["account"]), new=f"nieuw-{uuid.uuid4().hex[:8]}@example.be")


def _invitation(role: Role, existing: bool):
    def mint(session, secret, people, language):
        herent = tenancy.get_tenant(session, MUNICIPALITY)
        email = people["invitee_email"] if existing else f"genodigd-{uuid.uuid4().hex[:8]}@example.be"
        invitation = invitations.invite(session, herent, email=email, language=language, role=role,
                                        location_ids=[people["location_id"]], actor_id=None, now=utcnow())
        return invitations.token_for(invitation, secret)
    return mint


def _confirmation(session, secret, people, language):
    care = session.get(CareRequest, people["request_id"])
    return confirmations.make_token(secret, care, due_at=queries.timing(session, care.id).due_at, now=clock.now())


def _garbage(session, secret, people, language):
    return GARBAGE


FORM_BUTTON = "main form [type=submit]"
MAIL_VISITS = (
    MailVisit("accounts.verify", "valid", _verify, "main .utrecht-alert--ok", lands="accounts.login"),
    MailVisit("accounts.reset_password", "valid", _reset, "main #password"),
    MailVisit("accounts.unlock", "valid", _unlock, "main .utrecht-alert--ok", lands="accounts.login"),
    MailVisit("accounts.confirm_email", "valid", _new_email, "main .utrecht-alert--ok", lands="accounts.login"),
    MailVisit("coordinator.accept_invitation", "valid-new-account", _invitation(Role.PROVIDER_STAFF, False),
              "main #name"),
    MailVisit("coordinator.accept_invitation", "valid-existing-account", _invitation(Role.COORDINATOR, True),
              "main #invitation-login"),
    MailVisit("requests.confirm_link", "valid", _confirmation, FORM_BUTTON),
    MailVisit("requests.confirm_link", "valid-confirmed", _confirmation, "main [role=status] h1", press=True),
    *(MailVisit(endpoint, "invalid", _garbage, "main h1", status=400)
      for endpoint in ("accounts.verify", "accounts.reset_password", "accounts.unlock", "accounts.confirm_email",
                       "coordinator.accept_invitation", "requests.confirm_link")),
    # Last: it logs the browser in.
    MailVisit("coordinator.accept_invitation", "valid-signed-in", _invitation(Role.COORDINATOR, True), FORM_BUTTON,
              signed_in=True),
)


def _mail_host(app, endpoint: str) -> str | None:
    """The host a mail's link points at: the region's for what an account does (accounts.mail)
    and for a request (care_requests.confirmations), the municipality's for an invitation to
    its team (a route it alone serves)."""
    return None if Hosts.REGION in rule_for(app, endpoint).hosts else MUNICIPALITY


@pytest.fixture(scope="session")
def mail_people(live_region):
    """Whom the links are for: an account of its own (its address changes at every e-mail
    visit), an account invited as coordinator, and a family with a submitted request to confirm."""
    app = live_region["app"]
    (location_id, _name), = choosable(live_region, MUNICIPALITY, 1)
    with app.app_context():
        session = db.session
        account = f.make_user(session, email=f"link-{uuid.uuid4().hex[:8]}@example.be", name="Link Toegankelijk")
        invitee = f.make_user(session, email=f"genodigde-{uuid.uuid4().hex[:8]}@example.be",
                              name="Genodigde Toegankelijk")
        _, family = f.make_family(session, name="Ouder Bevestiging", email=f"bevestig-{uuid.uuid4().hex[:8]}@example.be")
        care = f.make_request(session, family, f.make_child(session, family, first_name="Cas", last_name="Bevestiging"),
                              locations=[location_id])
        people = {"account": account.id, "invitee_email": invitee.email, "location_id": location_id,
                  "request_id": care.id}
        session.commit()
    return people


def test_every_page_behind_a_mail_link_has_no_axe_violations(axe_page, live_region, mail_people):
    app, page = live_region["app"], axe_page
    secret = tokens.keys(app.config)
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules() if "token" in rule.arguments}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems, runs = [], 0
    for language in LANGUAGES:
        page.context.clear_cookies()
        for slug in (None, MUNICIPALITY):
            page.goto(live_region["portal"](slug) + f"/lang/{language}?next=/")
        for visit in MAIL_VISITS:
            slug = _mail_host(app, visit.endpoint)
            if visit.signed_in:
                page.context.clear_cookies()
                _log_in(page, live_region, mail_people["invitee_email"], slug=slug, path="/")
                page.goto(live_region["portal"](slug) + f"/lang/{language}?next=/")
            with app.app_context():
                token = visit.mint(db.session, secret, mail_people, language)
                db.session.commit()
            path = rules[visit.endpoint].build({"token": token}, append_unknown=False)[1]
            where = f"{language} {slug or 'region'} {visit.endpoint} ({visit.variant})"
            response = page.goto(live_region["portal"](slug) + path)
            if visit.press:
                with page.expect_navigation() as navigation:
                    page.locator(FORM_BUTTON).click()
                response = navigation.value
            if response is None or response.status != visit.status:
                problems.append(f"{where}: answers {response and response.status}, not {visit.status}")
                continue
            expected = path if visit.lands is None else next(app.url_map.iter_rules(visit.lands)).rule
            if urlsplit(page.url).path != expected:
                problems.append(f"{where}: at {page.url}, not {expected}")
                continue
            if not page.locator(visit.shows).first.is_visible():
                problems.append(f"{where}: {visit.shows} is not shown")
                continue
            runs += _axe_at_each_width(
                page, where, language, problems,
                lambda width, slug=slug, visit=visit:
                f"mail--{slug or 'regio'}--{visit.endpoint.replace('.', '-')}--{visit.variant}--{width}.png")
    print(f"axe sweep of the mail links: {len(rules)} routes, {len(MAIL_VISITS)} visits, {runs} axe runs")
    assert problems == [], "\n".join(problems)
