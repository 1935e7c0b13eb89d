"""claims.denials: the shipped denial playbook covers the sandbox's codes, the most specific rule wins,
unknown codes fall back to their official text, and mistakes in the YAML name the file, line and key."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from claims.codesets import CodeKind, CodeSets
from claims.denials import DenialCategory, DenialPlaybookError, load_denial_playbook
from claims.ledger import Ledger
from claims.models import AdjustmentGroup, CheckSource, Denial, StatusCheck
from claims.status import ClaimStatus
from claims.worklist import open_denials
from sandbox.dataset import DENIAL_REASONS, LINE_DENIAL_REASONS
from tests.conftest import REPO

SHIPPED = load_denial_playbook(REPO / "playbooks" / "denials.yaml")
SANDBOX_REASONS = sorted(
    {(g, c, r) for g, c, r, _ in DENIAL_REASONS} | set(LINE_DENIAL_REASONS), key=lambda reason: str(reason)
)
HEAD = "fallback: {next_step: Read it}\nrules:\n"


def denial(code: str, *rarcs: str, amount: str | None = "100.00") -> Denial:
    group, carc = code.split("-")
    return Denial(
        group=AdjustmentGroup(group), carc=carc, rarcs=rarcs, amount=None if amount is None else Decimal(amount)
    )


@pytest.mark.parametrize(("group", "carc", "rarc"), SANDBOX_REASONS)
@pytest.mark.parametrize("payer", ["SUNRISE", "MERIDIAN", "KEYSTONE"])
def test_every_sandbox_code_has_a_rule_a_category_and_a_next_step(
    group: str, carc: str, rarc: str | None, payer: str
) -> None:
    found = SHIPPED.recommend(denial(f"{group}-{carc}", *([rarc] if rarc else [])), payer)
    assert found.rule != "fallback" and found.category is not DenialCategory.REVIEW
    assert len(found.next_step) > 20
    assert found.codes == (f"{group}-{carc}", *([rarc] if rarc else []))
    assert found.official_text.startswith(f"{group}-{carc} ") and "unknown" not in found.official_text


def test_the_shipped_playbook_covers_the_common_carcs_with_their_texts() -> None:
    carcs = {rule.carc for rule in SHIPPED.rules}
    common = {"1", "2", "3", "4", "5", "6", "11", "15", "16", "18", "22", "23", "24", "26", "27", "29", "31", "45"}
    common |= {"50", "55", "96", "97", "109", "119", "129", "140", "146", "151", "167", "170", "181", "182"}
    common |= {"185", "197", "198", "204", "206", "234", "242", "252", "253", "B7", "B9", "B15"}
    assert common <= carcs and len(carcs) >= 40
    codes = CodeSets()
    assert [c for c in sorted(carcs) if codes.describe(CodeKind.CARC, c) is None] == []


def test_an_unknown_code_falls_back_to_its_official_text_and_review(tmp_path: Path) -> None:
    unknown = SHIPPED.recommend(denial("CO-ZZ9"), "SUNRISE")
    assert (unknown.category, unknown.rule, unknown.correctable) == (DenialCategory.REVIEW, "fallback", False)
    assert unknown.official_text == "CO-ZZ9 (unknown reason code)" and unknown.codes == ("CO-ZZ9",)
    path = tmp_path / "denials.yaml"
    path.write_text(HEAD + "  - {carc: '18', category: duplicate, correctable: false, next_step: Check it}\n")
    known_text = load_denial_playbook(path).recommend(denial("CO-50", "N115"), "SUNRISE")
    assert known_text.rule == "fallback" and known_text.next_step == "Read it"
    assert known_text.official_text == (
        "CO-50 Not deemed a medical necessity by the payer; N115 Decision based on a local coverage determination"
    )


def test_the_most_specific_rule_wins(tmp_path: Path) -> None:
    path = tmp_path / "denials.yaml"
    rules = [
        "{carc: '16', category: review, correctable: false, next_step: any group}",
        "{group: CO, carc: '16', category: coding, correctable: true, next_step: CO}",
        "{group: CO, carc: '16', rarc: N290, category: coding, correctable: true, next_step: CO with N290}",
        "{payer: KEYSTONE, group: CO, carc: '16', rarc: N290, category: coding, correctable: false, next_step: K}",
        "{payer: KEYSTONE, carc: '16', category: coding, correctable: false, next_step: K any}",
    ]
    path.write_text(HEAD + "".join(f"  - {rule}\n" for rule in rules))
    playbook = load_denial_playbook(path)
    said = {
        (code, rarcs, payer): (r.next_step, r.rule)
        for code, rarcs, payer in [
            ("CO-16", ("N290",), "KEYSTONE"),
            ("CO-16", ("M51", "N290"), "SUNRISE"),
            ("CO-16", ("M51",), "SUNRISE"),
            ("OA-16", (), "SUNRISE"),
            ("OA-16", ("N290",), "KEYSTONE"),
        ]
        if (r := playbook.recommend(denial(code, *rarcs), payer))
    }
    assert said == {
        ("CO-16", ("N290",), "KEYSTONE"): ("K", "KEYSTONE CO-16 N290"),
        ("CO-16", ("M51", "N290"), "SUNRISE"): ("CO with N290", "CO-16 N290"),
        ("CO-16", ("M51",), "SUNRISE"): ("CO", "CO-16"),
        ("OA-16", (), "SUNRISE"): ("any group", "16"),
        ("OA-16", ("N290",), "KEYSTONE"): ("K any", "KEYSTONE 16"),
    }


def test_escalation_and_appeal_windows_follow_the_rule_or_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "denials.yaml"
    path.write_text(
        "defaults: {escalate: {above_amount: 500}, appeal_days: 60}\n"
        + HEAD
        + "  - {carc: '29', category: timely_filing, correctable: false, escalate: always, next_step: Proof}\n"
        + "  - {carc: '50', category: medical_necessity, correctable: false, appeal_days: payer, next_step: Ap}\n"
    )
    playbook = load_denial_playbook(path)
    late = playbook.recommend(denial("CO-29", amount="10.00"), "SUNRISE")
    assert late.escalate and late.escalation_reason == "29: always goes to a lead" and late.appeal_window_days == 60
    big = playbook.recommend(denial("CO-50", amount="812.40"), "SUNRISE")
    assert big.escalate and big.escalation_reason == "CO-50 denies 812.40, above 500.00"
    assert big.appeal_window_days is None  # the payer's window (claims.deadlines)
    assert not playbook.recommend(denial("CO-50", amount="500.00"), "SUNRISE").escalate
    assert not playbook.recommend(denial("CO-50", amount=None), "SUNRISE").escalate


def test_a_claim_is_worked_from_its_largest_real_denial() -> None:
    denials = [
        denial("CO-45", amount="300.00"),
        denial("PR-2", amount="40.00"),
        denial("CO-97", "M15", amount="18.00"),
        denial("CO-4", amount="25.00"),
    ]
    assert SHIPPED.recommend_claim(denials, "SUNRISE").codes == ("CO-4",)  # type: ignore[union-attr]
    assert SHIPPED.recommend_claim(denials[:2], "SUNRISE").codes == ("PR-2",)  # type: ignore[union-attr]
    assert SHIPPED.recommend_claim(denials[:1], "SUNRISE").category is DenialCategory.CONTRACTUAL  # type: ignore[union-attr]
    assert SHIPPED.recommend_claim([], "SUNRISE") is None


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (
            HEAD + "  - {carc: '16', category: codnig, correctable: true, next_step: Fix}\n",
            "line 3: key rules.0.category: must be one of:",
        ),
        (
            HEAD + "  - carc: '16'\n    category: coding\n    correctable: true\n    next_step: X\n    remark: N290\n",
            "line 7: key rules.0.remark: is not a known key",
        ),
        (
            HEAD + "  - {carc: '16', category: coding, correctable: true, next_step: Fix, escalate: {above: 5}}\n",
            "line 3: key rules.0.escalate.above: is not a known key",
        ),
        (
            HEAD + "  - {carc: '16', category: coding, correctable: yes please, next_step: Fix}\n",
            "line 3: key rules.0.correctable: expected true or false",
        ),
        ("rules:\n  - {carc: '16', category: coding, correctable: true, next_step: X}\n", "key fallback: is required"),
        (HEAD + "  - {carc: '16', category: coding\n", "line 4: not valid YAML"),
        (
            HEAD
            + "  - {group: CO, carc: '16', category: coding, correctable: true, next_step: A}\n"
            + "  - {carc: '4', category: coding, correctable: true, next_step: B}\n"
            + "  - {group: CO, carc: 16, category: coding, correctable: false, next_step: C}\n",
            "line 5: key rules.2: CO-16 is already a rule (rules.0, line 3); one rule per codes",
        ),
    ],
)
def test_mistakes_name_the_file_the_line_and_the_key(tmp_path: Path, body: str, said: str) -> None:
    path = tmp_path / "denials.yaml"
    path.write_text(body)
    with pytest.raises(DenialPlaybookError) as error:
        load_denial_playbook(path)
    assert str(error.value).startswith(f"{path}: ") and said in str(error.value), str(error.value)


def test_the_worklist_keeps_what_is_new_since_a_time_and_orders_by_the_next_deadline(sqlite_ledger: Ledger) -> None:
    from tests.factories import make_claim

    def denied(claim_id: str, day: int, code: str) -> StatusCheck:
        return StatusCheck(
            claim_id=claim_id,
            source=CheckSource.EDI,
            status=ClaimStatus.DENIED,
            checked_at=datetime(2026, 10, day, 9, tzinfo=UTC),
            payment_date=date(2026, 10, day),
            paid_amount=Decimal("0.00"),
            denials=(denial(code, amount="143.50"),),
        )

    with sqlite_ledger.writer() as writer:
        writer.upsert_claims([make_claim("S1"), make_claim("K1", payer_id="KEYSTONE"), make_claim("S2")])
        writer.record_status_check(denied("S1", 2, "CO-18"))
        writer.record_status_check(denied("K1", 20, "CO-50"))
    today = date(2026, 11, 1)
    found = open_denials(sqlite_ledger, SHIPPED, today)  # S2 has no answer: not a denial
    # SUNRISE appeals within 180 days of 10-02; KEYSTONE (Medicare) within 120 days of 10-20
    assert [(d.claim_id, d.next_deadline.kind.value, str(d.next_deadline.due)) for d in found if d.next_deadline] == [
        ("K1", "appeal", "2027-02-17"),
        ("S1", "appeal", "2027-03-31"),
    ]
    assert [d.age_days for d in found] == [12, 30] and found[0].amount_at_risk == Decimal("143.50")
    assert found[1].deadlines == (found[1].next_deadline,)  # a duplicate is not correctable: no corrected-claim window
    since = open_denials(sqlite_ledger, SHIPPED, today, since=datetime(2026, 10, 10, tzinfo=UTC))
    assert [d.claim_id for d in since] == ["K1"]
    assert [d.claim_id for d in open_denials(sqlite_ledger, SHIPPED, today, category=DenialCategory.DUPLICATE)] == [
        "S1"
    ]
    assert open_denials(sqlite_ledger, SHIPPED, today, due_within_days=100) == []
    assert [d.claim_id for d in open_denials(sqlite_ledger, SHIPPED, today, payer_id="KEYSTONE")] == ["K1"]
