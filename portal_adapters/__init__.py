"""How Claimbot talks to payers: the adapter contract, the playbook-driven Playwright engine, the
clearinghouse adapter, and the error taxonomy that the retry policy reads."""
