"""A Django site as a user would start it (startproject), plus Zhifu and nothing else: no DRF,
no Celery, no dj-database-url. Alipay is the ``zhifu sandbox`` whose data directory is
``ZHIFU_SANDBOX_DIR`` (its sandbox.json names the app id and the key files)."""

import json
import os
from pathlib import Path

SITE_DIR = Path(os.environ["MINIMAL_SITE_VAR"])
SANDBOX = json.loads((Path(os.environ["ZHIFU_SANDBOX_DIR"]) / "sandbox.json").read_text())

SECRET_KEY = "minimal-site-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"
LANGUAGE_CODE = "en"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "zhifu",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "mysite.urls"
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
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(SITE_DIR / "db.sqlite3")}
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "static/"

ZHIFU = {
    "APP_ID": SANDBOX["app_id"],
    "APP_PRIVATE_KEY": SANDBOX["app_private_key_file"],
    "ALIPAY_PUBLIC_KEY": SANDBOX["alipay_public_key_file"],
    "GATEWAY_URL": SANDBOX["gateway_url"],
    "SELLER_ID": SANDBOX["seller_id"],
    "NOTIFY_URL": "https://shop.example.com/zhifu/alipay/notify/",
    "RETURN_URL": "https://shop.example.com/zhifu/alipay/return/",
    "HTTP_TIMEOUT": 10.0,
}
