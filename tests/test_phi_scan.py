"""The PHI scan: every error path of check, eligibility, playbook try and edi import, driven through
real `claimbot` processes (real Chromium, the sandbox portals and clearinghouse, JSON logs at DEBUG)
with PHI-bearing inputs; then everything printed, every text column of the ledger outside
`patients`, and the evidence file names are scanned for the patients' values.

PHI here: last name, first name (3+ letters), member id and the birth date in every spelling payers
write it. Claim ids, payer ids, codes, amounts and initials are allowed. Each path is asserted to
have happened (exit code, failure kind, counters), so the scan cannot pass by not reaching it.
`unmatched_items.payload` is scanned like every other column: a kept answer (or a refused claim's
segment and findings) has no documented reason to hold PHI. Evidence files hold patient pages by
design; only their names are scanned.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from claimbot.demo import sample_claims_csv
from claims.ledger.schema import claims, metadata, status_checks
from sandbox.accounts import ACCOUNTS, CLEARINGHOUSE_API_KEY, PORTALS, ServerName
from sandbox.dataset import load_world
from sandbox.models import Outcome, SandboxClaim
from sandbox.servers import SandboxEndpoints
from sandbox.testing import SandboxAdmin, reset_all
from tests.assistant.fake_slack import FakeSlack
from tests.edi.edi_x12_builders import Layout, claim_status, interchange, paid_claim, remittance, status_claim

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[1]


# --- the people whose values must never show ------------------------------------------------------


@dataclass(frozen=True)
class Person:
    last_name: str
    first_name: str
    dob: date
    member_id: str

    def values(self) -> list[str]:
        d = self.dob
        found = [
            self.last_name,
            self.member_id,
            d.isoformat(),
            d.strftime("%Y%m%d"),
            d.strftime("%m/%d/%Y"),
            f"{d.month}/{d.day}/{d.year}",
            d.strftime("%m-%d-%Y"),
            d.strftime("%m%d%Y"),
        ]
        if len(self.first_name) >= 3:
            found.append(self.first_name)
        return found


def person_of(claim: SandboxClaim) -> Person:
    p = claim.patient
    return Person(p.last_name, p.first_name, p.dob, p.member_id)


#: Invented people who are in no sandbox file: an EDI answer's unknown claim, an unknown member.
STRANGER = Person("Quillfeather", "Marisol", date(1979, 4, 17), "SUN77120433")
UNKNOWN_MEMBER = Person("Thornquist", "Evander", date(1968, 11, 3), "MER900000172")


def _pattern(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", re.IGNORECASE)


@dataclass
class Leak:
    where: str
    value: str
    context: str

    def __str__(self) -> str:
        return f"{self.where}: {self.value!r} in ...{self.context}..."


def find_phi(where: str, text: str, people: list[Person]) -> list[Leak]:
    leaks = []
    for person in people:
        for value in person.values():
            for match in _pattern(value).finditer(text):
                start, end = max(0, match.start() - 120), min(len(text), match.end() + 120)
                leaks.append(Leak(where, value, text[start:end].replace("\n", "\\n")))
    return leaks


# --- one CLI session: a data dir, an environment, and everything printed ----------------------------


@dataclass
class Run:
    args: list[str]
    code: int
    stdout: str
    stderr: str
    #: stdout is a private view that holds PHI by design (a dry run's 837P): only stderr (the logs) is scanned
    stdout_private: bool = False

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Session:
    data_dir: Path
    env: dict[str, str]
    runs: list[Run] = field(default_factory=list)

    def run(self, *args: str, extra_env: dict[str, str] | None = None, expect: int | None = 0) -> Run:
        env = {**self.env, **(extra_env or {})}
        done = subprocess.run(
            [sys.executable, "-m", "claimbot", *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=180,
            cwd=self.data_dir.parent,
            stdin=subprocess.DEVNULL,  # not a terminal: the width comes from COLUMNS
        )
        run = Run(list(args), done.returncode, done.stdout, done.stderr)
        self.runs.append(run)
        if expect is not None:
            assert done.returncode == expect, (
                f"claimbot {' '.join(args)}: exit {done.returncode}\n{done.stderr[-3000:]}"
            )
        return run

    def run_many(self, *commands: list[str]) -> list[Run]:
        """Read-only commands, a few at a time (each process spends seconds importing)."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda args: self.run(*args, expect=None), commands))

    def history(self, claim_id: str) -> list[dict[str, Any]]:
        """A claim's status checks, oldest first, straight from the ledger (`claims show` prints them later)."""
        engine = sa.create_engine(f"sqlite:///{self.data_dir / 'ledger.sqlite3'}")
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.select(status_checks)
                    .join(claims, claims.c.id == status_checks.c.claim_pk)
                    .where(claims.c.claim_id == claim_id)
                    .order_by(status_checks.c.id)
                )
                return [dict(row._mapping) for row in rows]
        finally:
            engine.dispose()

    def live_checks(self) -> int:
        engine = sa.create_engine(f"sqlite:///{self.data_dir / 'ledger.sqlite3'}")
        try:
            with engine.connect() as conn:
                query = sa.select(sa.func.count()).where(status_checks.c.dedupe_key.like("live:%"))
                return int(conn.execute(query).scalar_one())
        finally:
            engine.dispose()


