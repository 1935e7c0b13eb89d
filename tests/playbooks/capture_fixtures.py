"""Saved portal pages next to each playbook: which pages, under which names, and how to capture them.

    uv run python tests/playbooks/capture_fixtures.py

Run as a script, this starts the sandbox, signs in to each portal over plain HTTP and writes, into
`playbooks/<payer>/fixtures/`, the pages the payer's playbook reads: one claim detail per outcome,
a claim search that finds nothing, eligibility for an active and an inactive member, the denied
claim's detail in the redesigned layout (`layout_version=2`), and the sign-in page that refuses a
session because the account already has as many as the portal allows (MERIDIAN's is the page its
app renders, so that one is captured in headless Chromium). The claims are the first of each
outcome in the sandbox world, and volatile bits (CSRF tokens, session ids) are scrubbed, so a
re-capture writes the same bytes; a diff after re-capturing means a portal (or the dataset) changed.

Imported, it reads the saved pages back for the parser tests in `tests/playbooks/<payer>/`: the file
names carry what each page is about (outcome, claim id, or the member's position: never a member
id, which is PHI), so the pages describe
themselves and the tests compare what the playbook reads with the sandbox world.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from selectolax.lexbor import LexborHTMLParser

from claims.models import Benefit
from portal_adapters.contract import ClaimStatusResult
from portal_adapters.parsing import ClaimReading, ExtractedPage, extract_html, extract_json, read_eligibility
from portal_adapters.playbook import Playbook, load_playbook
from portal_adapters.playbook.schema import EligibilityTask, Extraction, Recognizer
from sandbox.accounts import ACCOUNTS, PORTAL_PAYER, PORTALS, ServerName
from sandbox.codes import Outcome
from sandbox.dataset import load_world
from sandbox.faults import FaultSpec
from sandbox.models import Eligibility, Patient, SandboxClaim, SandboxWorld
from sandbox.servers import SandboxEndpoints, run_sandbox
from sandbox.testing import CHROMIUM_ARGS, CHROMIUM_PATH, SandboxAdmin, sign_in_over_http, submit_password

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "playbooks"
RECAPTURE = "uv run python tests/playbooks/capture_fixtures.py"
#: One saved claim detail page per outcome the payer can hold (in this order in the README).
CLAIM_OUTCOMES = (
    Outcome.PAID,
    Outcome.PARTIALLY_PAID,
    Outcome.DENIED,
    Outcome.PENDING,
    Outcome.INFO_REQUESTED,
    Outcome.REJECTED,
)
#: The outcome whose detail page is also saved in the redesigned layout (it has the most to read).
REDESIGNED_OUTCOME = Outcome.DENIED
REDESIGN_SUFFIX = "-layout2"
SCRUBBED = "SCRUBBED"
_NAME = re.compile(
    r"^(?P<kind>claim|search|eligibility)-(?P<label>[a-z-]+)-(?P<subject>[A-Z0-9]+|member[0-9]+)"
    rf"(?P<redesign>{re.escape(REDESIGN_SUFFIX)})?\.(?P<ext>html|json)$"
)
#: Sign-in pages: what the portal shows instead of signing in (no subject: they are about no claim).
_SIGNIN_NAME = re.compile(r"^signin-(?P<label>[a-z-]+)\.html$")
#: The sign-in refusals saved per payer (the label is the outcome group that must recognise the page).
SIGNIN_REFUSALS = ("too-many-sessions",)
_CSRF = re.compile(r'(name="csrf_token" value=")[^"]*(")')


# --- naming and reading saved pages back (the parser tests use this part) ------------------------
def fixtures_dir(payer: str) -> Path:
    return PLAYBOOKS / payer.lower() / "fixtures"


def extension(payer: str) -> str:
    """MERIDIAN's playbook reads its JSON API; the other two read HTML."""
    return "json" if payer == "MERIDIAN" else "html"


def dashed(outcome: Outcome) -> str:
    return outcome.value.replace("_", "-")


@dataclass(frozen=True)
class SavedPage:
    """One saved page, as its file name describes it."""

    path: Path
    kind: str  # "claim", "search" (a search that found nothing), "eligibility" or "signin"
    label: str  # the claim's outcome, "no-results", "active" / "inactive", or the sign-in refusal
    subject: str  # a claim id, or a member id for eligibility pages ("" for sign-in pages)
    layout_version: int

    @property
    def outcome(self) -> Outcome:
        return Outcome(self.label.replace("-", "_"))

    def text(self) -> str:
        return self.path.read_text("utf-8")

    def extract(self, spec: Extraction) -> ExtractedPage:
        """What the playbook's extraction spec reads from this page (HTML or JSON, as the spec says)."""
        if spec.source == "json":
            return extract_json(json.loads(self.text()), spec)
        return extract_html(self.text(), spec)


