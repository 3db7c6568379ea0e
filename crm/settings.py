"""Threshold settings: one module, configured by the environment.

Every value comes from an environment variable (see `.env.example`). With nothing set
the product runs embedded: SQLite and a filesystem Celery broker under `var/`, DEBUG on.
Production (`DEBUG=0`) refuses to start without a real `SECRET_KEY`.
"""

from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
else:
    SECRET_KEY = env.str("SECRET_KEY")  # required: no default outside DEBUG

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by us: /api/docs/ needs no CDN
    "axes",
    "csp",
    "django_htmx",
    "rules.apps.AutodiscoverRulesConfig",
    "crm",
    "leads",
    "opportunities",
    "sla",
    "reports",
    # Intake channels beside sla/opportunities: they feed leads through its intake service.
    "imports",
    "capture",
    # The top floor: they may import every app above this line (see ARCHITECTURE.md).
    "workspace",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "crm.security.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Under /api/: a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413, and any error page
    # (a 404 no route matched, a 500) is the API's JSON error body instead.
    "crm.web.api_guard.ApiGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Report GETs on the read replica when there is one; a user's writes pin them to the
    # primary for the lag tolerance (crm/replica.py).
    "crm.replica.ReplicaReadsMiddleware",
    "crm.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "crm.web.errors.DomainErrorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a refused sign-in into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

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
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "crm.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'threshold.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's psycopg 3 pool lives in web processes only; it needs CONN_MAX_AGE=0.
    # Celery workers set DB_POOL=0 (see Makefile/Procfile) and close connections per task.
    if env.bool("DB_POOL", default=False):
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DB_POOL_MIN", default=2),
            "max_size": env.int("DB_POOL_MAX", default=10),
        }
        # With the pool, this makes Django pass psycopg_pool's `check_connection`: a
        # connection the server dropped while it idled in the pool (a restart, a failover)
        # is replaced at checkout instead of failing that request with a 503 (one empty
        # round trip per checkout).
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # SQLite: wait for the writer instead of failing at once when worker and web overlap.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

# A streaming read replica (optional): report and dashboard GETs read from it, see
# crm/replica.py for the lag tolerance and reads-after-writes on the primary.
if env.str("DATABASE_REPLICA_URL", default="") and "postgresql" in DATABASES["default"]["ENGINE"]:
    DATABASES["replica"] = {
        **env.db("DATABASE_REPLICA_URL"),
        "CONN_MAX_AGE": DATABASES["default"].get("CONN_MAX_AGE", 0),
        "CONN_HEALTH_CHECKS": True,
    }
REPLICA_READS = "replica" in DATABASES
REPLICA_LAG_TOLERANCE = env.float("REPLICA_LAG_TOLERANCE", default=10.0)
REPLICA_LAG_CHECK_SECONDS = env.float("REPLICA_LAG_CHECK_SECONDS", default=5.0)
# The hot API reads run as server-side prepared statements on PostgreSQL (crm/api/prepared.py).
# Off behind a pooler that cannot keep them (PgBouncer before 1.21 in transaction mode).
API_PREPARED_STATEMENTS = env.bool("API_PREPARED_STATEMENTS", default=True)
REPLICA_READ_PATHS = ("/dashboard/", "/reports/", "/api/v1/reports/")
REPLICA_APPS = ("leads", "opportunities", "sla", "reports")
DATABASE_ROUTERS = ["crm.replica.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "crm.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account + address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Sign-in protection (django-axes) ---------------------------------------------------
# One account from one address is locked after the policy's number of failures within its
# window (RevOps sets both on /settings/sign-in-protection/; default 10 in 15 minutes) and
# stays locked until the window has passed since the last failure. Other accounts and other
# addresses are not affected. Failures are counted in the database (axes.AccessAttempt);
# each one is logged (axes.AccessFailureLog, `locked_out` set when the lockout refused it).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = "crm.security.policy.failure_limit"
AXES_COOLOFF_TIME = "crm.security.policy.cool_off"
AXES_LOCKOUT_CALLABLE = "crm.security.lockout.response"
# The client's address by the same rule as the API throttles (NUM_PROXIES below).
AXES_CLIENT_IP_CALLABLE = "crm.api.throttling.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Unlocking goes through the RevOps page (audited), not axes' admin screens.
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("id", _("Indonesian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")  # default display zone; users pick their own
USE_I18N = True
USE_TZ = True  # instants are stored in UTC

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns at start-up when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Cache ------------------------------------------------------------------------------
# Shared between web and workers: throttle histories, the worker's heartbeat. Nothing lives
# only here, so while Redis is unreachable the cache fails open (crm/cache_guard.py): reads
# miss, writes are dropped, one warning per outage. Short socket timeouts keep a blackholed
# Redis from stalling requests; `fail_open_retry_after` is how long a process then skips it.
_redis_url = env.str("REDIS_URL", default="")
CACHES = {
    "default": {
        "BACKEND": "crm.cache_guard.FailOpenRedisCache",
        "LOCATION": _redis_url,
        "OPTIONS": {
            "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
            "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
            "fail_open_retry_after": env.float("REDIS_FAIL_OPEN_RETRY_AFTER", default=5.0),
        },
    }
    if _redis_url
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
    }
}

# --- Email ------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Threshold <threshold@localhost>")

# --- Celery -----------------------------------------------------------------------------
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default=env.str("REDIS_URL", default="filesystem://")
)
if CELERY_BROKER_URL == "filesystem://":
    for sub in ("in", "processed"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "in"),
        "data_folder_out": str(_broker_dir / "in"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Without socket timeouts a publish to a blackholed Redis waits forever, holding the
    # request that queued it (kombu's own advice). BRPOP replies within 1 s, well inside.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": env.float("BROKER_CONNECT_TIMEOUT", default=1.0),
        "socket_timeout": env.float("BROKER_SOCKET_TIMEOUT", default=2.0),
    }
