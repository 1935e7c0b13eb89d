"""The Playwright engine: runs a portal playbook behind the PayerAdapter contract.

- `sessions.py`: the session pool (one browser, one signed-in context per session, the idle queue);
- `steps.py`: the step interpreter (goto, fill, click, fetch_json, pick_row, ...) with the origin checks;
- `browser_errors.py`: the one place Playwright's errors become the taxonomy's;
- `pages.py`: page classification (outcome recognisers → outcomes) and evidence;
- `adapter.py`: the thin `PlaybookPortalAdapter` (check_claims, check_eligibility, capture).

Playwright's own errors never leave this package.
"""

from portal_adapters.engine.adapter import PlaybookPortalAdapter, account_needs, portal_base_url
from portal_adapters.engine.sessions import PortalSession, SessionPool
from portal_adapters.engine.steps import template_values

__all__ = [
    "PlaybookPortalAdapter",
    "PortalSession",
    "SessionPool",
    "account_needs",
    "portal_base_url",
    "template_values",
]
