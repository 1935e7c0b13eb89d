"""Playbooks are validated on load; every error names the file, the line and the key path."""

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from claimbot.cli import app
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


GOTO = '        - goto: "/claims/{claim.payer_claim_number}"'


@pytest.mark.parametrize(
    ("old", "new", "line", "key", "message"),
    [
        # selectors: what neither the browser nor the HTML parser can read
        ('    - click: "#go"', '    - click: "#go >"', 11, "login.steps.2.click", "is not a valid selector"),
        ('    - click: "#go"', '    - click: "#go["', 11, "login.steps.2.click", "unclosed bracket"),
        ('    - fill: "#user"', '    - fill: "td:nth-child(x)"', 7, "login.steps.0.fill", "is not a valid selector"),
        ('  done_when: "#home"', '  done_when: "#home >> "', 12, "login.done_when", "empty part around >>"),
        ('    - selector: ".error"', '    - selector: "txt=Oops"', 15, "outcomes.invalid_login.0.selector", "txt="),
        (
            '      status_text: {selector: "#status", required: true}',
            "      status_text: {selector: \"#status:has-text('Paid')\", required: true}",
            23,
            "claim_status.extract.fields.status_text.selector",
            "plain CSS",
        ),
        # addresses: off the portal's origins, or carrying what must not travel in one
        (
            GOTO,
            '        - goto: "https://evil.example/claims/{claim.payer_claim_number}"',
            20,
            "claim_status.searches.0.steps.0.goto",
            "not one of the playbook's origins",
        ),
        (
            GOTO,
            '        - goto: "//evil.example/claims"',
            20,
            "claim_status.searches.0.steps.0.goto",
            "names another host",
        ),
        (GOTO, '        - goto: "/\\\\evil.example/claims"', 20, "claim_status.searches.0.steps.0.goto", "backslashes"),
        (
            GOTO,
            '        - goto: "javascript:alert(1)"',
            20,
            "claim_status.searches.0.steps.0.goto",
            "javascript: addresses are refused",
        ),
        (
            GOTO,
            '        - goto: "data:text/html,<p>hi</p>"',
            20,
            "claim_status.searches.0.steps.0.goto",
            "data: addresses are refused",
        ),
        (
            GOTO,
            '        - goto: "file:///etc/passwd"',
            20,
            "claim_status.searches.0.steps.0.goto",
            "file: addresses are refused",
        ),
        (
            GOTO,
            '        - goto: "{json.host}/claims"',
            20,
            "claim_status.searches.0.steps.0.goto",
            "a value cannot choose the host",
        ),
        (
            GOTO,
            '        - goto: "https://{json.host}/claims"',
            20,
            "claim_status.searches.0.steps.0.goto",
            "must be written out",
        ),
        (
            GOTO,
            '        - goto: "/claims?u={account.username}&p={account.password}"',
            20,
            "claim_status.searches.0.steps.0.goto",
            "{account.username} is a secret",
        ),
        (
            GOTO,
            '        - goto: "/members/{patient.member_id}/claims"',
            20,
            "claim_status.searches.0.steps.0.goto",
            "is a patient value",
        ),
        (
            "  start: /login",
            '  start: "https://evil.example/login"',
            5,
            "login.start",
            "not one of the playbook's origins",
        ),
        ("  start: /login", '  start: "/login?user={account.username}"', 5, "login.start", "is a secret"),
        (
            "base_url: https://portal.acme.example",
            "base_url: https://portal.acme.example\nallowed_origins: [https://sso.acme.example/login]",
            4,
            "allowed_origins",
            "is not an origin",
        ),
        (
            "base_url: https://portal.acme.example",
            "base_url: https://bot:pw@portal.acme.example",
            3,
            "base_url",
            "user name or password",
        ),
    ],
)
def test_unsafe_playbooks_are_refused_with_file_line_and_key(
    tmp_path: Path, old: str, new: str, line: int, key: str, message: str
) -> None:
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new))
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"{path}: line {line}: key {key}: "), first
    assert message in first