def _portal_env(sandbox: SandboxEndpoints) -> dict[str, str]:
    env: dict[str, str] = {}
    for portal in PORTALS:
        account = ACCOUNTS[portal][0]
        prefix = f"CLAIMBOT_PORTAL_{portal.value.upper()}_"
        env[prefix + "URL"] = sandbox[portal].base_url
        env[prefix + "USERNAME"] = account.username
        env[prefix + "PASSWORD"] = account.password
        if account.totp_secret:
            env[prefix + "TOTP_SECRET"] = account.totp_secret
        if account.security_answers:
            env[prefix + "SECURITY_ANSWERS"] = json.dumps(account.security_answers)
    env["CLAIMBOT_CLEARINGHOUSE_URL"] = sandbox[ServerName.CLEARINGHOUSE].base_url
    env["CLAIMBOT_CLEARINGHOUSE_API_KEY"] = CLEARINGHOUSE_API_KEY
    return env


def _playbooks_copy(target: Path, sunrise_edits: dict[str, str] | None = None) -> Path:
    """The shipped playbooks with short element waits (failure paths wait them out), plus edits."""
    shutil.copytree(REPO / "playbooks", target)
    for path in target.glob("*/playbook.yaml"):
        text, count = re.subn(r"element_timeout_ms: \d+", "element_timeout_ms: 2000", path.read_text())
        assert count == 1, path
        if path.parent.name == "sunrise":
            for old, new in (sunrise_edits or {}).items():
                assert old in text, old
                text = text.replace(old, new)
        path.write_text(text)
    return target


def _faults(sandbox: SandboxEndpoints, server: ServerName, **fields: Any) -> None:
    with SandboxAdmin(sandbox[server]) as admin:
        admin.set_faults(**fields)


def _kinds(history: list[dict[str, Any]]) -> list[str]:
    """The failure kinds of a claim's history: "check failed (KIND): ..." texts."""
    return [m.group(1) for h in history if (m := re.match(r"check failed \((\w+)\)", h.get("payer_status_text") or ""))]


def _fetch_statuses(sandbox: SandboxEndpoints) -> list[int]:
    """What MERIDIAN answered to the eligibility look-ups (GET /api/eligibility?member_id=..&dob=..)."""
    with SandboxAdmin(sandbox[ServerName.MERIDIAN]) as admin:
        return [r.status for r in admin.requests() if r.path == "/api/eligibility"]


def _seed_failing_request(number: int, rate: float, failing: int = 4) -> int:
    """A seed whose error draws (as the sandbox draws them) pass the first `number - 1` requests and
    fail the `failing` after them: the look-up fails however often it is asked again."""
    wanted = [False] * (number - 1) + [True] * failing
    for seed in range(100_000):
        rng = random.Random(seed)
        if [rng.random() < rate for _ in wanted] == wanted:
            return seed
    raise AssertionError("no seed found")


# --- crafted X12 carrying PHI ----------------------------------------------------------------------


def _era_claim(pcn: str, person: Person, clp03: str = "200.00") -> list[str]:
    segments = paid_claim(pcn)
    segments[0] = f"CLP*{pcn}*1*{clp03}*150.00*10.00*12*ICN-{pcn}*11*1"
    segments[1] = f"NM1*QC*1*{person.last_name.upper()}*{person.first_name.upper()}****MI*{person.member_id}"
    return segments


