"""Pure parsers: no browser, just saved HTML/JSON and the playbook's extraction spec."""

from datetime import date
from decimal import Decimal

import pytest

from claims.models import Denial
from claims.status import ClaimStatus
from portal_adapters.parsing import LayoutMismatch, extract_html, extract_json, read_claim, read_eligibility
from portal_adapters.playbook.schema import ClaimStatusTask, EligibilityTask

HTML = """
<html><body>
<div id="claim"><span id="status">Finalized - Denied</span>
<dl><dt>Paid</dt><dd id="paid">$1,204.50</dd><dt>Check</dt><dd id="check">EFT# 00912</dd>
<dt>Processed</dt><dd id="processed">10/02/2026</dd></dl>
<table id="reasons"><tbody>
<tr><td class="code">CO-50</td><td class="rarc">N115, M76</td><td class="amt">$90.00</td></tr>
<tr><td class="code">PR 2</td><td class="rarc"></td><td class="amt">(10.00)</td></tr>
</tbody></table></div></body></html>
"""

TASK = ClaimStatusTask.model_validate(
    {
        "searches": [{"steps": [{"goto": "/x"}]}],
        "extract": {
            "fields": {
                "status_text": {"selector": "#status", "required": True},
                "paid_amount": {"selector": "#paid", "type": "money"},
                "check_number": {"selector": "#check", "pattern": r"EFT# (\d+)"},
                "payment_date": {"selector": "#processed", "type": "date", "date_format": "%m/%d/%Y"},
            },
            "tables": {
                "denials": {
                    "rows": "#reasons tbody tr",
                    "columns": {
                        "code": {"selector": ".code"},
                        "rarc": {"selector": ".rarc"},
                        "amount": {"selector": ".amt"},
                    },
                }
            },
        },
        "status_words": {"Finalized - Denied": "denied", "In Process": "pending"},
    }
)


def test_reads_a_claim_page() -> None:
    reading = read_claim(extract_html(HTML, TASK.extract), TASK)
    assert reading.status is ClaimStatus.DENIED
    assert reading.status_text == "Finalized - Denied"
    assert reading.paid_amount == Decimal("1204.50")
    assert reading.check_number == "00912"
    assert reading.payment_date == date(2026, 10, 2)
    assert reading.denials == (
        Denial(group="CO", carc="50", rarcs=("N115", "M76"), amount=Decimal("90.00")),
        Denial(group="PR", carc="2", rarcs=(), amount=Decimal("-10.00")),
    )


def test_unknown_status_words_are_unknown_not_guessed() -> None:
    reading = read_claim(extract_html(HTML.replace("Finalized - Denied", "Mystery"), TASK.extract), TASK)
    assert reading.status is ClaimStatus.UNKNOWN
    assert reading.status_text == "Mystery"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('id="status"', 'id="state"', "status_text"),
        ("$1,204.50", "twelve hundred", "paid_amount"),
        ("10/02/2026", "2026-10-02", "payment_date"),
        ("CO-50", "Contractual 50", "denials row 1"),
    ],
)
def test_a_page_that_does_not_match_the_playbook_is_a_layout_mismatch(old: str, new: str, field: str) -> None:
    with pytest.raises(LayoutMismatch) as caught:
        read_claim(extract_html(HTML.replace(old, new), TASK.extract), TASK)
    assert caught.value.field == field
    assert new.strip('"').removeprefix("id=") not in str(caught.value)  # says what was expected, never the text found


def test_x12_category_wins_over_words() -> None:
    task = TASK.model_copy(
        update={
            "extract": TASK.extract.model_copy(
                update={"fields": {**TASK.extract.fields, "category_code": TASK.extract.fields["status_text"]}}
            )
        }
    )
    reading = read_claim(extract_html(HTML.replace("Finalized - Denied", "f2"), task.extract), task)
    assert reading.status is ClaimStatus.DENIED
    assert reading.category_code == "F2"


def test_reads_json_and_eligibility() -> None:
    task = EligibilityTask.model_validate(
        {
            "steps": [{"goto": "/e"}],
            "active_words": ["active"],
            "extract": {
                "source": "json",
                "fields": {"coverage_text": {"path": "coverage.status"}, "plan_name": {"path": "coverage.plan"}},
                "tables": {
                    "benefits": {
                        "rows": "benefits",
                        "columns": {
                            "kind": {"path": "type"},
                            "amount": {"path": "amount"},
                            "percent": {"path": "pct"},
                            "remaining": {"path": "left"},
                            "network": {"path": "net"},
                        },
                    }
                },
            },
        }
    )
    data = {
        "coverage": {"status": "Active coverage", "plan": "Gold PPO"},
        "benefits": [
            {"type": "Office visit copay", "amount": "25", "net": "In network"},
            {"type": "Deductible", "amount": "1500.00", "left": "$320.10"},
            {"type": "Coinsurance", "pct": "20%"},
        ],
    }
    reading = read_eligibility(extract_json(data, task.extract), task)
    assert reading.active
    assert reading.plan_name == "Gold PPO"
    assert [(b.kind, b.amount, b.percent, b.remaining, b.in_network) for b in reading.benefits] == [
        ("copay", Decimal("25.00"), None, None, True),
        ("deductible", Decimal("1500.00"), None, Decimal("320.10"), None),
        ("coinsurance", None, Decimal(20), None, None),
    ]
    inactive = read_eligibility(extract_json({"coverage": {"status": "Terminated"}}, task.extract), task)
    assert not inactive.active
    assert inactive.benefits == ()
