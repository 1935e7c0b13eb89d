"""The three sandbox payer portals, one module each, over the shared runtime and session rules."""
