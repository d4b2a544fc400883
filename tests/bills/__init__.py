"""Daily bill reconciliation: parsers, protocol against the sandbox, the job end to end."""
