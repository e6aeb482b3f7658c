"""Kefu settings: one file, driven by KEFU_* environment variables with embedded defaults.

Every variable is documented in README.md ("Settings"). The defaults run the whole product on one
machine with no services: SQLite (WAL) in the data dir and Huey on SQLite.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

PACKAGE_DIR = Path(__file__).resolve().parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(f"KEFU_{name}", default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name, "1" if default else "0").strip().lower()
    return value in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DATA_DIR = Path(env("DATA_DIR", str(Path.cwd() / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The key is generated once and kept in the data dir, so restarts keep sessions valid."""
    if env("SECRET_KEY"):
        return env("SECRET_KEY")
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "auditlog",
    "axes",
    "rules.apps.AutodiscoverRulesConfig",
    "huey.contrib.djhuey",
    "kefu.core",
    "kefu.accounts",
    "kefu.customers",
    "kefu.tickets",
    "kefu.visits",
    "kefu.surveys",
    "kefu.messaging",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "kefu.core.middleware.PageSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "kefu.core.middleware.RejectNulCharactersMiddleware",
    "kefu.core.middleware.PageCsrfViewMiddleware",
    "kefu.core.middleware.PageAuthenticationMiddleware",
    "kefu.core.middleware.PageMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kefu.core.middleware.PageCSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "kefu.core.history.HistoryMiddleware",
    "kefu.core.middleware.OperationLogMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kefu.urls"
WSGI_APPLICATION = "kefu.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kefu.core.context_processors.navigation",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Parameters bound on the server, and the statements whose plan never depends on their
        # values prepared once per connection (kefu/core/postgresql). A pooler in between must
        # keep prepared statements (PgBouncer >= 1.21 with max_prepared_statements), see README.
        DATABASES["default"]["ENGINE"] = "kefu.core.postgresql"
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "kefu.core.sqlite",
            "NAME": DATA_DIR / "kefu.sqlite3",
            # Each app-server thread keeps its connection: opening one runs the PRAGMAs, registers
            # Django's SQL functions and starts with an empty page cache (a third of an intake's
            # CPU when every request opened its own).
            "CONN_MAX_AGE": 600,
            "OPTIONS": {
                # WAL lets readers work while one writer writes; IMMEDIATE makes a write
                # transaction take the lock at BEGIN, so two writers queue instead of failing.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
                    "PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000; PRAGMA mmap_size=268435456;"
                ),
                "transaction_mode": "IMMEDIATE",
            },
            # Tests use a file too: an in-memory database shares one cache between threads and
            # fails at once where the real file waits for the lock, so concurrency could not be tested.
            "TEST": {"NAME": str(DATA_DIR / "test-kefu.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, sessions, jobs ------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

HUEY_IMMEDIATE = env_bool("HUEY_IMMEDIATE")
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": env("HUEY_NAME", "kefu"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "immediate_use_memory": False,
        "consumer": {"workers": int(env("HUEY_WORKERS", "2")), "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "kefu",
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": int(env("HUEY_WORKERS", "2")), "worker_type": "thread"},
    }

# --- auth -----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    # Django's ModelBackend, keeping a user's rights between requests (kefu/accounts/access.py).
    "kefu.accounts.backends.AccessCachingModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = int(env("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(env("LOGIN_LOCKOUT_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
# A department's staff usually share one office NAT address; locking by IP would lock them all out.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
SESSION_COOKIE_AGE = int(env("SESSION_HOURS", "12")) * 3600
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES")
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES")

# --- i18n, time -----------------------------------------------------------------------------
LANGUAGE_CODE = env("LANGUAGE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- files ----------------------------------------------------------------------------------
STATIC_URL = "/static/"
# The product's own assets (vendored Bootstrap, htmx, ECharts and kefu/*) live outside any app.
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves through the finders; it only expects the folder
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env("MEDIA_DIR", str(DATA_DIR / "uploads"))).resolve()
MEDIA_URL = "/media-not-served/"  # uploads are only served through views that check rights
UPLOAD_MAX_MB = int(env("UPLOAD_MAX_MB", "20"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
IMPORT_MAX_ROWS = int(env("IMPORT_MAX_ROWS", "200000"))
# Lists count their matches up to this many, then say "more than …" (see core.pages).
LIST_COUNT_CAP = int(env("LIST_COUNT_CAP", "1000"))

# --- security -------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- mail -----------------------------------------------------------------------------------
EMAIL_HOST = env("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_TLS")
DEFAULT_FROM_EMAIL = env("EMAIL_FROM", "kefu@localhost")

# --- SMS (member care messaging) -------------------------------------------------------------
# log (default: JSON lines in <data dir>/sms/, nothing leaves the machine), aliyun or tencent.
SMS_BACKEND = env("SMS_BACKEND", "log")
SMS_SIGNATURE = env("SMS_SIGNATURE")  # default signature (签名) for templates that name none
SMS_KEY_ID = env("SMS_KEY_ID")  # Aliyun AccessKeyId / Tencent SecretId
SMS_KEY_SECRET = env("SMS_KEY_SECRET")  # Aliyun AccessKeySecret / Tencent SecretKey
SMS_APP_ID = env("SMS_APP_ID")  # Tencent SmsSdkAppId
SMS_REGION = env("SMS_REGION")  # cn-hangzhou / ap-guangzhou by default
SMS_ENDPOINT = env("SMS_ENDPOINT")  # the provider's URL; set only for a proxy or a test server
SMS_TIMEOUT = float(env("SMS_TIMEOUT", "10"))
SMS_INBOUND_SECRET = env("SMS_INBOUND_SECRET")  # shared secret of the reply (退订) callback; empty = off
SMS_OUTBOX_DIR = DATA_DIR / "sms"

# --- history --------------------------------------------------------------------------------
AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_DISABLE_REMOTE_ADDR = False

# --- API ------------------------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
    # Huey configures its own handler; propagating would print each consumer line twice.
    "loggers": {"huey": {"handlers": [], "level": env("LOG_LEVEL", "INFO"), "propagate": False}},
}
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR")

# --- public service pages (/service/) ---------------------------------------------------------
# Attempts per client address and minute: submitting a case, and looking up its status.
PUBLIC_SUBMIT_PER_MINUTE = int(env("PUBLIC_SUBMIT_PER_MINUTE", "5"))
PUBLIC_STATUS_PER_MINUTE = int(env("PUBLIC_STATUS_PER_MINUTE", "10"))

# --- satisfaction surveys --------------------------------------------------------------------
# The address customers reach Kefu at: survey links in SMS, email and letters start with it.
KEFU_PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# At most this many customers in one sending to a filtered list.
KEFU_SURVEY_SEND_MAX = int(env("SURVEY_SEND_MAX", "20000"))
