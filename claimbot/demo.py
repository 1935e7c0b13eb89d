"""The demo: what `./dev demo` shows a new user on embedded defaults, with synthetic data only.

The whole loop, each step saying what it does:
1. The ledger (SQLite in the data directory) with the payer list; the bundled synthetic practice imported.
2. The sandbox payer portals and clearinghouse started in this process.
3. The practice's 837P sent to the clearinghouse's batch mailbox; its 835 (remittance) fetched and imported.
4. The canary and a status sweep over the three portals (headless Chromium; over the clearinghouse when no
   browser is installed or with `--no-portals`), with `claimbot sweep`'s live progress view.
5. The A/R aging and denial reports (claims.reports).
6. The alerts and escalations the dispatcher staged (assistant.alerts), rendered as Slack shows them —
   PHI-free by construction — and sent to Slack too when SLACK_BOT_TOKEN and SLACK_ALERT_CHANNEL are set.
7. Two questions answered by `claimbot ask`'s engine (assistant.answers, assistant.console).
8. Where the ledger and the evidence are.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack, ExitStack, contextmanager
from datetime import timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from rich.console import Console

from assistant.alerts import AlertTargets, Dispatcher, PassReport
from assistant.settings import SlackSettings
from bots.planner import plan_from_ledger
from bots.sweep import PayerLimits, plan_to_sweep, run_sweep, sweep_report
from claimbot.settings import Settings
from claimbot.sweep_commands import LiveView, report_table, totals_line
from claimbot.tables import Col, add_rows, make_table
from claims.edi_intake import EdiImportSummary, import_edi
from claims.importing import ImportReport, import_claims_csv
from claims.ledger import Ledger
from claims.models import SweepItemState, utc_now
from claims.payer_config import load_payer_config
from portal_adapters.browser import LAUNCH_ARGS, BrowserNotFound, browser_env, find_chromium
from portal_adapters.clearinghouse import ClearinghouseAdapter
from portal_adapters.contract import PayerAdapter
from portal_adapters.credentials import PortalAccount
from portal_adapters.engine import PlaybookPortalAdapter
from portal_adapters.evidence import EvidenceStore
from portal_adapters.playbook import discover_playbooks, load_playbook
from portal_adapters.retry import RetryPolicy
from sandbox.accounts import ACCOUNTS, CLEARINGHOUSE_API_KEY, ServerName
from sandbox.exports import CLAIMS_837_PATH
from sandbox.servers import SandboxEndpoints, run_sandbox

CLAIMS_PER_PAYER = 12
#: Where the console pretends the alerts go when Slack is not set up (SLACK_ALERT_CHANNEL names a real one).
CONSOLE_CHANNEL = "#denials (console)"
#: Staged messages shown in full; the rest are counted. A group message shows this many of its lines.
SHOWN_MESSAGES = 6
SHOWN_LINES = 6


def sample_claims_csv() -> Path:
    """The bundled synthetic practice export (made by `python -m sandbox.dataset --write`)."""
    return Path(str(resources.files("sandbox").joinpath("data", "claims.csv")))


def demo_account(payer_id: str) -> PortalAccount:
    """The sandbox's demo account (sandbox values, printed by `claimbot sandbox serve` too)."""
    account = ACCOUNTS[ServerName(payer_id.lower())][0]
    return PortalAccount(
        username=account.username,
        password=SecretStr(account.password),
        totp_secret=SecretStr(account.totp_secret) if account.totp_secret else None,
        security_answers={q: SecretStr(a) for q, a in account.security_answers.items()},
    )


