"""A billing team adds a payer by writing one YAML file: no code, no registration, no release.

BRIGHTWAY is a payer the engine has never seen. Its portal is played by the SUNRISE sandbox server,
and its playbook is written independently of playbooks/sunrise: it searches by URL instead of filling
the search form, finds the row by position instead of by class, and reads the claim page with its own
selectors. (The results row alone shows the status code, payer claim number, billed and paid, but no
adjustments, so a partial payment would read as paid there: the claim page is needed.)
The test goes the way production goes: discovery, the factory, credentials from the environment,
the engine in real headless Chromium, and the `claimbot playbook validate` command.
"""

from pathlib import Path
from typing import TypeVar

import pytest
from typer.testing import CliRunner

from claimbot.cli import app
from portal_adapters.contract import ClaimQuery, ClaimStatusResult, EligibilityQuery
from portal_adapters.engine import PlaybookPortalAdapter
from portal_adapters.factory import portal_adapter
from portal_adapters.playbook import PlaybookError, discover_playbooks, load_playbook
from sandbox.accounts import ACCOUNTS, ServerName
from sandbox.dataset import load_world
from sandbox.models import SandboxClaim
from sandbox.servers import SandboxEndpoints
from tests.playbooks.capture_fixtures import claim_facts, coverage_facts, coverage_truth, facts_read
from tests.portals import claims_of, eligibility_query, expected_status, one_per_outcome, query

PAYER = "BRIGHTWAY"
Q = TypeVar("Q", ClaimQuery, EligibilityQuery)
BRIGHTWAY = """\
# Brightway Health provider portal: server-rendered pages, a sign-in form, then a 6-digit code.
payer_id: BRIGHTWAY
name: Brightway Health provider portal
base_url: https://providers.brightway.example
notes: >
  The claim search takes the claim number in the URL, so no form is filled; the claim page shows
  the X12 status as category:status[:entity] next to the words.

session:
  max_concurrent: 2
  element_timeout_ms: 3000

login:
  start: /login
  steps:
    - fill: "form[action='/login'] input[name=username]"
      value: "{account.username}"
    - fill: "form[action='/login'] input[name=password]"
      value: "{account.password}"
    - click: "form[action='/login'] button[type=submit]"
    - wait_for_any: ["input[name=code]", "a[href='/logout']", ".alert"]
    - when_present: "input[name=code]"
      steps:
        - fill: "input[name=code]"
          value: "{account.totp}"
        - click: "form[action='/mfa'] button[type=submit]"
  done_when: "a[href='/logout']"

logout:
  steps:
    - click: "a[href='/logout']"
  done_when: "form[action='/login']"

outcomes:
  locked:
    - {selector: ".alert", text: "locked"}
  invalid_login:
    - {selector: ".alert"}
  maintenance:
    - {text: "down for scheduled maintenance"}
  rate_limited:
    - {http_status: 429}
  session_expired:
    - {url_contains: "/login"}
  mfa_again:
    - {url_contains: "/mfa"}
  no_results:
    - {selector: "p.empty"}
    - {text: "no member found"}

claim_status:
  searches:
    - steps:
        - goto: "/claims?claim_number={claim.claim_id}"
        - pick_row: "table.results-table > tbody > tr"
          match: {"td:first-child": "{claim.claim_id}"}
          open: "td:first-child a"
          max_pages: 1
        - wait_for: "dl.summary"
  extract:
    fields:
      category_code: {selector: "dd#claim-status > span:first-child", pattern: '^([A-Z][0-9][A-Z]?):', required: true}
      status_code: {selector: "dd#claim-status > span:first-child", pattern: '^[A-Z][0-9][A-Z]?:([0-9A-Z]+)'}
      status_text: {selector: "dd#claim-status > span:last-child"}
      payer_claim_number: {selector: "dl.summary dd#payer-claim-number", none_values: ["Not assigned"]}
      billed_amount: {selector: "dl.summary dd#billed-amount", type: money, required: true}
      allowed_amount: {selector: "dl.summary dd#allowed-amount", type: money}
      paid_amount: {selector: "dl.summary dd#paid-amount", type: money}
      patient_responsibility: {selector: "dl.summary dd#patient-responsibility", type: money}
      check_number: {selector: "dl.summary dd#payment-number"}
      payment_date: {selector: "dl.summary dd#payment-date", type: date}
    tables:
      denials:
        rows: "table#denial-reasons > tbody > tr"
        columns:
          line: {selector: "td:nth-child(1)"}
          group: {selector: "td:nth-child(2)", required: true}
          carc: {selector: "td:nth-child(3)", required: true}
          rarc: {selector: "td:nth-child(4)"}
          amount: {selector: "td:nth-child(6)", type: money}

eligibility:
  steps:
    - goto: "/eligibility?member_id={patient.member_id}&dob={patient.dob}&as_of={service_date}"
    - wait_for_any: ["section#coverage", ".alert"]
  active_words: ["active"]
  inactive_words: ["inactive"]
  extract:
    fields:
      coverage_text: {selector: "section#coverage dd#coverage-status", required: true}
      plan_name: {selector: "section#coverage dd#plan-name"}
      copay: {selector: "section#coverage dd#copay", type: money}
      coinsurance: {selector: "section#coverage dd#coinsurance", type: percent}
      deductible: {selector: "section#coverage dd#deductible", type: money}
      deductible_remaining: {selector: "section#coverage dd#deductible-remaining", type: money}
      out_of_pocket: {selector: "section#coverage dd#oop-max", type: money, none_values: ["None"]}
      out_of_pocket_remaining: {selector: "section#coverage dd#oop-remaining", type: money, none_values: ["None"]}
"""
#: A typo the validator must catch: `none_value` is not a key of a field spec.
TYPO = ('payer_claim_number: {selector: "dl.summary dd#payer-claim-number", none_values:', "none_value:")


