"""Settings for the helpdesk project, read from environment variables.

Defaults give a zero-setup system: a SQLite file and Celery's filesystem broker under ./var.
Production sets DATABASE_URL (PostgreSQL) and REDIS_URL / CELERY_BROKER_URL (Redis).
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("HELPDESK_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false (see README, 'Configuration').")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is false (see README, 'Configuration').")
if not SECRET_KEY:
    # Development only: a fixed key is fine because DEBUG=True never faces the internet.
    SECRET_KEY = "dev-insecure-key-do-not-use-in-production"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- HTTPS and security headers (docs/security.md; README "Production settings") ------------------
# HELPDESK_HTTPS=true when users reach the site over HTTPS: redirect http, HSTS, Secure cookies.
HELPDESK_HTTPS = env.bool("HELPDESK_HTTPS", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HELPDESK_HTTPS)
SESSION_COOKIE_SECURE = HELPDESK_HTTPS
CSRF_COOKIE_SECURE = HELPDESK_HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if HELPDESK_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HELPDESK_HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy header for every response; empty: none. The desk loads only its own scripts
# and styles, so "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'" fits it.
HELPDESK_CONTENT_SECURITY_POLICY = env.str("HELPDESK_CONTENT_SECURITY_POLICY", default="")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "anymail",
    "axes",
    "tickets",
    "sla",
    "surveys",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "tickets.workspace.middleware.DeskTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "helpdesk.security_headers.SecurityHeadersMiddleware",
    # Last, as django-axes requires: turns a locked-out login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"
ASGI_APPLICATION = "helpdesk.asgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'helpdesk.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # SQLite serialises writers; a generous timeout lets web, worker and beat share the file.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    # WAL lets readers work while a writer commits; NORMAL sync is safe with WAL and much faster.
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation pays off for long analytical scans, not for the short indexed queries a desk
    # makes: measured at a million tickets it added 200-340 ms of compiling to queries that run in tens.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out client before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Raw inbound mail (docs/email.md "Raw mail storage"): files under VAR_DIR/raw-mail by default; "s3" keeps
# them in any S3-compatible bucket through django-storages (AWS, MinIO, Ceph, R2, ...).
HELPDESK_RAW_MAIL_STORAGE = env.str("HELPDESK_RAW_MAIL_STORAGE", default="local")
if HELPDESK_RAW_MAIL_STORAGE == "local":
    STORAGES["inbound_raw"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env.str("HELPDESK_RAW_MAIL_DIR", default=str(VAR_DIR / "raw-mail")),
            "base_url": None,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
elif HELPDESK_RAW_MAIL_STORAGE == "s3":
    STORAGES["inbound_raw"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("HELPDESK_RAW_MAIL_S3_BUCKET"),
            "location": env.str("HELPDESK_RAW_MAIL_S3_PREFIX", default="raw-mail"),
            "endpoint_url": env.str("HELPDESK_RAW_MAIL_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("HELPDESK_RAW_MAIL_S3_REGION", default="") or None,
            "access_key": env.str("HELPDESK_RAW_MAIL_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("HELPDESK_RAW_MAIL_S3_SECRET_ACCESS_KEY", default="") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": True,  # content-addressed: the same name always holds the same bytes
        },
    }
else:
    raise ImproperlyConfigured("HELPDESK_RAW_MAIL_STORAGE must be 'local' or 's3'.")
# Raw bytes of processed (and ignored or duplicate) inbound mail are deleted this many days after receipt;
# quarantined mail keeps them for a retry. 0 keeps them forever.
HELPDESK_RAW_MAIL_RETENTION_DAYS = env.int("HELPDESK_RAW_MAIL_RETENTION_DAYS", default=90)
if HELPDESK_RAW_MAIL_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("HELPDESK_RAW_MAIL_RETENTION_DAYS must be 0 (keep) or a number of days.")
# API `Idempotency-Key` records are kept this many hours (a client's retry within it gets the first
# answer); the hourly beat task `tickets_purge_idempotency_keys` deletes older ones.
HELPDESK_IDEMPOTENCY_KEY_RETENTION_HOURS = env.int("HELPDESK_IDEMPOTENCY_KEY_RETENTION_HOURS", default=24)
if HELPDESK_IDEMPOTENCY_KEY_RETENTION_HOURS < 1:
    raise ImproperlyConfigured("HELPDESK_IDEMPOTENCY_KEY_RETENTION_HOURS must be a positive number of hours.")
LOGIN_URL = "/desk/login/"
LOGIN_REDIRECT_URL = "/desk/"
LOGOUT_REDIRECT_URL = "/desk/login/"

# --- Cache (rate limits of the public web form, sessions) ----------------------------------------
# Redis when REDIS_URL is set, so every web process shares the counters; otherwise a per-process
# local-memory cache, which is enough for the single-process embedded default.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "helpdesk",
        }
    }
    # Sessions stay in the database and are read through Redis, failing open (helpdesk/sessions.py).
    SESSION_ENGINE = "helpdesk.sessions"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------------------------
# The filesystem transport ignores the host, but kombu warns on every connection that has none.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost/")
CELERY_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The filesystem transport needs its folders before any process publishes or consumes.
    for folder in ("queue", "control", "processed"):
        (CELERY_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# With the broker down a publish gives up after one quick retry: the request has committed its rows and
# the beat sweeps enqueue them once the broker is back, so waiting longer only delays the answer.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = TIME_ZONE
# --- SLA ----------------------------------------------------------------------------------------
SLA_SWEEP_SECONDS = env.int("SLA_SWEEP_SECONDS", default=30)
SLA_SWEEP_BATCH_SIZE = env.int("SLA_SWEEP_BATCH_SIZE", default=500)
if SLA_SWEEP_SECONDS < 1 or SLA_SWEEP_BATCH_SIZE < 1:
    raise ImproperlyConfigured("SLA_SWEEP_SECONDS and SLA_SWEEP_BATCH_SIZE must be positive whole numbers.")

CELERY_BEAT_SCHEDULE = {
    "tickets-close-solved-tickets": {
        "task": "tickets.tasks.tickets_close_solved_tickets",
        "schedule": timedelta(minutes=15),
        "options": {"expires": 14 * 60},
    },
    "surveys-send-due-invitations": {
        "task": "surveys.tasks.surveys_send_due_invitations",
        "schedule": timedelta(seconds=60),
        "options": {"expires": 55},
    },
    "tickets-sweep-outbox": {
        "task": "tickets.tasks.tickets_sweep_outbox",
        "schedule": timedelta(seconds=30),
        "options": {"expires": 25},
    },
    "tickets-requeue-inbound-messages": {
        "task": "tickets.tasks.tickets_requeue_inbound_messages",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50},
    },
    "tickets-poll-mailboxes": {
        "task": "tickets.tasks.tickets_poll_mailboxes",
        "schedule": timedelta(seconds=env.int("HELPDESK_IMAP_POLL_SECONDS", default=60)),
        "options": {"expires": max(10, env.int("HELPDESK_IMAP_POLL_SECONDS", default=60) - 5)},
    },
    "tickets-purge-raw-mail": {
        "task": "tickets.tasks.tickets_purge_raw_mail",
        "schedule": timedelta(hours=1),
        "options": {"expires": 55 * 60},
    },
    "tickets-rollup-metrics": {
        "task": "tickets.tasks.tickets_rollup_metrics",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 4 * 60},
    },
    "tickets-purge-idempotency-keys": {
        "task": "tickets.tasks.tickets_purge_idempotency_keys",
        "schedule": timedelta(hours=1),
        "options": {"expires": 55 * 60},
    },
    "sla-sweep-clocks": {
        "task": "sla.tasks.sla_sweep_clocks",
        "schedule": timedelta(seconds=SLA_SWEEP_SECONDS),
        # A sweep that waited longer than its interval is redundant: the next one finds the same rows.
        "options": {"expires": max(1, SLA_SWEEP_SECONDS - 5)},
    },
}

# --- Email --------------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Support <support@helpdesk.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Inbound webhooks (django-anymail): Mailgun signs each post with its webhook signing key; every provider's
# post must also carry HTTP basic auth ("user:password" in the webhook URL) from ANYMAIL_WEBHOOK_SECRET
# (anymail shares it between providers; list several to rotate). Postmark and SendGrid have no signature.
# Providers whose inbound webhook is served (mailgun, postmark, sendgrid); each needs its credential
# (Mailgun: MAILGUN_WEBHOOK_SIGNING_KEY; the others: ANYMAIL_WEBHOOK_SECRET), else it answers 403.
HELPDESK_EMAIL_WEBHOOK_PROVIDERS = env.list("HELPDESK_EMAIL_WEBHOOK_PROVIDERS", default=[])
if set(HELPDESK_EMAIL_WEBHOOK_PROVIDERS) - {"mailgun", "postmark", "sendgrid"}:
    raise ImproperlyConfigured("HELPDESK_EMAIL_WEBHOOK_PROVIDERS may list only mailgun, postmark, sendgrid.")
ANYMAIL = {
    "MAILGUN_WEBHOOK_SIGNING_KEY": env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default=""),
    "WEBHOOK_SECRET": env.list("ANYMAIL_WEBHOOK_SECRET", default=[]),
}

# --- Helpdesk domain ----------------------------------------------------------------------------
HELPDESK_REFERENCE_PREFIX = env.str("HELPDESK_REFERENCE_PREFIX", default="HD")
HELPDESK_AUTO_CLOSE_DAYS = env.int("HELPDESK_AUTO_CLOSE_DAYS", default=4)
# Absolute links in emails (survey links) start with this; no trailing slash needed.
# `make run` serves on PORT, so links in its emails point there unless a public address is set.
HELPDESK_PUBLIC_BASE_URL = env.str(
    "HELPDESK_PUBLIC_BASE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}"
)

# --- Metrics (docs/metrics.md) -------------------------------------------------------------------
# Business hours of tickets that neither an SLA policy nor their team's calendar covers, unless a
# calendar is marked default in the admin: weekdays (0 = Monday) and one daily "HH:MM-HH:MM" interval,
# in TIME_ZONE.
HELPDESK_DEFAULT_BUSINESS_DAYS = env.list("HELPDESK_DEFAULT_BUSINESS_DAYS", cast=int, default=[0, 1, 2, 3, 4])
HELPDESK_DEFAULT_BUSINESS_HOURS = env.str("HELPDESK_DEFAULT_BUSINESS_HOURS", default="09:00-17:00")
if set(HELPDESK_DEFAULT_BUSINESS_DAYS) - set(range(7)) or not re.fullmatch(
    r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", HELPDESK_DEFAULT_BUSINESS_HOURS
):
    raise ImproperlyConfigured(
        "HELPDESK_DEFAULT_BUSINESS_DAYS lists weekdays 0-6 (0 = Monday) and HELPDESK_DEFAULT_BUSINESS_HOURS "
        "is one interval such as '09:00-17:00'."
    )
# Phone: a call answered within this many seconds meets the service level (the classic 80/20 target);
# an abandon within the short-abandon threshold is a misdial or hang-up, counted apart.
HELPDESK_PHONE_SERVICE_LEVEL_SECONDS = env.int("HELPDESK_PHONE_SERVICE_LEVEL_SECONDS", default=20)
HELPDESK_PHONE_SERVICE_LEVEL_TARGET = env.int("HELPDESK_PHONE_SERVICE_LEVEL_TARGET", default=80)
HELPDESK_PHONE_SHORT_ABANDON_SECONDS = env.int("HELPDESK_PHONE_SHORT_ABANDON_SECONDS", default=5)
# A solved ticket whose customer opens another ticket within this many days counts as a repeat contact.
HELPDESK_REPEAT_CONTACT_DAYS = env.int("HELPDESK_REPEAT_CONTACT_DAYS", default=7)

# --- Surveys (project defaults; a team's SurveySettings row overrides them) -----------------------
HELPDESK_SURVEYS_ENABLED = env.bool("HELPDESK_SURVEYS_ENABLED", default=True)
HELPDESK_SURVEY_KINDS = env.list("HELPDESK_SURVEY_KINDS", default=["csat"])
if not HELPDESK_SURVEY_KINDS or set(HELPDESK_SURVEY_KINDS) - {"csat", "ces", "nps"}:
    raise ImproperlyConfigured(
        "HELPDESK_SURVEY_KINDS must list one or more of csat, ces, nps (e.g. 'csat,nps')."
    )
HELPDESK_SURVEY_DELAY_MINUTES = env.int("HELPDESK_SURVEY_DELAY_MINUTES", default=60)
HELPDESK_SURVEY_TOKEN_DAYS = env.int("HELPDESK_SURVEY_TOKEN_DAYS", default=28)
HELPDESK_SURVEY_THROTTLE_DAYS = env.int("HELPDESK_SURVEY_THROTTLE_DAYS", default=30)
HELPDESK_SURVEY_POOR_ANSWER_ACTION = env.str("HELPDESK_SURVEY_POOR_ANSWER_ACTION", default="nothing")
if HELPDESK_SURVEY_POOR_ANSWER_ACTION not in {"nothing", "reopen", "follow_up"}:
    raise ImproperlyConfigured("HELPDESK_SURVEY_POOR_ANSWER_ACTION must be nothing, reopen or follow_up.")
# Replies go to <mailbox>+survey-<token>@<domain>; empty: the address of DEFAULT_FROM_EMAIL.
HELPDESK_SURVEY_REPLY_MAILBOX = env.str("HELPDESK_SURVEY_REPLY_MAILBOX", default="")
# Submit the pre-selected score by JavaScript on page load (true one-click); see README.
HELPDESK_SURVEY_AUTO_SUBMIT = env.bool("HELPDESK_SURVEY_AUTO_SUBMIT", default=False)

# --- Intake channels and routing (docs/intake-channels.md) -------------------------------------
# Region for phone numbers written without a country code (ISO 3166 code such as "US"); empty
# means every number must be in international form.
HELPDESK_DEFAULT_PHONE_REGION = env.str("HELPDESK_DEFAULT_PHONE_REGION", default="").upper()
# Team (by name) for tickets that no routing rule gives a team.
HELPDESK_DEFAULT_TEAM = env.str("HELPDESK_DEFAULT_TEAM", default="")
# The address customers reply to (Reply-To of acknowledgements).
HELPDESK_SUPPORT_ADDRESS = env.str("HELPDESK_SUPPORT_ADDRESS", default="") or DEFAULT_FROM_EMAIL
# A call from the same number within this many hours lands on the caller's open phone ticket.
HELPDESK_PHONE_THREAD_HOURS = env.int("HELPDESK_PHONE_THREAD_HOURS", default=24)
HELPDESK_WEB_FORM_MAX_ATTACHMENTS = env.int("HELPDESK_WEB_FORM_MAX_ATTACHMENTS", default=5)
HELPDESK_WEB_FORM_MAX_ATTACHMENT_BYTES = env.int(
    "HELPDESK_WEB_FORM_MAX_ATTACHMENT_BYTES", default=10 * 1024 * 1024
)
HELPDESK_WEB_FORM_RATE_PER_IP = env.int("HELPDESK_WEB_FORM_RATE_PER_IP", default=10)
HELPDESK_WEB_FORM_RATE_PER_EMAIL = env.int("HELPDESK_WEB_FORM_RATE_PER_EMAIL", default=5)
HELPDESK_WEB_FORM_RATE_WINDOW_SECONDS = env.int("HELPDESK_WEB_FORM_RATE_WINDOW_SECONDS", default=3600)
# Deflection at the door (docs/deflection.md): per client IP and HELPDESK_WEB_FORM_RATE_WINDOW_SECONDS,
# the support form's answer suggestions (they follow typing, debounced, so many more than the form's
# sends) and answer views; and how long after its last answer view a form not sent counts as deflected.
HELPDESK_ANSWER_LOOKUPS_PER_IP = env.int("HELPDESK_ANSWER_LOOKUPS_PER_IP", default=200)
HELPDESK_ANSWER_VIEWS_PER_IP = env.int("HELPDESK_ANSWER_VIEWS_PER_IP", default=60)
HELPDESK_DEFLECTION_WINDOW_SECONDS = env.int("HELPDESK_DEFLECTION_WINDOW_SECONDS", default=3600)
if min(HELPDESK_ANSWER_LOOKUPS_PER_IP, HELPDESK_ANSWER_VIEWS_PER_IP, HELPDESK_DEFLECTION_WINDOW_SECONDS) < 1:
    raise ImproperlyConfigured(
        "HELPDESK_ANSWER_LOOKUPS_PER_IP, HELPDESK_ANSWER_VIEWS_PER_IP and HELPDESK_DEFLECTION_WINDOW_SECONDS "
        "must be positive."
    )
HELPDESK_API_MAX_ATTACHMENT_BYTES = env.int("HELPDESK_API_MAX_ATTACHMENT_BYTES", default=25 * 1024 * 1024)
# Our own support addresses: mail from them is ignored (loop protection); the first one is the default
# sender address whose plus-address (support+<reply token>@...) is each ticket's reply address.
HELPDESK_SUPPORT_ADDRESSES = env.list("HELPDESK_SUPPORT_ADDRESSES", default=["support@helpdesk.localhost"])
HELPDESK_MAX_ATTACHMENT_BYTES = env.int("HELPDESK_MAX_ATTACHMENT_BYTES", default=25 * 1024 * 1024)
# The outbox (email, reply callbacks, webhooks): attempts before a delivery fails for good, and the lease
# a worker holds on a row while sending (longer than the send task's 120 s time limit).
HELPDESK_OUTBOX_MAX_ATTEMPTS = env.int("HELPDESK_OUTBOX_MAX_ATTEMPTS", default=8)
HELPDESK_OUTBOX_LEASE_SECONDS = env.int("HELPDESK_OUTBOX_LEASE_SECONDS", default=300)
if HELPDESK_OUTBOX_MAX_ATTEMPTS < 1 or HELPDESK_OUTBOX_LEASE_SECONDS < 1:
    raise ImproperlyConfigured(
        "HELPDESK_OUTBOX_MAX_ATTEMPTS and HELPDESK_OUTBOX_LEASE_SECONDS must be positive."
    )
# After this many hard bounces (of different messages) a customer's address is flagged undeliverable.
HELPDESK_HARD_BOUNCE_LIMIT = env.int("HELPDESK_HARD_BOUNCE_LIMIT", default=3)
# Agents also get their in-app notifications (assignments, SLA, delivery failures) by email.
HELPDESK_NOTIFICATION_EMAILS = env.bool("HELPDESK_NOTIFICATION_EMAILS", default=True)
# A stored inbound message not processed this long after it arrived is enqueued again by the beat sweep
# (its enqueue was lost in a broker outage, or its worker died); well above a normal queue delay.
HELPDESK_INBOUND_REQUEUE_AFTER_SECONDS = env.int("HELPDESK_INBOUND_REQUEUE_AFTER_SECONDS", default=120)
HELPDESK_INBOUND_REQUEUE_BATCH_SIZE = env.int("HELPDESK_INBOUND_REQUEUE_BATCH_SIZE", default=500)
HELPDESK_IMAP_BATCH_SIZE = env.int("HELPDESK_IMAP_BATCH_SIZE", default=200)
HELPDESK_IMAP_TIMEOUT = env.int("HELPDESK_IMAP_TIMEOUT", default=60)
# Each IMAP poll processes its batch in this many Celery tasks at most, each conversation in one of them in
# order (run at least as many worker processes to use them in parallel).
HELPDESK_INBOUND_PARTITIONS = env.int("HELPDESK_INBOUND_PARTITIONS", default=2)

# --- Client address and login lockout (docs/security.md) -----------------------------------------
# How many reverse proxies in front of the web server append the address they saw to
# HELPDESK_CLIENT_IP_HEADER (a META name). 0: no proxy, the client is REMOTE_ADDR and forwarding headers
# are ignored. helpdesk/client_ip.py applies this one rule to rate limits, throttles and login lockout.
HELPDESK_TRUSTED_PROXY_COUNT = env.int("HELPDESK_TRUSTED_PROXY_COUNT", default=0)
HELPDESK_CLIENT_IP_HEADER = env.str("HELPDESK_CLIENT_IP_HEADER", default="HTTP_X_FORWARDED_FOR")
if HELPDESK_TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("HELPDESK_TRUSTED_PROXY_COUNT must be 0 or more.")
if HELPDESK_TRUSTED_PROXY_COUNT > 0:
    # Behind a TLS-terminating proxy: trust its X-Forwarded-Proto, or SECURE_SSL_REDIRECT would loop.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# django-axes locks out a client address after this many wrong passwords on /desk/login/, /admin/login/
# and the API token endpoint, for the cool-off time; attempts live in the database (no Redis needed).
AXES_FAILURE_LIMIT = env.int("HELPDESK_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("HELPDESK_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "helpdesk.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "helpdesk.login_lockout.lockout_response"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"

# Hosts that outbound HTTP (webhook subscriptions) may reach although they resolve to loopback, private or
# reserved addresses: trusted internal receivers only (helpdesk/outbound_http.py, docs/security.md).
HELPDESK_OUTBOUND_HTTP_ALLOWED_HOSTS = env.list("HELPDESK_OUTBOUND_HTTP_ALLOWED_HOSTS", default=[])

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "helpdesk.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "helpdesk.api_errors.HelpdeskAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "helpdesk.pagination.CursorPagination",
    "PAGE_SIZE": 25,
    "EXCEPTION_HANDLER": "helpdesk.api_errors.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_THROTTLE_RATES": {"auth-token": env.str("HELPDESK_API_TOKEN_RATE", default="20/minute")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Helpdesk API",
    "DESCRIPTION": "Tickets, SLA clocks, surveys and metrics of the contact-center helpdesk.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from the drf-spectacular-sidecar package: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "tickets.models.Status",
        "PriorityEnum": "tickets.models.Priority",
        "ChannelEnum": "tickets.models.Channel",
        "SurveyKindEnum": "surveys.models.Kind",
        "PoorAnswerActionEnum": "surveys.models.PoorAnswerAction",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {
        "client_errors_without_traceback": {"()": "helpdesk.log_filters.ClientErrorsWithoutTraceback"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own default handler for "django" would print each record a second time via the root.
        "django": {
            "handlers": ["console"],
            "level": env.str("LOG_LEVEL", default="INFO"),
            "propagate": False,
        },
        "django.request": {"filters": ["client_errors_without_traceback"]},
    },
}
