"""Pure parsers: no browser, just saved HTML/JSON and the playbook's extraction spec."""

from datetime import date
from decimal import Decimal

import pytest

from claims.models import Denial
from claims.status import ClaimStatus
from portal_adapters.parsing import (
    LayoutMismatch,
    Remark,
    attach_remarks,
    extract_html,
    extract_json,
    read_claim,
    read_eligibility,
)
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


# --- remark codes apart from their adjustment's row ----------------------------------------------
def _denial(group: str, carc: str, amount: str, line: int | None = None, *rarcs: str) -> Denial:
    return Denial(group=group, carc=carc, amount=Decimal(amount), line_number=line, rarcs=rarcs)  # type: ignore[arg-type]


def test_a_remark_goes_to_the_adjustment_it_names_else_its_line_else_the_one_that_needs_work() -> None:
    denials = [
        _denial("CO", "45", "20.00", 1),
        _denial("CO", "50", "80.00", 1),
        _denial("CO", "45", "5.00", 2),
        _denial("PR", "204", "30.00", 2),
        _denial("PR", "2", "4.00", 3),
    ]
    remarks = [
        Remark(codes=("N115",), carc="50"),  # names its adjustment (CARC only)
        Remark(codes=("N130",), line=2),  # line 2: nothing needs work; PR-204 is not the write-off
        # names one the page does not show, on a line it does not show: the claim's one needing work
        Remark(codes=("M15",), line=9, group="CO", carc="97"),
        Remark(codes=("N115", "MA01"), line=1),  # line 1: CO-50 needs work, not the CO-45; N115 only once
    ]
    attached, left = attach_remarks(denials, remarks)
    assert [d.rarcs for d in attached] == [(), ("N115", "M15", "MA01"), (), ("N130",), ()]
    assert left == ()
    named_on_line = attach_remarks(
        [*denials, _denial("CO", "50", "8.00", 3)], [Remark(codes=("N4",), line=3, carc="50")]
    )
    assert [d.rarcs for d in named_on_line[0]] == [(), (), (), (), (), ("N4",)]  # the CO-50 of its line


def test_a_remark_with_no_home_stays_a_claim_remark() -> None:
    two_needing_work = [_denial("CO", "16", "10.00", 1), _denial("CO", "97", "10.00", 2)]
    attached, left = attach_remarks(two_needing_work, [Remark(codes=("MA130",)), Remark(codes=("N290",), line=1)])
    assert [d.rarcs for d in attached] == [("N290",), ()]
    assert left == ("MA130",)
    assert attach_remarks([], [Remark(codes=("MA01",))]) == ((), ("MA01",))  # a paid claim's remark
    # a code already on an adjustment (printed in its row and again in the list) is not a claim remark too
    in_row = [_denial("CO", "16", "10.00", 1, "N290"), _denial("CO", "97", "10.00", 2)]
    assert attach_remarks(in_row, [Remark(codes=("N290",))]) == (tuple(in_row), ())


MIXED = """
<p id="status">Denied</p>
<table id="reasons">
<tr><td class="line">1</td><td class="code">CO-16</td><td class="rarc"></td><td class="amt">$50.00</td></tr>
<tr><td class="line">1</td><td class="code"></td><td class="rarc">Remark N290</td><td class="amt"></td></tr>
<tr><td class="line">2</td><td class="code">CO-45</td><td class="rarc"></td><td class="amt">$9.00</td></tr>
</table>
<ul id="remarks"><li><b>M51</b> <i>CO 16</i></li><li><b>N4</b> <i>line two</i></li></ul>
"""


def _remark_task(remark_columns: dict[str, dict[str, str]]) -> ClaimStatusTask:
    return ClaimStatusTask.model_validate(
        {
            "searches": [{"steps": [{"goto": "/x"}]}],
            "extract": {
                "fields": {"status_text": {"selector": "#status"}},
                "tables": {
                    "denials": {
                        "rows": "#reasons tr",
                        "columns": {
                            "line": {"selector": ".line"},
                            "code": {"selector": ".code"},
                            "rarc": {"selector": ".rarc"},
                            "amount": {"selector": ".amt", "type": "money"},
                        },
                    },
                    "remarks": {"rows": "#remarks li", "columns": remark_columns},
                },
            },
            "status_words": {"Denied": "denied"},
        }
    )


def test_remark_rows_among_the_adjustments_and_a_remarks_list_are_read() -> None:
    """A row with a remark code but no group or CARC is a remark (no longer a refused row)."""
    task = _remark_task({"rarc": {"selector": "b"}, "adjustment": {"selector": "i"}})
    reading = read_claim(extract_html(MIXED.replace("line two", ""), task.extract), task)
    # N4 names nothing and no line: it goes to the claim's one adjustment that needs work (CO-16)
    assert [(d.line_number, d.code, d.rarcs) for d in reading.denials] == [
        (1, "CO-16", ("N290", "M51", "N4")),
        (2, "CO-45", ()),
    ]
    assert reading.remarks == ()
    with pytest.raises(LayoutMismatch) as raised:  # an adjustment cell that names no CARC
        read_claim(extract_html(MIXED, task.extract), task)
    assert raised.value.field == "remarks row 2"
    assert "LINE" not in str(raised.value) and "two" not in str(raised.value)  # never the text found
