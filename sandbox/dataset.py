"""The seeded sandbox dataset: ~540 synthetic claims over the three payers, with each payer's truth.

Everything comes from `random.Random(SEED)` and a fixed reference date, so the portals, the
clearinghouse, the committed CSV and the tests all see the same world. Nobody in it is real: names
are drawn from the pools below (surnames invented for the sandbox), NPIs and member ids are made up.

    uv run python -m sandbox.dataset --write     # regenerate sandbox/data/claims.csv and claims.837
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from sandbox.codes import Outcome
from sandbox.models import (
    PAYER_IDS,
    Adjustment,
    AdjustmentGroup,
    Eligibility,
    Patient,
    PayerId,
    PayerRecord,
    PaymentMethod,
    PaymentRun,
    Practice,
    Provider,
    SandboxClaim,
    SandboxWorld,
    ServiceLine,
)

SEED = 20261120
REFERENCE_DATE = date(2026, 11, 20)
CLAIMS_PER_PAYER = 180

PAYER_NAMES: dict[PayerId, str] = {
    "SUNRISE": "Sunrise Health Plan",
    "MERIDIAN": "Meridian Mutual",
    "KEYSTONE": "Keystone Medicare Services",
}
TIMELY_FILING_DAYS: dict[PayerId, int] = {"SUNRISE": 180, "MERIDIAN": 90, "KEYSTONE": 365}
MEMBER_PREFIX: dict[PayerId, str] = {"SUNRISE": "SUN", "MERIDIAN": "MER", "KEYSTONE": "KEY"}
#: What share of the billed amount each payer allows on average (its fee schedule).
ALLOWED_FACTOR: dict[PayerId, float] = {"SUNRISE": 0.72, "MERIDIAN": 0.66, "KEYSTONE": 0.55}

#: Claims per payer by outcome; exact counts (not weights) so the shares never drift with the seed.
OUTCOME_QUOTA: dict[Outcome, int] = {
    Outcome.PAID: 81,
    Outcome.PARTIALLY_PAID: 18,
    Outcome.DENIED: 36,
    Outcome.PENDING: 22,
    Outcome.INFO_REQUESTED: 9,
    Outcome.REJECTED: 7,
    Outcome.NOT_FOUND: 7,
}


def outcome_quota(claims_per_payer: int = CLAIMS_PER_PAYER) -> dict[Outcome, int]:
    """OUTCOME_QUOTA itself for the standard world; for a bigger or smaller one the same shares, rounded,
    with paid claims taking up the rounding (so the counts always add up to `claims_per_payer`)."""
    if claims_per_payer == CLAIMS_PER_PAYER:
        return dict(OUTCOME_QUOTA)
    quota = {outcome: round(count * claims_per_payer / CLAIMS_PER_PAYER) for outcome, count in OUTCOME_QUOTA.items()}
    quota[Outcome.PAID] += claims_per_payer - sum(quota.values())
    return quota


#: Whole-claim denial reasons: (group, CARC, RARC or None, relative weight).
DENIAL_REASONS: tuple[tuple[AdjustmentGroup, str, str | None, int], ...] = (
    ("CO", "16", "M51", 5),
    ("CO", "16", "N290", 3),
    ("CO", "4", None, 3),
    ("CO", "18", "N522", 4),
    ("CO", "22", "MA04", 3),
    ("CO", "29", "N211", 3),
    ("CO", "45", None, 1),
    ("CO", "50", "N115", 5),
    ("CO", "96", "N130", 3),
    ("CO", "97", "M15", 3),
    ("CO", "109", None, 3),
    ("CO", "167", "M76", 3),
    ("CO", "197", "N54", 5),
    ("PR", "1", None, 3),
    ("PR", "3", None, 2),
    ("PR", "204", "N130", 4),
)
#: Reasons one line of an otherwise paid claim gets denied for (partially paid claims).
LINE_DENIAL_REASONS: tuple[tuple[AdjustmentGroup, str, str | None], ...] = (
    ("CO", "97", "M15"),
    ("CO", "4", None),
    ("CO", "50", "N115"),
    ("CO", "167", "M76"),
    ("CO", "96", "N130"),
    ("CO", "16", "M51"),
    ("CO", "197", "N54"),
)
REJECTION_REASONS: tuple[tuple[str, str, str, str], ...] = (
    ("A7", "164", "IL", "Member id not valid for the date of service"),
    ("A6", "21", "85", "Billing provider information missing"),
    ("A7", "562", "82", "Rendering provider NPI not on file"),
    ("A3", "21", "40", "Claim could not be processed as submitted"),
)

#: (code, usual charge) for the office visits a claim starts with.
VISIT_CODES: tuple[tuple[str, str], ...] = (
    ("99202", "120.00"),
    ("99203", "175.00"),
    ("99212", "95.00"),
    ("99213", "145.00"),
    ("99213", "145.00"),
    ("99214", "210.00"),
    ("99214", "210.00"),
    ("99215", "290.00"),
    ("99396", "275.00"),
)
MEDICARE_VISIT_CODES: tuple[tuple[str, str], ...] = (*VISIT_CODES[:-1], ("G0439", "190.00"))
#: (code, usual charge, modifiers, a procedure that makes the visit need modifier 25).
ANCILLARY_CODES: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("36415", "18.00", (), False),
    ("80053", "48.00", (), False),
    ("85025", "32.00", (), False),
    ("83036", "40.00", (), False),
    ("80061", "55.00", (), False),
    ("81002", "14.00", (), False),
    ("93000", "65.00", (), False),
    ("90471", "30.00", (), False),
    ("90686", "42.00", (), False),
    ("87880", "35.00", ("QW",), False),
    ("71046", "95.00", (), False),
    ("96372", "38.00", (), True),
    ("J1885", "22.00", (), False),
    ("20610", "180.00", ("RT",), True),
    ("20610", "180.00", ("LT",), True),
    ("11102", "160.00", (), True),
    ("97110", "75.00", ("GP",), False),
)
DIAGNOSIS_CODES: tuple[str, ...] = (
    "E11.9",
    "I10",
    "J06.9",
    "M54.50",
    "Z00.00",
    "E78.5",
    "R05.9",
    "J45.909",
    "K21.9",
    "F41.1",
    "M25.561",
    "N39.0",
    "Z23",
    "R51.9",
    "E66.9",
    "G43.909",
    "M17.11",
    "L30.9",
    "R10.9",
    "E03.9",
)

FIRST_NAMES_F: tuple[str, ...] = (
    "Ada",
    "Bianca",
    "Celia",
    "Dora",
    "Elena",
    "Fern",
    "Greta",
    "Hazel",
    "Imogen",
    "June",
    "Katya",
    "Lena",
    "Mira",
    "Nell",
    "Opal",
    "Petra",
    "Rosa",
    "Selma",
    "Tess",
    "Vera",
    "Wren",
    "Zora",
)
FIRST_NAMES_M: tuple[str, ...] = (
    "Abel",
    "Bruno",
    "Cyril",
    "Dario",
    "Emil",
    "Felix",
    "Gideon",
    "Hugo",
    "Ivo",
    "Jonah",
    "Kasimir",
    "Leon",
    "Milo",
    "Niko",
    "Otto",
    "Pavel",
    "Rafe",
    "Silas",
    "Theo",
    "Viktor",
    "Yuri",
)
#: Surnames invented for the sandbox, so no combination names a real person on purpose.
LAST_NAMES: tuple[str, ...] = (
    "Ashvale",
    "Brambleton",
    "Corriveaux",
    "Dunholt",
    "Elmsworth",
    "Fennimore",
    "Glasspool",
    "Harrowgate",
    "Ingleby",
    "Jorvath",
    "Kestrelwood",
    "Larkspire",
    "Mossgrave",
    "Nettlefield",
    "Orrington",
    "Pellwick",
    "Quarrendon",
    "Rookhaven",
    "Saltmarsh",
    "Thistlewaite",
    "Umberleigh",
    "Vantongeren",
    "Wexcombe",
    "Yarrowby",
    "Zellwood",
    "Blackwater-Osei",
    "Cindervale",
    "Drummaquill",
)

PLANS: dict[PayerId, tuple[tuple[str, str, int, str, str | None], ...]] = {
    # plan name, copay, coinsurance %, deductible, out-of-pocket max
    "SUNRISE": (
        ("Sunrise Choice PPO", "25.00", 20, "1000.00", "4500.00"),
        ("Sunrise Select HMO", "15.00", 0, "500.00", "3000.00"),
        ("Sunrise Bronze HDHP", "0.00", 30, "3500.00", "7000.00"),
    ),
    "MERIDIAN": (
        ("Meridian Gold PPO", "20.00", 10, "750.00", "4000.00"),
        ("Meridian Silver EPO", "35.00", 25, "2000.00", "6500.00"),
        ("Meridian Essential HMO", "10.00", 0, "250.00", "2500.00"),
    ),
    "KEYSTONE": (("Medicare Part B", "0.00", 20, "257.00", None),),
}

CENT = Decimal("0.01")


def _money(value: Decimal | float | str) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def npi_with_check_digit(first_nine: str) -> str:
    """Append the Luhn check digit NPIs use (computed over the '80840' prefix + the first nine digits)."""
    digits = [int(d) for d in "80840" + first_nine]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return first_nine + str((10 - total % 10) % 10)


@dataclass
class _Draft:
    """A claim while it is being generated, before the payer's record is attached."""

    claim_id: str
    payer_id: PayerId
    patient: Patient
    outcome: Outcome
    rendering_npi: str
    diagnosis_codes: tuple[str, ...]
    place_of_service: str
    service_date: date
    submitted_date: date
    lines: list[ServiceLine]


