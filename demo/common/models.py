"""The common app has no tables: orders, payments and wallets belong to Zhifu."""
