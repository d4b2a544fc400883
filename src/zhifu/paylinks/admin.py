"""Admin for payment links (imported by zhifu.admin)."""
