"""Django settings for Zhifu's own test suite (SQLite by default, PostgreSQL via DATABASE_URL).

``ZHIFU`` is filled in by fixtures (tests/conftest.py): unit tests use freshly generated keys and
a fake Alipay key pair; integration tests use a real ``zhifu.sandbox`` server on a free port.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

from zhifu.tasks import BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent
VAR = BASE_DIR / "var"
VAR.mkdir(exist_ok=True)

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "zhifu",
    "tests.shop",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.urls"
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
            ]
        },
    }
]
STATIC_URL = "/static/"

_default_sqlite = "sqlite:///" + str(VAR / "tests.sqlite3")
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_sqlite))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not in-memory) test database, so that the live server's threads get their own
    # connections; IMMEDIATE transactions serialise writers instead of failing with "locked".
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
    DATABASES["default"]["TEST"] = {"NAME": str(VAR / f"test_zhifu_{os.getpid()}.sqlite3")}
else:
    # One test database per run, so that two suites running at once do not drop each other's.
    DATABASES["default"]["TEST"] = {"NAME": f"test_zhifu_{os.getpid()}"}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["OPTIONS"] = {"connect_timeout": 5}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "zhifu.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "SIGNING_KEY": "tests-only-jwt-signing-key-not-secret-0123456789",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Zhifu API (tests)",
    "VERSION": "0.1.0",
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "zhifu.models.Order.Status",
        "PaymentStatusEnum": "zhifu.models.PaymentAttempt.Status",
        "RefundStatusEnum": "zhifu.models.Refund.Status",
        "PaymentChannelEnum": "zhifu.providers.registry.channel_choices",
    },
}

CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")  # Redis in production
CELERY_BEAT_SCHEDULE = {**BEAT_SCHEDULE}

# Placeholder so that the app loads; fixtures replace it for every test that uses Zhifu.
ZHIFU: dict[str, object] = {"CATALOG": "tests.shop.catalog.resolve"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"zhifu": {"handlers": ["console"], "level": "WARNING"}},
}