def _member_id(payer: str, subject: str) -> str:
    """`member3` in a file name -> the member id of the payer's fourth member in the world."""
    members = list(_members(payer, load_world()))
    index = int(subject.removeprefix("member"))
    return members[index] if index < len(members) else subject


def saved_pages(payer: str) -> list[SavedPage]:
    """Every saved page of a payer, sorted by file name; files named otherwise are not pages."""
    folder = fixtures_dir(payer)
    pages = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        signin = _SIGNIN_NAME.match(path.name)
        if signin is not None:
            pages.append(SavedPage(path=path, kind="signin", label=signin["label"], subject="", layout_version=1))
            continue
        found = _NAME.match(path.name)
        if found is None:
            continue
        pages.append(
            SavedPage(
                path=path,
                kind=found["kind"],
                label=found["label"],
                subject=_member_id(payer, found["subject"]) if found["kind"] == "eligibility" else found["subject"],
                layout_version=2 if found["redesign"] else 1,
            )
        )
    return pages


@dataclass(frozen=True)
class PayerPages:
    """A payer's saved pages, grouped the way its parser tests take them (test ids are file names)."""

    payer: str
    pages: tuple[SavedPage, ...]

    def of_kind(self, kind: str, layout_version: int = 1) -> list[SavedPage]:
        return [p for p in self.pages if p.kind == kind and p.layout_version == layout_version]

    @property
    def claims(self) -> list[SavedPage]:
        return self.of_kind("claim")

    @property
    def eligibility(self) -> list[SavedPage]:
        return self.of_kind("eligibility")

    @property
    def no_results(self) -> list[SavedPage]:
        return self.of_kind("search")

    @property
    def redesigned(self) -> list[SavedPage]:
        return self.of_kind("claim", layout_version=2)

    @property
    def sign_in_refusals(self) -> list[SavedPage]:
        return self.of_kind("signin")

    def playbook(self) -> Playbook:
        return load_playbook(fixtures_dir(self.payer).parent / "playbook.yaml")

    @staticmethod
    def page_id(page: SavedPage) -> str:
        return page.path.name


def pages_of(payer: str) -> PayerPages:
    return PayerPages(payer, tuple(saved_pages(payer)))


def expected_page_names(payer: str, world: SandboxWorld | None = None) -> list[str]:
    """The file names a complete capture writes for a payer, from the world as it is now."""
    return [name for name, _ in _plan(payer, world or load_world())]


def catalogue_problems(payer: str, world: SandboxWorld | None = None) -> list[str]:
    """What is wrong with a payer's saved pages: missing or unexpected files, subjects not in the world.

    The expected names come from the world as it is now, so a regenerated dataset shows up here
    (re-capture) instead of as puzzling parser failures.
    """
    world = world or load_world()
    folder = fixtures_dir(payer)
    pages = saved_pages(payer)
    present = {page.path.name for page in pages}
    expected = expected_page_names(payer, world)
    problems = [f"{folder}: missing {name} (re-capture: {RECAPTURE})" for name in expected if name not in present]
    problems += [f"{folder}: unexpected {name}" for name in sorted(present - set(expected))]
    if not (folder / "README.md").is_file():
        problems.append(f"{folder}: missing README.md")
    members = {e.member_id: e for e in world.eligibility if e.payer_id == payer}
    for page in pages:
        where = f"{folder.name}/{page.path.name}"
        if page.kind == "signin":
            continue  # about no claim or member
        if page.kind == "eligibility":
            truth = members.get(page.subject)
            if truth is None:
                problems.append(f"{where}: {payer} has no member {page.subject}")
            elif truth.is_active_on(world.reference_date) != (page.label == "active"):
                problems.append(f"{where}: member {page.subject} is not {page.label} in the world")
            continue
        claim = world.claims_by_id.get(page.subject)
        if claim is None or claim.payer_id != payer:
            problems.append(f"{where}: {payer} has no claim {page.subject} in the world")
        elif page.kind == "search" and claim.payer is not None:
            problems.append(f"{where}: the payer did receive {page.subject}; a search for it finds it")
        elif page.kind == "claim" and (claim.payer is None or claim.payer.outcome != page.outcome):
            problems.append(f"{where}: claim {page.subject} is not {page.label} in the world")
    return problems