class Steps:
    """Numbered step headings on stdout, each with how long it took."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.number = 0
        self.started = time.perf_counter()

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        self.number += 1
        began = time.perf_counter()
        self.console.rule(f"step {self.number}: {what}", align="left")
        yield
        self.console.print(f"  ({time.perf_counter() - began:.1f} s)", markup=False, style="dim")

    def say(self, text: str) -> None:
        self.console.print(f"  {text}", markup=False)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


# --- step 3: the clearinghouse's 835 ----------------------------------------------------------------


def fetch_remittance(endpoints: SandboxEndpoints, folder: Path, timeout_s: float = 60.0) -> Path:
    """Send the practice's 837P to the clearinghouse's batch mailbox and save the 835 it answers with."""
    envelope = {
        "payload_type": "X12_837_Request_005010X222A1",
        "processing_mode": "Batch",
        "payload_id": f"demo-{int(time.time())}",
        "sender_id": "WILLOWBEND",
        "receiver_id": "SANDBOXCH",
        "payload": CLAIMS_837_PATH.read_text("utf-8"),
    }
    headers = {"X-API-Key": CLEARINGHOUSE_API_KEY}
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=endpoints.url(ServerName.CLEARINGHOUSE), headers=headers, timeout=30) as client:
        answer = client.post("/core/batch", json=envelope)
        answer.raise_for_status()
        status = answer.json()
        while "835" in status["pending"]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the clearinghouse gave no 835 in {timeout_s:.0f} s")
            time.sleep(0.1)
            status = client.get(f"/core/batch/{status['submission_id']}").json()
        era = client.get(f"/core/batch/{status['submission_id']}/835")
        era.raise_for_status()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # an 835 names patients: owner-only, as the ledger
    path = folder / "sandbox-clearinghouse.835"  # one name: a second run's same file is known by its hash
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(era.text)
    return path


def remittance_line(summary: EdiImportSummary) -> str:
    c = summary.claims
    if summary.files_already_imported:
        return f"835: already imported ({summary.files_already_imported} file known by its hash): nothing new"
    return (
        f"835: {c.read} claims read = {c.recorded} recorded + {c.duplicate} already recorded + {c.unmatched} "
        f"unmatched + {c.rejected} rejected; {summary.payments} payments, {summary.denials} denial lines, "
        f"{summary.errors} errors"
    )


# --- step 4: canary and sweep -------------------------------------------------------------------------


async def _sweep(
    ledger: Ledger,
    sweep_id: int,
    settings: Settings,
    endpoints: SandboxEndpoints,
    limits: dict[str, PayerLimits],
    portals: bool,
    view: LiveView,
) -> None:
    """Work the sweep with one browser for all portals (or the clearinghouse), closing every adapter."""
    payers = sorted({item.payer_id for item in ledger.sweep_items(sweep_id)})
    async with AsyncExitStack() as stack:
        adapters: dict[str, PayerAdapter | str] = {}
        if portals:
            from playwright.async_api import async_playwright

            playwright = await stack.enter_async_context(async_playwright())
            browser = await playwright.chromium.launch(
                executable_path=find_chromium(),
                args=list(LAUNCH_ARGS),
                env=dict[str, str | float | bool](browser_env()),
            )
            stack.push_async_callback(browser.close)
            playbooks = discover_playbooks(settings.playbooks_dir)
            for payer_id in payers:
                adapters[payer_id] = PlaybookPortalAdapter(
                    load_playbook(playbooks[payer_id]),
                    [demo_account(payer_id)],
                    EvidenceStore(settings.data_dir / "evidence", settings.evidence_retention_days),
                    base_url=endpoints[ServerName(payer_id.lower())].base_url,
                    browser=browser,
                )
        else:
            url = endpoints[ServerName.CLEARINGHOUSE].base_url
            for payer_id in payers:
                adapters[payer_id] = ClearinghouseAdapter(
                    payer_id, url, SecretStr(CLEARINGHOUSE_API_KEY), clearinghouse_payer_id=payer_id
                )
        for adapter in adapters.values():
            if not isinstance(adapter, str):
                stack.push_async_callback(adapter.close)
        await run_sweep(
            ledger,
            sweep_id,
            adapters,
            limits,
            RetryPolicy(max_attempts=2, base_delay_s=0.5),
            lease=timedelta(seconds=settings.run_lease_s),
            on_progress=view,
        )


def sweep_step(
    settings: Settings,
    ledger: Ledger,
    endpoints: SandboxEndpoints,
    steps: Steps,
    claims_per_payer: int,
    portals: bool,
    progress: bool,
) -> None:
    config = load_payer_config(settings.payers_file)
    rules = config.rules()
    plan = plan_from_ledger(ledger, rules, utc_now().date(), None, claims_per_payer)
    if not plan.due:
        steps.say(f"nothing due: {plan.considered} claims considered (all checked recently)")
        return
    steps.say(f"plan: {len(plan.due)} claims due of {plan.considered} considered, at most {claims_per_payer} per payer")
    routes = dict.fromkeys(rules, "portal" if portals else "api")
    sweep_id = plan_to_sweep(ledger, plan, routes, trigger="demo")
    limits = {
        p: PayerLimits(
            requests_per_minute=max(r.requests_per_minute, 600),  # the sandbox is ours: no need to be gentle
            max_sessions=r.max_sessions,
            circuit_breaker_failures=r.circuit_breaker_failures,
            canary=r.canary,
            canary_claim=r.canary_claim,
        )
        for p, r in rules.items()
    }
    for payer_id in sorted(rules):
        canary = rules[payer_id].canary_claim or ledger.latest_finalized_claim(payer_id)
        steps.say(
            f"{payer_id}: canary first on claim {canary} (a claim whose answer is known)"
            if rules[payer_id].canary and canary
            else f"{payer_id}: no canary (no finalized claim yet)"
        )
    totals = Counter(item.payer_id for item in ledger.sweep_items(sweep_id, SweepItemState.PLANNED))
    view = LiveView(dict(totals), enabled=progress)
    with view.progress:
        asyncio.run(_sweep(ledger, sweep_id, settings, endpoints, limits, portals, view))
    finished = ledger.sweep(sweep_id)
    reports = sweep_report(ledger, sweep_id)
    steps.console.print(report_table(reports, f"sweep {sweep_id}: {finished.state.value if finished else '?'}"))
    steps.say(f"sweep: {totals_line(reports)}")


# --- step 5: reports ----------------------------------------------------------------------------------


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def reports_step(settings: Settings, ledger: Ledger, steps: Steps) -> None:
    from claims.denials import load_denial_playbook
    from claims.reports import BUCKET_LABELS, aging_report, denials_report

    aging = aging_report(ledger.list_claims(limit=None), utc_now().date())
    table = make_table(
        ("payer", Col.KEY),
        *((f"{b} days", Col.AMOUNT) for b in BUCKET_LABELS),
        ("total", Col.AMOUNT),
        title="A/R aging (claims · open balance by days since service)",
    )
    rows = [*aging.payers, aging.total]
    cells = [
        [
            r.payer_id,
            *(f"{r.counts[b]} · {_money(r.amounts[b])}" for b in BUCKET_LABELS),
            f"{r.count} · {_money(r.amount)}",
        ]
        for r in rows
    ]
    steps.console.print(add_rows(table, cells))
    playbook = load_denial_playbook()
    denials = denials_report(ledger.current_denials(), lambda d, payer: playbook.recommend(d, payer).category.value)
    by_category = make_table(
        ("category", Col.KEY),
        ("claims", Col.AMOUNT),
        ("denials", Col.AMOUNT),
        ("amount", Col.AMOUNT),
        title="denials that need work, by category",
    )
    steps.console.print(
        add_rows(
            by_category,
            [
                *([c.category, str(c.claims), str(c.denials), _money(c.amount)] for c in denials.categories),
                ["total", str(denials.claims), str(denials.denials), _money(denials.amount)],
            ],
        )
    )
    steps.say(
        f"open A/R: {aging.total.count} claims, {_money(aging.total.amount)}; denials to work: "
        f"{denials.denials} on {denials.claims} claims, {_money(denials.amount)} "
        f"(`claimbot report aging|denials|runs|payers` for the full reports)"
    )


# --- step 6: alerts and escalations, as Slack shows them ---------------------------------------------

_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_MENTION = re.compile(r"<!subteam\^([A-Z0-9]+)>|<@([A-Z0-9]+)>|<#([A-Z0-9]+)>")


def _mrkdwn(text: str) -> str:
    """Slack mrkdwn as plain text: links by their label, mentions by their id, no bold marks."""
    text = _LINK.sub(r"\2", text)
    text = _MENTION.sub(lambda m: "@" + next(g for g in m.groups() if g), text)
    return text.replace("*", "")


def _text_of(element: dict[str, Any]) -> str:
    return _mrkdwn(str(element.get("text", ""))) if isinstance(element, dict) else ""


def blocks_as_text(blocks: Sequence[dict[str, Any]]) -> list[str]:
    """Block Kit as the lines a person reads in Slack: sections and their fields, context, buttons."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("section", "header"):
            if "text" in block:
                lines += _text_of(block["text"]).splitlines()
            fields = [" ".join(_text_of(f).splitlines()) for f in block.get("fields", [])]
            if fields:
                lines.append(" · ".join(fields))
            accessory = block.get("accessory")
            if isinstance(accessory, dict) and accessory.get("type") == "button" and lines:
                lines[-1] += f"  [{_text_of(accessory['text'])}]"
        elif kind == "context":
            lines.append(" ".join(_text_of(e) for e in block.get("elements", [])))
        elif kind == "actions":
            buttons = [_text_of(e["text"]) for e in block.get("elements", []) if "text" in e]
            lines.append(" ".join(f"[{b}]" for b in buttons))
        elif kind == "divider":
            lines.append("─" * 20)
    return lines


