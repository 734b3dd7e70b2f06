"""The built wheel runs on its own: installed into a fresh virtualenv, started from a folder
outside the checkout with nothing but environment variables, it migrates, serves its pages,
CSS and translations under gunicorn with the shipped config, and runs a worker and the scheduler.

The new virtualenv gets the dependencies of this one through a path file (no download, no
compile: the test stays well under a minute), but imports the package itself from the wheel.
"""

import http.client
import json
import os
import re
import subprocess
import sys
import sysconfig
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from regional_loket.database import sqlalchemy_url

from .conftest import _admin_url, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
HOST = "loket.test"


def run(*command, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, **kwargs)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A virtualenv holding the wheel built from this checkout."""
    work = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "-w", str(work / "dist"), str(ROOT))
    (wheel,) = (work / "dist").glob("regional_loket-*.whl")
    run(sys.executable, "-m", "venv", "--without-pip", str(work / "venv"))
    python = work / "venv" / "bin" / "python"
    site = Path(run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    # A plain path line: this environment's packages become importable, but its .pth files
    # (the editable install of the checkout) are not run, so the package comes from the wheel.
    (site / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index",
        "--no-deps", "--force-reinstall", str(wheel))
    return work / "venv"


@pytest.fixture(scope="module")
def environment(venv, tmp_path_factory, redis_url):
    """Only environment variables, as a production host would have them, on a scratch database."""
    admin = sa.create_engine(sqlalchemy_url(_admin_url(tmp_path_factory)), isolation_level="AUTOCOMMIT")
    name = f"rl_wheel_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    tag = uuid.uuid4().hex[:8]
    secret = tmp_path_factory.mktemp("secrets") / "key"
    secret.write_text("k" * 48 + "\n")
    yield {
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "HOME": str(tmp_path_factory.mktemp("home")),
        "LOKET_ENV": "production",
        "LOKET_DATABASE_URL": admin.url.set(database=name).render_as_string(hide_password=False),
        "REDIS_URL": redis_url,
        "SECRET_KEY_FILE": str(secret),
        "SERVER_NAME": HOST,
        "LOKET_JOBS_QUEUE": f"wheel-{tag}",  # not the queue other tests work
        "LOKET_RATELIMIT_KEY_PREFIX": f"wheel-{tag}",
        "LOKET_DATABASE_POOL_SIZE": "2",
    }
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def loket(venv, environment, cwd, *args) -> str:
    return run(str(venv / "bin" / "loket"), *args, env=environment, cwd=cwd).stdout


def test_the_wheel_carries_its_data_and_no_checkout_is_used(venv, environment, tmp_path):
    probe = run(str(venv / "bin" / "python"), "-c", "\n".join([
        "import json, regional_loket, regional_loket.resources as r, regional_loket.settings as s",
        "print(json.dumps({'package': regional_loket.__file__, 'checkout': r.in_checkout(),",
        "  'defaults': str(s.DEFAULTS_FILE),",
        "  'folders': {n: r.resource_path(n).is_dir() for n in (*r.DATA_FOLDERS, 'node_modules')},",
        "  'catalogs': sorted(p.parts[-3] for p in r.resource_path('translations').glob('*/LC_MESSAGES/messages.mo')),",
        "  'assets': all((r.resource_path('node_modules') / f).is_file() for f in r.VENDOR_ASSETS.values())}))",
    ]), env=environment, cwd=tmp_path)
    found = json.loads(probe.stdout)
    assert found["package"].startswith(str(venv)) and not found["checkout"]
    assert found["defaults"].startswith(str(venv))
    assert all(found["folders"].values()), found["folders"]
    assert found["catalogs"] == ["en", "fr", "nl"]
    assert found["assets"]


def test_the_wheels_dependencies_are_what_pyproject_declares(venv, environment, tmp_path):
    """Every runtime requirement the wheel states is installed at a version it allows (the
    dependencies come from this environment), and none of the development servers is one."""
    check = run(str(venv / "bin" / "python"), "-c", "\n".join([
        "from importlib import metadata",
        "from packaging.requirements import Requirement",
        "missing = []",
        "for line in metadata.requires('regional-loket'):",
        "    r = Requirement(line)",
        "    if r.marker and not r.marker.evaluate({'extra': ''}): continue",
        "    try: v = metadata.version(r.name)",
        "    except metadata.PackageNotFoundError: v = None",
        "    if v is None or not r.specifier.contains(v, prereleases=True): missing.append(f'{r} ({v})')",
        "print('\\n'.join(missing))",
    ]), env=environment, cwd=tmp_path)
    assert check.stdout.strip() == ""


def test_migrate_serve_work_and_schedule_from_the_wheel(venv, environment, tmp_path):
    migrated = loket(venv, environment, tmp_path, "tenants", "migrate")
    loket(venv, environment, tmp_path, "tenants", "sync")  # the packaged tenants/*.toml
    assert "herent" in loket(venv, environment, tmp_path, "tenants", "list"), migrated
    checked = run(str(venv / "bin" / "loket"), "config", "check", env=environment, cwd=tmp_path)
    assert "configuration OK (production)" in checked.stderr
    assert "SECRET_KEY = <set>  # SECRET_KEY_FILE" in checked.stdout and "k" * 48 not in checked.stdout

    loket(venv, environment, tmp_path, "scheduler", "--once")
    loket(venv, environment, tmp_path, "worker", "--burst")

    port = free_port()
    server = subprocess.Popen(
        [str(venv / "bin" / "python"), "-m", "gunicorn", "-c", "python:regional_loket.gunicorn_conf",
         "-b", f"127.0.0.1:{port}", "-w", "1", "regional_loket.wsgi:app"],
        env=environment, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(port, server)
        status, headers, home = _get(port, "/")
        assert status == 200, home
        assets = re.findall(r'(?:href|src)="([^"]+\.(?:css|js)\?v=[0-9a-f]+)"', home)
        assert any(a.startswith("/assets/utrecht/") for a in assets) and any("/static/" in a for a in assets)
        for asset in assets:
            status, headers, body = _get(port, asset)
            assert status == 200 and body, asset
        status, headers, _ = _get(port, "/assets/utrecht/components.css")
        assert headers["content-type"].startswith("text/css")

        status, headers, _ = _get(port, "/lang/fr")
        assert status == 302
        cookie = headers["set-cookie"].split(";")[0]
        status, _, french = _get(port, "/", cookie=cookie)
        assert status == 200 and '<html lang="fr"' in french
        status, _, dutch = _get(port, "/")
        assert _visible_words(french) - _visible_words(dutch), "no French text on the French page"
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "Traceback" not in output, output


def _wait_for(port: int, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited: {server.communicate()[0]}")
        try:
            if _get(port, "/healthz")[0] in (200, 503):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail("gunicorn did not answer")


def _get(port: int, path: str, cookie: str | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Host": HOST, **({"Cookie": cookie} if cookie else {})}
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


def _visible_words(html: str) -> set[str]:
    text = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", html, flags=re.S)
    return set(re.findall(r"[^\W\d_]{4,}", text))
