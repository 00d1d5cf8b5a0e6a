"""Settings for videoanalyzer, read from environment variables only.

With nothing configured the app runs self-contained: an embedded Postgres (pgserver) in
``var/pgdata``, an in-process Dramatiq worker on a stub broker and the in-memory channel layer.
Setting ``DATABASE_URL`` and ``REDIS_URL`` switches to the production stack (external Postgres,
Redis broker, ``channels_redis``, separate ``manage.py rundramatiq`` workers).
Every variable is listed in ``.env.example``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from videoanalyzer.serving import default_processes

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


DEBUG = envbool("DEBUG", False)
# The embedded default is a local, single-user install; production must set its own key.
DEV_SECRET_KEY = "insecure-dev-key-set-SECRET_KEY-in-production-0123456789abcdef"
SECRET_KEY = env("SECRET_KEY") or DEV_SECRET_KEY
ALLOWED_HOSTS = [h for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS").split(",") if o]

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1", "testserver"}
if SECRET_KEY == DEV_SECRET_KEY and not DEBUG and not set(ALLOWED_HOSTS) <= LOOPBACK_HOSTS:
    # A server reachable under other names with a key everyone can read: refuse to start,
    # embedded mode included (checked before the embedded database starts).
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "SECRET_KEY is not set: this server answers for "
        f"{', '.join(ALLOWED_HOSTS)} with the development key. Set SECRET_KEY in the environment."
    )

VAR_DIR = Path(env("VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_dramatiq",
    "channels",
    "videoanalyzer",
    "analysis",
    "frontend",
    "people",
    "describe",
    "vision",
    "story",
    "exports",
    "cuts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "videoanalyzer.middleware.ContentSecurityPolicyMiddleware",
    "videoanalyzer.middleware.ApiJsonErrorsMiddleware",
    "videoanalyzer.middleware.RequestGateMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "videoanalyzer.urls"
ASGI_APPLICATION = "videoanalyzer.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --- Database: one Postgres path everywhere -------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
# Without a URL: the embedded Postgres in VAR_DIR/pgdata, started by the first connection (or
# by `serve` up front), never by importing this module (videoanalyzer.embedded).
EMBEDDED_DB = not DATABASE_URL

import dj_database_url  # noqa: E402

from videoanalyzer.embedded import database_settings  # noqa: E402  (starts nothing)

DATABASES: dict[str, dict[str, Any]] = {
    "default": dict(dj_database_url.parse(DATABASE_URL))
    if DATABASE_URL
    else database_settings(VAR_DIR / "pgdata")
}
DATABASES["default"]["CONN_MAX_AGE"] = envint("DB_CONN_MAX_AGE", 0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Daphne (ASGI) runs every request in a thread of its own: a persistent connection per thread
# is never reused and piles up until Postgres refuses clients. The web process uses a pool
# instead (connections are lent per request); workers may keep DB_CONN_MAX_AGE connections.
if envbool("DB_POOL", False):
    from videoanalyzer.dbpool import pool_options

    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses a pool with persistent connections
    # Only connections idle for DB_POOL_CHECK_AFTER seconds are checked (videoanalyzer.dbpool).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = pool_options(
        envint("DB_POOL_MAX_SIZE", 10)
    )
DB_POOL_CHECK_AFTER = envfloat("DB_POOL_CHECK_AFTER", 1.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Broker, workers and channel layer ------------------------------------------------------
REDIS_URL = env("REDIS_URL")
# Without Redis the web process runs the worker itself (threads on a stub broker).
EMBEDDED_WORKER = envbool("EMBEDDED_WORKER", not REDIS_URL)
DRAMATIQ_MIDDLEWARE = [
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.Callbacks",
    "dramatiq.middleware.Retries",
    "django_dramatiq.middleware.DbConnectionsMiddleware",
    "analysis.middleware.RecoveryMiddleware",
    "analysis.middleware.PriorityMiddleware",
]
if REDIS_URL:
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.redis.RedisBroker",
        "OPTIONS": {"url": REDIS_URL},
        "MIDDLEWARE": DRAMATIQ_MIDDLEWARE,
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Above channels_redis's 5 s blocking read, or idle sockets time out and drop.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]},
        }
    }
else:
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.stub.StubBroker",
        "OPTIONS": {},
        "MIDDLEWARE": DRAMATIQ_MIDDLEWARE,
    }
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "videoanalyzer.channel_layers.ThreadSafeInMemoryChannelLayer"}
    }
# The cache holds the rate-limit counters: shared by every web process (Redis, else a table
# that `migrate` creates).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "va-cache",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "va_cache",
        }
    }
DRAMATIQ_TASKS_DATABASE = "default"
# rundramatiq imports these modules of every app: our actors live in actors.py.
DRAMATIQ_AUTODISCOVER_MODULES = ["actors", "tasks"]
EMBEDDED_WORKER_THREADS = envint("EMBEDDED_WORKER_THREADS", 1)
# `manage.py serve`: Daphne processes sharing one socket (one process answers one request
# at a time). Several need Redis; the embedded mode keeps its worker in its only process.
WEB_PROCESSES = envint("WEB_PROCESSES", default_processes(embedded=not REDIS_URL))
# Workers run below the web processes' CPU priority: an analysis may wait a little, a page
# load should not (see analysis.middleware.PriorityMiddleware).
WORKER_NICE = envint("WORKER_NICE", 10)
WORKER_IDLE_POLICY = envbool("WORKER_IDLE_POLICY", True)

# --- Files --------------------------------------------------------------------------------
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
RESULTS_DIR = Path(env("RESULTS_DIR", str(VAR_DIR / "results")))
SAMPLES_DIR = Path(env("SAMPLES_DIR", str(BASE_DIR / "samples")))
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": env("FILE_STORAGE", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if env("AWS_STORAGE_BUCKET_NAME"):
    # S3-compatible object store shared by web and workers on many machines.
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}
    AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME")
    AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL") or None

MAX_UPLOAD_BYTES = envint("MAX_UPLOAD_BYTES", 4 * 1024**3)
# Per user (or API client) and hour; 0 turns a limit off.
# Uploads a web process parses at once; more wait their turn (videoanalyzer.middleware).
UPLOADS_AT_ONCE = envint("UPLOADS_AT_ONCE", 1)
# Seconds a checked API token is remembered per web process (0: look it up every request).
TOKEN_CACHE_SECONDS = envfloat("TOKEN_CACHE_SECONDS", 5.0)
RATE_LIMIT_UPLOADS_PER_HOUR = envint("RATE_LIMIT_UPLOADS_PER_HOUR", 100)
RATE_LIMIT_PROCESS_PER_HOUR = envint("RATE_LIMIT_PROCESS_PER_HOUR", 1000)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024**2  # larger uploads stream to a temp file
FILE_UPLOAD_TEMP_DIR = env("FILE_UPLOAD_TEMP_DIR") or None
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2

# --- Pipeline: modules that register stages, and the order stages run in ---------------------
PIPELINE_STAGE_MODULES = [
    "analysis.pipeline.stages",
    "people.stages",
    "vision.stages",
    "story.stages",
]
ANALYSIS_PIPELINE = [
    "probe",
    "shots",
    "keyframes",
    "audio",
    "transcript",
    "faces",
    "speakers",
    "embeddings",
    "objects",
    "ocr",
    "captions",
    "scene_index",
    "storylines",
]

# --- Models ---------------------------------------------------------------------------------
# Prepared offline models of every app (analysis, people, vision); the apps' own settings are in
# <app>/conf.py.
MODELS_DIR = Path(env("MODELS_DIR", str(VAR_DIR / "models")))

# --- Auth and security -------------------------------------------------------------------------
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
# Only sent when SECURE_HSTS_SECONDS > 0.
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if envbool("BEHIND_PROXY", False) else None
)
X_FRAME_OPTIONS = "DENY"  # no page of ours is shown in a frame

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "pgserver": {"level": "WARNING"}},
}
