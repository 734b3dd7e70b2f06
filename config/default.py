"""Defaults for every deployment. Environment variables override them (see
``regional_loket.settings``); a ``test_config`` passed to ``create_app`` overrides both."""

# The bare host of the regional portal. Municipal portals live at <slug>.<REGION_SERVER_NAME>.
# In development *.localhost resolves to loopback, so http://herent.localhost:5000 just works.
REGION_SERVER_NAME = "localhost:5000"
PREFERRED_URL_SCHEME = "http"

# None means "start an embedded server under the instance folder" (development only).
DATABASE_URL = None
REDIS_URL = None

SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}
SQLALCHEMY_TRACK_MODIFICATIONS = False

SECRET_KEY = None  # required in production; development generates one per instance folder

BABEL_DEFAULT_LOCALE = "nl"
BABEL_DEFAULT_TIMEZONE = "Europe/Brussels"
LANGUAGES = ("nl", "fr", "en")

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

# The rq queue that `flask worker` works and the app enqueues on.
JOBS_QUEUE = "loket"
# Development only: where the mail sink stores .eml files, shown at /dev/mailbox
# (`make run` sets the MAILBOX_DIR environment variable; never registered in production).
MAILBOX_DIR = None

# Alembic tracks (None: migrations/shared and migrations/tenant of this checkout).
SHARED_MIGRATIONS = None
TENANT_MIGRATIONS = None

# Where the declarative tenant definitions live (see tenants/).
TENANTS_DIR = None  # None: <project>/tenants

# Map tiles for the search map view (a municipal network may point this at its own server).
MAP_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
MAP_TILE_ATTRIBUTION = "© OpenStreetMap"

ENV = "development"

# Search answers for anonymous visitors, kept per worker process until the catalog changes
# (catalog/cache.py). 0 turns the cache off.
SEARCH_CACHE_BYTES = 32 * 1024 * 1024

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
RATELIMIT_LOGIN = "10 per minute;60 per hour"
RATELIMIT_REGISTER = "5 per minute;20 per hour"
RATELIMIT_RESET = "5 per minute;20 per hour"
RATELIMIT_RESEND = "3 per minute;10 per hour"

# Browser sessions live in PostgreSQL; cookies are host-only, Secure in production.
SESSION_COOKIE_SECURE = False

# argon2id cost for new password hashes (argon2-cffi's RFC 9106 low-memory profile: 3 passes,
# 64 MiB, 4 lanes; ~50 ms a hash). Raising them re-hashes each password at its next login.
# The tests lower them to argon2's minimum (tests/conftest.py make_config).
PASSWORD_HASH_TIME_COST = 3
PASSWORD_HASH_MEMORY_KIB = 65536
PASSWORD_HASH_PARALLELISM = 4
