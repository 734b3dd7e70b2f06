"""The web layer's own blueprint: the layout's templates and static files, and the pages every
portal has (portal.py, languages.py, assets.py)."""

from flask import Blueprint

from ..tenancy import Hosts, serves

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/web")
serves(bp, Hosts.ALL)
