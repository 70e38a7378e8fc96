"""ChemMall settings: one module, read from the environment (django-environ).

With no DATABASE_URL / REDIS_URL the project runs embedded: a SQLite file and kombu's
file-system broker under var/, so `make run` needs no services. Production and
docker-compose set both. Small overrides live in settings_test / settings_production.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CHEMMALL_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str(
    "SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "auditlog",
    "accounts",
    "catalog",
    "orders",
    "inquiries",
    "dealers",
    "reports",
]

MIDDLEWARE = [
    "chemmall.observability.RequestIdMiddleware",
    "chemmall.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "chemmall.urls"
WSGI_APPLICATION = "chemmall.wsgi.application"
ASGI_APPLICATION = "chemmall.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'chemmall.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: WAL lets readers run beside one writer, and
    # IMMEDIATE transactions take the write lock up front instead of failing mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Each process keeps its own small cache (the storefront's category tree, featured products
# and rendered product cards): faster than a round trip to Redis, a minute old at most.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                      "OPTIONS": {"MAX_ENTRIES": 5000}}}
CATALOG_CACHE_SECONDS = env.int("CATALOG_CACHE_SECONDS", default=60)

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.StaffPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "accounts.backends.ThrottledBackend",  # django-axes: lockout after repeated failures
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes): five failures for one e-mail address from one IP address
# lock that pair for 15 minutes; a success resets the count.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "accounts.backends.lockout_response"
AXES_USERNAME_CALLABLE = "accounts.backends.login_username"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)  # proxies in front of us
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# Content Security Policy (django-csp): scripts only from us (inline ones carry the
# request's nonce), no framing, no plugins. Inline style attributes stay allowed: they
# cannot run code, and the admin uses them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Audit log (django-auditlog): who changed prices, credit limits and licences, and how.
AUDITLOG_INCLUDE_ALL_MODELS = False
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3  # invitations use the same tokens: 3 days

# --- I18n / time ------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static / media ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploads (SDS, licences) are private: kept outside the web root, served through views.
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Email ------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ChemMall <noreply@chemmall.example>")

# --- Celery -----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
else:
    # Embedded mode: kombu's file-system transport, so no broker has to be installed.
    CELERY_BROKER_DIR = VAR_DIR / "celery"
    for _folder in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # Without it kombu keeps its exchange table in ./control, beside the code.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
# With the broker down a request must not hang on publishing: fail fast, the sweeps catch up.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0,
                                    "interval_step": 0.2, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Keeps each working calendar's holiday rows in step with the maintained package.
    "accounts-sync-holidays": {
        "task": "accounts.tasks.calendars_sync_holidays_task",
        "schedule": crontab(hour=3, minute=15),
    },
    # Response deadlines: reminders, escalations, expiring quotes, inquiries still waiting.
    "inquiries-sweep": {
        "task": "inquiries.tasks.inquiries_sweep_task",
        "schedule": 60.0,
    },
    # Dealers: answer windows that closed (back to the CCOs), commissions of completed and
    # paid orders and clawbacks of returned ones, the monthly statements on the 1st
    # (Asia/Shanghai, CELERY_TIMEZONE) and the nightly review flags.
    "dealers-sweep": {
        "task": "dealers.tasks.dealers_sweep_task",
        "schedule": 60.0,
    },
    "dealers-commissions": {
        "task": "dealers.tasks.commissions_sweep_task",
        "schedule": 300.0,
    },
    # Daily, not only on the 1st: a run the worker missed is caught up the next day (issuing
    # a month that has its statements changes nothing).
    "dealers-statements": {
        "task": "dealers.tasks.statements_issue_task",
        "schedule": crontab(hour=0, minute=20),
    },
    "dealers-flags": {
        "task": "dealers.tasks.dealer_flags_task",
        "schedule": crontab(hour=2, minute=10),
    },
    # Reports: yesterday's CCO figures, scores and routing weights at 00:30 Shanghai time;
    # the monthly award and warning flags after the month's last report.
    # Hourly (it replaces yesterday's rows with the same values): a missed 00:30 run is
    # made up within the hour.
    "reports-cco-daily": {
        "task": "reports.tasks.cco_daily_report_task",
        "schedule": crontab(minute=30),
    },
    # The dashboards' rollups: today and yesterday every five minutes; the 35 days before
    # nightly (an old day's inquiries are quoted, won or lost later).
    "reports-rollups": {
        "task": "reports.tasks.rollups_refresh_task",
        "schedule": 300.0,
    },
    "reports-rollups-recent": {
        "task": "reports.tasks.rollups_recent_task",
        "schedule": crontab(hour=1, minute=0),
    },
    # Yesterday's figures in every manager's mailbox at 08:00; background exports whose
    # message was lost are queued again, old export files removed.
    "reports-digest": {  # 08:00, again hourly to 11:00 for a missed run (dedup keys)
        "task": "reports.tasks.digest_task",
        "schedule": crontab(hour="8-11", minute=0),
    },
    "reports-exports-sweep": {
        "task": "reports.tasks.export_jobs_sweep_task",
        "schedule": 60.0,
    },
    "reports-monthly-flags": {  # last month's, recomputed daily (same values): no miss
        "task": "reports.tasks.monthly_flags_task",
        "schedule": crontab(hour=1, minute=30),
    },
    # Notifications whose first send failed or was never queued (broker down).
    "orders-outbox-sweep": {
        "task": "orders.tasks.outbox_sweep_task",
        "schedule": 60.0,
    },
}

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "chemmall.api.AutoSchema",  # + the generic 400/403/404
    "EXCEPTION_HANDLER": "chemmall.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ChemMall API",
    "DESCRIPTION": "Catalog, inquiries, orders, dealers and reports of the ChemMall platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI from drf-spectacular-sidecar's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Domain settings --------------------------------------------------------------------------
DEFAULT_SERVICE_LEVEL_HOURS = env.int("DEFAULT_SERVICE_LEVEL_HOURS", default=4)
DEFAULT_DEALER_WINDOW_HOURS = env.int("DEFAULT_DEALER_WINDOW_HOURS", default=8)
# Inquiry routing: each step may decide and says why (inquiries/routing.py). The dealers
# app inserts its step before the CCO step.
INQUIRY_ROUTING_STEPS = [
    "inquiries.routing.step_seller",
    "dealers.routing.step_dealer",
    "inquiries.routing.step_cco",
]
# Exports of more rows than this (and leaderboards of more than 92 days) are written by a
# Celery task; the page shows its progress and then the download. Finished files are kept
# this many days.
REPORTS_ASYNC_EXPORT_ROWS = env.int("REPORTS_ASYNC_EXPORT_ROWS", default=5000)
REPORTS_EXPORT_KEEP_DAYS = env.int("REPORTS_EXPORT_KEEP_DAYS", default=7)
# Guests (not signed in) may send this many inquiries per hour from one address.
GUEST_INQUIRIES_PER_HOUR = env.int("GUEST_INQUIRIES_PER_HOUR", default=10)
VAT_RATE = Decimal(env.str("VAT_RATE", default="0.13"))
# A pickup code is good for this many days from the day the goods are ready; finance extends.
PICKUP_CODE_VALID_DAYS = env.int("PICKUP_CODE_VALID_DAYS", default=14)

# Logs: one JSON object per line in production (LOG_FORMAT=json), readable text in
# development; every record carries the request id (or the task and its id in a worker).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "chemmall.observability.ContextFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s%(task)s] "
                           "%(message)s"},
        "json": {"()": "pythonjsonlogger.json.JsonFormatter",
                 "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s "
                           "%(task)s %(task_id)s",
                 "rename_fields": {"asctime": "time", "levelname": "level",
                                   "name": "logger"}},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["context"],
                             "formatter": "json" if LOG_FORMAT == "json" else "text"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {  # one line per request is for production; development has runserver's
        "chemmall.request": {"level": env.str("REQUEST_LOG_LEVEL", default="INFO")},
        "axes": {"level": "WARNING"},  # a line per login otherwise
    },
}
# Celery workers keep this logging (and its request/task ids) instead of their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
