"""Payment links: staff ask for a payment; whoever opens the link pays it once."""
