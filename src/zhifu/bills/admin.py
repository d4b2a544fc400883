"""Admin for reconciliation reports (imported by zhifu.admin)."""
