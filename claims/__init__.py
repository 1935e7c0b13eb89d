"""The claims domain: typed models, code sets, PHI rules and the ledger every bot and chat answer shares."""