def _dispatcher(settings: Settings, slack: SlackSettings, ledger: Ledger) -> Dispatcher:
    """The real dispatcher: over Slack when it is set up, else over a poster that never runs (nothing is sent)."""
    from assistant.alerts import lead_targets
    from assistant.escalations import load_escalations
    from assistant.jobs import dispatcher_for, escalations_file
    from claims.team import load_team

    if slack.bot_token is not None and slack.alert_channel:
        return dispatcher_for(settings, slack, ledger)
    targets: AlertTargets = lead_targets(load_team(settings.team_file), CONSOLE_CHANNEL, "#leads (console)")
    return Dispatcher(
        ledger, _NotSent(), targets, load_escalations(escalations_file(settings)), settings.schedule_timezone
    )


class _NotSent:
    """The poster of a console-only demo: the demo stages and renders, and never asks it to send."""

    async def post(self, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None) -> str:
        raise RuntimeError("the console demo sends nothing")

    async def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        raise RuntimeError("the console demo sends nothing")

    async def open_dm(self, user_id: str) -> str:
        raise RuntimeError("the console demo sends nothing")

    async def upload(self, channel: str, filename: str, title: str, content: bytes, thread_ts: str | None) -> str:
        raise RuntimeError("the console demo sends nothing")


def alerts_step(settings: Settings, ledger: Ledger, steps: Steps) -> None:
    slack = SlackSettings()
    dispatcher = _dispatcher(settings, slack, ledger)
    now = utc_now()
    staged = PassReport()
    while True:  # the outbox is read a batch at a time
        one = dispatcher.stage_events(now)
        if not one.events:
            break
        staged.events += one.events
        staged.alerts += one.alerts
        staged.replies += one.replies
        staged.escalations += one.escalations
    staged.escalations += dispatcher.stage_escalations(now)
    pending = dispatcher.unsent()
    kinds = Counter(m.kind for m in pending)
    steps.say(
        f"outbox: {staged.events} events read: {staged.alerts} new denial alerts, {staged.replies} thread replies, "
        f"{staged.escalations} escalations staged"
    )
    steps.say(
        f"waiting for Slack: {len(pending)} messages = "
        + " + ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        + " (a group message carries one payer's denials found by one run)"
    )
    for message in pending[:SHOWN_MESSAGES]:
        _, blocks = dispatcher.render(message.id, now)
        lines = blocks_as_text(blocks)
        shown = lines[:SHOWN_LINES] + ([f"… {len(lines) - SHOWN_LINES} more lines"] if len(lines) > SHOWN_LINES else [])
        steps.console.print(f"  ┌ {message.kind} → {message.channel}", markup=False)
        for line in shown:
            steps.console.print(f"  │ {line}", markup=False)
    if len(pending) > SHOWN_MESSAGES:
        steps.say(f"… and {len(pending) - SHOWN_MESSAGES} more staged messages (`claimbot slack dispatch` sends them)")
    if slack.bot_token is not None and slack.alert_channel:
        sent = asyncio.run(dispatcher.deliver(now))
        steps.say(
            f"Slack: sent {sent.sent}, waiting {len(dispatcher.unsent())}"
            + (f" ({sent.slack_error})" if sent.slack_error else "")
        )
    else:
        steps.say(
            "Slack: not set up (SLACK_BOT_TOKEN, SLACK_ALERT_CHANNEL): shown here only, kept staged in the ledger"
        )


# --- step 7: two questions ------------------------------------------------------------------------


def questions(ledger: Ledger) -> list[str]:
    """A status question about a denied claim (if any) and the week's denials of the first payer."""
    from claims.status import ClaimStatus

    denied = ledger.list_claims(status=ClaimStatus.DENIED, limit=1)
    claim_id = denied[0].claim_id if denied else ledger.list_claims(limit=1)[0].claim_id
    payer = sorted(p.id for p in ledger.payers())[0]
    return [f"status of claim {claim_id}", f"denials {payer} this week"]


def questions_step(settings: Settings, ledger: Ledger, steps: Steps) -> None:
    from assistant.answers import Answers
    from assistant.console import render_text
    from assistant.intents import parse_phrase
    from claims.team import load_team

    actor = load_team(settings.team_file).cli_actor(getpass.getuser())
    answers = Answers.from_settings(ledger, settings)
    for question in questions(ledger):
        steps.console.print(f'  you: claimbot ask "{question}"', markup=False)
        answer = render_text(answers.answer(parse_phrase(question, answers.payer_names()), actor)).splitlines()
        for line in answer[: SHOWN_LINES + 2]:
            steps.console.print(f"  claimbot: {line}", markup=False)
        if len(answer) > SHOWN_LINES + 2:
            steps.say(f"          … {len(answer) - SHOWN_LINES - 2} more lines")


# --- the whole demo -------------------------------------------------------------------------------


def _chromium_or_reason() -> str | None:
    try:
        find_chromium()
    except BrowserNotFound as error:
        return str(error)
    return None


def run_demo(
    settings: Settings,
    ledger: Ledger,
    console: Console,
    portals: bool = True,
    claims_per_payer: int = CLAIMS_PER_PAYER,
    progress: bool = False,
) -> ImportReport:
    steps = Steps(console)
    with steps.step("the ledger and the sample practice"):
        steps.say(f"ledger: {ledger.engine.url.render_as_string(hide_password=True)}")
        steps.say(f"payers: {', '.join(sorted(p.id for p in ledger.payers()))} (from {settings.payers_file})")
        report = import_claims_csv(ledger, sample_claims_csv(), actor="demo")
        steps.say(
            f"sample claims: {report.claims} claims in {report.rows} rows — {report.created} new, "
            f"{report.updated} updated, {report.unchanged} unchanged"
        )
    with ExitStack() as sandbox:
        with steps.step("the sandbox payer portals and clearinghouse, started in this process"):
            endpoints = sandbox.enter_context(run_sandbox())
            for name, server in endpoints.servers.items():
                steps.say(f"{name.value}: {server.base_url}")
        with steps.step("the clearinghouse: the practice's 837P sent as a batch, its 835 imported"):
            era = fetch_remittance(endpoints, settings.data_dir / "inbox")
            steps.say(f"999, 277CA and 835 answered; saved {era.name} in {era.parent}")
            steps.say(remittance_line(import_edi(ledger, [era])))
        why_not = _chromium_or_reason() if portals else "--no-portals"
        route = "the three portals in headless Chromium" if why_not is None else "the clearinghouse (276/277)"
        with steps.step(f"the canary and a status sweep over {route}"):
            if why_not is not None:
                steps.say(f"portals skipped ({why_not}): the sweep asks the clearinghouse instead")
            sweep_step(settings, ledger, endpoints, steps, claims_per_payer, why_not is None, progress)
    with steps.step("the A/R and denial reports"):
        reports_step(settings, ledger, steps)
    with steps.step("alerts and escalations, as Slack shows them (no PHI)"):
        alerts_step(settings, ledger, steps)
    with steps.step("two questions, answered as in Slack"):
        questions_step(settings, ledger, steps)
    with steps.step("where everything is"):
        evidence = settings.data_dir / "evidence"
        files = sum(1 for p in evidence.rglob("*") if p.is_file()) if evidence.is_dir() else 0
        steps.say(f"ledger:   {ledger.engine.url.render_as_string(hide_password=True)}")
        steps.say(f"evidence: {evidence} ({files} files: the screenshot and page of every failed portal check)")
        steps.say(f"inbox:    {settings.data_dir / 'inbox'} (the 835)")
        steps.say(
            "next: `claimbot claims list --status denied`, `claimbot denials list`, `claimbot report payers`, "
            '`claimbot ask "queue"`, `claimbot serve`'
        )
    console.print(f"demo finished in {steps.elapsed:.1f} s", markup=False)
    return report