def recognised(html: str, recognizers: list[Recognizer], frame: str | None = None) -> list[Recognizer]:
    """The outcome recognisers (of `frame`) a saved HTML page satisfies, judged as the engine judges:
    the selector is on the page and the text, if any, is in its source (case-insensitive). Recognisers
    that need a live answer (an HTTP status, a URL) cannot match a saved page."""
    tree = LexborHTMLParser(html)
    return [
        r
        for r in recognizers
        if r.frame == frame
        and r.http_status is None
        and r.url_contains is None
        and (r.selector is None or tree.css_first(r.selector) is not None)
        and (r.text is None or r.text.lower() in html.lower())
    ]


def claim_facts(claim: SandboxClaim) -> dict[str, Any]:
    """What a claim page must read as, from the payer's record (the status is compared on its own)."""
    record = claim.payer
    assert record is not None, f"{claim.claim_id}: the payer never received it, so it has no claim page"
    payment = record.payment
    return {
        "billed_amount": claim.billed_amount,
        "allowed_amount": record.allowed,
        "paid_amount": record.paid,
        "patient_responsibility": record.patient_responsibility,
        "payer_claim_number": record.payer_claim_number,
        "check_number": payment.trace_number if payment else None,
        "payment_date": payment.payment_date if payment else None,
        "adjustments": [
            (line.line_number, adj.group, adj.carc, adj.rarc, adj.amount)
            for line in claim.lines
            for adj in line.adjustments
        ],
    }


def facts_read(reading: ClaimReading | ClaimStatusResult) -> dict[str, Any]:
    """The same facts as `claim_facts`, from what a playbook read off a page (or the engine answered)."""
    return {
        "billed_amount": reading.billed_amount,
        "allowed_amount": reading.allowed_amount,
        "paid_amount": reading.paid_amount,
        "patient_responsibility": reading.patient_responsibility,
        "payer_claim_number": reading.payer_claim_number,
        "check_number": reading.check_number,
        "payment_date": reading.payment_date,
        "adjustments": [
            (d.line_number, d.group.value, d.carc, "".join(d.rarcs) or None, d.amount) for d in reading.denials
        ],
    }


def expected_benefits(truth: Eligibility) -> list[Benefit]:
    """Benefits, by kind, as an eligibility page must read them (no out-of-pocket line without a maximum)."""
    benefits = [
        Benefit(kind="coinsurance", percent=Decimal(truth.coinsurance_percent)),
        Benefit(kind="copay", amount=truth.copay),
        Benefit(kind="deductible", amount=truth.deductible, remaining=truth.deductible_remaining),
    ]
    if truth.out_of_pocket_max is not None:
        benefits.append(
            Benefit(kind="out_of_pocket", amount=truth.out_of_pocket_max, remaining=truth.out_of_pocket_remaining)
        )
    return benefits


def coverage_facts(active: bool, plan_name: str | None, benefits: Iterable[Benefit]) -> dict[str, Any]:
    """Coverage as comparable facts, benefits sorted by kind (pages list them in their own order)."""
    return {"active": active, "plan_name": plan_name, "benefits": sorted(benefits, key=lambda b: b.kind)}


def coverage_read(page: SavedPage, task: EligibilityTask) -> dict[str, Any]:
    """What a playbook's eligibility task reads off a saved page, as `coverage_facts`."""
    reading = read_eligibility(page.extract(task.extract), task)
    return coverage_facts(reading.active, reading.plan_name, reading.benefits)


def coverage_truth(member_id: str, shown_plan_name: Callable[[str], str] = str) -> dict[str, Any]:
    """A member's coverage on the reference date, as `coverage_facts` (with the plan as the portal prints it)."""
    world = load_world()
    truth = world.eligibility_by_member[member_id]
    return coverage_facts(
        truth.is_active_on(world.reference_date), shown_plan_name(truth.plan_name), expected_benefits(truth)
    )


# --- what to capture ----------------------------------------------------------------------------
def _first(claims: list[SandboxClaim], wanted: Callable[[SandboxClaim], bool], what: str) -> SandboxClaim:
    found = next((c for c in claims if wanted(c)), None)
    if found is None:
        raise LookupError(f"the sandbox world has no {what} claim for {claims[0].payer_id}")
    return found