def _quote(person: Person) -> str:
    """Payer free text quoting the patient, as STC12 does (no X12 separators in it)."""
    d = person.dob
    return (
        f"PATIENT {person.last_name.upper()}, {person.first_name.upper()} MEMBER {person.member_id} "
        f"DOB {d:%m/%d/%Y} ALSO {d:%Y%m%d} - MEDICAL RECORDS REQUESTED"
    )


def _status_claim(hl: int, pcn: str, person: Person, stc: str = "R4:254*20240310") -> list[str]:
    segments = status_claim(hl, pcn, stc, message=_quote(person))
    segments[1] = f"NM1*IL*1*{person.last_name.upper()}*{person.first_name.upper()}****MI*{person.member_id}"
    return segments


@dataclass
class Cast:
    """The claims each path asks about, and whose patients they are."""

    layout: SandboxClaim
    maintenance: SandboxClaim
    errors: SandboxClaim
    rate_limit: list[SandboxClaim]
    mid_run: list[SandboxClaim]
    password: SandboxClaim
    api_down: SandboxClaim
    api_key: SandboxClaim
    not_found: SandboxClaim
    money_sabotage: SandboxClaim
    words_sabotage: SandboxClaim
    eligibility_layout: SandboxClaim
    eligibility_api: SandboxClaim
    eligibility_fetch_failed: SandboxClaim
    eligibility_maintenance: SandboxClaim
    era_paid: SandboxClaim
    era_bad_amount: SandboxClaim
    era_structural: SandboxClaim
    era_indented: SandboxClaim
    era_truncated: SandboxClaim
    status_matched: SandboxClaim
    status_rejected: SandboxClaim
    resubmit_denied: SandboxClaim
    resubmit_paid: SandboxClaim

    def all(self) -> list[SandboxClaim]:
        picked: list[SandboxClaim] = []
        for value in vars(self).values():
            picked += value if isinstance(value, list) else [value]
        return picked

    def shown(self) -> list[SandboxClaim]:
        """The claims `claims show` prints at the end: all but the middle of the long run."""
        middle = {c.claim_id for c in self.mid_run[1:-1]}
        return [c for c in self.all() if c.claim_id not in middle]


def _cast() -> Cast:
    """Distinct patients per path (so a leak names its path), first names long enough to scan."""
    seen: set[str] = set()

    def pool(payer: str, answered: bool = True) -> Iterator[SandboxClaim]:
        for claim in load_world().claims:
            if claim.payer_id != payer or (claim.payer is not None) is not answered:
                continue
            if len(claim.patient.first_name) < 3 or claim.patient.member_id in seen:
                continue
            seen.add(claim.patient.member_id)
            yield claim

    sunrise, meridian = pool("SUNRISE"), pool("MERIDIAN")

    def keystone(outcome: Outcome) -> SandboxClaim:
        """A small KEYSTONE claim of this outcome (below the team's approval threshold)."""
        return next(
            c for c in pool("KEYSTONE") if c.payer is not None and c.payer.outcome == outcome and c.billed_amount <= 500
        )

    return Cast(
        layout=next(sunrise),
        maintenance=next(sunrise),
        errors=next(sunrise),
        rate_limit=[next(sunrise), next(sunrise)],
        mid_run=[next(sunrise) for _ in range(12)],  # three batches of 4
        password=next(sunrise),
        api_down=next(sunrise),
        api_key=next(sunrise),
        not_found=next(pool("SUNRISE", answered=False)),
        money_sabotage=next(sunrise),
        words_sabotage=next(sunrise),
        eligibility_layout=next(meridian),
        eligibility_api=next(meridian),
        eligibility_fetch_failed=next(meridian),
        eligibility_maintenance=next(sunrise),
        era_paid=next(sunrise),
        era_bad_amount=next(sunrise),
        era_structural=next(sunrise),
        era_indented=next(sunrise),
        era_truncated=next(sunrise),
        status_matched=next(sunrise),
        status_rejected=next(sunrise),
        resubmit_denied=keystone(Outcome.DENIED),
        resubmit_paid=keystone(Outcome.PAID),
    )


# --- the test ------------------------------------------------------------------------------------


