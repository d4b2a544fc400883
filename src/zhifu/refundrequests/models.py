"""Refund request models (imported by zhifu.models so Django registers them)."""