def _outcome_is(outcome: Outcome) -> Callable[[SandboxClaim], bool]:
    def wanted(claim: SandboxClaim) -> bool:
        if claim.payer is None or claim.payer.outcome != outcome:
            return False
        # the denied page must show a remark code (RARC) too, so that column is read as well
        return outcome != Outcome.DENIED or any(a.rarc for a in claim.adjustments)

    return wanted


def _members(payer: str, world: SandboxWorld) -> dict[str, tuple[Patient, Eligibility]]:
    patients = {p.member_id: p for p in world.patients}
    return {e.member_id: (patients[e.member_id], e) for e in world.eligibility if e.payer_id == payer}


@dataclass(frozen=True)
class _ClaimPage:
    claim: SandboxClaim
    layout_version: int = 1


@dataclass(frozen=True)
class _NoResults:
    claim: SandboxClaim


@dataclass(frozen=True)
class _EligibilityPage:
    patient: Patient
    truth: Eligibility


@dataclass(frozen=True)
class _SignInRefusal:
    label: str  # one of SIGNIN_REFUSALS


_Target = _ClaimPage | _NoResults | _EligibilityPage | _SignInRefusal


def _plan(payer: str, world: SandboxWorld) -> list[tuple[str, _Target]]:
    """(file name, what to fetch) for every saved page of a payer; the same world gives the same plan."""
    ext = extension(payer)
    claims = [c for c in world.claims if c.payer_id == payer]
    plan: list[tuple[str, _Target]] = []
    for outcome in CLAIM_OUTCOMES:
        claim = _first(claims, _outcome_is(outcome), outcome.value)
        plan.append((f"claim-{dashed(outcome)}-{claim.claim_id}.{ext}", _ClaimPage(claim)))
    never = _first(claims, lambda c: c.payer is None, "never received")
    plan.append((f"search-no-results-{never.claim_id}.{ext}", _NoResults(never)))
    members = list(_members(payer, world).values())
    for active, label in ((True, "active"), (False, "inactive")):
        index = next((i for i, m in enumerate(members) if m[1].is_active_on(world.reference_date) is active), None)
        if index is None:
            raise LookupError(f"the sandbox world has no {label} member of {payer}")
        # A member id is PHI even when invented: file names carry the member's position instead.
        plan.append((f"eligibility-{label}-member{index}.{ext}", _EligibilityPage(*members[index])))
    redesigned = _first(claims, _outcome_is(REDESIGNED_OUTCOME), REDESIGNED_OUTCOME.value)
    name = f"claim-{dashed(REDESIGNED_OUTCOME)}-{redesigned.claim_id}{REDESIGN_SUFFIX}.{ext}"
    plan.append((name, _ClaimPage(redesigned, layout_version=2)))
    plan += [(f"signin-{label}.html", _SignInRefusal(label)) for label in SIGNIN_REFUSALS]
    return plan


# --- fetching ----------------------------------------------------------------------------------
class PortalReader:
    """A signed-in plain-HTTP client for one portal, fetching pages the way its playbook gets to them.

    KEYSTONE pages are the documents of its `main` frame, fetched at the frame's own URL.
    """

    def __init__(self, client: httpx.Client, portal: ServerName, reference_date: date) -> None:
        self.client = client
        self.portal = portal
        self.reference_date = reference_date
        self._detail_urls: dict[str, str] = {}

    def get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        response = self.client.get(path, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"{self.portal}: GET {path} {params or ''} answered {response.status_code}")
        return response

    def search(self, claim_id: str) -> httpx.Response:
        if self.portal == ServerName.SUNRISE:
            return self.get("/claims", {"claim_number": claim_id})
        if self.portal == ServerName.MERIDIAN:
            return self.get("/api/claims", {"q": claim_id, "limit": "10"})
        return self.get("/claim_inquiry", {"PATACCT": claim_id})

    def detail_url(self, claim_id: str) -> str:
        """The detail page's URL, from the search results (as a user would follow the link)."""
        if claim_id not in self._detail_urls:
            found = self.search(claim_id)
            if self.portal == ServerName.MERIDIAN:
                url = f"/api/claims/{found.json()['items'][0]['key']}"
            else:
                link = {ServerName.SUNRISE: "#results a.claim-link", ServerName.KEYSTONE: "#ClaimList a.clmlink"}
                node = LexborHTMLParser(found.text).css_first(link[self.portal])
                href = node.attributes.get("href") if node is not None else None
                if not href:
                    raise RuntimeError(f"{self.portal}: no result link for claim {claim_id}")
                url = href
            self._detail_urls[claim_id] = url
        return self._detail_urls[claim_id]

    def eligibility(self, patient: Patient) -> httpx.Response:
        dob, as_of = patient.dob.isoformat(), self.reference_date.isoformat()
        if self.portal == ServerName.SUNRISE:
            return self.get("/eligibility", {"member_id": patient.member_id, "dob": dob, "as_of": as_of})
        if self.portal == ServerName.MERIDIAN:
            return self.get("/api/eligibility", {"member_id": patient.member_id, "dob": dob, "as_of": as_of})
        us = "%m/%d/%Y"
        params = {
            "MBRID": patient.member_id,
            "DOB": patient.dob.strftime(us),
            "ASOFDATE": self.reference_date.strftime(us),
        }
        return self.get("/eligibility_inquiry", params)

    def volatile(self) -> list[str]:
        """Session cookies and the bearer token: never written to a saved page."""
        values = [value for value in self.client.cookies.values() if value]
        token = self.client.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return [*values, *([token] if token else [])]


