"""The demo: what `./dev demo` shows a new user on embedded defaults, with synthetic data only.

Today: create the ledger, load the payer list, import the bundled sample claims (the same synthetic
practice the sandbox portals serve) and show them. Later stages add a live sweep of the sandbox
portals and the chat assistant.
"""

from __future__ import annotations

from collections import Counter
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.table import Table

from claimbot.settings import Settings
from claims.importing import ImportReport, import_claims_csv
from claims.ledger import ClaimSummary, Ledger


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


def run_demo(settings: Settings, ledger: Ledger, console: Console) -> ImportReport:
    console.print(f"ledger: {ledger.engine.url.render_as_string(hide_password=True)}", markup=False)
    report = import_claims_csv(ledger, sample_claims_csv(), actor="demo")
    console.print(
        f"sample claims: {report.claims} claims in {report.rows} rows — {report.created} new, "
        f"{report.updated} updated, {report.unchanged} unchanged",
        markup=False,
    )
    claims = ledger.list_claims(limit=None)
    console.print(by_payer_and_status(claims))
    console.print(
        "next: `./dev claims list --payer SUNRISE`, `./dev claims show "
        f"{claims[0].claim_id}`, `./dev codes show carc 50`  (data in {settings.data_dir})",
        markup=False,
    )
    return report
