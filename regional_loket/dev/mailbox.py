"""``/dev/mailbox``: the mails the development mail sink caught (see ``dev/mailsink.py``).

Registered only outside production and only when a mailbox directory is known: config
``MAILBOX_DIR``, else the environment variable ``MAILBOX_DIR`` (which ``make run`` sets).
A mail's HTML is never rendered inside our origin: the page shows the text part, and the HTML
part is a download served as ``text/plain`` attachment.
"""

from __future__ import annotations

import email
import os
import re
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from functools import wraps
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, render_template

from ..accounts.policy import public
from ..tenancy import Hosts, serves

bp = Blueprint("dev_mailbox", __name__, template_folder="templates", url_prefix="/dev/mailbox")
serves(bp, Hosts.ALL)

MESSAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,150}\.eml")
LIST_LIMIT = 200


def init_app(app: Flask) -> None:
    directory = app.config.get("MAILBOX_DIR") or os.environ.get("MAILBOX_DIR")
    if app.config.get("ENV") == "production" or not directory:
        return
    app.config["MAILBOX_DIR"] = directory
    app.register_blueprint(bp)


def development(view):
    """Open to anyone, in development only (the policy layer sees a public view; production
    never registers the blueprint, and refuses here as a second line)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_app.config.get("ENV") == "production":
            abort(404)
        return view(*args, **kwargs)

    return public(wrapper)


def _directory() -> Path:
    return Path(current_app.config["MAILBOX_DIR"])


def _path(name: str) -> Path:
    if not MESSAGE_NAME.fullmatch(name):
        abort(404)
    path = _directory() / name
    if not path.is_file():
        abort(404)
    return path


def _read(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        return email.message_from_binary_file(handle, policy=default_policy)


def _summary(path: Path) -> dict:
    with path.open("rb") as handle:
        headers = BytesHeaderParser(policy=default_policy).parse(handle)
    date = headers["Date"]
    return {
        "name": path.name,
        "to": str(headers["To"] or headers["X-Envelope-To"] or ""),
        "subject": str(headers["Subject"] or ""),
        "date": getattr(date, "datetime", None),
    }


@bp.route("/")
@development
def index():
    directory = _directory()
    paths = sorted(directory.glob("*.eml"), reverse=True)[:LIST_LIMIT] if directory.is_dir() else []
    return render_template("dev/mailbox.html", messages=[_summary(p) for p in paths])


@bp.route("/<name>")
@development
def show(name: str):
    message = _read(_path(name))
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    date = message["Date"]
    return render_template(
        "dev/mailbox_message.html", name=name, message=message,
        date=getattr(date, "datetime", None),
        text=text.get_content() if text is not None else "", has_html=html is not None,
    )


@bp.route("/<name>/html")
@development
def download_html(name: str):
    html = _read(_path(name)).get_body(preferencelist=("html",))
    if html is None:
        abort(404)
    # text/plain and an attachment: the browser saves it instead of running it on our origin.
    return Response(html.get_content(), mimetype="text/plain", headers={
        "Content-Disposition": f'attachment; filename="{name[:-4]}.html"',
        "X-Content-Type-Options": "nosniff",
    })