def scrub(text: str, volatile: list[str]) -> str:
    """Drop what changes from one capture to the next: CSRF tokens and session ids."""
    text = _CSRF.sub(rf"\g<1>{SCRUBBED}\g<2>", text)
    for value in volatile:
        text = text.replace(value, SCRUBBED)
    return text


def _as_saved(response: httpx.Response, json_api: bool, volatile: list[str]) -> str:
    if json_api:
        return scrub(json.dumps(response.json(), indent=2, ensure_ascii=False) + "\n", volatile)
    return scrub(response.text, volatile)


def _refused_sign_in(reader: PortalReader, admin: SandboxAdmin) -> str:
    """The sign-in page a portal shows when the account already holds every session it may.

    The reader's own session is the one the account may have; a second sign-in is refused. MERIDIAN
    answers its app with JSON (409) and the app writes the message into the page, so that page is the
    one rendered in headless Chromium.
    """
    admin.set_faults(max_sessions_per_account=1)
    try:
        if reader.portal == ServerName.MERIDIAN:
            return _rendered_meridian_refusal(str(reader.client.base_url))
        with httpx.Client(base_url=reader.client.base_url, follow_redirects=False, timeout=10.0) as other:
            refused = submit_password(other, reader.portal)
            if refused.status_code != 200:
                raise RuntimeError(f"{reader.portal}: a refused sign-in answered {refused.status_code}")
            return refused.text
    finally:
        admin.set_faults(max_sessions_per_account=FaultSpec().max_sessions_per_account)


