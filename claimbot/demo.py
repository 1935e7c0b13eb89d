"""The demo: what `./dev demo` shows a new user on embedded defaults, with synthetic data only.

1. Create the ledger, load the payer list, import the bundled synthetic practice export.
2. Start the local sandbox payer portals and let the bots check a dozen claims per payer through
   the playbooks, in headless Chromium, recording every answer (skipped, with the reason, when no
   browser is installed).
3. Show the ledger by payer and status, and the denials that need work.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from importlib import resources
from pathlib import Path

from playwright.async_api import async_playwright
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from bots.live import live_check
from claimbot.settings import Settings
from claims.codesets import CodeSets
from claims.importing import ImportReport, import_claims_csv
from claims.ledger import ClaimSummary, Ledger
from claims.status import ClaimStatus
from portal_adapters.browser import LAUNCH_ARGS, BrowserNotFound, browser_env, find_chromium
from portal_adapters.contract import ClaimCheckFailed
from portal_adapters.credentials import PortalAccount
from portal_adapters.engine import PlaybookPortalAdapter
from portal_adapters.errors import AdapterError
from portal_adapters.evidence import EvidenceStore
from portal_adapters.playbook import discover_playbooks, load_playbook
from portal_adapters.retry import RetryPolicy
from sandbox.accounts import ACCOUNTS, ServerName
from sandbox.servers import SandboxEndpoints, run_sandbox

CLAIMS_PER_PAYER = 12


def sample_claims_csv() -> Path:
    """The bundled synthetic practice export (made by `python -m sandbox.dataset --write`)."""
    return Path(str(resources.files("sandbox").joinpath("data", "claims.csv")))


def by_payer_and_status(claims: list[ClaimSummary]) -> Table:
    counts = Counter((c.payer_id, c.status.value) for c in claims)
    statuses = sorted({status for _, status in counts})
    table = Table("payer", *statuses, "claims", "billed", title="Claims in the ledger")
    for payer in sorted({payer for payer, _ in counts}):
        mine = [c for c in claims if c.payer_id == payer]
        table.add_row(
            payer,
            *(str(counts[(payer, s)] or "") for s in statuses),
            str(len(mine)),
            f"{sum(c.billed_amount for c in mine):,.2f}",
        )
    return table


def demo_account(payer_id: str) -> PortalAccount:
    """The sandbox's demo account (sandbox values, printed by `claimbot sandbox serve` too)."""
    account = ACCOUNTS[ServerName(payer_id.lower())][0]
    return PortalAccount(
        username=account.username,
        password=SecretStr(account.password),
        totp_secret=SecretStr(account.totp_secret) if account.totp_secret else None,
        security_answers={q: SecretStr(a) for q, a in account.security_answers.items()},
    )


async def sweep(settings: Settings, ledger: Ledger, endpoints: SandboxEndpoints, console: Console) -> None:
    """Check the first claims of every payer that has a playbook, one browser for all of them."""
    playbooks = discover_playbooks(settings.playbooks_dir)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=find_chromium(), args=list(LAUNCH_ARGS), env=dict[str, str | float | bool](browser_env())
        )
        for payer_id, path in playbooks.items():
            claim_ids = [c.claim_id for c in ledger.list_claims(payer_id=payer_id, limit=CLAIMS_PER_PAYER)]
            adapter = PlaybookPortalAdapter(
                load_playbook(path),
                [demo_account(payer_id)],
                EvidenceStore(settings.data_dir / "evidence", settings.evidence_retention_days),
                base_url=endpoints[ServerName(payer_id.lower())].base_url,
                browser=browser,
            )
            try:
                outcomes = await live_check(ledger, adapter, claim_ids, RetryPolicy(max_attempts=2), trigger="demo")
                failed = sum(isinstance(o, ClaimCheckFailed) for o in outcomes)
                console.print(
                    f"{payer_id}: checked {len(outcomes)} claims on its portal ({failed} failed)", markup=False
                )
            except AdapterError as error:
                console.print(f"{payer_id}: stopped: {error}", markup=False)
            finally:
                await adapter.close()
        await browser.close()


def denials_to_work(ledger: Ledger, claims: list[ClaimSummary]) -> Table:
    codes = CodeSets()
    table = Table("claim", "payer", "patient", "billed", "status", "reasons", title="Denials that need work")
    for claim in claims:
        if claim.status not in (ClaimStatus.DENIED, ClaimStatus.PARTIALLY_PAID, ClaimStatus.REJECTED):
            continue
        latest = ledger.history(claim.claim_id)[-1]
        reasons = sorted({(d.group.value, d.carc) for d in latest.denials if d.needs_work})
        text = "; ".join(codes.denial_text(g, c) for g, c in reasons) or (latest.payer_status_text or "")
        table.add_row(
            claim.claim_id,
            claim.payer_id,
            claim.patient_initials,
            f"{claim.billed_amount:,.2f}",
            claim.status.value,
            text,
        )
    return table


def run_demo(settings: Settings, ledger: Ledger, console: Console, portals: bool = True) -> ImportReport:
    console.print(f"ledger: {ledger.engine.url.render_as_string(hide_password=True)}", markup=False)
    report = import_claims_csv(ledger, sample_claims_csv(), actor="demo")
    console.print(
        f"sample claims: {report.claims} claims in {report.rows} rows — {report.created} new, "
        f"{report.updated} updated, {report.unchanged} unchanged",
        markup=False,
    )
    if portals:
        try:
            find_chromium()
        except BrowserNotFound as error:
            console.print(f"portal checks skipped: {error}", markup=False)
        else:
            with run_sandbox() as endpoints:
                asyncio.run(sweep(settings, ledger, endpoints, console))
    claims = ledger.list_claims(limit=None)
    console.print(by_payer_and_status(claims))
    console.print(denials_to_work(ledger, claims))
    console.print(
        "next: `./dev claims list --status denied`, `./dev claims show "
        f"{claims[0].claim_id}`, `./dev sandbox serve`, `./dev codes show carc 50`  (data in {settings.data_dir})",
        markup=False,
    )
    return report
