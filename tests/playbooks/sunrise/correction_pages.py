"""SUNRISE's corrected-claim pages, saved for the playbook's `corrected_claim` task, and how to capture them.

    uv run python tests/playbooks/sunrise/correction_pages.py

Run as a script, this starts the sandbox, signs in over plain HTTP and writes, into
`playbooks/sunrise/fixtures/corrections/`, the pages the task goes through for the first denied
claim (denied CO-16/N290: the rendering NPI): the form, the review after the NPI is corrected, the
confirmation, and the form refused twice (an original claim number the payer never gave; then,
after the correction, the original number again: the claim was replaced). CSRF tokens are
scrubbed and the sandbox numbers corrections from its reference date, so a re-capture writes the
same bytes. Imported, it names the pages and the claim for the parser tests beside it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx

from sandbox.accounts import ServerName
from sandbox.codes import Outcome
from sandbox.dataset import load_world
from sandbox.models import SandboxClaim
from sandbox.payer_book import PayerBook
from sandbox.servers import run_sandbox
from sandbox.testing import sign_in_over_http
from tests.playbooks.capture_fixtures import PLAYBOOKS, scrub

FOLDER = PLAYBOOKS / "sunrise" / "fixtures" / "corrections"
RECAPTURE = "uv run python tests/playbooks/sunrise/correction_pages.py"
WRONG_ORIGINAL = "SR00000000000"
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
_FIELD = re.compile(r'<input id="[^"]+" name="([^"]+)" class="[^"]+" value="([^"]*)"')


def corrected_claim() -> SandboxClaim:
    """The first SUNRISE claim denied for its rendering NPI (CO-16 with N290): a correction fixes it."""
    return next(
        claim
        for claim in load_world().claims
        if claim.payer_id == "SUNRISE"
        and claim.payer is not None
        and claim.payer.outcome == Outcome.DENIED
        and any(a.rarc == "N290" for a in claim.adjustments)
    )


def corrected_npi(claim: SandboxClaim) -> str:
    """Another of the practice's clinicians: the NPI the correction puts on the claim."""
    return next(p.npi for p in load_world().providers if p.npi != claim.rendering_npi)


def page_names(claim_id: str) -> dict[str, str]:
    """What each saved page is -> its file name (claim ids only: no PHI in names)."""
    return {
        "form": f"form-{claim_id}.html",
        "refused-original-unknown": f"form-refused-original-unknown-{claim_id}.html",
        "review": f"review-{claim_id}.html",
        "confirmation": f"confirmation-{claim_id}.html",
        "refused-duplicate": f"form-refused-duplicate-{claim_id}.html",
    }


def saved(what: str) -> str:
    return (FOLDER / page_names(corrected_claim().claim_id)[what]).read_text("utf-8")


def capture() -> list[Path]:
    claim = corrected_claim()
    assert claim.payer is not None and claim.payer.payer_claim_number
    key = PayerBook(load_world(), "SUNRISE").key_of(claim)
    names = page_names(claim.claim_id)
    pages: dict[str, str] = {}
    with run_sandbox() as endpoints, httpx.Client(base_url=endpoints.url(ServerName.SUNRISE), timeout=10) as client:
        sign_in_over_http(client, ServerName.SUNRISE)
        form = client.get(f"/claims/{key}/correct")
        pages["form"] = form.text
        match = _CSRF_INPUT.search(form.text)
        assert match is not None
        values = dict(_FIELD.findall(form.text)) | {"csrf_token": match.group(1), "frequency_code": "7"}
        values |= {"reason": "Rendering provider corrected", "rendering_npi": corrected_npi(claim)}

        def post(step: str, original: str) -> str:
            answer = client.post(
                f"/claims/{key}/correct", data=values | {"step": step, "original_claim_number": original}
            )
            assert answer.status_code == 200, answer.status_code
            return answer.text

        pages["refused-original-unknown"] = post("review", WRONG_ORIGINAL)
        pages["review"] = post("review", claim.payer.payer_claim_number)
        pages["confirmation"] = post("submit", claim.payer.payer_claim_number)
        pages["refused-duplicate"] = post("review", claim.payer.payer_claim_number)
        volatile = [value for value in client.cookies.values() if value]
    FOLDER.mkdir(parents=True, exist_ok=True)
    written = []
    for what, text in pages.items():
        path = FOLDER / names[what]
        path.write_text(scrub(text, volatile), "utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in capture():
        print(written_path.relative_to(PLAYBOOKS.parent))
    sys.exit(0)
