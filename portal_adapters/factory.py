"""Builds the adapter for a payer from the team's configuration (playbooks, credentials, evidence)."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import Browser
from pydantic import SecretStr

from claims.payer_config import PayerRoute
from portal_adapters.clearinghouse import ClearinghouseAdapter
from portal_adapters.contract import PayerAdapter
from portal_adapters.credentials import CredentialsError, CredentialStore, OneTimeCodeSource
from portal_adapters.engine import PlaybookPortalAdapter
from portal_adapters.errors import AdapterError
from portal_adapters.evidence import EvidenceStore
from portal_adapters.playbook import PlaybookError, discover_playbooks, load_playbook
from portal_adapters.playbook.schema import base_url_problem
from portal_adapters.routing import ApiThenPortal


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
    codes: OneTimeCodeSource | None = None,
) -> PlaybookPortalAdapter:
    """The playbook-driven adapter for `payer_id`; PlaybookError / CredentialsError say what is missing.
    `codes` answers the one-time codes of accounts with `mfa: broker` (none: their sign-in fails cleanly)."""
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
        codes=codes,
    )


def route_adapter(
    payer_id: str,
    route: PayerRoute,
    clearinghouse_payer_id: str | None,
    data_dir: Path,
    playbooks_dir: Path,
    evidence_retention_days: int = 30,
    browser: Browser | None = None,
    headless: bool = True,
    codes: OneTimeCodeSource | None = None,
) -> PayerAdapter:
    """The payer's adapter on a route: its portal, the clearinghouse, or the clearinghouse then the
    portal. Raises PlaybookError / CredentialsError / AdapterError saying what is missing."""

    def portal() -> PayerAdapter:
        return portal_adapter(
            payer_id, data_dir, playbooks_dir, evidence_retention_days, browser=browser, headless=headless, codes=codes
        )

    if route is PayerRoute.PORTAL:
        return portal()
    api = clearinghouse_adapter(payer_id, clearinghouse_payer_id)
    return api if route is PayerRoute.API else ApiThenPortal(api, portal())


def adapter_or_reason(
    payer_id: str,
    route: PayerRoute,
    clearinghouse_payer_id: str | None,
    data_dir: Path,
    playbooks_dir: Path,
    evidence_retention_days: int = 30,
    browser: Browser | None = None,
    codes: OneTimeCodeSource | None = None,
) -> PayerAdapter | str:
    """`route_adapter`, or why there is none, for a bot that goes on with the other payers (PHI-free:
    these errors are built from fields and names, never values)."""
    try:
        return route_adapter(
            payer_id,
            route,
            clearinghouse_payer_id,
            data_dir,
            playbooks_dir,
            evidence_retention_days,
            browser,
            codes=codes,
        )
    except (PlaybookError, CredentialsError, AdapterError) as error:
        return str(error)


def corrects_by_portal(payer_id: str, playbooks_dir: Path) -> bool:
    """Whether the payer's corrected claims go through its portal: its playbook has a `corrected_claim`
    task. Otherwise they go to the clearinghouse as an 837P. Raises PlaybookError for a broken playbook."""
    found = discover_playbooks(playbooks_dir)
    path = found.get(payer_id.upper())
    return path is not None and load_playbook(path).corrected_claim is not None


def correction_adapter(
    payer_id: str,
    clearinghouse_payer_id: str | None,
    data_dir: Path,
    playbooks_dir: Path,
    evidence_retention_days: int = 30,
    browser: Browser | None = None,
    headless: bool = True,
) -> PayerAdapter:
    """The adapter a corrected claim of this payer is sent through (see `corrects_by_portal`)."""
    if corrects_by_portal(payer_id, playbooks_dir):
        return portal_adapter(
            payer_id, data_dir, playbooks_dir, evidence_retention_days, browser=browser, headless=headless
        )
    return clearinghouse_adapter(payer_id, clearinghouse_payer_id)
