"""Remark codes (RARCs) wherever the portal puts them, read from saved pages with no browser.

Three placements:
- in the row of their adjustment (SUNRISE's page, MERIDIAN's JSON): the `denials` table's `rarc`;
- in a list of remarks of their own, one "REMARK N290" a row with its service line and no amount
  (KEYSTONE's page): the `remarks` table;
- per service line, in the lines table (a HAND-WRITTEN page, tests/playbooks/handwritten/: no
  sandbox portal has that layout): the `line_remarks` table, here beside a claim remarks list
  that names the adjustment a remark is about, and one that names none.

Each remark ends up on the adjustment it belongs to (`Denial.rarcs`), as the payer decided it.
"""

from decimal import Decimal
from pathlib import Path

import yaml
from selectolax.lexbor import LexborHTMLParser

from claims.models import AdjustmentGroup, Denial
from portal_adapters.parsing import extract_html, read_claim
from portal_adapters.playbook.schema import ClaimStatusTask
from sandbox.codes import Outcome
from sandbox.dataset import load_world
from tests.playbooks.capture_fixtures import claim_facts, facts_read, pages_of

HANDWRITTEN = Path(__file__).with_name("handwritten") / "claim-line-remarks.handwritten.html"
#: The claim task of a playbook written for the hand-written page.
LINE_REMARKS_TASK = """
searches:
  - steps: [{goto: /claims}]
extract:
  fields:
    category_code: {selector: "#status .code", pattern: '^([A-Z][0-9][A-Z]?)', required: true}
    status_code: {selector: "#status .code", pattern: ':([0-9A-Z]+)$'}
    billed_amount: {selector: "#billed", type: money, required: true}
    paid_amount: {selector: "#paid", type: money}
  tables:
    denials:
      rows: "#adjustments tr.adjustment"
      columns:
        line: {selector: ".line"}
        code: {selector: ".code", required: true}
        amount: {selector: ".amount", type: money}
    line_remarks:
      rows: "#service-lines tr.service-line"
      columns:
        line: {selector: ".line"}
        rarc: {selector: ".remarks"}
    remarks:
      rows: "#claim-remarks li.remark"
      columns:
        rarc: {selector: ".code"}
        adjustment: {selector: ".for"}
"""


def _denied_page(payer: str) -> tuple[Path, str]:
    [page] = [p for p in pages_of(payer).claims if p.outcome == Outcome.DENIED]
    return page.path, page.subject


def _with_rarcs(subject: str) -> list[str]:
    claim = load_world().claims_by_id[subject]
    rarcs = [a.rarc for a in claim.adjustments if a.rarc]
    assert rarcs, "the denied page is picked for its remark codes"
    return rarcs


def test_in_the_row_of_the_adjustment() -> None:
    """SUNRISE prints the RARC in its adjustment's row: the denials table reads it there."""
    pages = pages_of("SUNRISE")
    task = pages.playbook().claim_status
    assert set(task.extract.tables) == {"denials"} and "rarc" in task.extract.tables["denials"].columns
    path, subject = _denied_page("SUNRISE")
    rows = LexborHTMLParser(path.read_text("utf-8")).css("#denial-reasons tr.reason-row")
    assert any(row.css_first(".rarc").text(strip=True) for row in rows)
    reading = read_claim(extract_html(path.read_text("utf-8"), task.extract), task)
    assert facts_read(reading) == claim_facts(load_world().claims_by_id[subject])
    assert [code for d in reading.denials for code in d.rarcs] == _with_rarcs(subject)
    assert reading.remarks == ()


def test_in_a_separate_list_of_remarks() -> None:
    """KEYSTONE lists remark codes apart ("REMARK N290", by line, no amount): none is in an adjustment's row."""
    pages = pages_of("KEYSTONE")
    task = pages.playbook().claim_status
    assert "rarc" not in task.extract.tables["denials"].columns
    for page in pages.claims:
        claim = load_world().claims_by_id[page.subject]
        tree = LexborHTMLParser(page.text())
        adjustments = " ".join(row.text() for row in tree.css("#AdjReasons tr"))
        listed = [row.css("td")[1].text(strip=True) for row in tree.css("#RemarkCodes tr")[1:]]
        assert listed == [f"REMARK {a.rarc}" for a in claim.adjustments if a.rarc]
        assert not any(a.rarc and a.rarc in adjustments for a in claim.adjustments)
        reading = read_claim(page.extract(task.extract), task)
        assert facts_read(reading) == claim_facts(claim), page.path.name  # each on its own adjustment
        assert reading.remarks == ()
    _, subject = _denied_page("KEYSTONE")
    assert _with_rarcs(subject)


def test_per_service_line_and_in_a_claim_list_hand_written_page() -> None:
    task = ClaimStatusTask.model_validate(yaml.safe_load(LINE_REMARKS_TASK))
    reading = read_claim(extract_html(HANDWRITTEN.read_text("utf-8"), task.extract), task)

    def denial(line: int, group: str, carc: str, amount: str, *rarcs: str) -> Denial:
        return Denial(group=AdjustmentGroup(group), carc=carc, amount=Decimal(amount), line_number=line, rarcs=rarcs)

    assert reading.denials == (
        denial(1, "CO", "16", "145.00", "N290", "M51", "N382"),  # its line's remarks, and the one naming CO-16
        denial(2, "CO", "97", "15.00"),  # line 2 shows no remark
        denial(3, "CO", "45", "40.00"),  # the write-off beside PR-204 is not what N130 explains
        denial(3, "PR", "204", "100.00", "N130"),
    )
    # Names no adjustment, and two need work (CO-16, CO-97): a claim-level remark, attached to none.
    assert reading.remarks == ("MA130",)
