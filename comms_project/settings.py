"""Settings for the historical communications store.

Everything deployment-specific comes from the environment (django-environ), so the same
code runs as the SQLite demo and as a PostgreSQL production service.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from comms_project.observability import init_sentry

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]", "testserver"]),
    MAX_MESSAGES_PER_REQUEST=(int, 1000),
    MAX_REQUEST_BYTES=(int, 32 * 1024 * 1024),
    AUTH_LOCKOUT_FAILURES=(int, 5),
    AUTH_LOCKOUT_SECONDS=(int, 300),
    LOG_LEVEL=(str, "INFO"),
)
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env("DEBUG")
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        # manage.py and the WSGI entry point print this as one line (comms_project/startup.py).
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off: set it in the environment or in .env beside manage.py "
            "(see .env.example)."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"  # noqa: S105 (DEBUG only)
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS and proxies. HTTPS=true says the site is served over HTTPS (directly or behind a
# TLS-terminating proxy): HTTP is redirected, HSTS is sent and cookies are secure. Each
# switch can also be set on its own. The probes stay reachable over plain HTTP inside the
# network. `manage.py check --deploy --fail-level WARNING` passes with HTTPS=true and
# SECURE_HSTS_PRELOAD=true (preloading is a commitment: submit the domain to the list).
HTTPS = env.bool("HTTPS", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=HTTPS)
# Only behind a proxy that always overwrites X-Forwarded-Proto: Django then believes it.
TRUST_X_FORWARDED_PROTO = env.bool("TRUST_X_FORWARDED_PROTO", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_X_FORWARDED_PROTO else None
# The client address: REMOTE_ADDR, unless it is a trusted proxy (CIDRs); then the nearest
# untrusted address of X-Forwarded-For (messages_app.addresses). Used by both lockouts,
# the import batches' origin and the logs.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# Or, where the proxies' addresses are not known in advance: how many stand in front.
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "messages_app",
]

MIDDLEWARE = [
    # First: every later middleware and the view log inside the request's context.
    "messages_app.ops.middleware.RequestContextMiddleware",
    # Then the API edge: API paths routed on the raw request target, every API error in JSON.
    "messages_app.api.edge.ApiEdgeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the view: stamps a client's or staff user's write (read-your-writes on replicas).
    "messages_app.routing.ReadYourWritesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it answers a locked-out admin login.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "comms_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "comms_project.wsgi.application"

# SQLite is the embedded default; PostgreSQL (DATABASE_URL=postgres://...) is production.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions + WAL: concurrent writers queue instead of failing with
    # "database is locked"; our backend lifts Django's 999-parameter assumption.
    DATABASES["default"]["ENGINE"] = "comms_project.sqlite_backend"
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=False))
# A test database per test process: a file for SQLite (threads in concurrency tests share
# it), and a name of its own on PostgreSQL, so parallel test runs never meet.
if DATABASES["default"]["ENGINE"] == "comms_project.sqlite_backend":
    _TEST_DB_NAME = str(BASE_DIR / f"test-db-{os.getpid()}.sqlite3")
else:
    _TEST_DB_NAME = f"test_{DATABASES['default']['NAME']}_{os.getpid()}"
DATABASES["default"]["TEST"] = {"NAME": _TEST_DB_NAME}
# Behind pgbouncer in transaction pooling, a server-side cursor (QuerySet.iterator() outside
# a transaction) may be gone by the next fetch: DISABLE_SERVER_SIDE_CURSORS=true there. Our
# PostgreSQL backend drops test databases WITH (FORCE), which works through pgbouncer too.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "comms_project.postgresql_backend"
# On PostgreSQL the message tables are hash-partitioned by department with this many
# partitions (README "Write scale"): read when migration 0011 (or partition_messages) runs;
# 0 keeps them plain. A hash partition count is fixed once chosen.
MESSAGE_PARTITIONS = env.int("MESSAGE_PARTITIONS", default=16)
DATABASES["default"].setdefault("DISABLE_SERVER_SIDE_CURSORS", env.bool("DISABLE_SERVER_SIDE_CURSORS", default=False))

# Read replicas (README "Read replicas"): DATABASE_REPLICA_URLS=postgres://…,postgres://…
# adds the aliases replica_0, replica_1, … that messages_app.routing sends the read API's
# GETs and the admin's list pages to (never writes, authentication or transactions). A
# replica that does not answer within its connect_timeout is skipped for
# REPLICA_RETRY_SECONDS; one more than REPLICA_MAX_LAG_SECONDS behind too. A client that
# wrote reads the primary for REPLICA_READ_YOUR_WRITES_SECONDS (the cache must be shared).
# Tests: each replica mirrors the test database (TEST MIRROR).
for _index, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[])):
    _replica = env.db_url_config(_url)
    if _replica["ENGINE"] == "django.db.backends.sqlite3":
        _replica["ENGINE"] = "comms_project.sqlite_backend"
    if _replica["ENGINE"] == "django.db.backends.postgresql":
        _replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    _replica["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    _replica["CONN_HEALTH_CHECKS"] = DATABASES["default"]["CONN_HEALTH_CHECKS"]
    _replica["DISABLE_SERVER_SIDE_CURSORS"] = DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"]
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica_{_index}"] = _replica
DATABASE_ROUTERS = ["messages_app.routing.ReplicaRouter"]
REPLICA_READ_YOUR_WRITES_SECONDS = env.float("REPLICA_READ_YOUR_WRITES_SECONDS", default=5.0)
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=30.0)
REPLICA_LAG_CHECK_SECONDS = 5.0
REPLICA_RETRY_SECONDS = 30.0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# The admin login is locked after ADMIN_LOCKOUT_FAILURES wrong passwords for one
# (username, client address), for ADMIN_LOCKOUT_SECONDS (django-axes, counting in the
# database, so every app host sees the same count); a success resets the count. The
# address is the one trusted proxies vouch for (messages_app.addresses).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ADMIN_LOCKOUT_FAILURES", default=5)
AXES_COOLOFF_TIME = timedelta(seconds=env.int("ADMIN_LOCKOUT_SECONDS", default=900))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "messages_app.addresses.client_ip"
AXES_RESET_ON_SUCCESS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves the admin's and the API docs' static files from gunicorn itself.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Request limits for the historical PUT.
MAX_MESSAGES_PER_REQUEST = env("MAX_MESSAGES_PER_REQUEST")
MAX_REQUEST_BYTES = env("MAX_REQUEST_BYTES")
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES

# Failed Basic-auth logins per (client, address) before a lockout, and its length.
AUTH_LOCKOUT_FAILURES = env("AUTH_LOCKOUT_FAILURES")
AUTH_LOCKOUT_SECONDS = env("AUTH_LOCKOUT_SECONDS")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["messages_app.api.authentication.ApiClientBasicAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["messages_app.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "messages_app.api.handlers.envelope_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Historical communications store",
    "VERSION": "1.0.0",
    "DESCRIPTION": (
        "Imports dealership customer conversations (texts, emails, voice calls, notes, drafts) "
        "as history, idempotently, with per-item results."
    ),
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_ADD_EXPLICIT_BLANK_NULL_CHOICE": False,
    "ENUM_NAME_OVERRIDES": {
        "MessageTypeEnum": "messages_app.enums.MessageType",
        "ProtocolEnum": "messages_app.enums.Protocol",
        "PurposeEnum": "messages_app.enums.Purpose",
        "MessageTagValueEnum": "messages_app.enums.MessageTagValue",
        "DraftStatusEnum": "messages_app.enums.DraftStatus",
        "DraftFailureReasonEnum": "messages_app.enums.DraftFailureReason",
        "ButtonThemeEnum": "messages_app.enums.ButtonTheme",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "messages_app.api.schema.add_error_catalogue",
    ],
}

# The API docs (Swagger UI at /communications/docs/, ReDoc at /communications/redoc/) load
# their scripts from this server's static files, never a CDN, so they work without internet;
# no schema validator badge either (it would send the schema's URL to validator.swagger.io).
SPECTACULAR_SETTINGS |= {
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# Dates and times as 2025-03-28 11:34:43 UTC everywhere the admin shows one
# (comms_project/formats/en/formats.py).
FORMAT_MODULE_PATH = ["comms_project.formats"]

# Callback delivery (DESIGN.md §3.3) runs on the task framework (django-tasks backport);
# the database backend stores the task in the import's own transaction.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
CALLBACK_MAX_ATTEMPTS = env.int("CALLBACK_MAX_ATTEMPTS", default=8)
# Backoff before retry n (n = 1, 2, ...): min(MAX, BASE * 2**(n-1)) scaled by a random 0.5-1.0.
CALLBACK_BACKOFF_BASE_SECONDS = env.float("CALLBACK_BACKOFF_BASE_SECONDS", default=30.0)
CALLBACK_BACKOFF_MAX_SECONDS = env.float("CALLBACK_BACKOFF_MAX_SECONDS", default=3600.0)
# (connect, read) timeouts of one POST, in seconds.
CALLBACK_TIMEOUT = (
    env.float("CALLBACK_CONNECT_TIMEOUT", default=5.0),
    env.float("CALLBACK_READ_TIMEOUT", default=15.0),
)
# Hosts (as written in the URL) exempt from the SSRF address checks; empty in production.
CALLBACK_ALLOWED_HOSTS = env.list("CALLBACK_ALLOWED_HOSTS", default=[])
# Deliveries of one task sent at once by the worker (threads, one HTTP session each).
CALLBACK_PARALLELISM = env.int("CALLBACK_PARALLELISM", default=8)
# run_callback_worker: a RUNNING task whose lease has not been renewed for this long is
# put back to READY (its worker died); the lease is renewed every third of it.
TASK_STALE_SECONDS = env.float("TASK_STALE_SECONDS", default=300.0)

# Full-text search (README "Admin", "Reading messages back"): the PostgreSQL text-search
# configuration the search column is built with. "simple" (no stemming, no stop words)
# because bodies mix languages; a change takes effect with `manage.py rebuild_search`.
SEARCH_CONFIG = env.str("SEARCH_CONFIG", default="simple")
if not re.fullmatch(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?", SEARCH_CONFIG):
    raise ImproperlyConfigured("SEARCH_CONFIG must be a text-search configuration name such as simple or english.")

# Operations (README "Operations"): log format, Prometheus metrics, Sentry.
# LOG_FORMAT=json: one JSON object per log line, with the request's context fields.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
# /metrics answers only when enabled; with METRICS_TOKEN set, only to that bearer token.
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=False)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Set (by gunicorn.conf.py, or by hand) when several processes serve: /metrics adds up
# their counters from the files in this folder.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="")
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
init_sentry(
    SENTRY_DSN,
    environment=SENTRY_ENVIRONMENT,
    release=SENTRY_RELEASE,
    traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # The request's context (request_id, client, department, address, status, duration_ms)
    # on every record the handler writes.
    "filters": {"context": {"()": "messages_app.logcontext.ContextFilter"}},
    "formatters": {
        "plain": {"()": "messages_app.logcontext.PlainFormatter"},
        "json": {"()": "messages_app.logcontext.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL")},
}
# django-axes announces its configuration at every start; its lockout warnings stay on.
LOGGING.setdefault("loggers", {})["axes.apps"] = {"level": "WARNING"}
