"""`claimbot evidence ...`: the evidence folder (screenshots and pages saved from payer portals).

Evidence shows patients, so it is kept only `CLAIMBOT_EVIDENCE_RETENTION_DAYS` (30) days. Every
command that opens the evidence store purges what is older; `claimbot evidence purge` does it now,
for a cron job or before handing a machine over.
"""

from __future__ import annotations

import typer

from claimbot.console import Exit, JsonOption, fail, out, print_json
from claimbot.settings import Settings
from portal_adapters.evidence import EvidenceStore

evidence_app = typer.Typer(
    help="Evidence saved from payer portals (PHI: kept for the retention period).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(evidence_app, name="evidence")


@evidence_app.command("purge")
def evidence_purge(as_json: JsonOption = False) -> None:
    """Delete evidence older than CLAIMBOT_EVIDENCE_RETENTION_DAYS (30) days; prints how many files went."""
    settings = Settings()
    store = EvidenceStore(settings.data_dir / "evidence", settings.evidence_retention_days, purge_on_open=False)
    try:
        removed = store.purge()
    except OSError as error:
        fail(Exit.LEDGER, f"cannot purge {store.folder} ({error.strerror})")
    if as_json:
        print_json({"folder": str(store.folder), "retention_days": store.retention_days, "removed": removed})
    else:
        out.print(
            f"{removed} evidence file(s) older than {store.retention_days} days removed from {store.folder}",
            markup=False,
        )
