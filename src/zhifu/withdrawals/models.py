"""Withdrawal models (imported by zhifu.models so Django registers them)."""
