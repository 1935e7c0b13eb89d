"""Writers: 276/270/837P round trips, corrected and void claims, envelopes, separators."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from edi import FindingCode, X12Document, read_x12, read_x12_file
from edi.acknowledgment import ImplementationAcknowledgment
from edi.claim_status import ClaimStatusRequestSet
from edi.eligibility import EligibilityRequestSet
from edi.outbound import (
    Address,
    BillingProviderDetails,
    ClaimStatusInquiry,
    ControlNumberCounter,
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
from edi.professional_claim import ProfessionalClaim, ProfessionalClaimSet
from edi.segments import Separators
from edi.writers import (
    ClaimCorrection,
    MissingPayerClaimControlNumber,
    X12WriteError,
    corrected_submission,
    write_270,
    write_276,
    write_837p,
    write_corrected_837p,
)
from tests.conftest import need_import

SETTINGS = InterchangeSettings(sender_id="CLAIMBOT", receiver_id="PAYERX", created_at=datetime(2024, 3, 15, 10, 30))
PAYER = PayerDetails(name="TEST HEALTH PLAN", payer_id="12345")
OTHER_PAYER = PayerDetails(name="OTHER PLAN", payer_id="67890")
PROVIDER = ProviderDetails(name="TEST CLINIC", npi="1234567893")
ADDRESS = Address(line1="1 MAIN ST", city="SPRINGFIELD", state="IL", postal_code="62701")
SUBSCRIBER = SubscriberDetails(
    last_name="TESTSUB", first_name="SAM", member_id="MEMBER9", birth_date=date(1980, 1, 2), gender="F", address=ADDRESS
)
DEPENDENT = DependentDetails(
    last_name="TESTSUB", first_name="KIM", birth_date=date(2012, 5, 6), gender="M", address=ADDRESS
)
REQUESTER = SubmitterDetails(
    name="CLAIMBOT BILLING", identifier="ETIN1", contact_name="DESK", contact_phone="5551234567"
)
RECEIVER = ReceiverDetails(name="PAYERX CLEARING", identifier="PAYERX")
BILLING = BillingProviderDetails(
    name="TEST CLINIC", npi="1234567893", tax_id="123456789", address=ADDRESS, taxonomy_code="207Q00000X"
)


def _claim(claim_id: str = "CLM001", **changes: object) -> ProfessionalClaimSubmission:
    values: dict[str, object] = {
        "claim_id": claim_id,
        "billing_provider": BILLING,
        "payer": PAYER,
        "subscriber": SUBSCRIBER,
        "diagnosis_codes": ["J449", "E119"],
        "prior_authorization": "AUTH1",
        "service_lines": [
            ServiceLineSubmission(
                procedure_code="99213",
                modifiers=["25"],
                charge=Decimal("150.00"),
                service_date=date(2024, 3, 1),
                diagnosis_pointers=[1, 2],
            ),
            ServiceLineSubmission(
                procedure_code="85025",
                charge=Decimal("32.50"),
                units=Decimal(2),
                service_date=date(2024, 3, 1),
                service_end_date=date(2024, 3, 2),
                diagnosis_pointers=[2],
                line_control_number="L2",
            ),
        ],
    }
    values.update(changes)
    return ProfessionalClaimSubmission.model_validate(values)


def _envelope_codes(document: X12Document) -> list[FindingCode]:
    return [finding.code for finding in document.all_findings()]


def test_276_round_trip() -> None:
    inquiries = [
        ClaimStatusInquiry(
            payer=PAYER,
            provider=PROVIDER,
            subscriber=SUBSCRIBER,
            patient_control_number="PCN1",
            total_charge=Decimal("150.00"),
            service_date=date(2024, 3, 1),
        ),
        ClaimStatusInquiry(
            payer=PAYER,
            provider=PROVIDER,
            subscriber=SUBSCRIBER,
            dependent=DEPENDENT,
            patient_control_number="PCN2",
            trace_number="TRACE2",
            payer_claim_control_number="ICN2",
            total_charge=Decimal("99.5"),
            service_date=date(2024, 3, 1),
            service_end_date=date(2024, 3, 3),
        ),
        ClaimStatusInquiry(
            payer=OTHER_PAYER,
            provider=PROVIDER,
            subscriber=SUBSCRIBER,
            patient_control_number="PCN3",
            total_charge=Decimal(10),
            service_date=date(2024, 2, 1),
        ),
    ]
    document = read_x12(write_276(inquiries, requester=REQUESTER, settings=SETTINGS), "out.276")
    assert document.all_findings() == []
    (request,) = document.transactions_of(ClaimStatusRequestSet)
    read_back = [
        (
            query.trace_number,
            query.patient_control_number,
            query.payer_claim_control_number,
            query.total_charge,
            query.service_date,
            query.service_end_date,
            query.payer.identifier if query.payer else None,
            query.provider.identifier if query.provider else None,
            query.patient.first_name if query.patient else None,
            query.subscriber.identifier if query.subscriber else None,
            query.patient.birth_date if query.patient else None,
        )
        for query in request.queries
    ]
    assert read_back == [
        (
            "PCN1",
            "PCN1",
            "",
            Decimal(150),
            date(2024, 3, 1),
            date(2024, 3, 1),
            "12345",
            "1234567893",
            "SAM",
            None,
            date(1980, 1, 2),
        ),
        (
            "TRACE2",
            "PCN2",
            "ICN2",
            Decimal("99.5"),
            date(2024, 3, 1),
            date(2024, 3, 3),
            "12345",
            "1234567893",
            "KIM",
            "MEMBER9",
            date(2012, 5, 6),
        ),
        (
            "PCN3",
            "PCN3",
            "",
            Decimal(10),
            date(2024, 2, 1),
            date(2024, 2, 1),
            "67890",
            "1234567893",
            "SAM",
            None,
            date(1980, 1, 2),
        ),
    ]
    assert request.queries[0].information_receiver is not None
    assert request.queries[0].information_receiver.identifier == "ETIN1"


def test_270_round_trip() -> None:
    inquiries = [
        EligibilityInquiry(
            payer=PAYER,
            provider=PROVIDER,
            subscriber=SUBSCRIBER,
            trace_number="T1",
            trace_originator_id="9123456789",
            service_types=["30", "98", "UC"],
            service_date=date(2024, 3, 1),
        ),
        EligibilityInquiry(
            payer=PAYER,
            provider=PROVIDER,
            subscriber=SUBSCRIBER,
            dependent=DEPENDENT,
            trace_number="T2",
            trace_originator_id="9123456789",
        ),
    ]
    document = read_x12(write_270(inquiries, settings=SETTINGS), "out.270")
    assert document.all_findings() == []
    (request,) = document.transactions_of(EligibilityRequestSet)
    asked = [query for query in request.queries if query.trace_number]
    assert [(q.level_code, q.trace_number, q.service_types) for q in asked] == [
        ("22", "T1", ["30", "98", "UC"]),
        ("23", "T2", ["30"]),
    ]
    subscriber_query, dependent_query = asked
    assert subscriber_query.person is not None
    assert (subscriber_query.person.identifier, subscriber_query.person.birth_date) == ("MEMBER9", date(1980, 1, 2))
    assert [(d.qualifier, d.start) for d in subscriber_query.dates] == [("291", date(2024, 3, 1))]
    assert dependent_query.person is not None and dependent_query.person.first_name == "KIM"
    assert dependent_query.subscriber is not None and dependent_query.subscriber.identifier == "MEMBER9"
    assert subscriber_query.payer is not None and subscriber_query.payer.identifier == "12345"
    assert subscriber_query.provider is not None and subscriber_query.provider.identifier == "1234567893"


def test_837p_round_trip() -> None:
    dependent_line = _claim().service_lines[1].model_copy(update={"diagnosis_pointers": [1]})
    claims = [
        _claim("CLM001"),
        _claim("CLM002", dependent=DEPENDENT, diagnosis_codes=["R05"], service_lines=[dependent_line]),
    ]
    text = write_837p(claims, submitter=REQUESTER, receiver=RECEIVER, settings=SETTINGS)
    document = read_x12(text, "out.837")
    assert document.all_findings() == []
    (batch,) = document.transactions_of(ProfessionalClaimSet)
    first, second = batch.claims
    assert (first.claim_id, first.charge, first.place_of_service, first.frequency_code, first.prior_authorization) == (
        "CLM001",
        Decimal("182.5"),
        "11",
        "1",
        "AUTH1",
    )
    assert [(d.qualifier, d.code) for d in first.diagnoses] == [("ABK", "J449"), ("ABF", "E119")]
    lines = [
        (
            str(line.procedure),
            line.charge,
            line.units,
            line.diagnosis_pointers,
            line.service_date,
            line.service_end_date,
            line.line_control_number,
        )
        for line in first.services
    ]
    assert lines == [
        ("HC:99213:25", Decimal(150), Decimal(1), [1, 2], date(2024, 3, 1), date(2024, 3, 1), ""),
        ("HC:85025", Decimal("32.5"), Decimal(2), [2], date(2024, 3, 1), date(2024, 3, 2), "L2"),
    ]
    assert first.relationship_code == "18" and first.patient is first.subscriber
    assert second.patient is not None and second.patient.first_name == "KIM" and second.relationship_code == "19"
    assert second.subscriber is not None and second.subscriber.identifier == "MEMBER9"
    assert first.billing_provider is not None and first.billing_provider.identifier == "1234567893"
    assert (first.payer_responsibility, first.claim_filing_indicator) == ("P", "CI")
    assert batch.submitter is not None and batch.submitter.identifier == "ETIN1"


def test_envelopes_use_fresh_control_numbers_and_right_counts() -> None:
    counter = ControlNumberCounter(start=41)
    documents = [
        read_x12(
            write_837p([_claim()], submitter=REQUESTER, receiver=RECEIVER, settings=SETTINGS, control_numbers=counter),
            name,
        )
        for name in ("a.837", "b.837")
    ]
    first, second = documents
    numbers = [
        (
            doc.interchanges[0].control_number,
            doc.interchanges[0].groups[0].control_number,
            doc.transactions[0].header.control_number,
        )
        for doc in documents
    ]
    assert numbers == [("000000041", "41", "0041"), ("000000042", "42", "0042")]
    assert _envelope_codes(first) == _envelope_codes(second) == []
    segments = first.transactions[0].segments()
    assert segments[-1].elements == ("SE", str(len(segments)), "0041")
    text = write_837p([_claim()], submitter=REQUESTER, receiver=RECEIVER, settings=SETTINGS)
    assert len(text.split("~")[0]) == 105  # ISA is fixed width


def test_configurable_separators() -> None:
    settings = SETTINGS.model_copy(
        update={
            "separators": Separators(element="|", component=">", repetition="{", segment="\x1d"),
            "line_break": False,
        }
    )
    text = write_837p([_claim()], submitter=REQUESTER, receiver=RECEIVER, settings=settings)
    assert "\n" not in text and "*" not in text and text.endswith("\x1d")
    assert "SV1|HC>99213>25|150" in text
    document = read_x12(text, "sep.837")
    assert document.all_findings() == []
    assert document.segment_count == text.count("\x1d")
    assert str(document.transactions_of(ProfessionalClaimSet)[0].claims[0].services[0].procedure) == "HC:99213:25"


def test_separator_inside_data_is_refused() -> None:
    claim = _claim(prior_authorization="AUTH*1")
    with pytest.raises(X12WriteError, match=r"REF02 contains the separator '\*'"):
        write_837p([claim], submitter=REQUESTER, receiver=RECEIVER, settings=SETTINGS)
    with pytest.raises(X12WriteError, match="at least one"):
        write_276([], requester=REQUESTER, settings=SETTINGS)


def _written_claim() -> ProfessionalClaim:
    text = write_837p([_claim("ORIG1")], submitter=REQUESTER, receiver=RECEIVER, settings=SETTINGS)
    (batch,) = read_x12(text, "orig.837").transactions_of(ProfessionalClaimSet)
    return batch.claims[0]


def _claim_segments(document: X12Document) -> list[tuple[str, ...]]:
    segments = document.transactions[0].segments()
    start = next(index for index, segment in enumerate(segments) if segment.segment_id == "CLM")
    return [segment.elements for segment in segments[start:-1]]


def test_corrected_claim_from_a_read_claim_field_by_field() -> None:
    original = _written_claim()
    counter = ControlNumberCounter(start=500)
    text = write_corrected_837p([ClaimCorrection(original, "ICN-2024-77")], settings=SETTINGS, control_numbers=counter)
    document = read_x12(text, "corrected.837")
    assert document.all_findings() == []
    (batch,) = document.transactions_of(ProfessionalClaimSet)
    (corrected,) = batch.claims
    assert (corrected.frequency_code, corrected.payer_claim_control_number) == ("7", "ICN-2024-77")
    assert (corrected.claim_id, corrected.charge, corrected.prior_authorization) == ("ORIG1", original.charge, "AUTH1")
    assert len(corrected.services) == len(original.services) == 2
    (interchange,) = document.interchanges
    assert (interchange.control_number, interchange.groups[0].control_number) == ("000000500", "500")
    assert document.transactions[0].header.control_number == "0500"
    claim_segments = _claim_segments(document)
    assert claim_segments[0][5] == "11:B:7"
    assert claim_segments[1:3] == [("REF", "G1", "AUTH1"), ("REF", "F8", "ICN-2024-77")]  # F8 after G1, TR3 order
    original_segments = [tuple(segment) for segment in original.source.claim] if original.source else []
    assert claim_segments[3:] == original_segments[2:]  # everything after CLM and REF*G1 unchanged
    segments = document.transactions[0].segments()
    assert segments[-1].elements[1] == str(len(segments))
    text_segments = text.split("~\n")
    assert text_segments[-3].startswith("GE*1*500") and text_segments[-2] == "IEA*1*000000500"


def test_correcting_a_claim_that_already_has_f8_replaces_it_and_void_is_8(samples_dir: Path) -> None:
    (batch,) = read_x12(
        write_837p(
            [_claim("C7", frequency_code="7", payer_claim_control_number="OLD-ICN")],
            submitter=REQUESTER,
            receiver=RECEIVER,
            settings=SETTINGS,
        ),
        "c7.837",
    ).transactions_of(ProfessionalClaimSet)
    text = write_corrected_837p([ClaimCorrection(batch.claims[0], "NEW-ICN", void=True)], settings=SETTINGS)
    document = read_x12(text, "void.837")
    (voided,) = document.transactions_of(ProfessionalClaimSet)[0].claims
    assert (voided.frequency_code, voided.payer_claim_control_number) == ("8", "NEW-ICN")
    assert [segment[:2] for segment in _claim_segments(document)].count(("REF", "F8")) == 1

    (sample,) = read_x12_file(samples_dir / "837P_lfh_1.x12").transactions_of(ProfessionalClaimSet)
    corrected = read_x12(
        write_corrected_837p([ClaimCorrection(sample.claims[0], "SAMPLE-ICN")], settings=SETTINGS),
        "sample-corrected.837",
    )
    assert corrected.all_findings() == []
    (claim,) = corrected.transactions_of(ProfessionalClaimSet)[0].claims
    assert (claim.frequency_code, claim.payer_claim_control_number, claim.claim_id) == ("7", "SAMPLE-ICN", "26407789")
    assert [line.charge for line in claim.services] == [line.charge for line in sample.claims[0].services]
    assert claim.payer is not None and claim.payer.name == "GREAT PRAIRIES HEALTH"
    assert claim.patient is not None and claim.patient.entity_code == "QC"
    assert _claim_segments(corrected)[1] == ("REF", "F8", "SAMPLE-ICN")


def test_corrected_claim_needs_the_payer_claim_control_number() -> None:
    original = _written_claim()
    with pytest.raises(MissingPayerClaimControlNumber):
        write_corrected_837p([ClaimCorrection(original, None)], settings=SETTINGS)
    with pytest.raises(MissingPayerClaimControlNumber):
        write_corrected_837p([ClaimCorrection(original, "  ")], settings=SETTINGS)
    with pytest.raises(MissingPayerClaimControlNumber):
        corrected_submission(_claim(), "")
    with pytest.raises(MissingPayerClaimControlNumber):
        write_837p([_claim(frequency_code="7")], submitter=REQUESTER, receiver=RECEIVER, settings=SETTINGS)


def test_corrected_claim_from_a_model() -> None:
    replacement = corrected_submission(_claim(), "ICN-9")
    void = corrected_submission(_claim(), "ICN-9", void=True)
    text = write_837p([replacement, void], submitter=REQUESTER, receiver=RECEIVER, settings=SETTINGS)
    claims = read_x12(text, "model.837").transactions_of(ProfessionalClaimSet)[0].claims
    assert [(c.frequency_code, c.payer_claim_control_number) for c in claims] == [("7", "ICN-9"), ("8", "ICN-9")]


def test_pyx12_accepts_the_generated_837p() -> None:
    """Dev-only cross-check: pyx12 4 has maps for 837P 005010X222A1 and writes a 999."""
    x12n_document = need_import("pyx12.x12n_document", "pyx12 is a dev-only cross-check")
    params = need_import("pyx12.params", "pyx12 is a dev-only cross-check")
    claims = [_claim("CLM001"), _claim("CLM002", dependent=DEPENDENT)]
    for text in (
        write_837p(claims, submitter=REQUESTER, receiver=RECEIVER, settings=SETTINGS),
        write_corrected_837p([ClaimCorrection(_written_claim(), "ICN-1")], settings=SETTINGS),
    ):
        acknowledgment = io.StringIO()
        valid = x12n_document.x12n_document(params.params(), io.StringIO(text), acknowledgment, None, None)
        assert valid, acknowledgment.getvalue()
        ack_document = read_x12(acknowledgment.getvalue(), "pyx12.999")
        (ack,) = ack_document.transactions_of(ImplementationAcknowledgment)
        assert ack.kind == "999" and ack.transaction_acks[0].accepted
