"""Where the platform's data folders are: the checkout's top-level folders in development, the
copies inside the package once it is installed from a wheel.

``config/``, ``migrations/``, ``translations/`` and ``tenants/`` stay at the top of the
repository; ``setup.py`` copies them (with compiled catalogs and the front-end files named in
``VENDOR_ASSETS``) into ``regional_loket/_bundle/`` when it builds a wheel.

Imports nothing outside the standard library: ``setup.py`` loads this file by path at build time,
before any dependency is installed.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT = PACKAGE_DIR.parent
BUNDLE = PACKAGE_DIR / "_bundle"

# The top-level folders of the repository that the running platform reads.
DATA_FOLDERS = ("config", "migrations", "translations", "tenants")

# Front-end packages installed by npm (package-lock.json) and served by the app itself
# (web.vendor_asset): a municipal network may have no route to any CDN. URL name → file under
# node_modules/. Only these files are copied into a wheel (axe-core is for the tests only).
VENDOR_ASSETS = {
    "utrecht/components.css": "@utrecht/component-library-css/dist/index.css",
    "utrecht/theme.css": "@utrecht/design-tokens/dist/theme.css",
    "leaflet/leaflet.css": "leaflet/dist/leaflet.css",
    "leaflet/leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet/images/marker-icon.png": "leaflet/dist/images/marker-icon.png",
    "leaflet/images/marker-icon-2x.png": "leaflet/dist/images/marker-icon-2x.png",
    "leaflet/images/marker-shadow.png": "leaflet/dist/images/marker-shadow.png",
    "leaflet/images/layers.png": "leaflet/dist/images/layers.png",
}


def in_checkout() -> bool:
    """Running from the repository (``pip install -e .`` or the source tree), not a wheel.
    The checkout's ``pyproject.toml`` tells them apart: site-packages has none."""
    return (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "config").is_dir()


def resource_path(name: str) -> Path:
    """The folder ``name`` (one of ``DATA_FOLDERS`` or ``node_modules``): the checkout's own in
    development, else the copy the wheel carries."""
    return (CHECKOUT if in_checkout() else BUNDLE) / name


@cache
def content_version(path: str | Path) -> str:
    """A short hash of a file's content, put in its URL (``?v=``) so a release that changes a
    stylesheet or script never leaves browsers on their cached copy. Read once per process:
    files do not change under a running release."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return "0"
    return hashlib.sha256(data).hexdigest()[:12]
