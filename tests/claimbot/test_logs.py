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


def _events(captured: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in captured.strip().splitlines() if line.startswith("{")]


def test_message_tracebacks_and_library_loggers_are_scrubbed_by_value(capsys: pytest.CaptureFixture[str]) -> None:
    """A patient in play is masked wherever its values land: the message, a traceback, httpx or uvicorn lines."""
    import logging
    from datetime import date

    from claims.models import Patient
    from claims.phi import register_patient

    configure_logging(LogFormat.JSON, "DEBUG")
    register_patient(
        Patient(
            last_name="Quillfeather", first_name="Marisol", date_of_birth=date(1979, 4, 17), member_id="SUN77120433"
        )
    )
    log = get_logger("test")
    log.info("asked about SUN77120433 for Quillfeather at https://portal.test/elig?m=X1&d=19790417", claim_id="C1")
    try:
        raise ValueError("'Marisol' is not an amount (born 04/17/1979)")
    except ValueError:
        log.exception("reading failed")
    logging.getLogger("uvicorn.error").warning("refused member SUN77120433")
    try:
        raise KeyError("sun77120433")
    except KeyError:
        logging.getLogger("apscheduler.scheduler").error("job crashed", exc_info=True)
    printed = capsys.readouterr().err
    events = _events(printed)
    assert [e["level"] for e in events] == ["info", "error", "warning", "error"]
    assert events[0]["claim_id"] == "C1" and "?[query hidden]" in str(events[0]["event"])
    assert "Traceback" in str(events[1]["exception"]) and events[2]["logger"] == "uvicorn.error"
    for value in (*PHI, "19790417", "04/17/1979", "sun77120433", "X1&d"):
        assert value not in printed


def test_http_client_request_lines_stay_out_below_debug(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    configure_logging(LogFormat.JSON, "INFO")
    logging.getLogger("httpx").info("HTTP Request: GET https://ch.test/x?member=1 200")
    assert capsys.readouterr().err == ""
