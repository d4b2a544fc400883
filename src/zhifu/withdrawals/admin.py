"""Admin for withdrawals (imported by zhifu.admin)."""
