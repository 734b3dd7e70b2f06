"""The whole journey through a real SMTP server: register → the verification mail arrives →
its link verifies → log in; and a reset link that arrives works once."""

import re
import uuid
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from regional_loket.accounts.models import User
from regional_loket.extensions import db

from .conftest import REGION, host_url, work_burst

PASSWORD = "fiets naar de crèche om acht"


def _link(message, path_prefix):
    text = message.get_body(preferencelist=("plain",)).get_content()
    url = re.search(rf"http://{re.escape(REGION)}{re.escape(path_prefix)}\S+", text).group(0)
    return urlsplit(url).path


def test_registration_mail_arrives_and_its_link_verifies_the_account(make_outbox_app, smtp_server):
    app = make_outbox_app()
    email = f"mail-{uuid.uuid4().hex[:8]}@example.be"
    client = app.test_client()
    try:
        registered = client.post("/registreren", data={
            "name": "Mail Ouder", "email": email, "language": "fr", "password": PASSWORD, "confirm": PASSWORD,
            "consent": "y"}, base_url=host_url())
        assert registered.status_code == 200
        work_burst(app)
        [mail] = smtp_server.wait_for(1)
        assert mail["To"] == email and mail["Content-Language"] == "fr"
        with app.app_context(), force_locale("fr"):
            french = gettext("Bevestig uw e-mailadres")
        assert french != "Bevestig uw e-mailadres" and mail["Subject"] == french
        assert client.post("/aanmelden", data={"email": email, "password": PASSWORD},
                           base_url=host_url()).status_code == 422  # not verified yet
        assert client.get(_link(mail, "/registreren/bevestigen/"), base_url=host_url()).status_code == 302
        assert client.post("/aanmelden", data={"email": email, "password": PASSWORD},
                           base_url=host_url()).status_code == 302
        assert client.get("/account", base_url=host_url()).status_code == 200

        # Forgot the password: the link in the mail works once.
        client.post("/afmelden", base_url=host_url())
        client.post("/wachtwoord-vergeten", data={"email": email}, base_url=host_url())
        work_burst(app)
        reset = smtp_server.wait_for(2)[-1]
        link = _link(reset, "/wachtwoord-herstellen/")
        new = "een nieuwe zin voor het loket"
        assert client.post(link, data={"password": new, "confirm": new}, base_url=host_url()).status_code == 302
        assert client.post(link, data={"password": new, "confirm": new}, base_url=host_url()).status_code == 400
        assert client.post("/aanmelden", data={"email": email, "password": new},
                           base_url=host_url()).status_code == 302
    finally:
        with app.app_context():
            db.session.execute(sa.delete(User).where(User.email == email))
            db.session.commit()