def _rendered_meridian_refusal(base_url: str) -> str:
    from playwright.sync_api import sync_playwright  # only the capture needs a browser

    account = ACCOUNTS[ServerName.MERIDIAN][0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(base_url + "/")
            page.click("#consent-accept")
            page.fill("#login-email", account.username)
            page.fill("#login-password", account.password)
            page.click("#login-button")
            page.wait_for_selector("#login-error:not([hidden])")
            return page.content()
        finally:
            browser.close()


def _fetch(reader: PortalReader, target: _Target, admin: SandboxAdmin) -> httpx.Response:
    if isinstance(target, _SignInRefusal):
        raise TypeError("sign-in refusals are pages, not answers: _refused_sign_in")
    if isinstance(target, _NoResults):
        return reader.search(target.claim.claim_id)
    if isinstance(target, _EligibilityPage):
        return reader.eligibility(target.patient)
    url = reader.detail_url(target.claim.claim_id)  # found in the usual layout, opened in the one asked
    if target.layout_version == 1:
        return reader.get(url)
    admin.set_faults(layout_version=target.layout_version)
    try:
        return reader.get(url)
    finally:
        admin.set_faults(layout_version=1)


# --- the README --------------------------------------------------------------------------------
def _shows(payer: str, target: _Target, reference_date: date) -> tuple[str, str]:
    """(subject, what the page shows) for the README table."""
    if isinstance(target, _SignInRefusal):
        what = "rendered by the app in headless Chromium; " if payer == "MERIDIAN" else ""
        return "–", (
            f"sign-in refused: the account already has as many sessions as the portal allows ({what}"
            "`outcomes.too_many_sessions` must recognise it before `invalid_login`)"
        )
    if isinstance(target, _NoResults):
        return target.claim.claim_id, "claim search for a claim the payer never received: the no-results state"
    if isinstance(target, _EligibilityPage):
        truth = target.truth
        state = "active" if truth.is_active_on(reference_date) else f"inactive (ended {truth.coverage_end})"
        return truth.member_id, f"eligibility as of {reference_date}: coverage {state}, {truth.plan_name}"
    claim = target.claim
    record = claim.payer
    assert record is not None
    code = f"{record.category_code}:{record.status_code}"
    parts = [f"claim detail, {record.outcome.value.replace('_', ' ')} ({code}), paid {record.paid}"]
    if record.payment:
        parts.append(f"{'EFT' if record.payment.method == 'ACH' else 'check'} {record.payment.trace_number}")
    adjustments = claim.adjustments
    if adjustments:
        codes = sorted({f"{a.group}-{a.carc}" + (f"/{a.rarc}" if a.rarc else "") for a in adjustments})
        parts.append(f"{len(adjustments)} adjustment(s): {', '.join(codes)}")
    if record.rejection_reason:
        parts.append(f"rejected: {record.rejection_reason}")
    if target.layout_version == 2:
        effect = (
            "the API did not change, the playbook reads it"
            if payer == "MERIDIAN"
            else "the playbook's selectors do not match"
        )
        parts = [f"the {REDESIGNED_OUTCOME.value} claim above, in layout 2 (the redesign): {effect}"]
    return claim.claim_id, "; ".join(parts)


def readme(payer: str, plan: list[tuple[str, _Target]], reference_date: date) -> str:
    source = {
        "SUNRISE": "HTML pages",
        "MERIDIAN": "JSON answers of the portal's API",
        "KEYSTONE": "HTML documents of the portal's `main` frame",
    }[payer]
    rows = "\n".join(
        f"| `{name}` | {subject} | {shows} |"
        for name, target in plan
        for subject, shows in [_shows(payer, target, reference_date)]
    )
    return f"""# Saved {payer} portal pages

The {source} that `../playbook.yaml` reads, saved from the sandbox portal.
The data are synthetic: nobody in them is real. File names carry the outcome and the claim id (or the
member id, for eligibility), never a patient's name.

The parser tests in `tests/playbooks/{payer.lower()}/` read every file with the playbook, without a browser
or a portal, and compare each value with the sandbox world (`sandbox.dataset.load_world()`).

| file | claim / member | what it shows |
|---|---|---|
{rows}

## Re-capturing

```bash
{RECAPTURE}
```

It starts the sandbox, signs in over plain HTTP and rewrites every file here, this README included
(CSRF tokens and session ids scrubbed, so the same portal gives the same bytes). A diff afterwards
means the portal or the dataset changed: fix the playbook until its tests pass on the new pages.
"""


# --- capturing ---------------------------------------------------------------------------------
def capture_payer(endpoints: SandboxEndpoints, portal: ServerName, world: SandboxWorld) -> list[Path]:
    payer = PORTAL_PAYER[portal]
    plan = _plan(payer, world)
    pages: dict[str, str] = {}
    with (
        httpx.Client(base_url=endpoints[portal].base_url, follow_redirects=False, timeout=10.0) as client,
        SandboxAdmin(endpoints[portal]) as admin,
    ):
        sign_in_over_http(client, portal)
        reader = PortalReader(client, portal, world.reference_date)
        for name, target in plan:
            if isinstance(target, _SignInRefusal):
                pages[name] = scrub(_refused_sign_in(reader, admin), reader.volatile())
                continue
            pages[name] = _as_saved(_fetch(reader, target, admin), payer == "MERIDIAN", reader.volatile())
    folder = fixtures_dir(payer)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in saved_pages(payer):
        if stale.path.name not in pages:
            stale.path.unlink()  # a page for a claim the new world picks differently
    written = []
    for name, text in [*pages.items(), ("README.md", readme(payer, plan, world.reference_date))]:
        path = folder / name
        path.write_text(text, "utf-8")
        written.append(path)
    return written


def capture_all() -> Iterator[Path]:
    world = load_world()
    with run_sandbox() as endpoints:
        for portal in PORTALS:
            yield from capture_payer(endpoints, portal, world)


def main() -> int:
    for path in capture_all():
        print(path.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
