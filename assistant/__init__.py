"""The Slack assistant (issue 14): claim status in chat, live checks, resubmission through the guard
service, denial alerts and escalations. A thin slack-bolt AsyncApp over the ledger and the bots;
nothing in claims, bots or portal_adapters imports this package."""
