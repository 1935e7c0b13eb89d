"""The sweep blocks of payers.yaml: defaults, a payer's own overrides, and unknown keys refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from claims.models import PayerKind
from claims.payer_config import PayerConfigError, load_payer_config
from claims.status import ClaimStatus

REPO = Path(__file__).resolve().parents[2]

ONE = "payers:\n  - {id: ACME, name: Acme, kind: commercial, timely_filing_days: 90%s}\n"


def test_the_shipped_file_resolves_every_payer() -> None:
    rules = load_payer_config(REPO / "config" / "payers.yaml").rules()
    assert rules["KEYSTONE"].kind is PayerKind.MEDICARE and rules["KEYSTONE"].first_check_after_days == 14
    assert rules["SUNRISE"].first_check_after_days == 7
    assert rules["SUNRISE"].recheck_days[ClaimStatus.PENDING] == 5
    assert rules["MERIDIAN"].timely_filing_days == 90


def test_a_payers_own_block_overrides_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "payers.yaml"
    path.write_text(
        "sweep_defaults: {requests_per_minute: 30, recheck_days: {pending: 4}}\n"
        + ONE % ", sweep: {max_sessions: 1, recheck_days: {info_requested: 1}, canary_claim: C-1}"
    )
    [acme] = load_payer_config(path).rules().values()
    assert (acme.requests_per_minute, acme.max_sessions, acme.canary_claim) == (30, 1, "C-1")
    assert acme.recheck_days[ClaimStatus.PENDING] == 4 and acme.recheck_days[ClaimStatus.INFO_REQUESTED] == 1
    assert acme.recheck_days[ClaimStatus.SUBMITTED] == 7  # untouched defaults stay


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("sweep_defaults: {nightly: true}\n" + ONE % "", "key 'sweep_defaults.nightly': is not a known key"),
        (ONE % ", sweep: {recheck: 3}", "key 'payers.0.sweep.recheck': is not a known key"),
        (ONE % ", sweep: {recheck_days: {paid: 3}}", "final statuses are never re-checked: paid"),
        (ONE % ", sweep: {requests_per_minute: 0}", "key 'payers.0.sweep.requests_per_minute': must be at least 1"),
    ],
)
def test_mistakes_name_the_file_and_the_key(tmp_path: Path, body: str, said: str) -> None:
    path = tmp_path / "payers.yaml"
    path.write_text(body)
    with pytest.raises(PayerConfigError) as error:
        load_payer_config(path)
    assert str(error.value).startswith(str(path)) and said in str(error.value)
