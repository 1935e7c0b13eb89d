"""Playbooks are validated on load; every error names the file, the line and the key path."""

from pathlib import Path

import pytest

from portal_adapters.playbook import PlaybookError, discover_playbooks, load_playbook
from portal_adapters.playbook.loader import validate_all

MINIMAL = """\
payer_id: ACME
name: Acme Health portal
base_url: https://portal.acme.example
login:
  start: /login
  steps:
    - fill: "#user"
      value: "{account.username}"
    - fill: "#pass"
      value: "{account.password}"
    - click: "#go"
  done_when: "#home"
outcomes:
  invalid_login:
    - selector: ".error"
claim_status:
  searches:
    - requires: [payer_claim_number]
      steps:
        - goto: "/claims/{claim.payer_claim_number}"
  extract:
    fields:
      status_text: {selector: "#status", required: true}
      paid_amount: {selector: "#paid", type: money}
  status_words:
    Paid: paid
"""


def write(tmp_path: Path, text: str, folder: str = "acme") -> Path:
    path = tmp_path / folder / "playbook.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_minimal_playbook_loads(tmp_path: Path) -> None:
    playbook = load_playbook(write(tmp_path, MINIMAL))
    assert playbook.payer_id == "ACME"
    assert playbook.session.max_concurrent == 1
    assert discover_playbooks(tmp_path) == {"ACME": tmp_path / "acme" / "playbook.yaml"}


@pytest.mark.parametrize(
    ("old", "new", "line", "key", "message"),
    [
        ('    - click: "#go"', '    - clik: "#go"', 11, "login.steps.2", "a step is one of: goto, fill"),
        (
            'value: "{account.password}"',
            'value: "{account.pasword}"',
            10,
            "login.steps.1.value",
            "unknown template name",
        ),
        (
            '      paid_amount: {selector: "#paid", type: money}',
            '      paid_amount: {selector: "#paid", type: cash}',
            24,
            "claim_status.extract.fields.paid_amount.type",
            "Input should be",
        ),
        (
            "      paid_amount: {selector",
            "      paid_amont: {selector",
            16,
            "claim_status",
            "unknown claim field(s) ['paid_amont']",
        ),
        ("    Paid: paid", "    Paid: payed", 26, "claim_status.status_words.Paid", "Input should be"),
        (
            "base_url: https://portal.acme.example",
            "base_url: portal.acme.example",
            3,
            "base_url",
            "should match pattern",
        ),
        (
            '  invalid_login:\n    - selector: ".error"',
            "  invalid_login:\n    - {}",
            15,
            "outcomes.invalid_login.0",
            "a recogniser needs a selector",
        ),
        (
            '      status_text: {selector: "#status", required: true}',
            "      status_text: {required: true}",
            23,
            "claim_status.extract.fields.status_text",
            "exactly one of 'selector'",
        ),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, old: str, new: str, line: int, key: str, message: str) -> None:
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new))
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"{path}: line {line}: key {key}: "), first
    assert message in first


def test_folder_must_be_the_payer_id(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL, folder="acme-health")
    with pytest.raises(PlaybookError, match=r"line 1: key payer_id: ACME does not match its folder 'acme-health'"):
        load_playbook(path)


def test_broken_yaml_and_wrong_shapes(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match=r"line \d+: not valid YAML"):
        load_playbook(write(tmp_path, MINIMAL + "  - [unclosed\n"))
    with pytest.raises(PlaybookError, match="line 1: a playbook is a YAML mapping"):
        load_playbook(write(tmp_path, "- just a list\n"))


def test_validate_all_reports_every_bad_folder(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL)
    write(tmp_path, MINIMAL.replace("ACME", "BETA"), folder="beta")
    write(tmp_path, MINIMAL.replace("ACME", "GAMMA").replace("name: Acme Health portal\n", ""), folder="gamma")
    (tmp_path / "empty").mkdir()
    good, problems = validate_all(tmp_path)
    assert [p.payer_id for p in good] == ["ACME", "BETA"]
    assert len(problems) == 2
    assert "empty: has no playbook.yaml" in problems[0]
    assert "gamma/playbook.yaml: line 1: key name: Field required" in problems[1]
