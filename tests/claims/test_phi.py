from datetime import date

from claims.phi import MASK, PhiScrubber, redact, scrub_text
from tests.factories import make_patient


def test_redact_masks_phi_keys_at_any_depth() -> None:
    data = {
        "claim_id": "C1",
        "member_id": "SUN1",
        "nested": [{"patient_dob": "1980-01-01", "paid": 10}, ("x", {"Last_Name": "Doe"})],
    }
    assert redact(data) == {
        "claim_id": "C1",
        "member_id": MASK,
        "nested": [{"patient_dob": MASK, "paid": 10}, ("x", {"Last_Name": MASK})],
    }


def test_scrubber_masks_names_ids_and_birth_dates_in_any_spelling() -> None:
    patient = make_patient(last_name="Smith-Jones", first_name="Al", member_id="SUN998", date_of_birth=date(1980, 2, 3))
    text = "Claim C7 for AL SMITH-JONES (SUN998) born 02/03/1980, also 19800203 and 2/3/1980: denied CO-50"
    cleaned = scrub_text(text, [patient])
    assert cleaned == f"Claim C7 for {MASK} {MASK} ({MASK}) born {MASK}, also {MASK} and {MASK}: denied CO-50"


def test_scrubber_leaves_words_that_merely_contain_a_name() -> None:
    patient = make_patient(last_name="Lee", first_name="Ann")
    assert PhiScrubber([patient]).scrub("Annual fee for Leeds") == "Annual fee for Leeds"
    assert PhiScrubber().scrub("nothing known") == "nothing known"


def test_a_patient_whose_birth_date_is_unknown_masks_every_date_in_free_text() -> None:
    """A 277 names the patient but not their birth date: any date its free text quotes may be it."""
    from claims.phi import UNKNOWN_BIRTH_DATE

    patient = make_patient(last_name="Lee", first_name="Ann", member_id="M1", date_of_birth=UNKNOWN_BIRTH_DATE)
    text = "LEE ANN DOB 08/11/2020 ALSO 20200811 AND 2020-08-11; CLAIM 4500 PAID 12.50"
    assert (
        PhiScrubber([patient]).scrub(text) == f"{MASK} {MASK} DOB {MASK} ALSO {MASK} AND {MASK}; CLAIM 4500 PAID 12.50"
    )
    known = make_patient(last_name="Lee", first_name="Ann", member_id="M1", date_of_birth=date(1980, 2, 3))
    assert PhiScrubber([known]).scrub("DOS 08/11/2020") == "DOS 08/11/2020"
