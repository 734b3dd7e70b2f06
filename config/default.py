"""Defaults for every deployment. Environment variables override them: any setting NAME below
as ``LOKET_NAME`` (or ``LOKET_NAME_FILE``, a file holding the value), plus the unprefixed names
listed in ``regional_loket.settings.ALIASES``; a ``config`` passed to ``create_app`` overrides
both. ``loket config check`` prints the result.

This file stays at the top of the repository; a wheel carries a copy inside the package."""

from regional_loket import languages as _languages

# The bare host of the regional portal. Municipal portals live at <slug>.<REGION_SERVER_NAME>.
# In development *.localhost resolves to loopback, so http://herent.localhost:5000 just works.
REGION_SERVER_NAME = "localhost:5000"
PREFERRED_URL_SCHEME = "http"

# None means "start an embedded server under the instance folder" (development only).
DATABASE_URL = None
REDIS_URL = None

# Each process (web worker, rq worker, scheduler) holds up to POOL_SIZE + MAX_OVERFLOW connections;
# a request waits POOL_TIMEOUT seconds for one before failing. RECYCLE (seconds, None: never)
# replaces connections older than that, for proxies and firewalls that drop idle ones.
DATABASE_POOL_SIZE = 5
DATABASE_MAX_OVERFLOW = 10
DATABASE_POOL_TIMEOUT = 30
DATABASE_POOL_RECYCLE = None
# psycopg prepares a statement on the server once it has run this many times on a connection
# (None: never). Behind a transaction-mode pooler (PgBouncer before 1.21, or without
# max_prepared_statements; RDS Proxy) the next transaction may get another server connection,
# which lacks the statement or has one of the same name: set it to None there.
DATABASE_PREPARE_THRESHOLD = 5
# The search cache's LISTEN needs a session of its own on the server, which a transaction-mode
# pooler cannot give: behind one, point this at PostgreSQL directly (one connection per web
# process). None: DATABASE_URL.
DATABASE_LISTEN_URL = None
# Further SQLAlchemy engine options; entries here win over the DATABASE_* settings above.
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
SQLALCHEMY_TRACK_MODIFICATIONS = False

SECRET_KEY = None  # required in production; development generates one per instance folder
# Earlier keys, still accepted for sessions and e-mailed links (never used to sign anything new):
# rotate by moving the old SECRET_KEY here, keep it as long as the links it signed live.
SECRET_KEY_FALLBACKS = []
# Keys the digest of a child's national number (duplicate requests are found by it without
# storing the number). None: SECRET_KEY. Set it explicitly before rotating SECRET_KEY, to the
# key in use until then, or every existing digest stops matching.
NATIONAL_NUMBER_PEPPER = None

# The supported languages are written once, in regional_loket/languages.py.
BABEL_DEFAULT_LOCALE = _languages.DEFAULT
BABEL_DEFAULT_TIMEZONE = "Europe/Brussels"
LANGUAGES = _languages.CODES

WTF_CSRF_TIME_LIMIT = 3600 * 8

# Request size limits (Werkzeug refuses more with 413, shown as the site's error page). No form
# takes uploads; the largest (a location's profile) is a few kB and the free-places grid has
# 37 fields. The body as a whole, one text field, and the number of fields of a multipart form.
MAX_CONTENT_LENGTH = 256 * 1024
MAX_FORM_MEMORY_SIZE = 64 * 1024
MAX_FORM_PARTS = 200

SMTP_HOST = None
SMTP_PORT = 25
SMTP_USER = None
SMTP_PASSWORD = None
SMTP_STARTTLS = False
MAIL_FROM = "Regionaal Loket Kinderopvang <noreply@localhost>"
# Without SMTP_HOST, notifications stay pending in the outbox ("no SMTP server configured") and
# go out once it is set. `make run` starts a local mail sink and sets it for you.

# Sent and finally failed notifications are deleted after this many days (they hold the
# recipient's address and what the mail said); pending ones are never deleted.
NOTIFICATION_RETENTION_DAYS = 90

# Retention (regional_loket/retention, daily): requests closed (placed, withdrawn, inactive —
# every application rejected included) with no activity for this many years lose their
# personal data in every schema, an anonymous statistics record kept. 5 years is the period
# Kind en Gezin applies to childcare-request data.
RETENTION_YEARS = 5
# Parents' accounts (no other role) unused this many days — no login, no session seen — and
# whose family holds no request any more are warned by mail once, then removed this many days
# after the warning unless the owner logs in meanwhile.
ACCOUNT_UNUSED_DAYS = 3 * 365
ACCOUNT_REMOVAL_NOTICE_DAYS = 30

# Every run of a job is recorded (shared.job_runs, `flask jobs runs`); kept this many days.
JOB_RUN_RETENTION_DAYS = 90
# Tests only: the time regional_loket.clock answers (an ISO 8601 string or a datetime); ignored
# unless TESTING is on.
CLOCK_NOW = None

