"""The Zhifu demo site: a goods shop, a course site and article rewards, paid through Zhifu."""

from .celery import app as celery_app

__all__ = ["celery_app"]