# A publish the broker refuses is retried once, then fails fast (crm/enqueue.py logs it
# instead of failing the committed request; side effects are outbox rows, which beat's
# outbox sweep delivers when the hand-off after the commit could not be published).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_RESULT_BACKEND = None  # tasks record their outcome in domain rows, not results
CELERY_TASK_IGNORE_RESULT = True
# At-least-once delivery: a task is acknowledged only after it ran, and a task whose worker
# died is redelivered. Every task is idempotent (the SLA sweep records each event once,
# enforced by unique constraints), so running one twice is harmless; losing one is not.
# One queue per workload, so each can get its own workers (docker-compose.yml shows them):
# the SLA sweep never waits behind a 1,000,000-row import or a rollup rebuild.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "sla.tasks.*": {"queue": "sweeps"},
    "crm.tasks.outbox_*": {"queue": "effects"},
    "crm.tasks.notification_*": {"queue": "effects"},
    "imports.tasks.*": {"queue": "imports"},
    "reports.tasks.*": {"queue": "reports"},
    "workspace.tasks.*": {"queue": "reports"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "heartbeat": {"task": "crm.tasks.heartbeat_task", "schedule": 60.0},
    # Breaches are seen within 30 s of their due time. A sweep still queued after a minute
    # is dropped (a later one covers it) instead of piling up behind a stopped worker.
    "sla-sweep": {
        "task": "sla.tasks.timers_sweep_task",
        "schedule": 15.0,
        "options": {"expires": 60.0},
    },
    "idempotency-purge": {"task": "crm.tasks.purge_idempotency_keys_task", "schedule": 3600.0},
    # Side effects (e-mail) the after-commit hand-off did not deliver: broker down or lost
    # the message, or a retry whose backoff has passed (crm/outbox). Expires like the SLA
    # sweep: a later sweep covers a dropped one.
    "outbox-sweep": {
        "task": "crm.tasks.outbox_sweep_task",
        "schedule": 15.0,
        "options": {"expires": 60.0},
    },
    "outbox-purge": {"task": "crm.tasks.outbox_purge_task", "schedule": 3600.0},
}
from celery.schedules import crontab  # noqa: E402 - kept beside the entry that needs it

# Marketing's weekly lead-quality feedback by source: Monday 07:00 UTC (CELERY_TIMEZONE).
CELERY_BEAT_SCHEDULE["weekly-lead-feedback"] = {
    "task": "reports.tasks.weekly_lead_feedback_task",
    "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
}
# The dashboard's daily rollups: changes reach them within 30 s; a nightly rebuild heals
# writes that bypass `updated_at`. Pages fall back to the source tables when they are older
# than THRESHOLD_ROLLUP_MAX_AGE seconds (the beat is down).
CELERY_BEAT_SCHEDULE["report-rollups"] = {
    "task": "reports.tasks.refresh_rollups_task",
    "schedule": 30.0,
    "options": {"expires": 30.0},
}
CELERY_BEAT_SCHEDULE["report-rollups-rebuild"] = {
    "task": "reports.tasks.refresh_rollups_task",
    "schedule": crontab(minute=30, hour=2),
    "kwargs": {"full": True},
}
# The search's words of names deleted or renamed since (workspace.tasks): nightly, on the
# reports queue with the other set-based rebuilds.
CELERY_BEAT_SCHEDULE["search-words-refresh"] = {
    "task": "workspace.tasks.refresh_search_words_task",
    "schedule": crontab(minute=15, hour=3),
}
THRESHOLD_ROLLUP_MAX_AGE = env.int("THRESHOLD_ROLLUP_MAX_AGE", default=600)
# Imports whose worker died: a running import that wrote no batch for `minutes` is ended
# as failed, its message naming the rows that are in (imports.watchdog.imports_stop_stalled).
# On the sweeps queue, not "imports": that worker may be the one that died, or busy.
CELERY_BEAT_SCHEDULE["import-watchdog"] = {
    "task": "imports.tasks.import_watchdog_task",
    "schedule": 60.0,
    "kwargs": {"minutes": 10},
    "options": {"queue": "sweeps", "expires": 60.0},
}

