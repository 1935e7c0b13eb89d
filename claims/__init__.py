"""The claims domain: typed models, code sets, PHI rules and the ledger that every bot and chat answer shares."""
