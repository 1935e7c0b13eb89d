"""Logs never carry PHI or secrets, even when a caller passes them by mistake."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claimbot.logs import configure_logging, get_logger
from claimbot.settings import LogFormat
from tests.factories import csv_rows, make_claim, write_csv

PHI = ("Quillfeather", "Marisol", "SUN77120433", "1979-04-17")


def test_json_logs_mask_phi_and_secret_keys(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogFormat.JSON, "INFO")
    get_logger("test").info(
        "checked",
        claim_id="C1",
        member_id="SUN77120433",
        patient={"last_name": "Quillfeather"},
        portal_password="hunter2",
        totp_secret="JBSWY3DP",
        paid="12.00",
    )
    event = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert event["claim_id"] == "C1" and event["paid"] == "12.00"
    assert event["member_id"] == event["patient"] == event["portal_password"] == event["totp_secret"] == "[PHI]"
    assert event["level"] == "info" and event["event"] == "checked"


def test_a_whole_cli_session_prints_no_phi(tmp_path: Path) -> None:
    """Import a bad file and a good one through the real console entry point; scan everything printed."""
    env = {
        **os.environ,
        "CLAIMBOT_DATA_DIR": str(tmp_path / "data"),
        "CLAIMBOT_LOG_FORMAT": "json",
        "CLAIMBOT_LOG_LEVEL": "DEBUG",
    }
    env.pop("CLAIMBOT_DATABASE_URL", None)
    good = write_csv(tmp_path / "good.csv", csv_rows(make_claim("C1")))
    bad = write_csv(
        tmp_path / "bad.csv",
        [{**r, "patient_dob": "04/17/1979", "member_id": "SUN77120433"} for r in csv_rows(make_claim("C2"))],
    )
    printed = ""
    for args in (
        ["db", "upgrade"],
        ["claims", "import", str(bad)],
        ["claims", "import", str(good)],
        ["claims", "list"],
        ["claims", "show", "C1"],
        ["claims", "show", "C1", "--json"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "claimbot", *args], capture_output=True, text=True, env=env, check=False
        )
        printed += done.stdout + done.stderr
    assert "bad.csv: line 2: column 'patient_dob'" in printed
    assert "C1" in printed
    for value in (*PHI, "04/17/1979"):
        assert value not in printed