# --- REST API ---------------------------------------------------------------------------
# The largest request body read (bytes; forms' file parts aside): a bigger API body is a
# 413. And how deeply a JSON body may nest arrays and objects (deeper: 400 `too_deep`).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=32)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.api.language.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's JSON, written by orjson (crm/api/renderers.py); the browsable API stays off.
    "DEFAULT_RENDERER_CLASSES": ["crm.api.renderers.OrjsonRenderer"],
    "EXCEPTION_HANDLER": "crm.api.exceptions.exception_handler",
    # JSON bodies bounded in size and nesting (crm.api.parsers); forms as DRF reads them.
    "DEFAULT_PARSER_CLASSES": [
        "crm.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "crm.api.throttling.AnonWindowThrottle",
        "crm.api.throttling.UserWindowThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="6000/min"),
        # POST /api/v1/auth/token/, per client address (crm.api.throttling).
        "auth-token": env.str("API_THROTTLE_AUTH_TOKEN", default="20/min"),
    },
    # How many proxies of our own stand in front and append to X-Forwarded-For. 0: the
    # header is ignored and REMOTE_ADDR is the client (a client cannot forge its address).
    # The same rule identifies clients for the sign-in lockout (AXES_CLIENT_IP_CALLABLE).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Threshold API",
    "DESCRIPTION": "Leads, qualification, conversion, pipeline and SLA for revenue teams.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ loads Swagger UI from drf-spectacular-sidecar's files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No validator badge: it would send the schema's URL to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Every operation documents the errors it can answer (401, 403, 404, 409, 412, 413,
    # 415, 429…) in the one JSON error shape: crm.api.schema.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crm.api.schema.document_errors",
    ],
    # One schema name per choice set that several fields share.
    "ENUM_NAME_OVERRIDES": {
        "CriterionStatusEnum": "leads.models.CriterionStatus",
        "LeadStatusEnum": "leads.models.LeadStatus",
        "UserRoleEnum": "crm.models.User.Role",
        "ContactRoleEnum": "opportunities.models.OpportunityContactRole.Role",
        "OverrideRequestStateEnum": "opportunities.models.ConversionRequest.State",
        "TimerStateEnum": "sla.models.SlaTimer.State",
        "SearchKindEnum": "workspace.api.views.KIND_NAMES",
        "SourceEnum": "leads.models.Source",
    },
}

# --- Security (production) --------------------------------------------------------------
# Production runs behind a TLS-terminating proxy that sets X-Forwarded-Proto (and removes
# any a client sent). Plain-HTTP requests are redirected to HTTPS, except the container
# health check, which probes the web process directly.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Sign-in and CSRF cookies travel over HTTPS only in production. Trying the stack on plain
# HTTP on another host than localhost (which browsers treat as secure) needs both off, or
# the browser drops them and every sign-in fails silently.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): only our own scripts, styles, fonts and requests.
# No inline script or style attribute is allowed; a template that needs an inline script
# gives it `nonce="{{ request.csp_nonce }}"` (the nonce is added only to such pages).
# Alpine.js is its CSP build (no eval); htmx runs with allowEval off (base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    }
}
# /api/schema/ and /api/docs/ need a signed-in user (or a token) unless this is set.
API_SCHEMA_PUBLIC = env.bool("API_SCHEMA_PUBLIC", default=False)
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-axes: failures and lockouts (WARNING) without a line per successful sign-in.
        "axes": {"level": "WARNING"},
    },
}

# --- Threshold ------------------------------------------------------------------------
# Demo data refuses to touch a database holding real data unless forced (seed_demo --force).
THRESHOLD_DEMO_PASSWORD = env.str("THRESHOLD_DEMO_PASSWORD", default="threshold-demo")
THRESHOLD_BASE_URL = env.str("THRESHOLD_BASE_URL", default="http://127.0.0.1:8000")
# Closed-loop feedback to marketing: rejections, conversions, weekly lead quality.
THRESHOLD_MARKETING_EMAIL = env.str("THRESHOLD_MARKETING_EMAIL", default="marketing@localhost")
# /health/ (crm/health.py): the socket/statement timeout of each dependency check, and where
# the worker's heartbeat is also written so it stays readable while the cache is down (web
# and worker must share this path; in containers, a shared volume).
THRESHOLD_HEALTH_TIMEOUT = env.float("THRESHOLD_HEALTH_TIMEOUT", default=0.5)
THRESHOLD_HEARTBEAT_FILE = env.str(
    "THRESHOLD_HEARTBEAT_FILE", default=str(VAR_DIR / "worker-heartbeat")
)
# /health/ is 503 when the oldest undelivered side effect (crm/outbox) is older than this.
THRESHOLD_OUTBOX_MAX_AGE = env.int("THRESHOLD_OUTBOX_MAX_AGE", default=600)