class _Generator:
    """Builds the world in a fixed order from one RNG; any reordering changes every value after it."""

    def __init__(self, seed: int, claims_per_payer: int = CLAIMS_PER_PAYER) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - a fixed seed makes the same world every time
        self.claims_per_payer = claims_per_payer
        self.ref = REFERENCE_DATE
        self._used_ids: set[str] = set()

    def digits(self, count: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(count))

    def unique(self, make: str) -> str:
        """Guard against the (unlikely) repeat of a random identifier."""
        while make in self._used_ids:
            make = make[:-3] + self.digits(3)
        self._used_ids.add(make)
        return make

    def day_between(self, earliest: date, latest: date) -> date:
        return earliest + timedelta(days=self.rng.randint(0, (latest - earliest).days))

    # --- people -------------------------------------------------------------------------------

    def providers(self) -> tuple[Provider, ...]:
        names = [
            ("Marisol", "Quenby"),
            ("Tobias", "Fairweather-Lunn"),
            ("Ingrid", "Okonkwo-Vale"),
            ("Ravi", "Stellmach"),
            ("Beatrix", "Hollowell"),
            ("Anders", "Kilbride-Moss"),
        ]
        return tuple(
            Provider(npi=npi_with_check_digit("1" + self.digits(8)), first_name=first, last_name=last)
            for first, last in names
        )

    def patient(self, payer_id: PayerId) -> Patient:
        sex = self.rng.choice(("F", "M"))
        first = self.rng.choice(FIRST_NAMES_F if sex == "F" else FIRST_NAMES_M)
        if payer_id == "KEYSTONE":
            age_days = self.rng.randint(65 * 365, 92 * 365)
        else:
            age_days = self.rng.randint(2 * 365, 64 * 365)
        return Patient(
            payer_id=payer_id,
            member_id=self.unique(MEMBER_PREFIX[payer_id] + self.digits(9)),
            first_name=first,
            last_name=self.rng.choice(LAST_NAMES),
            dob=self.ref - timedelta(days=age_days),
            sex=sex,
        )

    def eligibility(self, patient: Patient) -> Eligibility:
        plan_name, copay, coinsurance, deductible, oop_max = self.rng.choice(PLANS[patient.payer_id])
        start = date(self.rng.choice((2019, 2021, 2023, 2024, 2025)), self.rng.choice((1, 4, 7, 10)), 1)
        end = date(2026, self.rng.choice((5, 6, 8, 9)), 30) if self.rng.random() < 0.12 else None
        deductible_total = Decimal(deductible)
        met = _money(deductible_total * Decimal(self.rng.choice((0, 0.25, 0.5, 0.8, 1, 1))))
        oop = Decimal(oop_max) if oop_max is not None else None
        oop_met = _money(met + Decimal(self.rng.randint(0, 900))) if oop is not None else met
        if oop is not None:
            oop_met = min(oop_met, oop)
        return Eligibility(
            payer_id=patient.payer_id,
            member_id=patient.member_id,
            plan_name=plan_name,
            group_number=f"G{self.digits(6)}",
            coverage_start=start,
            coverage_end=end,
            copay=Decimal(copay),
            coinsurance_percent=coinsurance,
            deductible=deductible_total,
            deductible_met=met,
            out_of_pocket_max=oop,
            out_of_pocket_met=oop_met,
        )

    # --- claims as billed ---------------------------------------------------------------------

    def service_date_for(self, outcome: Outcome, payer_id: PayerId, carc: str | None) -> date:
        if outcome in (Outcome.PENDING, Outcome.INFO_REQUESTED):
            return self.day_between(self.ref - timedelta(days=60), self.ref - timedelta(days=8))
        if carc == "29":  # filed too late: service long before the payer's limit
            limit = TIMELY_FILING_DAYS[payer_id]
            return self.day_between(self.ref - timedelta(days=300), self.ref - timedelta(days=limit + 40))
        if outcome == Outcome.NOT_FOUND:
            return self.day_between(self.ref - timedelta(days=300), self.ref - timedelta(days=20))
        return self.day_between(self.ref - timedelta(days=300), self.ref - timedelta(days=28))

    def submitted_date_for(self, service_date: date, payer_id: PayerId, carc: str | None) -> date:
        if carc == "29":
            return service_date + timedelta(days=TIMELY_FILING_DAYS[payer_id] + self.rng.randint(3, 30))
        return service_date + timedelta(days=self.rng.randint(1, 6))

    def lines(self, payer_id: PayerId, service_date: date, diagnoses: int, min_lines: int) -> list[ServiceLine]:
        visits = MEDICARE_VISIT_CODES if payer_id == "KEYSTONE" else VISIT_CODES
        visit_code, visit_charge = self.rng.choice(visits)
        extra_count = self.rng.choice((0, 0, 1, 1, 2, 3))
        extra_count = max(extra_count, min_lines - 1)
        extras: list[tuple[str, str, tuple[str, ...], bool]] = []
        for candidate in self.rng.sample(ANCILLARY_CODES, len(ANCILLARY_CODES)):
            if len(extras) < extra_count and candidate[0] not in {code for code, *_ in extras}:
                extras.append(candidate)  # one of each code: a knee is injected on one side per visit
        needs_25 = any(significant for *_, significant in extras)
        specs: list[tuple[str, str, tuple[str, ...], int]] = [
            (visit_code, visit_charge, ("25",) if needs_25 else (), 1)
        ]
        for code, charge, modifiers, _ in extras:
            if code == "97110" and payer_id != "KEYSTONE":
                modifiers = ()
            units = self.rng.randint(1, 3) if code in ("97110", "J1885") else 1
            specs.append((code, charge, modifiers, units))
        lines = []
        for number, (code, charge, modifiers, units) in enumerate(specs, start=1):
            pointers = (1,) if number == 1 or diagnoses == 1 else (self.rng.randint(1, diagnoses),)
            lines.append(
                ServiceLine(
                    line_number=number,
                    procedure_code=code,
                    modifiers=modifiers,
                    units=units,
                    charge=_money(Decimal(charge) * units),
                    diagnosis_pointers=pointers,
                    service_date_from=service_date,
                    service_date_to=service_date,
                )
            )
        return lines

    # --- the payer's adjudication -------------------------------------------------------------

    def allowed_for(self, payer_id: PayerId, charge: Decimal) -> Decimal:
        factor = ALLOWED_FACTOR[payer_id] * self.rng.uniform(0.92, 1.06)
        return min(charge, _money(float(charge) * factor))

    def pay_line(self, line: ServiceLine, payer_id: PayerId, benefits: Eligibility, first: bool) -> ServiceLine:
        """Pay a line at the fee schedule, with the member's copay, deductible or coinsurance."""
        allowed = self.allowed_for(payer_id, line.charge)
        adjustments = []
        if line.charge > allowed:
            adjustments.append(Adjustment(group="CO", carc="45", amount=line.charge - allowed))
        patient_share = Decimal("0.00")
        if first and benefits.copay > 0:
            patient_share = min(allowed, benefits.copay)
            adjustments.append(Adjustment(group="PR", carc="3", amount=patient_share))
        else:
            if benefits.deductible_remaining > 0 and self.rng.random() < 0.3:
                # a paid claim keeps a payment: the deductible takes at most half the allowed amount
                deductible_part = min(_money(allowed / 2), _money(benefits.deductible_remaining * Decimal("0.2")))
                if deductible_part > 0:
                    adjustments.append(Adjustment(group="PR", carc="1", amount=deductible_part))
                    patient_share += deductible_part
            if benefits.coinsurance_percent:
                coinsurance = _money((allowed - patient_share) * benefits.coinsurance_percent / 100)
                if coinsurance > 0:
                    adjustments.append(Adjustment(group="PR", carc="2", amount=coinsurance))
                    patient_share += coinsurance
        return line.model_copy(
            update={"allowed": allowed, "paid": allowed - patient_share, "adjustments": tuple(adjustments)}
        )

    def deny_line(
        self, line: ServiceLine, payer_id: PayerId, group: AdjustmentGroup, carc: str, rarc: str | None
    ) -> ServiceLine:
        """Deny a line: a CO denial writes the charge off; a PR denial bills the allowed amount."""
        adjustments: tuple[Adjustment, ...]
        if group == "CO" and carc != "45":
            adjustments = (Adjustment(group="CO", carc=carc, rarc=rarc, amount=line.charge),)
            allowed = Decimal("0.00")
        elif carc == "45":  # a zero fee schedule: the contract pays nothing for this service
            adjustments = (Adjustment(group="CO", carc="45", rarc=rarc, amount=line.charge),)
            allowed = Decimal("0.00")
        else:
            allowed = self.allowed_for(payer_id, line.charge)
            adjustments = (
                Adjustment(group="CO", carc="45", amount=line.charge - allowed),
                Adjustment(group=group, carc=carc, rarc=rarc, amount=allowed),
            )
        return line.model_copy(update={"allowed": allowed, "paid": Decimal("0.00"), "adjustments": adjustments})

    def adjudicate(
        self,
        draft: _Draft,
        benefits: Eligibility | None,
        denial: tuple[AdjustmentGroup, str, str | None] | None,
        payment_runs: dict[tuple[PayerId, date], PaymentRun],
    ) -> SandboxClaim:
        outcome = draft.outcome
        lines = draft.lines
        received = draft.submitted_date + timedelta(days=self.rng.randint(0, 2))
        if outcome == Outcome.NOT_FOUND:
            return self._claim(draft, lines, None)
        if outcome == Outcome.REJECTED:
            category, status, entity, reason = self.rng.choice(REJECTION_REASONS)
            record = PayerRecord(
                outcome=outcome,
                category_code=category,
                status_code=status,
                entity_code=entity,
                payer_claim_number=None,
                received_date=received,
                processed_date=received,
                rejection_reason=reason,
            )
            return self._claim(draft, lines, record)
        icn = self.icn(draft.payer_id, received)
        if outcome in (Outcome.PENDING, Outcome.INFO_REQUESTED):
            if outcome == Outcome.PENDING:
                category, status = ("P1", "20") if self.rng.random() < 0.7 else ("P2", "41")
            else:
                category, status = ("P3", "294") if self.rng.random() < 0.6 else ("R4", "294")
            record = PayerRecord(
                outcome=outcome,
                category_code=category,
                status_code=status,
                payer_claim_number=icn,
                received_date=received,
            )
            return self._claim(draft, lines, record)

        if outcome == Outcome.DENIED:
            assert denial is not None
            lines = [self.deny_line(line, draft.payer_id, *denial) for line in lines]
            category, status = "F2", ("21" if denial[1] == "16" else "1")
        else:
            assert benefits is not None, "the payer pays only members it knows"
            lines = [self.pay_line(line, draft.payer_id, benefits, first=i == 0) for i, line in enumerate(lines)]
            category, status = "F1", "65"
            if outcome == Outcome.PARTIALLY_PAID:
                group, carc, rarc = self.rng.choice(LINE_DENIAL_REASONS)
                lines[-1] = self.deny_line(draft.lines[-1], draft.payer_id, group, carc, rarc)
                status = "107"
            elif self.rng.random() < 0.05:  # a few were reprocessed after an adjustment
                category, status = "F3", "101"
        processed = min(received + timedelta(days=self.rng.randint(9, 24)), self.ref - timedelta(days=3))
        payment_date = processed + timedelta(days=(4 - processed.weekday()) % 7)  # the Friday after
        key = (draft.payer_id, payment_date)
        if key not in payment_runs:
            method: PaymentMethod = "CHK" if draft.payer_id == "MERIDIAN" and self.rng.random() < 0.4 else "ACH"
            trace = self.digits(7) if method == "CHK" else f"{payment_date:%y%m%d}{self.digits(5)}"
            payment_runs[key] = PaymentRun(trace_number=trace, method=method, payment_date=payment_date)
        allowed = sum((line.allowed for line in lines), Decimal("0.00"))
        paid = sum((line.paid for line in lines), Decimal("0.00"))
        patient = sum((adj.amount for line in lines for adj in line.adjustments if adj.group == "PR"), Decimal("0.00"))
        record = PayerRecord(
            outcome=outcome,
            category_code=category,
            status_code=status,
            payer_claim_number=icn,
            received_date=received,
            processed_date=processed,
            allowed=allowed,
            paid=paid,
            patient_responsibility=patient,
            payment=payment_runs[key],
        )
        return self._claim(draft, lines, record)

    def icn(self, payer_id: PayerId, received: date) -> str:
        """Payer claim control numbers in each payer's own format."""
        julian = received.strftime("%y%j")
        if payer_id == "SUNRISE":
            return self.unique(f"SR{julian}{self.digits(6)}")
        if payer_id == "MERIDIAN":
            return self.unique(f"M{received:%Y%m%d}{self.digits(5)}")
        return self.unique(f"21{julian}{self.digits(6)}")  # Medicare-style 13 digits

    @staticmethod
    def _claim(draft: _Draft, lines: list[ServiceLine], record: PayerRecord | None) -> SandboxClaim:
        return SandboxClaim(
            claim_id=draft.claim_id,
            payer_id=draft.payer_id,
            patient=draft.patient,
            rendering_npi=draft.rendering_npi,
            diagnosis_codes=draft.diagnosis_codes,
            place_of_service=draft.place_of_service,
            submitted_date=draft.submitted_date,
            lines=tuple(lines),
            payer=record,
        )

    # --- the whole world ----------------------------------------------------------------------

    def denial_schedule(self, payer_id: PayerId, count: int) -> list[tuple[AdjustmentGroup, str, str | None]]:
        """Every denial reason at least once per payer (where it applies), the rest by weight."""
        # Medicare's filing limit (a year) is longer than the sandbox's ten months of service dates.
        reasons = [r for r in DENIAL_REASONS if not (payer_id == "KEYSTONE" and r[1] == "29")]
        schedule = [(group, carc, rarc) for group, carc, rarc, _ in reasons]
        weights = [weight for *_, weight in reasons]
        schedule += [
            (group, carc, rarc)
            for group, carc, rarc, _ in self.rng.choices(reasons, weights=weights, k=count - len(schedule))
        ]
        self.rng.shuffle(schedule)
        return schedule

    def world(self) -> SandboxWorld:
        providers = self.providers()
        practice = Practice(
            name="Willowbend Family Medicine (SANDBOX)",
            npi=npi_with_check_digit("1" + self.digits(8)),
            tax_id="99" + self.digits(7),
            address="100 Sandbox Way",
            city="Springfield",
            state="IL",
            zip_code="62701",
        )
        patients: list[Patient] = []
        eligibility: list[Eligibility] = []
        claims: list[SandboxClaim] = []
        payment_runs: dict[tuple[PayerId, date], PaymentRun] = {}
        claim_number = 100000
        for payer_id in PAYER_IDS:
            members = [self.patient(payer_id) for _ in range(max(1, self.claims_per_payer // 2))]
            benefits = {m.member_id: self.eligibility(m) for m in members}
            # members the practice has on file but the payer does not know (wrong or old card)
            strangers = [self.patient(payer_id) for _ in range(3)]
            patients += members + strangers
            quota = outcome_quota(self.claims_per_payer)
            outcomes = [outcome for outcome, count in quota.items() for _ in range(count)]
            self.rng.shuffle(outcomes)
            denials = iter(self.denial_schedule(payer_id, quota[Outcome.DENIED]))
            for index, outcome in enumerate(outcomes):
                if outcome == Outcome.NOT_FOUND and index % 2 == 0:
                    patient = self.rng.choice(strangers)
                else:
                    patient = members[index % len(members)] if index < len(members) else self.rng.choice(members)
                denial = next(denials) if outcome == Outcome.DENIED else None
                draft = self.draft(f"C{claim_number}", payer_id, patient, outcome, providers, denial)
                claim_number += self.rng.randint(1, 9)
                claims.append(self.adjudicate(draft, benefits.get(patient.member_id), denial, payment_runs))
            eligibility += _covering_every_claim(benefits, claims)
        return SandboxWorld(
            reference_date=self.ref,
            practice=practice,
            providers=providers,
            patients=tuple(patients),
            claims=tuple(claims),
            eligibility=tuple(eligibility),
            payer_names=PAYER_NAMES,
        )

    def draft(
        self,
        claim_id: str,
        payer_id: PayerId,
        patient: Patient,
        outcome: Outcome,
        providers: tuple[Provider, ...],
        denial: tuple[AdjustmentGroup, str, str | None] | None,
    ) -> _Draft:
        carc = denial[1] if denial else None
        service_date = self.service_date_for(outcome, payer_id, carc)
        diagnoses = tuple(self.rng.sample(DIAGNOSIS_CODES, self.rng.choice((1, 1, 2, 2, 3))))
        min_lines = 2 if outcome == Outcome.PARTIALLY_PAID else 1
        return _Draft(
            claim_id=claim_id,
            payer_id=payer_id,
            patient=patient,
            outcome=outcome,
            rendering_npi=self.rng.choice(providers).npi,
            diagnosis_codes=diagnoses,
            place_of_service="02" if self.rng.random() < 0.06 else "11",
            service_date=service_date,
            submitted_date=self.submitted_date_for(service_date, payer_id, carc),
            lines=self.lines(payer_id, service_date, len(diagnoses), min_lines),
        )


def _covering_every_claim(benefits: dict[str, Eligibility], claims: list[SandboxClaim]) -> list[Eligibility]:
    """End a lapsed coverage no earlier than the member's last claim the payer holds, so no paid claim
    falls outside coverage; a coverage that would then end in the last weeks stays active."""
    last_service: dict[str, date] = {}
    for claim in claims:
        member = claim.patient.member_id
        if claim.payer is not None and member in benefits:
            last_service[member] = max(last_service.get(member, claim.service_date_to), claim.service_date_to)
    adjusted = []
    for member_id, record in benefits.items():
        end = record.coverage_end
        if end is not None and member_id in last_service and end < last_service[member_id]:
            end = last_service[member_id] + timedelta(days=30)
            record = record.model_copy(update={"coverage_end": end if end < REFERENCE_DATE else None})
        adjusted.append(record)
    return adjusted


@cache
def load_world(claims_per_payer: int = CLAIMS_PER_PAYER) -> SandboxWorld:
    """The one sandbox world (cached: building it takes a few hundred milliseconds).

    `claims_per_payer` makes a bigger (or smaller) world from the same seed, with the same outcome
    shares, for benchmarks that need more distinct claims; the standard world (180) is what the CSV,
    the fixtures and the tests are made from, and a different size is a different world, not a superset.
    """
    return _Generator(SEED, claims_per_payer).world()


if __name__ == "__main__":
    from sandbox.exports import main  # the exports import this module: import them only when run

    main()
