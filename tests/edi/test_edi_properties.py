"""Property tests: valid interchanges from our writers, then corrupted at random.

Every outcome must be a document (possibly with findings) or the single typed X12SyntaxError
with a location: never another exception, never a view that failed, never an empty result
without a word.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi import FindingCode, X12SyntaxError, read_x12
from edi.claim_status import ClaimStatusRequestSet
from edi.describe import describe, render_lines
from edi.outbound import (
    Address,
    BillingProviderDetails,
    ClaimStatusInquiry,
    DependentDetails,
    EligibilityInquiry,
    InterchangeSettings,
    PayerDetails,
    ProfessionalClaimSubmission,
    ProviderDetails,
    ReceiverDetails,
    ServiceLineSubmission,
    SubmitterDetails,
    SubscriberDetails,
)
from edi.professional_claim import ProfessionalClaimSet
from edi.segments import Separators
from edi.writers import ClaimCorrection, write_270, write_276, write_837p, write_corrected_837p
from tests.edi.edi_x12_builders import Layout, interchange, paid_claim, remittance, transaction

FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

SETTINGS = InterchangeSettings(sender_id="CLAIMBOT", receiver_id="PAYERX", created_at=datetime(2024, 3, 15, 10, 30))
ADDRESS = Address(line1="1 MAIN ST", city="SPRINGFIELD", state="IL", postal_code="62701")
PAYER = PayerDetails(name="TEST PLAN", payer_id="12345")
PROVIDER = ProviderDetails(name="TEST CLINIC", npi="1234567893")
SUBSCRIBER = SubscriberDetails(last_name="DOE", first_name="SAM", member_id="M1", birth_date=date(1980, 1, 2))
DEPENDENT = DependentDetails(last_name="DOE", first_name="KIM", birth_date=date(2012, 5, 6), address=ADDRESS)
SUBMITTER = SubmitterDetails(name="CLAIMBOT", identifier="ETIN1", contact_phone="5551234567")


def _claim(claim_id: str, dependent: DependentDetails | None = None) -> ProfessionalClaimSubmission:
    return ProfessionalClaimSubmission(
        claim_id=claim_id,
        billing_provider=BillingProviderDetails(
            name="TEST CLINIC", npi="1234567893", tax_id="123456789", address=ADDRESS
        ),
        payer=PAYER,
        subscriber=SUBSCRIBER.model_copy(update={"address": ADDRESS}),
        dependent=dependent,
        diagnosis_codes=["J449", "E119"],
        service_lines=[
            ServiceLineSubmission(
                procedure_code="99213",
                modifiers=["25"],
                charge=Decimal("150.00"),
                service_date=date(2024, 3, 1),
                diagnosis_pointers=[1, 2],
            ),
            ServiceLineSubmission(
                procedure_code="85025",
                charge=Decimal("32"),
                units=Decimal(2),
                service_date=date(2024, 3, 1),
                diagnosis_pointers=[2],
            ),
        ],
    )


def _valid_interchanges() -> list[str]:
    claims = [_claim("C1"), _claim("C2", DEPENDENT)]
    claims_837 = write_837p(
        claims, submitter=SUBMITTER, receiver=ReceiverDetails(name="PAYERX", identifier="PX"), settings=SETTINGS
    )
    read_claim = read_x12(claims_837, "base.837").transactions_of(ProfessionalClaimSet)[0].claims[1]
    single_line = SETTINGS.model_copy(
        update={
            "line_break": False,
            "separators": Separators(element="|", component=">", repetition="{", segment="\x1d"),
        }
    )
    inquiry = ClaimStatusInquiry(
        payer=PAYER,
        provider=PROVIDER,
        subscriber=SUBSCRIBER,
        dependent=DEPENDENT,
        patient_control_number="PCN1",
        payer_claim_control_number="ICN1",
        total_charge=Decimal("182"),
        service_date=date(2024, 3, 1),
    )
    eligibility = EligibilityInquiry(
        payer=PAYER,
        provider=PROVIDER,
        subscriber=SUBSCRIBER,
        trace_number="T1",
        trace_originator_id="9123456789",
        service_types=["30", "98"],
    )
    remittances = [remittance([paid_claim("P1"), paid_claim("P2", "4"), paid_claim("P3", "22")], payment="450.00")]
    acknowledgment = [
        transaction(
            "999",
            "0001",
            "005010X231A1",
            [
                "AK1*HC*1*005010X222A1",
                "AK2*837*0001*005010X222A1",
                "IK3*CLM*22**8",
                "IK4*2*782*7*X",
                "IK5*R*5",
                "AK9*R*1*1*0",
            ],
        )
    ]
    return [
        claims_837,
        write_corrected_837p([ClaimCorrection(read_claim, "ICN-7")], settings=SETTINGS),
        write_276([inquiry], requester=SUBMITTER, settings=single_line),
        write_270([eligibility], settings=SETTINGS),
        interchange(remittances),
        interchange(remittances, layout=Layout(element="+", component=">", terminator="\r", line_break="\n")),
        interchange(acknowledgment, functional_id="FA", version="005010X231A1"),
    ]


VALID = _valid_interchanges()
NOISE = st.text(alphabet="*:~^|+>\x1d\r\n AZaz09.-_ÉISAGSTSE\x00", max_size=12)


def _check(data: bytes | str) -> None:
    try:
        document = read_x12(data, "fuzz.x12")
    except X12SyntaxError as error:
        fatal: X12SyntaxError | None = error
    else:
        fatal = None
    if fatal is not None:
        assert fatal.location.source_name == "fuzz.x12"
        assert str(fatal).startswith("fuzz.x12") and fatal.reason
        return
    findings = document.all_findings()
    assert not [finding for finding in findings if finding.code is FindingCode.VIEW_FAILED], findings
    assert document.transactions or findings, "an empty result needs a finding"
    assert render_lines(describe(document))


def test_valid_interchanges_have_no_findings() -> None:
    for text in VALID:
        document = read_x12(text, "valid.x12")
        assert document.all_findings() == [], text[:200]


@st.composite
def corrupted(draw: st.DrawFn) -> bytes:
    data = draw(st.sampled_from(VALID)).encode()
    for _ in range(draw(st.integers(1, 3))):
        operation = draw(st.sampled_from(["truncate", "delete", "duplicate", "swap", "garble", "separators", "bytes"]))
        data = _corrupt(draw, operation, data)
    return data


def _corrupt(draw: st.DrawFn, operation: str, data: bytes) -> bytes:
    if operation == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if operation == "bytes":
        position = draw(st.integers(0, len(data)))
        replaced = draw(st.integers(0, 4))
        return data[:position] + draw(st.binary(max_size=8)) + data[position + replaced :]
    if operation == "separators":
        old, new = (
            draw(st.sampled_from([b"*", b":", b"~", b"^", b"\n"])),
            draw(st.sampled_from([b"*", b":", b"|", b"~"])),
        )
        return data.replace(old, new)
    terminator = b"\x1d" if b"\x1d" in data else (b"\r" if b"\r" in data else b"~")
    segments = data.split(terminator)
    index = draw(st.integers(0, max(len(segments) - 1, 0)))
    if operation == "delete":
        del segments[index]
    elif operation == "duplicate":
        segments.insert(index, segments[index])
    elif operation == "swap":
        other = draw(st.integers(0, max(len(segments) - 1, 0)))
        segments[index], segments[other] = segments[other], segments[index]
    else:
        separator = b"|" if b"|" in segments[0][:4] else (b"+" if b"+" in segments[0][:4] else b"*")
        elements = segments[index].split(separator)
        position = draw(st.integers(0, max(len(elements) - 1, 0)))
        elements[position] = draw(NOISE).encode()
        segments[index] = separator.join(elements)
    return terminator.join(segments)


@FUZZ
@given(corrupted())
def test_corrupted_interchanges_give_a_document_or_the_typed_error(data: bytes) -> None:
    _check(data)


@settings(max_examples=100, deadline=None, database=None)
@given(st.one_of(st.binary(max_size=300), st.binary(max_size=200).map(lambda tail: b"ISA*" + tail)))
def test_random_bytes_give_a_document_or_the_typed_error(data: bytes) -> None:
    _check(data)


NAMES = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ ", min_size=1, max_size=20).map(str.strip).filter(bool)
IDENTIFIERS = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", min_size=2, max_size=15)
AMOUNTS = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2)
DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))


@st.composite
def claim_status_inquiries(draw: st.DrawFn) -> ClaimStatusInquiry:
    start = draw(DATES)
    return ClaimStatusInquiry(
        payer=PayerDetails(name=draw(NAMES), payer_id=draw(IDENTIFIERS)),
        provider=PROVIDER,
        subscriber=SubscriberDetails(last_name=draw(NAMES), member_id=draw(IDENTIFIERS), birth_date=draw(DATES)),
        patient_control_number=draw(IDENTIFIERS),
        payer_claim_control_number=draw(st.one_of(st.just(""), IDENTIFIERS)),
        total_charge=draw(AMOUNTS),
        service_date=start,
        service_end_date=draw(st.one_of(st.none(), st.dates(min_value=start, max_value=date(2031, 1, 1)))),
    )


@settings(max_examples=40, deadline=None, database=None)
@given(st.lists(claim_status_inquiries(), min_size=1, max_size=4))
def test_276_round_trip_property(inquiries: list[ClaimStatusInquiry]) -> None:
    document = read_x12(write_276(inquiries, requester=SUBMITTER, settings=SETTINGS), "rt.276")
    assert document.all_findings() == []
    (request,) = document.transactions_of(ClaimStatusRequestSet)
    expected = sorted(
        (
            i.patient_control_number,
            i.payer_claim_control_number,
            i.total_charge,
            i.service_date,
            i.service_end_date or i.service_date,
            i.payer.payer_id,
            i.subscriber.member_id,
        )
        for i in inquiries
    )
    read_back = sorted(
        (
            q.patient_control_number,
            q.payer_claim_control_number,
            q.total_charge,
            q.service_date,
            q.service_end_date,
            q.payer.identifier if q.payer else "",
            q.patient.identifier if q.patient else "",
        )
        for q in request.queries
    )
    assert read_back == expected


def test_every_segment_cut_short_at_every_element() -> None:
    """Deterministic companion of the fuzz tests: each segment of each valid interchange is
    replaced by each of its prefixes (down to the bare segment id), one at a time."""
    for text in VALID:
        terminator = "\x1d" if "\x1d" in text else ("\r" if "\r" in text else "~")
        element = text[3]
        segments = text.split(terminator)
        for index, segment in enumerate(segments[:-1]):
            elements = segment.split(element)
            for keep in range(1, len(elements)):
                shortened = [*segments[:index], element.join(elements[:keep]), *segments[index + 1 :]]
                _check(terminator.join(shortened))
