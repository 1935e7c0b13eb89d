"""What to check and when: live checks on request, sweeps on a schedule, and retries that read the
error taxonomy. The adapters own how to talk to a payer; bots own the decisions and the records."""
