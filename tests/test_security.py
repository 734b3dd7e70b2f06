"""Security checks that run with every `make test`: bandit, the headers and cookies a
production deployment sends, and no secrets in the repository. (`make audit` checks the locked
dependencies against the vulnerability database when that service can be reached.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REGION

ROOT = Path(__file__).resolve().parent.parent

# A waiver must say which check it silences and why: "# nosec B608: <reason of 10+ characters>".
JUSTIFIED_WAIVER = re.compile(r"#\s*nosec\s+B\d{3}(?:,\s*B\d{3})*:\s*\S.{9,}")


def test_bandit_finds_no_medium_or_high_issue(tmp_path):
    report = tmp_path / "bandit.json"
    subprocess.run([sys.executable, "-m", "bandit", "--quiet", "--recursive", "regional_loket",
                    "--severity-level", "medium", "--format", "json", "--output", str(report)],
                   cwd=ROOT, capture_output=True, text=True, timeout=300)
    results = json.loads(report.read_text())
    findings = [f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}" for r in results["results"]]
    assert results["errors"] == []
    assert findings == []


def test_every_bandit_waiver_is_justified():
    unjustified = []
    for path in sorted((ROOT / "regional_loket").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"#\s*nosec", line) and not JUSTIFIED_WAIVER.search(line):
                unjustified.append(f"{path.relative_to(ROOT)}:{number}")
    assert unjustified == []


def test_the_content_security_policy_locks_down_objects_bases_frames_and_scripts(client):
    response = client.get("/", base_url=f"http://{REGION}")
    directives = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'"


def test_production_sends_hsts_and_host_only_secure_cookies(committed):
    app, _ = committed(0, ENV="production", WTF_CSRF_ENABLED=True)  # the form's token opens a session
    client = app.test_client()
    response = client.get("/aanmelden", base_url=f"https://{REGION}")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(response.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 31536000
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("__Host-session="))
    attributes = {a.strip().split("=")[0].lower() for a in session_cookie.split(";")[1:]}
    assert {"secure", "httponly", "path", "samesite"} <= attributes
    assert "domain" not in attributes  # host-only: no municipality's host can read it
    assert "samesite=lax" in session_cookie.lower() or "samesite=strict" in session_cookie.lower()


# Shapes of real credentials; a test fixture's "test-secret-key" is not one of them.
SECRET_SHAPES = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |PGP )?PRIVATE KEY"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    # placeholders that documentation and tests use ("secret", "password", "${…}") are not credentials
    "password in a URL": re.compile(
        r"\b(?:postgres(?:ql)?|redis|smtp)s?://[^/\s:@'\"]+:"
        r"(?!(?:secret|password|changeme|example|x+)@)(?!\{|\$|<)[^@\s'\"/]{6,}@"),
    "assigned secret": re.compile(
        r"(?i)\b(?:secret_key|password|api_key|token)\s*=\s*['\"](?=[A-Za-z0-9+/_=-]{24,}['\"])"
        r"(?=[^'\"]*[0-9])(?=[^'\"]*[A-Z])(?=[^'\"]*[a-z])"),
}


def test_no_secrets_in_the_repository():
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    hits = []
    for name in filter(None, tracked.decode().split("\0")):
        path = ROOT / name
        if name == "tests/test_security.py" or name.endswith((".lock", "package-lock.json", ".png", ".jpg", ".ico", ".mo", ".woff2")) or not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for kind, shape in SECRET_SHAPES.items():
            hits += [f"{name}: {kind}" for _ in shape.finditer(text)]
    assert hits == []


@pytest.mark.parametrize("sample, kind", [
    ("-----BEGIN RSA PRIVATE KEY-----", "private key"),
    ("AKIAABCDEFGHIJKLMNOP", "AWS access key"),
    ("postgresql://loket:Sup3rS3cret@db/loket", "password in a URL"),
    ('SECRET_KEY = "k2Jd8fQ0xLmP4rT7vY1zA9bC3eG5hN6w"', "assigned secret"),
])
def test_the_secret_scan_recognises_real_credentials(sample, kind):
    assert SECRET_SHAPES[kind].search(sample)
    assert not SECRET_SHAPES[kind].search("postgresql://postgres@127.0.0.1:5432/postgres SECRET_KEY = 'test-secret-key'")