# The rq queue that `flask worker` works and the app enqueues on.
JOBS_QUEUE = "loket"
# Development only: where the mail sink stores .eml files, shown at /dev/mailbox
# (`make run` sets the MAILBOX_DIR environment variable; never registered in production).
MAILBOX_DIR = None

# Alembic tracks (None: migrations/shared and migrations/tenant of this checkout).
SHARED_MIGRATIONS = None
TENANT_MIGRATIONS = None

# Where the declarative tenant definitions live (see tenants/).
TENANTS_DIR = None  # None: tenants/ of the checkout, or the copy inside the installed package

# Where the npm front-end packages are (None: node_modules/ of the checkout, or the copy inside
# the installed package).
ASSETS_DIR = None

# Map tiles for the search map and the location page ({z}/{x}/{y} URL template). None: no map,
# the search shows its list with a note saying so. No public tile server by default: a
# municipal network may have no route to one, and each visit would tell it who looks where.
# Point it at your own tile server (or, where allowed, https://tile.openstreetmap.org/{z}/{x}/{y}.png);
# the CSP's img-src follows it. `make run` sets OpenStreetMap's for development.
MAP_TILE_URL = None
MAP_TILE_ATTRIBUTION = "© OpenStreetMap"

# --- observability (regional_loket/observability) -----------------------------------------
# Log lines: "json" (one object per line) or "text"; None: json in production, text otherwise.
LOG_FORMAT = None
LOG_LEVEL = "INFO"
# Take the request id from the X-Request-ID header of our proxy (when well-formed) instead of
# making one; only when that proxy sets or overwrites it (nginx: proxy_set_header X-Request-ID
# $request_id), else any client chooses the id its log lines carry.
TRUST_REQUEST_ID = False
# Who may read /metrics: CIDR blocks, comma-separated, checked against the client address
# (PROXY_HOPS applies). Everyone else gets 403.
METRICS_ALLOW = "127.0.0.1/32,::1/128"
# Error reporting to Sentry (or GlitchTip) when set; needs `pip install sentry-sdk`.
SENTRY_DSN = None
# /readyz: the scheduler's heartbeat (written every round, 30 s by default) may be this old.
SCHEDULER_HEARTBEAT_MAX_AGE = 120
# False: /readyz reports a stale scheduler but still answers 200 (alert on the metric instead).
READY_CHECK_SCHEDULER = True
# Seconds a worker keeps a good answer about the tenants' schema versions (every tenant at this
# code's head) for /readyz and the health page: reading them all costs 0.1–0.4 s at 1,000
# tenants, and load balancers ask every few seconds. A tenant behind is never kept (the next
# call reads again); the database and Redis are still checked on every call. 0: always read.
TENANT_VERSIONS_CACHE_SECONDS = 5

ENV = "development"

# The regional portal's brand colour (a municipality's comes from its tenants/*.toml).
REGION_COLOUR = "#1d4f91"

# Search answers for anonymous visitors, kept per worker process until the catalog changes
# (catalog/cache.py). 0 turns the cache off.
SEARCH_CACHE_BYTES = 32 * 1024 * 1024
# Searches answered from an in-memory copy of the catalog per worker process, read again after
# each change (catalog/index.py); the full-text part stays one SQL statement. False: all in SQL.
SEARCH_INDEX = True

# How many proxies in front of the app append to X-Forwarded-For/-Proto/-Host (the README's
# TLS proxy: 1). The client address they yield keys the rate limits and login throttling;
# 0 ignores those headers, which any client can send.
PROXY_HOPS = 0

# Rate limits (Flask-Limiter, stored in Redis; in memory while Redis is unreachable).
RATELIMIT_ENABLED = True
RATELIMIT_HEADERS_ENABLED = True
RATELIMIT_SWALLOW_ERRORS = True
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
RATELIMIT_KEY_PREFIX = "loket"
# The limiter's Redis client (limits passes these to redis.from_url): a Redis that accepts
# connections and never answers must not hold a login for long. After one timeout the limiter
# counts in memory and asks Redis again after 1, 2, 4 … 32 s (Flask-Limiter's back-off).
RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
RATELIMIT_LOGIN = "10 per minute;60 per hour"
RATELIMIT_REGISTER = "5 per minute;20 per hour"
RATELIMIT_RESET = "5 per minute;20 per hour"
RATELIMIT_RESEND = "3 per minute;10 per hour"
# Claim codes typed to take a dossier filed at the desk over (a 10-character code; see families).
RATELIMIT_CLAIM = "5 per minute;20 per hour"

# Browser sessions live in PostgreSQL; cookies are host-only, Secure in production.
SESSION_COOKIE_SECURE = False

# argon2id cost for new password hashes (argon2-cffi's RFC 9106 low-memory profile: 3 passes,
# 64 MiB, 4 lanes; ~50 ms a hash). Raising them re-hashes each password at its next login.
# The tests lower them to argon2's minimum (tests/conftest.py make_config).
PASSWORD_HASH_TIME_COST = 3
PASSWORD_HASH_MEMORY_KIB = 65536
PASSWORD_HASH_PARALLELISM = 4
