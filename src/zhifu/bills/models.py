"""Bill reconciliation models (imported by zhifu.models so Django registers them)."""