def patient_with_coverage(active: bool) -> SandboxClaim:
    """A SUNRISE claim whose patient's coverage is (or is not) active on the reference date."""
    world = load_world()
    for claim in claims_of("SUNRISE"):
        truth = world.eligibility_by_member.get(claim.patient.member_id)  # some member ids were never issued
        if truth is not None and truth.is_active_on(world.reference_date) is active:
            return claim
    raise LookupError(f"no SUNRISE patient with {'active' if active else 'inactive'} coverage")


def write_playbook(root: Path, text: str = BRIGHTWAY) -> Path:
    """What the team does: one folder named after the payer, one playbook.yaml in it."""
    path = root / PAYER.lower() / "playbook.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def with_typo(text: str = BRIGHTWAY) -> tuple[str, int]:
    """The playbook with one misspelt key, and the line it is on."""
    line, wrong = TYPO
    assert text.count(line) == 1
    broken = text.replace(line, line.replace("none_values:", wrong))
    number = next(n for n, row in enumerate(broken.splitlines(), start=1) if wrong in row)
    return broken, number


@pytest.fixture
def playbooks_dir(tmp_path: Path) -> Path:
    root = tmp_path / "playbooks"
    write_playbook(root)
    return root


def test_the_cli_validates_the_new_playbook(playbooks_dir: Path) -> None:
    result = CliRunner().invoke(app, ["playbook", "validate", str(playbooks_dir)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["ok  BRIGHTWAY: Brightway Health provider portal"]


def test_a_typo_fails_validation_naming_file_line_and_key(tmp_path: Path) -> None:
    broken, line = with_typo()
    path = write_playbook(tmp_path / "playbooks", broken)
    key = "claim_status.extract.fields.payer_claim_number.none_value"
    with pytest.raises(PlaybookError) as raised:
        load_playbook(path)
    assert str(raised.value) == f"{path}: line {line}: key {key}: Extra inputs are not permitted"

    result = CliRunner().invoke(app, ["playbook", "validate", str(tmp_path / "playbooks")])
    assert result.exit_code == 3
    assert f"BAD {path}: line {line}: key {key}: Extra inputs are not permitted" in result.stdout
    assert "ok  BRIGHTWAY" not in result.stdout


@pytest.fixture
def brightway_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The team's credentials for the new payer, from the environment (the portal behind it is SUNRISE's)."""
    account = ACCOUNTS[ServerName.SUNRISE][0]
    assert account.totp_secret is not None
    monkeypatch.setenv("CLAIMBOT_PORTAL_BRIGHTWAY_USERNAME", account.username)
    monkeypatch.setenv("CLAIMBOT_PORTAL_BRIGHTWAY_PASSWORD", account.password)
    monkeypatch.setenv("CLAIMBOT_PORTAL_BRIGHTWAY_TOTP_SECRET", account.totp_secret)


def brightway(sandbox: SandboxEndpoints, playbooks_dir: Path, data_dir: Path) -> PlaybookPortalAdapter:
    """The adapter as production builds it: discovery and the factory, only the base URL pointed at the sandbox."""
    return portal_adapter(
        PAYER, data_dir=data_dir, playbooks_dir=playbooks_dir, base_url=sandbox[ServerName.SUNRISE].base_url
    )


def as_brightway(question: Q) -> Q:
    return question.model_copy(update={"payer_id": PAYER})


@pytest.mark.browser
@pytest.mark.usefixtures("brightway_credentials")
async def test_the_new_payer_reads_claims_and_eligibility_as_the_payer_decided(
    sandbox: SandboxEndpoints, playbooks_dir: Path, tmp_path: Path
) -> None:
    assert discover_playbooks(playbooks_dir) == {PAYER: playbooks_dir / "brightway" / "playbook.yaml"}
    claims = one_per_outcome("SUNRISE")
    assert len({c.payer.outcome if c.payer else None for c in claims}) == 7  # six outcomes and one never received
    members = [patient_with_coverage(active) for active in (True, False)]
    adapter = brightway(sandbox, playbooks_dir, tmp_path / "data")
    try:
        results = await adapter.check_claims([as_brightway(query(c)) for c in claims])
        coverages = [await adapter.check_eligibility(as_brightway(eligibility_query(c))) for c in members]
    finally:
        await adapter.close()

    for claim, result in zip(claims, results, strict=True):
        assert isinstance(result, ClaimStatusResult), result
        assert (result.payer_id, result.claim_id) == (PAYER, claim.claim_id)
        assert result.status is expected_status(claim), claim.claim_id
        if claim.payer is not None:
            assert facts_read(result) == claim_facts(claim), claim.claim_id
            assert (result.category_code, result.status_code) == (claim.payer.category_code, claim.payer.status_code)
    for member, coverage in zip(members, coverages, strict=True):
        assert (coverage.payer_id, coverage.found) == (PAYER, True)
        got = coverage_facts(coverage.active, coverage.plan_name, coverage.benefits)
        assert got == coverage_truth(member.patient.member_id)


@pytest.mark.browser
@pytest.mark.usefixtures("brightway_credentials")
async def test_an_unknown_member_is_not_found_when_the_page_fails_to_read(
    sandbox: SandboxEndpoints, playbooks_dir: Path, tmp_path: Path
) -> None:
    """The natural eligibility steps (go, wait for coverage or a message, read) must be enough: the page
    does not read as coverage, the no_results recogniser knows the message, so the member is not found."""
    claim = claims_of("SUNRISE")[0]
    question = as_brightway(eligibility_query(claim))
    unknown = question.model_copy(update={"patient": question.patient.model_copy(update={"member_id": "ZZ000000000"})})
    adapter = brightway(sandbox, playbooks_dir, tmp_path / "data")
    try:
        result = await adapter.check_eligibility(unknown)
    finally:
        await adapter.close()
    assert (result.found, result.active) == (False, False)
