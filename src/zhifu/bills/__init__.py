"""Daily bill reconciliation: the gateways' bills compared with attempts, refunds and the ledger."""
