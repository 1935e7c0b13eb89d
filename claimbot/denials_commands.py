"""`claimbot denials list`: the denials worklist, what to do about each, by when, and the money at stake.

The ledger, the denial playbook and the payer list are read inside the command (tests/claimbot/test_startup.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer

from claimbot.console import Exit, JsonOption, fail, out, print_json
from claimbot.settings import Settings
from claimbot.tables import Col, add_rows, make_table
from claims.denials import DenialCategory

if TYPE_CHECKING:
    from claims.deadlines import Deadline
    from claims.denials import DenialPlaybook
    from claims.ledger import Ledger
    from claims.payer_config import DeadlineRules
    from claims.worklist import OpenDenial

denials_app = typer.Typer(help="Denials: what to do about each, by when, and the amount at risk.", no_args_is_help=True)


def denial_playbook(settings: Settings) -> DenialPlaybook:
    """The team's denials.yaml (in CLAIMBOT_PLAYBOOKS_DIR), or a plain-words failure (exit 5)."""
    from claims.codesets import CodeSets
    from claims.denials import DENIALS_FILE, DenialPlaybookError, load_denial_playbook

    try:
        return load_denial_playbook(settings.playbooks_dir / DENIALS_FILE, CodeSets(settings.codesets_dir))
    except DenialPlaybookError as error:
        fail(Exit.LEDGER, str(error))


def deadline_rules(settings: Settings) -> DeadlineRules:
    """Every payer's windows from payers.yaml, or a plain-words failure (exit 5)."""
    from claims.payer_config import PayerConfigError, load_payer_config

    try:
        return load_payer_config(settings.payers_file).deadline_rules()
    except PayerConfigError as error:
        fail(Exit.LEDGER, str(error))


def deadline_text(next_deadline: Deadline | None, every: tuple[Deadline, ...], today: date) -> str:
    """`2027-02-17 appeal, 76 days left`, or the last one that passed."""
    if next_deadline is not None:
        left = next_deadline.days_left(today)
        return f"{next_deadline.due} {next_deadline.kind.value}, {left} day{'' if left == 1 else 's'} left"
    if not every:
        return ""
    last = max(every, key=lambda d: d.due)
    return f"passed: {last.kind.value} {last.due} ({-last.days_left(today)} days ago)"


def _codes(denial: OpenDenial) -> str:
    """The codes the next step comes from, and how many other codes that need work the claim has."""
    if denial.recommendation is None:
        return ""
    shown = denial.recommendation.codes
    others = len({d.code for d in denial.denials if d.needs_work} - {shown[0]})
    return " ".join(shown) + (f" (+{others})" if others else "")


def _totals(found: list[OpenDenial]) -> dict[str, object]:
    by_category = Counter(d.recommendation.category.value if d.recommendation else "no codes" for d in found)
    return {
        "open": len(found),
        "amount_at_risk": str(sum((d.amount_at_risk for d in found), Decimal("0.00"))),
        "with_deadline_passed": sum(1 for d in found if d.next_deadline is None and d.deadlines),
        "escalate": sum(1 for d in found if d.recommendation and d.recommendation.escalate),
        "by_category": dict(by_category.most_common()),
    }


def register(app: typer.Typer, open_ledger: Callable[[Settings], Ledger]) -> None:
    """Add `denials list` to the main app."""
    app.add_typer(denials_app, name="denials")

    @denials_app.command("list")
    def denials_list(
        payer: Annotated[str | None, typer.Option(help="Only this payer's denials (payer id).")] = None,
        category: Annotated[
            DenialCategory | None, typer.Option(help="Only denials of this category (the playbook's).")
        ] = None,
        due_within: Annotated[
            int | None, typer.Option(min=0, help="Only denials whose next deadline is at most this many days away.")
        ] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Denied and partly denied claims: codes, category, next step, amount at risk, next deadline, age."""
        from claims.models import utc_now
        from claims.worklist import open_denials

        settings = Settings()
        ledger = open_ledger(settings)
        payer_id = payer.upper() if payer else None
        if payer_id is not None and payer_id not in {p.id for p in ledger.payers()}:
            fail(Exit.NOT_FOUND, f"payer {payer_id} is not in the ledger (payers.yaml)")
        today = utc_now().date()
        found = open_denials(
            ledger,
            denial_playbook(settings),
            today,
            payer_id=payer_id,
            category=category,
            due_within_days=due_within,
            rules=deadline_rules(settings),
        )
        totals = _totals(found)
        if as_json:
            print_json({"today": today.isoformat(), "denials": [d.model_dump(mode="json") for d in found], **totals})
            return
        table = make_table(
            ("claim", Col.KEY),
            ("payer", Col.KEY),
            ("codes", Col.KEY),
            ("category", Col.KEY),
            ("next step", Col.TEXT),
            ("at risk", Col.AMOUNT),
            ("next deadline", Col.TEXT),
            ("age", Col.AMOUNT),
        )
        rows = [
            [
                d.claim_id,
                d.payer_id,
                _codes(d),
                d.recommendation.category.value if d.recommendation else "",
                (d.recommendation.next_step + (" [escalate]" if d.recommendation.escalate else ""))
                if d.recommendation
                else "the payer gave no codes: ask it why (claimbot check)",
                f"{d.amount_at_risk:,.2f}",
                deadline_text(d.next_deadline, d.deadlines, today),
                f"{d.age_days} d",
            ]
            for d in found
        ]
        out.print(add_rows(table, rows))
        categories = ", ".join(f"{name} {n}" for name, n in totals["by_category"].items())  # type: ignore[attr-defined]
        out.print(
            f"{totals['open']} open denials, {Decimal(str(totals['amount_at_risk'])):,.2f} at risk; "
            f"{totals['with_deadline_passed']} past every deadline, {totals['escalate']} to escalate"
            + (f"; by category: {categories}" if categories else ""),
            markup=False,
        )
