"""Registration and login in a real browser, in Dutch and in French."""

import re
import uuid

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from regional_loket.extensions import db
from regional_loket.notifications.models import Notification

from ..conftest import translated

pytestmark = pytest.mark.browser
PASSWORD = "fiets naar de crèche om acht"


def _verification_link(live_region, email):
    with live_region["app"].app_context():
        row = db.session.scalar(sa.select(Notification).where(
            Notification.recipient_email == email, Notification.template == "verify_email"))
        return row.data["url"], row.language


DUTCH = {"register": "Account maken", "check": "Kijk in uw mailbox", "login": "Aanmelden", "account": "Mijn account"}


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_register_verify_and_log_in(page, live_region, language):
    texts = DUTCH if language == "nl" else {
        key: translated(live_region["app"], language, text) for key, text in DUTCH.items()}
    email = f"browser-{language}-{uuid.uuid4().hex[:8]}@example.be"
    page.goto(live_region["portal"]() + f"/lang/{language}?next=/registreren")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", level=1)).to_have_text(texts["register"])

    # A weak password is refused with the rule shown, on the same form.
    page.fill("#name", "Browser Ouder")
    page.fill("#email", email)
    page.fill("#password", "kort")
    page.fill("#confirm", "kort")
    page.check("#consent")
    page.get_by_role("button", name=texts["register"]).click()
    expect(page.locator("#password-error")).to_be_visible()
    expect(page.locator("#password")).to_have_attribute("aria-invalid", "true")

    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.get_by_role("button", name=texts["register"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(texts["check"])

    link, mail_language = _verification_link(live_region, email)
    assert mail_language == language  # the mail goes out in the language the account chose
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/aanmelden$"))
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name=texts["login"]).click()
    expect(page.get_by_role("link", name=texts["account"])).to_be_visible()


def test_a_language_chosen_on_one_host_follows_the_visitor_to_the_others(page, live_region):
    """The ``lang`` cookie is host-only; links to another host carry the choice (issue #10, 8)."""
    app = live_region["app"]
    page.goto(live_region["portal"]("herent"))
    page.get_by_role("link", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")

    # The login lives on the regional host: it opens in French too.
    page.get_by_role("navigation", name=translated(app, "fr", "Hoofdmenu")).get_by_role(
        "link", name=translated(app, "fr", "Aanmelden")).click()
    expect(page).to_have_url(re.compile("^" + re.escape(live_region["portal"]() + "/aanmelden")))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(app, "fr", "Aanmelden"))

    # The regional host keeps it, and passes it on to a municipality never visited before.
    page.goto(live_region["portal"]())
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_role("link", name="Leuven", exact=True).click()
    expect(page).to_have_url(re.compile("^" + re.escape(live_region["portal"]("leuven") + "/")))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.goto(live_region["portal"]("leuven"))  # without the parameter: the choice stays
    expect(page.locator("html")).to_have_attribute("lang", "fr")