def test_no_error_path_shows_a_patients_values(sandbox: SandboxEndpoints, chromium_path: str, tmp_path: Path) -> None:
    reset_all(sandbox)
    cast = _cast()
    people = [*(person_of(c) for c in cast.all()), STRANGER, UNKNOWN_MEMBER]
    data_dir = tmp_path / "data"
    fast = _playbooks_copy(tmp_path / "playbooks")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMBOT_") or k == "CLAIMBOT_CHROMIUM"}
    env.update(
        {
            "CLAIMBOT_DATA_DIR": str(data_dir),
            "CLAIMBOT_LOG_FORMAT": "json",
            "CLAIMBOT_LOG_LEVEL": "DEBUG",
            "CLAIMBOT_PLAYBOOKS_DIR": str(fast),
            "COLUMNS": "1000",  # tables wide enough that no value is wrapped out of the scan's sight
            **_portal_env(sandbox),
        }
    )
    s = Session(data_dir, env)
    s.run("db", "upgrade")
    s.run("claims", "import", str(sample_claims_csv()))

    # --- claimbot check: SUNRISE redesigned (layout v2): the payer stops, with evidence
    _faults(sandbox, ServerName.SUNRISE, layout_version=2)
    s.run("check", cast.layout.claim_id, cast.maintenance.claim_id, expect=6)
    [attempt] = s.history(cast.layout.claim_id)
    assert _kinds([attempt]) == ["layout_changed"] and attempt["evidence_ref"]
    assert list((data_dir / "evidence").glob(f"{attempt['evidence_ref']}*"))
    reset_all(sandbox)

    # maintenance page: retried, then the payer could not be asked
    _faults(sandbox, ServerName.SUNRISE, maintenance=True)
    stopped = s.run("check", cast.maintenance.claim_id, "--json", expect=6)
    assert "maintenance" in stopped.stderr
    assert _kinds(s.history(cast.maintenance.claim_id))[-1] == "portal_unavailable"
    reset_all(sandbox)

    # every request a 503
    _faults(sandbox, ServerName.SUNRISE, error_rate=1.0, error_status=503)
    s.run("check", cast.errors.claim_id, "--json", expect=6)
    assert _kinds(s.history(cast.errors.claim_id)) == ["portal_unavailable"]
    reset_all(sandbox)

    # rate limited: 3 signed-in requests per account in a window far longer than the run, so the 429
    # comes however slowly a loaded machine makes them (the portal's page sends no Retry-After the
    # engine waits out: the retries stay quick)
    _faults(sandbox, ServerName.SUNRISE, rate_limit_requests=3, rate_limit_window_s=600)
    limited = s.run("check", *(c.claim_id for c in cast.rate_limit), "--json", expect=None)
    assert limited.code in (0, 6), limited.stderr[-2000:]
    with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
        assert admin.counters().rate_limit_hits > 0
    assert "rate_limited" in [k for c in cast.rate_limit for k in _kinds(s.history(c.claim_id))]
    reset_all(sandbox)

    # sessions killed, then the second factor asked again, in the middle of a run
    _faults(sandbox, ServerName.SUNRISE, latency_ms=120)
    ids = [c.claim_id for c in cast.mid_run]
    with SandboxAdmin(sandbox[ServerName.SUNRISE]) as admin:
        out_file, err_file = tmp_path / "mid.out", tmp_path / "mid.err"
        with out_file.open("w") as out, err_file.open("w") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "claimbot", "check", *ids, "--json"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
            try:
                deadline = time.monotonic() + 60
                before = s.live_checks()
                while s.live_checks() < before + 4:  # the first batch is in
                    assert process.poll() is None and time.monotonic() < deadline, err_file.read_text()[-2000:]
                    time.sleep(0.05)
                logins = admin.counters().logins
                admin.set_faults(kill_sessions=True)
                while s.live_checks() < before + 8:  # the second
                    assert process.poll() is None and time.monotonic() < deadline, err_file.read_text()[-2000:]
                    time.sleep(0.05)
                mfa_before = sum(r.path.startswith("/mfa") for r in admin.requests())
                admin.set_faults(mfa_again=True)
                process.wait(90)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(10)
        s.runs.append(Run(["check", *ids, "--json"], process.returncode, out_file.read_text(), err_file.read_text()))
        assert process.returncode == 0, err_file.read_text()[-3000:]
        assert admin.counters().logins > logins  # signed in again after the kill
        mfa_after = sum(r.path.startswith("/mfa") for r in admin.requests())
        assert mfa_after > mfa_before  # the second factor passed again
    answers = s.runs[-1].json()
    assert [a["claim_id"] for a in answers] == ids and all("status" in a for a in answers), answers
    assert s.live_checks() >= before + len(ids)
    reset_all(sandbox)

    # a wrong password: the payer is suspended until a person resumes it
    refused = s.run(
        "check", cast.password.claim_id, extra_env={"CLAIMBOT_PORTAL_SUNRISE_PASSWORD": "not-the-password"}, expect=6
    )
    payers = s.run("payers", "list", "--json").json()
    sunrise = next(p for p in payers if p["id"] == "SUNRISE")
    assert sunrise["suspended"] and sunrise["hold"]["kind"] == "auth_failed", refused.stderr
    s.run("payers", "list")
    held = s.run("check", cast.password.claim_id, expect=6)
    assert "payers resume SUNRISE" in held.stderr
    s.run("payers", "resume", "SUNRISE")
    assert _kinds(s.history(cast.password.claim_id))[0] == "auth_failed"
    reset_all(sandbox)

    # the clearinghouse: the payer down (277 STC E1), then a wrong API key (stops and holds the payer)
    _faults(sandbox, ServerName.CLEARINGHOUSE, payers_down=["SUNRISE"])
    [down] = s.run("check", cast.api_down.claim_id, "--via", "api", "--json").json()
    assert down["kind"] == "portal_unavailable", down
    assert _kinds(s.history(cast.api_down.claim_id)) == ["portal_unavailable"]
    reset_all(sandbox)
    bad_key = {"CLAIMBOT_CLEARINGHOUSE_API_KEY": "not-the-key-0000"}
    s.run("check", cast.api_key.claim_id, "--via", "api", extra_env=bad_key, expect=6)
    assert _kinds(s.history(cast.api_key.claim_id)) == ["auth_failed"]
    s.run("payers", "list")
    s.run("payers", "resume", "SUNRISE", "--json")

    # a claim the payer never received
    [missing] = s.run("check", cast.not_found.claim_id, "--json").json()
    assert missing["status"] == "not_found", missing

    # A CLI run leaves its portal sessions open and SUNRISE allows 4 per account: the runs below
    # start on a clean sandbox each (reset_all), so no sign-in is refused for too many sessions.

    # a sabotaged playbook: the paid amount read from the member id (does not read as money) ...
    money = _playbooks_copy(
        tmp_path / "playbooks-money",
        {'paid_amount: {selector: "#paid-amount"': 'paid_amount: {selector: "#member-id"'},
    )
    money_env = {"CLAIMBOT_PLAYBOOKS_DIR": str(money)}
    reset_all(sandbox)
    s.run("check", cast.money_sabotage.claim_id, "--json", extra_env=money_env, expect=None)
    kinds = _kinds(s.history(cast.money_sabotage.claim_id))
    assert kinds and kinds[-1] in {"layout_changed", "playbook_broken"}, kinds
    reset_all(sandbox)
    tried = s.run(
        "playbook", "try", "SUNRISE", "--claim", cast.money_sabotage.claim_id, extra_env=money_env, expect=None
    )
    assert tried.code == 6 or "failed" in tried.stdout, tried.stdout + tried.stderr[-2000:]
    s.run("payers", "resume", "SUNRISE")

    # ... and the payer's words read from the patient's name: masked before stored or printed
    words = _playbooks_copy(
        tmp_path / "playbooks-words",
        {'status_text: {selector: "#claim-status .status-text"}': 'status_text: {selector: "#patient-name"}'},
    )
    words_env = {"CLAIMBOT_PLAYBOOKS_DIR": str(words)}
    reset_all(sandbox)
    [read] = s.run("check", cast.words_sabotage.claim_id, "--json", extra_env=words_env).json()
    assert "status" in read and "[PHI]" in (read["payer_status_text"] or ""), read
    reset_all(sandbox)
    s.run("check", cast.words_sabotage.claim_id, extra_env=words_env)
    reset_all(sandbox)
    s.run("playbook", "try", "SUNRISE", "--claim", cast.words_sabotage.claim_id, extra_env=words_env)

    # playbook try on the redesigned portal
    reset_all(sandbox)
    _faults(sandbox, ServerName.SUNRISE, layout_version=2)
    s.run("playbook", "try", "SUNRISE", "--claim", cast.layout.claim_id, expect=6)
    reset_all(sandbox)

    # --- claimbot eligibility check
    def eligibility(claim: SandboxClaim | Person, *more: str, expect: int | None = 0) -> Run:
        person = claim if isinstance(claim, Person) else person_of(claim)
        payer = "MERIDIAN" if isinstance(claim, Person) else claim.payer_id
        args = ["eligibility", "check", "--payer", payer, "--member", person.member_id, "--dob", person.dob.isoformat()]
        return s.run(*args, "--date", load_world().reference_date.isoformat(), *more, expect=expect)

    _faults(sandbox, ServerName.MERIDIAN, layout_version=2)  # a single-page app: member + DOB in its JSON URL
    redesigned = eligibility(cast.eligibility_layout, expect=6)
    assert "layout" in redesigned.stderr or "not what it describes" in redesigned.stderr, redesigned.stderr[-2000:]
    reset_all(sandbox)
    eligibility(UNKNOWN_MEMBER, expect=4)  # no names given: the ledger does not know the member
    unknown = eligibility(
        UNKNOWN_MEMBER, "--last-name", UNKNOWN_MEMBER.last_name, "--first-name", UNKNOWN_MEMBER.first_name, "--json"
    )
    assert unknown.json()["found"] is False, unknown.stdout
    with SandboxAdmin(sandbox[ServerName.MERIDIAN]) as admin:
        served = admin.requests()
    before_fetch = next(i for i, r in enumerate(served) if r.path == "/api/eligibility")
    eligibility(UNKNOWN_MEMBER, "--last-name", UNKNOWN_MEMBER.last_name, "--first-name", UNKNOWN_MEMBER.first_name)

    # the JSON look-up itself failing (503) once signed in: its URL holds the member id and DOB
    # (MERIDIAN rate-limits only signed-in requests, and the look-up is the first: no 429 for it)
    reset_all(sandbox)
    seed = _seed_failing_request(before_fetch + 1, rate=0.5)
    _faults(sandbox, ServerName.MERIDIAN, error_rate=0.5, error_status=503, seed=seed)
    eligibility(cast.eligibility_fetch_failed, expect=6)
    assert _fetch_statuses(sandbox)[:1] == [503]
    _faults(sandbox, ServerName.CLEARINGHOUSE, payers_down=["MERIDIAN"])  # 271 AAA 42
    eligibility(cast.eligibility_api, "--via", "api", "--json", expect=6)
    reset_all(sandbox)
    _faults(sandbox, ServerName.SUNRISE, maintenance=True)
    in_maintenance = eligibility(cast.eligibility_maintenance, expect=6)
    assert "maintenance" in in_maintenance.stderr, in_maintenance.stderr[-2000:]
    reset_all(sandbox)

    # --- claimbot edi import / show: crafted files holding PHI
    edi = tmp_path / "edi"
    edi.mkdir()
    files = {
        # a paid claim (recorded), a claim the ledger lacks (unmatched), CLP03 holding the last name (refused)
        "era-bad-amount.835": interchange(
            [
                remittance(
                    [
                        _era_claim(cast.era_paid.claim_id, person_of(cast.era_paid)),
                        _era_claim("ZZ-NOT-IN-LEDGER", STRANGER),
                        _era_claim(
                            cast.era_bad_amount.claim_id,
                            person_of(cast.era_bad_amount),
                            clp03=cast.era_bad_amount.patient.last_name.upper(),
                        ),
                    ]
                )
            ]
        ),
        # a claim whose service line has no procedure and does not add up
        "era-structural.835": interchange(
            [
                remittance(
                    [
                        [
                            *_era_claim(cast.era_structural.claim_id, person_of(cast.era_structural))[:3],
                            "SVC**120.00*95.00**1",
                            "DTM*472*20240301",
                            "CAS*CO*45*30.00",
                        ]
                    ],
                    payment="150.00",
                    control="0002",
                )
            ],
            control="000000002",
        ),
        "era-indented.835": "\n".join(
            "    " + line
            for line in interchange(
                [
                    remittance(
                        [
                            _era_claim(
                                cast.era_indented.claim_id,
                                person_of(cast.era_indented),
                                clp03=cast.era_indented.patient.first_name.upper(),
                            )
                        ],
                        control="0003",
                    )
                ],
                control="000000003",
                layout=Layout(line_break="\n"),
            ).splitlines()
        )
        + "\n",
        "era-truncated.835": interchange(
            [remittance([_era_claim(cast.era_truncated.claim_id, person_of(cast.era_truncated))], control="0004")],
            control="000000004",
        ).split("DTM*232")[0],
        # STC12 quoting the patient's name, member id and birth date: a matched claim, an unknown one,
        # and a claim refused for a bad date
        "status-free-text.277": interchange(
            [
                claim_status(
                    [
                        _status_claim(4, cast.status_matched.claim_id, person_of(cast.status_matched)),
                        _status_claim(5, "ZZ-UNKNOWN-277", STRANGER),
                        _status_claim(
                            6,
                            cast.status_rejected.claim_id,
                            person_of(cast.status_rejected),
                            stc="P3:21*20241399",  # not a date: the claim is refused
                        ),
                    ],
                    control="0005",
                )
            ],
            functional_id="HN",
            version="005010X212",
            control="000000005",
        ),
    }
    for name, text in files.items():
        (edi / name).write_text(text)
    s.run_many(*(["edi", "show", str(edi / name), *more] for name in files for more in ([], ["--json"])))
    imported: dict[str, Run] = {}
    for name in files:
        imported[name] = s.run("edi", "import", str(edi / name), "--json", expect=None)
        s.run("edi", "import", str(edi / name), "--force", expect=None)  # read again, printed for people
    for name in ("era-bad-amount.835", "era-structural.835", "era-truncated.835", "status-free-text.277"):
        assert imported[name].code == 3, f"{name}: {imported[name].stdout[-2000:]}{imported[name].stderr[-2000:]}"
    assert imported["era-bad-amount.835"].json()["unmatched"] >= 1
    assert s.history(cast.era_paid.claim_id)[-1]["source"] == "edi"
    assert not s.history(cast.era_bad_amount.claim_id)
    assert [h["status"] for h in s.history(cast.status_matched.claim_id)] == ["info_requested"]

    # --- denials, resubmission and the Slack alerts: KEYSTONE on the clearinghouse route for the resubmission
    config = tmp_path / "config"
    config.mkdir()
    for name in ("team.yaml", "escalations.yaml"):
        shutil.copyfile(REPO / "config" / name, config / name)
    payers_text = (REPO / "config" / "payers.yaml").read_text("utf-8")
    start = payers_text.index("  - id: KEYSTONE")
    (config / "payers.yaml").write_text(
        payers_text[:start] + payers_text[start:].replace("route: portal", "route: api", 1)
    )
    api_route = {"CLAIMBOT_CONFIG_DIR": str(config), "CLAIMBOT_CLEARINGHOUSE_ACK_POLL_FIRST_S": "0.05"}
    denied, paid = cast.resubmit_denied, cast.resubmit_paid
    s.run("check", denied.claim_id, paid.claim_id, "--via", "api")
    assert [h["status"] for h in s.history(denied.claim_id)] == ["denied"]
    change = f"lines.{next(n for n, line in enumerate(denied.lines, 1) if line.paid == 0)}.modifiers=25,59"
    dry = s.run("resubmit", denied.claim_id, "--set", change, "--dry-run", extra_env=api_route)
    dry.stdout_private = True  # the 837P names the patient by nature: on stdout only, never in a log or the ledger
    assert dry.stdout.startswith("ISA*") and denied.patient.last_name.upper() in dry.stdout.upper()
    assert "nothing was sent" in dry.stdout
    refused = s.run("resubmit", paid.claim_id, "--set", "lines.1.units=2", extra_env=api_route, expect=3)
    assert "paid in full" in refused.stdout
    s.run("resubmit", denied.claim_id, "--set", "lines.1.colour=blue", extra_env=api_route, expect=3)
    sent = s.run("resubmit", denied.claim_id, "--set", change, "--reason", "modifier 59", "--json", extra_env=api_route)
    assert sent.json()["state"] == "sent" and "x12" not in sent.json()
    with FakeSlack() as fake_slack:
        slack_env = {
            "SLACK_BOT_TOKEN": "xoxb-phi-scan",
            "SLACK_ALERT_CHANNEL": "C0ALERTS",
            "SLACK_API_URL": fake_slack.api_url,
        }
        dispatched = s.run("slack", "dispatch", "--json", extra_env=slack_env)
        assert dispatched.json()["alerts"] >= 1 and fake_slack.calls_to("chat.postMessage")
        slack_text = fake_slack.all_text()

    # --- what a specialist reads afterwards
    reports = [["report", kind] for kind in ("aging", "denials", "runs", "payers")]
    reports += [["report", "aging", "--json"], ["report", "denials", "--json"]]
    asked = [["ask", question] for question in (f"status of claim {denied.claim_id}", "denials KEYSTONE week")]
    shown = s.run_many(
        ["denials", "list"],
        ["denials", "list", "--json"],
        ["submissions", "list"],
        ["submissions", "list", "--json"],
        ["resubmit", "C999999", "--set", "lines.1.units=2"],
        *reports,
        *asked,
        *(["claims", "show", c.claim_id, *more] for c in cast.shown() for more in ([], ["--json"])),
        ["claims", "list"],
        ["claims", "list", "--json"],
        ["payers", "list"],
        ["payers", "list", "--json"],
        ["edi", "unmatched"],
        ["edi", "unmatched", "--json"],
    )
    failed = [(run.args, run.stderr[-500:]) for run in shown if run.code and run.args[0] != "resubmit"]
    assert not failed, failed
    assert next(run for run in shown if run.args[0] == "resubmit").code == 4  # not in the ledger
    assert next(run for run in shown if run.args == ["denials", "list", "--json"]).json()["denials"]
    assert denied.claim_id in next(run for run in shown if run.args[0] == "ask").stdout

    # --- the scan
    leaks: list[Leak] = []
    for run in s.runs:
        printed = run.stderr if run.stdout_private else run.stdout + "\n" + run.stderr
        leaks += find_phi(f"output of `claimbot {' '.join(run.args)}`", printed, people)
    leaks += find_phi("what Slack received from `claimbot slack dispatch`", slack_text, people)
    leaks += _scan_ledger(data_dir, people)
    for path in sorted(data_dir.rglob("*")):
        leaks += find_phi(f"file name {path.relative_to(data_dir)}", path.name, people)
    assert not leaks, f"{len(leaks)} PHI value(s) shown:\n" + "\n".join(str(leak) for leak in _dedupe(leaks))


