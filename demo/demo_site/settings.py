"""Settings of the Zhifu demo site, all from the environment.

Defaults need no server at all: SQLite under ``var/``, a file-based cache, Celery over kombu's
filesystem transport, and the local ``zhifu sandbox`` whose data directory supplies the keys.

Environment variables (all optional):

- ``DEMO_VAR_DIR``: where the SQLite file, cache, Celery queue and sandbox data live (``var/``).
- ``DJANGO_SECRET_KEY`` (required unless ``DJANGO_DEBUG=1``), ``DJANGO_DEBUG`` (``1``/``0``, off
  by default), ``DJANGO_ALLOWED_HOSTS`` (comma list), ``CSRF_TRUSTED_ORIGINS`` (comma list).
- ``DJANGO_SECURE=1``: behind an HTTPS proxy (secure cookies, HSTS, HTTPS redirect, the buyer's
  address from the proxy's ``X-Forwarded-For``); see docs/deployment.en.md.
  ``DJANGO_NUM_PROXIES``: how many proxies append to ``X-Forwarded-For`` (1 with DJANGO_SECURE).
- ``DATABASE_URL``: PostgreSQL (``postgres://...``) or any dj-database-url URL.
- ``REDIS_URL``: Redis cache (carts); otherwise a file cache shared by all local processes.
- ``CELERY_BROKER_URL``: e.g. ``redis://127.0.0.1:6379/1``; otherwise ``filesystem://``.
- ``DEMO_SITE_URL``: the site's public base URL, used for the gateways' notify and return URLs
  and WeChat's OAuth ``redirect_uri``.
- ``ZHIFU_SANDBOX_DIR``: the sandbox data dir to read keys and ``sandbox.json`` from.
- ``ZHIFU_APP_ID``, ``ZHIFU_APP_PRIVATE_KEY``, ``ZHIFU_ALIPAY_PUBLIC_KEY``, ``ZHIFU_GATEWAY_URL``,
  ``ZHIFU_SELLER_ID``, ``ZHIFU_NOTIFY_URL``, ``ZHIFU_RETURN_URL``: the real Alipay (keys as PEM text
  or file paths); ``ZHIFU_APP_CERT``, ``ZHIFU_ALIPAY_PUBLIC_CERT``, ``ZHIFU_ALIPAY_ROOT_CERT`` for
  certificate mode. ``ZHIFU_ALIPAY_KEY_MODE``: with the local sandbox, ``certificate`` (default;
  the mode Alipay requires for transfers, so withdrawals work) or ``public_key``.
- WeChat Pay (API v3; the local sandbox's merchant by default, keys from ``sandbox.json``):
  ``ZHIFU_WECHATPAY_MCHID``, ``ZHIFU_WECHATPAY_APPID``, ``ZHIFU_WECHATPAY_PRIVATE_KEY``
  (apiclient_key.pem: text or path), ``ZHIFU_WECHATPAY_SERIAL`` (the merchant certificate's
  serial; ``ZHIFU_WECHATPAY_CERT``, apiclient_cert.pem, optional, checked against both), ``ZHIFU_WECHATPAY_APIV3_KEY`` (the 32 characters; ``ZHIFU_WECHATPAY_APIV3_KEY_FILE``
  to read them from a file), ``ZHIFU_WECHATPAY_PUBLIC_KEY`` + ``ZHIFU_WECHATPAY_PUBLIC_KEY_ID``
  (public-key mode) and/or ``ZHIFU_WECHATPAY_PLATFORM_CERT_DIR`` (certificate mode),
  ``ZHIFU_WECHATPAY_GATEWAY_URL`` (default https://api.mch.weixin.qq.com once a real MCHID is
  set), ``ZHIFU_WECHATPAY_NOTIFY_URL``, ``ZHIFU_WECHATPAY_H5_TYPE``; for JSAPI's OAuth, the
  official account's ``ZHIFU_WECHAT_APP_SECRET`` and, if not WeChat's own,
  ``ZHIFU_WECHAT_OAUTH_URL`` / ``ZHIFU_WECHAT_OAUTH_API_URL``. With ``ZHIFU_WECHATPAY_MCHID``
  set nothing is read from the sandbox, and the sandbox's JS bridge is never included.
- ``ZHIFU_ORDER_EXPIRY_SECONDS`` (default 1800), ``ZHIFU_LATE_PAYMENT_POLICY`` (``refund``).
- ``ZHIFU_DEMO_BEAT_SECONDS``: run Zhifu's periodic jobs (expire orders, reconcile payments,
  retry refunds) every N seconds instead of their own schedule (every minute / five minutes).
  For demos and end-to-end tests that want to see an order expire quickly.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
import django
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key
from django.utils.translation import gettext_lazy as _

DEMO_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = DEMO_DIR.parent
VAR_DIR = Path(os.environ.get("DEMO_VAR_DIR", REPO_DIR / "var")).resolve()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def _read_by_a_tool() -> bool:
    """pytest (it sets PYTEST_VERSION) and mypy's Django plugin import these settings without
    serving anything."""
    return bool(os.environ.get("PYTEST_VERSION")) or "mypy" in sys.modules


# Off unless asked for; the secret key comes from the environment, never from this file. Only an
# explicit DJANGO_DEBUG=1 (what `make demo` sets, with a key it generated under var/) or a tool
# may go without one: then a random key lives for this process.
DEBUG = _env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not (DEBUG or _read_by_a_tool()):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string (for example the "
            "output of `python -c 'import secrets; print(secrets.token_urlsafe(50))'`), or set "
            "DJANGO_DEBUG=1 for a local run with a throwaway key (`make demo` does both)."
        )
    SECRET_KEY = get_random_secret_key()
ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "zhifu",
    "common",
    "shop",
    "courses",
    "rewards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "common.middleware.DefaultLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "common.middleware.PrivateNoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # a database that is down or hung: 503 (templates/503.html, or the API's JSON), never a 500
    "zhifu.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "demo_site.urls"
WSGI_APPLICATION = "demo_site.wsgi.application"

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [DEMO_DIR / "templates"],  # overrides, e.g. zhifu/return.html
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "common.context_processors.site",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
_sqlite_path = VAR_DIR / "demo.sqlite3"
DATABASES: dict[str, Any] = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{_sqlite_path}"),
        conn_max_age=60,
        # a connection that died with a database restart is replaced, not used for one failure
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that hangs must not hang the site: give up connecting after 5 s and any one
    # statement after 15 s (a 503 the client can retry; a gateway retries its notification).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "connect_timeout": int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5")),
            "options": "-c statement_timeout={}".format(
                int(os.environ.get("DATABASE_STATEMENT_TIMEOUT_MS", "15000"))
            ),
        }
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The site, the Celery worker and the sandbox's notifications all write: WAL + IMMEDIATE
    # transactions let them queue for the lock instead of failing with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (the course cart lives here) --------------------------------------------------------
CACHES: dict[str, dict[str, Any]]
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "zhifu-demo",
        }
    }
elif os.environ.get("DEMO_CACHE") == "locmem":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # A file cache, not LocMem: the web process and the Celery worker (which may apply a payment
    # found by reconciliation) must see the same cart.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 10000},
        }
    }

# --- auth, sessions, security --------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
SESSION_ENGINE = "django.contrib.sessions.backends.db"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Behind an HTTPS proxy (docs/deployment.en.md): every cookie Secure, HSTS, HTTP redirected to HTTPS.
SECURE = _env_bool("DJANGO_SECURE", False)
if SECURE:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _env_bool("DJANGO_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_bool("DJANGO_HSTS_PRELOAD", True)
# Failed logins per username and address before /accounts/login/ (and the admin's) answer 429,
# and how long the count lasts (demo_site/login_throttle.py).
LOGIN_FAILURE_LIMIT = int(os.environ.get("DEMO_LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW = int(os.environ.get("DEMO_LOGIN_FAILURE_WINDOW", "900"))

# --- i18n ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [DEMO_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "static"))

# --- DRF -----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "zhifu.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # The buyer's address (throttles, and the IP WeChat Pay H5 is told: zhifu.payer) is the
    # client's in X-Forwarded-For when behind the HTTPS proxy, REMOTE_ADDR otherwise.
    "NUM_PROXIES": int(os.environ.get("DJANGO_NUM_PROXIES", "1" if SECURE else "0")) or None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Zhifu demo site API",
    "DESCRIPTION": "Orders, payments and wallet (Zhifu) plus the demo's catalog and rewards.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "zhifu.models.Order.Status",
        "PaymentStatusEnum": "zhifu.models.PaymentAttempt.Status",
        "RefundStatusEnum": "zhifu.models.Refund.Status",
        "PaymentChannelEnum": "zhifu.providers.registry.channel_choices",  # from the providers
        "DemoChannelEnum": "rewards.services.CHANNELS",  # the same codes, without labels
    },
}
if importlib.util.find_spec("drf_spectacular_sidecar") is not None:
    # Swagger UI from the installed package instead of a CDN: /api/docs/ works offline.
    INSTALLED_APPS.append("drf_spectacular_sidecar")
    SPECTACULAR_SETTINGS.update(
        {
            "SWAGGER_UI_DIST": "SIDECAR",
            "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
            "REDOC_DIST": "SIDECAR",
        }
    )
# An access token cannot be revoked: it works until it expires (30 minutes). Log out
# (POST /api/token/logout/) blacklists the refresh token; each refresh rotates it.
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=30),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "SIGNING_KEY": os.environ.get("JWT_SIGNING_KEY", SECRET_KEY),
}

# --- Zhifu ---------------------------------------------------------------------------------------
SITE_URL = os.environ.get("DEMO_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SANDBOX_DIR = Path(os.environ.get("ZHIFU_SANDBOX_DIR", VAR_DIR / "sandbox")).resolve()


def _sandbox_info() -> dict[str, Any]:
    try:
        with open(SANDBOX_DIR / "sandbox.json", encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


_sandbox = _sandbox_info()
_default_app: dict[str, Any] = _sandbox.get("app") or _sandbox.get("default_app") or {}

ZHIFU: dict[str, Any] = {
    "APP_ID": os.environ.get("ZHIFU_APP_ID")
    or _sandbox.get("app_id")
    or _default_app.get("app_id", ""),
    "SELLER_ID": os.environ.get("ZHIFU_SELLER_ID")
    or _sandbox.get("seller_id")
    or _default_app.get("seller_id", ""),
    "APP_PRIVATE_KEY": os.environ.get("ZHIFU_APP_PRIVATE_KEY")
    or str(SANDBOX_DIR / "app_private_key.pem"),
    "ALIPAY_PUBLIC_KEY": os.environ.get("ZHIFU_ALIPAY_PUBLIC_KEY")
    or str(SANDBOX_DIR / "alipay_public_key.pem"),
    "GATEWAY_URL": os.environ.get("ZHIFU_GATEWAY_URL")
    or _sandbox.get("gateway_url")
    or "http://127.0.0.1:9000/gateway.do",
    "SIGN_TYPE": "RSA2",
    "QUIT_URL": SITE_URL + "/orders/",
    "NOTIFY_URL": os.environ.get("ZHIFU_NOTIFY_URL") or SITE_URL + "/zhifu/alipay/notify/",
    "RETURN_URL": os.environ.get("ZHIFU_RETURN_URL") or SITE_URL + "/zhifu/alipay/return/",
    "ORDER_EXPIRY": timedelta(seconds=int(os.environ.get("ZHIFU_ORDER_EXPIRY_SECONDS", "1800"))),
    "LATE_PAYMENT_POLICY": os.environ.get("ZHIFU_LATE_PAYMENT_POLICY", "refund"),
    "CATALOG": "common.catalog.resolve",
}
if os.environ.get("ZHIFU_APP_PUBLIC_KEY"):
    ZHIFU["APP_PUBLIC_KEY"] = os.environ["ZHIFU_APP_PUBLIC_KEY"]
elif not os.environ.get("ZHIFU_APP_ID") and (SANDBOX_DIR / "app_public_key.pem").exists():
    ZHIFU["APP_PUBLIC_KEY"] = str(SANDBOX_DIR / "app_public_key.pem")
for _name in ("APP_CERT", "ALIPAY_PUBLIC_CERT", "ALIPAY_ROOT_CERT"):
    if os.environ.get(f"ZHIFU_{_name}"):
        ZHIFU[_name] = os.environ[f"ZHIFU_{_name}"]
# With the local sandbox the demo talks to Alipay in certificate mode (公钥证书模式), the mode
# Alipay requires for transfers, so the wallet's withdrawals work; ZHIFU_ALIPAY_KEY_MODE=public_key
# switches to public-key mode (withdrawals then fail, clearly, and the money comes back).
ALIPAY_KEY_MODE = os.environ.get("ZHIFU_ALIPAY_KEY_MODE", "certificate")
if ALIPAY_KEY_MODE not in ("certificate", "public_key"):
    raise ImproperlyConfigured(
        f"ZHIFU_ALIPAY_KEY_MODE={ALIPAY_KEY_MODE!r}: use 'certificate' or 'public_key'"
    )
_sandbox_certs = {
    "APP_CERT": _sandbox.get("app_cert_file"),
    "ALIPAY_PUBLIC_CERT": _sandbox.get("alipay_public_cert_file"),
    "ALIPAY_ROOT_CERT": _sandbox.get("alipay_root_cert_file"),
}
if (
    ALIPAY_KEY_MODE == "certificate"
    and not os.environ.get("ZHIFU_APP_ID")
    and all(_sandbox_certs.values())
    and not any(ZHIFU.get(k) for k in _sandbox_certs)
):
    ZHIFU.update(_sandbox_certs)

# WeChat Pay: the sandbox's merchant (sandbox.json's "wechatpay" part) unless a real merchant id
# is given, then everything from the environment. Offered only when one of the two is there (a
# site configured for the real Alipay alone offers no WeChat Pay).
_wx_sandbox: dict[str, Any] = _sandbox.get("wechatpay") or {}
WECHAT_REAL = bool(os.environ.get("ZHIFU_WECHATPAY_MCHID"))
if WECHAT_REAL:
    _wx_sandbox = {}
WECHAT_ENABLED = WECHAT_REAL or bool(_wx_sandbox)
ZHIFU["PROVIDERS"] = (
    "zhifu.providers.alipay.AlipayProvider",
    *(("zhifu.providers.wechatpay.WechatPayProvider",) if WECHAT_ENABLED else ()),
    "zhifu.providers.balance.BalanceProvider",
)
# Buyers' refund requests: automatic within 7 days for courses not yet studied (opened), the
# rest waits for staff in the admin.
ZHIFU["REFUND_REQUESTS"] = {
    "AUTO_APPROVE_DAYS": 7,
    "AUTO_APPROVE": "courses.refund_policy.not_studied",
}


def _read_text(path: str | None) -> str:
    try:
        return Path(path).read_text(encoding="ascii").strip() if path else ""
    except (OSError, UnicodeDecodeError):
        return ""


_wx_gateway = (
    os.environ.get("ZHIFU_WECHATPAY_GATEWAY_URL")
    or _wx_sandbox.get("base_url")
    or ("https://api.mch.weixin.qq.com" if WECHAT_REAL else "http://127.0.0.1:9000")
)
ZHIFU["WECHATPAY"] = {
    "MCHID": os.environ.get("ZHIFU_WECHATPAY_MCHID") or _wx_sandbox.get("mchid", ""),
    "APPID": os.environ.get("ZHIFU_WECHATPAY_APPID") or _wx_sandbox.get("appid", ""),
    "MERCHANT_PRIVATE_KEY": os.environ.get("ZHIFU_WECHATPAY_PRIVATE_KEY")
    or _wx_sandbox.get("merchant_private_key_file")
    or str(SANDBOX_DIR / "wechatpay" / "apiclient_key.pem"),
    "MERCHANT_SERIAL": os.environ.get("ZHIFU_WECHATPAY_SERIAL")
    or _wx_sandbox.get("merchant_serial_no", ""),
    "MERCHANT_CERT": os.environ.get("ZHIFU_WECHATPAY_CERT")
    or _wx_sandbox.get("merchant_certificate_file", ""),
    "APIV3_KEY": os.environ.get("ZHIFU_WECHATPAY_APIV3_KEY")
    or _read_text(
        os.environ.get("ZHIFU_WECHATPAY_APIV3_KEY_FILE") or _wx_sandbox.get("apiv3_key_file")
    ),
    "GATEWAY_URL": _wx_gateway,
    "NOTIFY_URL": os.environ.get("ZHIFU_WECHATPAY_NOTIFY_URL")
    or SITE_URL + "/zhifu/wechatpay/notify/",
    # H5: WeChat sends the buyer back here (whether or not they paid); Zhifu queries WeChat.
    "RETURN_URL": SITE_URL + "/zhifu/wechatpay/return/",
    "H5_TYPE": os.environ.get("ZHIFU_WECHATPAY_H5_TYPE", "Wap"),
}
if os.environ.get("ZHIFU_WECHATPAY_PUBLIC_KEY") or (
    _wx_sandbox and _wx_sandbox.get("mode") in ("public_key", "migration")
):
    ZHIFU["WECHATPAY"]["PUBLIC_KEY"] = os.environ.get(
        "ZHIFU_WECHATPAY_PUBLIC_KEY"
    ) or _wx_sandbox.get("wechatpay_public_key_file", "")
    ZHIFU["WECHATPAY"]["PUBLIC_KEY_ID"] = os.environ.get(
        "ZHIFU_WECHATPAY_PUBLIC_KEY_ID"
    ) or _wx_sandbox.get("wechatpay_public_key_id", "")
if os.environ.get("ZHIFU_WECHATPAY_PLATFORM_CERT_DIR") or (
    _wx_sandbox and _wx_sandbox.get("mode") in ("certificate", "migration")
):
    ZHIFU["WECHATPAY"]["PLATFORM_CERT_DIR"] = os.environ.get(
        "ZHIFU_WECHATPAY_PLATFORM_CERT_DIR"
    ) or _wx_sandbox.get("platform_certificates_dir", "")
# JSAPI (the demo's own pages and payment links) learns the buyer's openid through WeChat's web
# OAuth (ZHIFU["WECHATPAY"]["OAUTH"]) with the official account's app secret. The sandbox accepts
# any non-empty secret; an empty one turns JSAPI off.
_wechat_oauth = {
    "APP_SECRET": os.environ.get("ZHIFU_WECHAT_APP_SECRET")
    or _wx_sandbox.get("app_secret")
    or ("" if WECHAT_REAL else "zhifu-sandbox"),
    "AUTHORIZE_URL": os.environ.get("ZHIFU_WECHAT_OAUTH_URL")
    or ("https://open.weixin.qq.com" if WECHAT_REAL else _wx_gateway),
    "API_URL": os.environ.get("ZHIFU_WECHAT_OAUTH_API_URL")
    or ("https://api.weixin.qq.com" if WECHAT_REAL else _wx_gateway),
}
if WECHAT_ENABLED:
    ZHIFU["WECHATPAY"]["OAUTH"] = _wechat_oauth
# The sandbox plays WeChat's browser too: its WeixinJSBridge script is included (and allowed by
# the CSP) only on the JSAPI page, and only when the WeChat gateway is the sandbox.
WECHAT_SANDBOX_URL = _wx_gateway.rstrip("/") if _wx_sandbox else ""

# --- Celery --------------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
_celery_dir = VAR_DIR / "celery"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "control_folder": str(_celery_dir / "control"),  # not ./control in the working directory
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(_celery_dir / "beat-schedule")
# zhifu.tasks.BEAT_SCHEDULE (expire, reconcile, retry refunds) is merged in demo_site/celery.py,
# every job at DEMO_BEAT_SECONDS if that is set.
CELERY_BEAT_SCHEDULE: dict[str, Any] = {}
try:
    DEMO_BEAT_SECONDS = float(os.environ.get("ZHIFU_DEMO_BEAT_SECONDS") or 0) or None
except ValueError:
    raise ImproperlyConfigured("ZHIFU_DEMO_BEAT_SECONDS must be a number of seconds") from None
if DEMO_BEAT_SECONDS is not None and DEMO_BEAT_SECONDS < 1:
    raise ImproperlyConfigured("ZHIFU_DEMO_BEAT_SECONDS must be at least 1")

# --- the demo's own knobs ------------------------------------------------------------------------
DEMO_CREDITS_PER_YUAN = 10  # 10 credits = ¥1
DEMO_REWARD_PRESETS = ["2", "5", "10", "20", "50", "100"]
DEMO_REWARD_MAX = "10000.00"  # yuan: the largest reward one reader gives at once
DEMO_TOP_UP_MAX = "50000.00"  # yuan: the largest wallet top-up

# --- Content-Security-Policy -------------------------------------------------------------------
# Scripts only from this site or inline with the request's nonce ({{ csp_nonce }} in templates);
# forms may post here and to the gateway (the pay page's POST is redirected to Alipay's cashier,
# and Chromium holds redirects of a form submission to form-action). Inline style attributes
# stay allowed (course colours, the admin, Swagger UI). Django 6 has CSP built in; on Django 5.2
# django-csp does the same from the same directives.
_gateway = urlsplit(ZHIFU["GATEWAY_URL"])
_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "nonce"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "form-action": ["'self'", f"{_gateway.scheme}://{_gateway.netloc}"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'none'"],
    "object-src": ["'none'"],
}
_context_processors: list[str] = TEMPLATES[0]["OPTIONS"]["context_processors"]
if django.VERSION >= (6, 0):
    from django.utils.csp import CSP  # type: ignore[import-not-found,unused-ignore]

    SECURE_CSP = {k: [CSP.NONCE if v == "nonce" else v for v in vs] for k, vs in _CSP.items()}
    MIDDLEWARE.insert(1, "django.middleware.csp.ContentSecurityPolicyMiddleware")
    _context_processors.append("django.template.context_processors.csp")
else:
    from csp.constants import NONCE

    CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {k: [NONCE if v == "nonce" else v for v in vs] for k, vs in _CSP.items()}
    }
    MIDDLEWARE.insert(1, "csp.middleware.CSPMiddleware")
    _context_processors.append("demo_site.context_processors.csp_nonce")

# --- logging -------------------------------------------------------------------------------------
# Every handler redacts (zhifu.logs.RedactFilter: signatures, keys, tokens, password hashes,
# session keys), whatever logger the record comes from: Django's own (runserver's request lines
# show return URLs with sign=) are routed here instead of Django's default handlers.
# DJANGO_LOG_SQL=1 (with DJANGO_DEBUG=1, which Django needs to log SQL) shows every statement.
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "zhifu.logs.RedactFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact"],
        },
    },
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "zhifu": {"handlers": ["console"], "level": "INFO"},
        "demo": {"handlers": ["console"], "level": "INFO"},
    },
}
if _env_bool("DJANGO_LOG_SQL", False):
    LOGGING["loggers"]["django.db.backends"] = {"level": "DEBUG"}  # to "django"'s handler
