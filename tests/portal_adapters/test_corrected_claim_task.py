"""The playbook's corrected_claim task: validated at load (errors name the line and key path), and the
values its templates get from a correction (pure: no browser)."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from claims.models import ServiceLine
from portal_adapters.engine.corrections import line_values
from portal_adapters.playbook import PlaybookError, load_playbook
from portal_adapters.templates import render
from tests.portal_adapters.test_playbook_loader import MINIMAL, write

TASK = """\
corrected_claim:
  steps:
    - goto: "/claims/{claim.claim_id}/correct"
    - for_each_line: "#lines tr"
      steps:
        - fill: "input.code"
          value: "{line.procedure_code}"
        - fill: "input.units"
          value: "{line.units}"
    - select: "#frequency"
      value: "{correction.frequency_code}"
    - fill: "#original"
      value: "{correction.payer_claim_number}"
    - click: "#review"
  submit: "#send"
  done_when: "#confirmation"
  extract:
    fields:
      confirmation_number: {selector: "#confirmation-number", required: true}
  refused:
    original_unknown:
      - {selector: ".error", text: "not found"}
    refused:
      - {selector: ".error"}
"""


def test_a_playbook_with_a_corrected_claim_task_loads(tmp_path: Path) -> None:
    playbook = load_playbook(write(tmp_path, MINIMAL + TASK))
    assert playbook.corrected_claim is not None
    assert playbook.corrected_claim.submit == "#send"
    assert load_playbook(write(tmp_path / "plain", MINIMAL)).corrected_claim is None  # the task is optional


def test_the_shipped_sunrise_playbook_has_the_task() -> None:
    playbook = load_playbook(Path(__file__).resolve().parents[2] / "playbooks" / "sunrise" / "playbook.yaml")
    assert playbook.corrected_claim is not None


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        (
            MINIMAL.replace('"/claims/{claim.payer_claim_number}"', '"/c?x={line.units}"') + TASK,
            20,
            "claim_status.searches.0.steps.0",
            "{line.units} is a service line's value: use it inside for_each_line",
        ),
        (
            MINIMAL + TASK.replace('      value: "{correction.frequency_code}"', '      value: "{line.number}"'),
            36,
            "corrected_claim.steps.2",
            "{line.number} is a service line's value",
        ),
        (
            MINIMAL.replace('      value: "{account.password}"', '      value: "{correction.reason}"') + TASK,
            9,
            "login.steps.1",
            "{correction.reason} belongs to a correction",
        ),
        (
            MINIMAL + TASK.replace('        - fill: "input.units"', '        - goto: "/x"\n        - fill: "u"'),
            34,
            "corrected_claim.steps.1.steps.1",
            "inside for_each_line only fill, select, click and wait_for run, not goto",
        ),
        (
            MINIMAL + TASK.replace("confirmation_number: {", "payer_claim_number: {"),
            27,
            "corrected_claim",
            "extract 'confirmation_number'",
        ),
        (
            MINIMAL + TASK.replace("    original_unknown:", "    lost:"),
            47,
            "corrected_claim.refused.lost.[key]",
            "original_unknown",
        ),
        (
            MINIMAL + TASK.replace("  submit: \"#send\"\n", ""),
            27,
            "corrected_claim.submit",
            "Field required",
        ),
    ],
    ids=["line-value-in-a-search", "line-value-outside-the-rows", "correction-in-login", "goto-in-a-row",
         "no-confirmation-number", "unknown-refusal-kind", "no-submit"],
)  # fmt: skip
def test_mistakes_are_named_by_line_and_key(tmp_path: Path, text: str, line: int, key: str, message: str) -> None:
    with pytest.raises(PlaybookError) as caught:
        load_playbook(write(tmp_path, text))
    assert f"key {key}: " in str(caught.value)
    assert message in str(caught.value)
    assert f"line {line}:" in str(caught.value)


def test_a_line_renders_its_codes_units_and_charge() -> None:
    line = ServiceLine(
        line_number=2,
        procedure_code="11102",
        modifiers=("25", "RT"),
        units=Decimal("2.0"),
        charge=Decimal("160.5"),
        service_date_from=date(2026, 3, 4),
        service_date_to=date(2026, 3, 4),
        diagnosis_pointers=(1, 3),
    )
    values = line_values(line)
    template = "{line.number}|{line.procedure_code}|{line.modifiers}|{line.modifier_2}|{line.modifier_3}|{line.units}"
    assert render(template, values) == "2|11102|25,RT|RT||2"
    assert render("{line.charge:.2f} {line.service_date:%m/%d/%Y} {line.diagnosis_pointers}", values) == (
        "160.50 03/04/2026 1,3"
    )