def test_the_cli_refuses_an_off_origin_playbook(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL.replace(GOTO, '        - goto: "https://evil.example/claims/{claim.payer_claim_number}"'))
    result = CliRunner().invoke(app, ["playbook", "validate", str(tmp_path)])
    assert result.exit_code == 3
    path = tmp_path / "acme" / "playbook.yaml"
    assert f"{path}: line 20: key claim_status.searches.0.steps.0.goto: " in result.stdout


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('    - click: "#go"', "    - click: \"button:has-text('Sign in')\""),
        ('    - click: "#go"', '    - click: "text=Sign in"'),
        ('    - click: "#go"', '    - click: "#login-form >> text=Sign in"'),
        ('    - click: "#go"', "    - click: \"xpath=//button[@id='go']\""),
        ('    - click: "#go"', '    - click: "form:visible button[type=submit]:not([disabled])"'),
        ('  done_when: "#home"', "  done_when: \"nav a[href='/logout'], #home\""),
        (GOTO, '        - goto: "https://portal.acme.example/claims/{claim.payer_claim_number}"'),
        (GOTO, '        - goto: "/claims?member={patient.member_id}&dob={patient.dob:%m/%d/%Y}"'),
        (
            "base_url: https://portal.acme.example",
            "base_url: https://portal.acme.example\nallowed_origins: [https://sso.acme.example]",
        ),
    ],
)
def test_what_the_browser_accepts_is_accepted(tmp_path: Path, old: str, new: str) -> None:
    text = MINIMAL.replace(old, new)
    if "sso.acme" in new:
        text = text.replace(GOTO, '        - goto: "https://sso.acme.example/claims/{claim.payer_claim_number}"')
    assert load_playbook(write(tmp_path, text)).payer_id == "ACME"


def test_html_table_rows_must_be_plain_css(tmp_path: Path) -> None:
    tables = (
        "    tables:\n"
        "      denials:\n"
        "        rows: \"#reasons tr:has-text('CO')\"\n"
        "        columns:\n"
        '          code: {selector: ".code"}\n'
    )
    text = MINIMAL.replace("  status_words:", tables + "  status_words:")
    path = write(tmp_path, text)
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    assert str(caught.value).startswith(f"{path}: line 27: key claim_status.extract.tables.denials.rows: ")
    assert "is not a valid CSS selector" in str(caught.value)


def test_the_real_playbooks_declare_nothing_unsafe() -> None:
    good, problems = validate_all()
    assert problems == []
    assert {p.payer_id for p in good} == {"SUNRISE", "MERIDIAN", "KEYSTONE"}


# --- signing out, too many sessions, remark tables ------------------------------------------------
LOGOUT = """\
logout:
  steps:
    - goto: /logout
  done_when: "#login"
"""


def test_logout_and_too_many_sessions_load_with_their_defaults(tmp_path: Path) -> None:
    text = MINIMAL.replace("outcomes:\n", LOGOUT + "outcomes:\n  too_many_sessions:\n    - {text: 'too many'}\n")
    playbook = load_playbook(write(tmp_path, text))
    assert playbook.logout is not None
    assert playbook.logout.timeout_ms == 5000 and playbook.logout.frame is None
    assert [r.text for r in playbook.outcomes.too_many_sessions] == ["too many"]
    minimal = load_playbook(write(tmp_path, MINIMAL))
    assert minimal.logout is None and minimal.outcomes.too_many_sessions == []


@pytest.mark.parametrize(
    ("logout", "key", "message"),
    [
        ("logout:\n  steps: []\n", "logout.steps", "at least 1 item"),
        ("logout:\n  steps:\n    - goto: /logout?c={claim.claim_id}\n", "logout", "no claim or patient"),
        ("logout:\n  steps:\n    - goto: https://elsewhere.example/logout\n", "logout.steps.0.goto", "origins"),
        ("logout:\n  steps:\n    - goto: /logout\n  timeout_ms: 100\n", "logout.timeout_ms", "greater than"),
    ],
)
def test_a_bad_logout_is_refused_with_its_key(tmp_path: Path, logout: str, key: str, message: str) -> None:
    with pytest.raises(PlaybookError, match=f"key {re.escape(key)}.*{message}"):
        load_playbook(write(tmp_path, MINIMAL.replace("outcomes:\n", logout + "outcomes:\n")))


REMARKS = """\
    tables:
      remarks:
        rows: "#remarks li"
        columns:
          rarc: {selector: ".code"}
          line: {selector: ".line"}
          adjustment: {selector: ".for"}
      line_remarks:
        rows: "#lines tr"
        columns:
          line: {selector: ".n"}
          rarc: {selector: ".remarks"}
"""


def test_remark_tables_load(tmp_path: Path) -> None:
    text = MINIMAL.replace("  status_words:\n", REMARKS + "  status_words:\n")
    tables = load_playbook(write(tmp_path, text)).claim_status.extract.tables
    assert set(tables) == {"remarks", "line_remarks"}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('          rarc: {selector: ".code"}\n', "", "the remarks table needs column"),
        ('          line: {selector: ".n"}\n', "", "the line_remarks table needs column"),
        (
            '          adjustment: {selector: ".for"}\n',
            '          amount: {selector: ".for"}\n',
            "unknown remarks column",
        ),
        ("      line_remarks:\n", "      remark_list:\n", "unknown table 'remark_list'"),
    ],
)
def test_bad_remark_tables_are_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = MINIMAL.replace("  status_words:\n", REMARKS.replace(old, new, 1) + "  status_words:\n")
    with pytest.raises(PlaybookError, match=message):
        load_playbook(write(tmp_path, text))
