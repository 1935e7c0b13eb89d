"""Builds the adapter for a payer from the team's configuration (playbooks, credentials, evidence)."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import Browser
from pydantic import SecretStr

from portal_adapters.clearinghouse import ClearinghouseAdapter
from portal_adapters.credentials import CredentialsError, CredentialStore
from portal_adapters.engine import PlaybookPortalAdapter
from portal_adapters.evidence import EvidenceStore
from portal_adapters.playbook import PlaybookError, discover_playbooks, load_playbook
from portal_adapters.playbook.schema import base_url_problem


def clearinghouse_adapter(payer_id: str, clearinghouse_payer_id: str | None) -> ClearinghouseAdapter:
    """The clearinghouse route: URL and API key from CLAIMBOT_CLEARINGHOUSE_URL / _API_KEY."""
    url = os.environ.get("CLAIMBOT_CLEARINGHOUSE_URL")
    key = os.environ.get("CLAIMBOT_CLEARINGHOUSE_API_KEY")
    if not url or not key:
        raise CredentialsError(
            "the clearinghouse route needs CLAIMBOT_CLEARINGHOUSE_URL and CLAIMBOT_CLEARINGHOUSE_API_KEY"
        )
    if base_url_problem(url) is not None:  # the value may hold credentials: name the variable, never the value
        raise CredentialsError(
            "CLAIMBOT_CLEARINGHOUSE_URL is not a plain http(s) address (scheme, host, optional port and path; "
            "no user, password, query or fragment)"
        )
    return ClearinghouseAdapter(payer_id, url, SecretStr(key), clearinghouse_payer_id=clearinghouse_payer_id)


def portal_adapter(
    payer_id: str,
    data_dir: Path,
    playbooks_dir: Path,
    evidence_retention_days: int = 30,
    browser: Browser | None = None,
    base_url: str | None = None,
    headless: bool = True,
) -> PlaybookPortalAdapter:
    """The playbook-driven adapter for `payer_id`; PlaybookError / CredentialsError say what is missing."""
    found = discover_playbooks(playbooks_dir)
    if payer_id.upper() not in found:
        raise PlaybookError(
            f"{playbooks_dir}: no playbook for payer {payer_id} (expected {payer_id.lower()}/playbook.yaml)"
        )
    return PlaybookPortalAdapter(
        load_playbook(found[payer_id.upper()]),
        CredentialStore(data_dir).accounts(payer_id),
        EvidenceStore(data_dir / "evidence", evidence_retention_days),
        base_url=base_url,
        browser=browser,
        headless=headless,
    )
