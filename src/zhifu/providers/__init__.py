"""Payment providers: thin adapters from Zhifu's neutral types to one gateway's client."""
