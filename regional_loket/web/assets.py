"""Front-end packages installed by npm (package-lock.json) and served by the app itself:
a municipal network may have no route to any CDN."""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, send_file

from ..resources import VENDOR_ASSETS, content_version, resource_path
from .blueprint import bp
from .declarations import public


def _assets_dir() -> Path:
    return Path(current_app.config.get("ASSETS_DIR") or resource_path("node_modules"))


@bp.app_url_defaults
def _versioned(endpoint: str, values: dict) -> None:
    """Asset URLs carry a hash of the file (``?v=``): a release that changes a stylesheet or a
    script gets a new URL, so no browser keeps the copy it cached for a week."""
    if "v" in values:
        return
    if endpoint == "web.vendor_asset":
        key = values.get("name", "")
    elif endpoint == "static" or endpoint.endswith(".static"):
        key = values.get("filename")
    else:
        return
    # Every page links half a dozen assets: their versions are looked up once per app and file
    # (building the path and hashing it as a cache key cost more than the rest of url_for).
    versions = current_app.extensions.setdefault("asset_versions", {})
    version = versions.get((endpoint, key))
    if version is None:
        version = versions[(endpoint, key)] = _version(endpoint, key) or ""
    if version:
        values["v"] = version


def _version(endpoint: str, key: str | None) -> str | None:
    if endpoint == "web.vendor_asset":
        relative = VENDOR_ASSETS.get(key)
        return content_version(_assets_dir() / relative) if relative is not None else None
    blueprint = endpoint.rpartition(".")[0]
    folder = (current_app.blueprints[blueprint] if blueprint else current_app).static_folder
    return content_version(Path(folder) / key) if folder and key else None


@bp.route("/assets/<path:name>")
@public
def vendor_asset(name: str):
    relative = VENDOR_ASSETS.get(name)
    if relative is None:
        abort(404)
    path = _assets_dir() / relative
    if not path.is_file():
        current_app.logger.error("front-end asset missing: %s (run 'make install')", path)
        abort(404)
    return send_file(path, max_age=7 * 24 * 3600, conditional=True)
