"""Admin for refund requests (imported by zhifu.admin)."""
