"""Celery tasks of bill reconciliation (imported by zhifu.tasks)."""