def _dedupe(leaks: list[Leak]) -> list[Leak]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for leak in leaks:
        if (leak.where, leak.value) not in seen:
            seen.add((leak.where, leak.value))
            kept.append(leak)
    return kept


def _scan_ledger(data_dir: Path, people: list[Person]) -> list[Leak]:
    """Every String/Text/JSON column of every table but `patients`, every row. `patients` (the one
    place PHI belongs) is scanned too, as a control: the scan must find the imported patients there."""
    leaks: list[Leak] = []
    engine = sa.create_engine(f"sqlite:///{data_dir / 'ledger.sqlite3'}")
    try:
        tables = set(sa.inspect(engine).get_table_names())
        assert {t.name for t in metadata.sorted_tables} <= tables
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                if table.name == "patients":
                    held = "\n".join(
                        f"{r.last_name} {r.first_name} {r.member_id} {r.date_of_birth:%m/%d/%Y}"
                        for r in conn.execute(sa.select(table))
                    )
                    imported = [p for p in people if p not in (STRANGER,)]
                    found = {leak.value for leak in find_phi("patients", held, imported)}
                    assert {p.last_name for p in imported} | {p.member_id for p in imported} <= found
                    continue
                columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text | sa.JSON)]
                if not columns:
                    continue
                for row in conn.execute(sa.select(table.c.id, *columns)):
                    for column in columns:
                        value = row._mapping[column.name]
                        if value is None:
                            continue
                        text = value if isinstance(value, str) else json.dumps(value)
                        leaks += find_phi(f"ledger {table.name}.{column.name} (id {row.id})", text, people)
    finally:
        engine.dispose()
    return leaks
