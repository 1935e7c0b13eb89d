"""config/claimbot.toml: env > TOML > defaults, every section read by its class, unknown keys and secrets refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.settings import SlackSettings
from claimbot.cli import app
from claimbot.settings import ConfigFileError, ServeSettings, Settings, read_config
from claims.payer_config import load_payer_config
from claims.team import load_team
from portal_adapters.clearinghouse import BatchPolling, ClearinghouseIdentity
from tests.conftest import REPO

EXAMPLE = REPO / "config" / "examples" / "three-payers" / "claimbot.toml"


@pytest.fixture
def toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "etc" / "claimbot.toml"
    path.parent.mkdir()
    monkeypatch.setenv("CLAIMBOT_CONFIG", str(path))
    for name in ("CLAIMBOT_DATA_DIR", "CLAIMBOT_LOG_LEVEL", "CLAIMBOT_SCHEDULE_TIMEZONE", "CLAIMBOT_SERVE_PORT"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_the_file_sets_what_the_environment_does_not(toml: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml.write_text(
        'data_dir = "data"\nlog_level = "DEBUG"\n[schedule]\ntimezone = "Europe/Paris"\n'
        '[serve]\nport = 9999\n[slack]\nalert_channel = "C1"\n[clearinghouse]\nsender_id = "ME"\nack_wait_s = 5\n'
    )
    settings = Settings()
    assert settings.data_dir == toml.parent / "data"  # relative to the file's folder
    assert settings.log_level == "DEBUG" and settings.schedule_timezone == "Europe/Paris"
    assert settings.evidence_retention_days == 30  # the default where neither says
    assert ServeSettings().port == 9999 and SlackSettings().alert_channel == "C1"
    assert ClearinghouseIdentity().sender_id == "ME" and BatchPolling().ack_wait_s == 5
    monkeypatch.setenv("CLAIMBOT_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("CLAIMBOT_SCHEDULE_TIMEZONE", "UTC")
    monkeypatch.setenv("CLAIMBOT_SERVE_PORT", "7000")
    monkeypatch.setenv("SLACK_ALERT_CHANNEL", "C2")
    monkeypatch.setenv("CLAIMBOT_CLEARINGHOUSE_SENDER_ID", "ENV")
    assert Settings().log_level == "WARNING" and Settings().schedule_timezone == "UTC"
    assert ServeSettings().port == 7000 and SlackSettings().alert_channel == "C2"
    assert ClearinghouseIdentity().sender_id == "ENV"


@pytest.mark.parametrize(
    ("text", "build", "named"),
    [
        ("colour = 1\n", Settings, "unknown key colour"),
        ("[schedule]\ntimezone = 'UTC'\nstatus_cron = '0 1 * * *'\n", Settings, "unknown key [schedule] status_cron"),
        ("[serve]\nports = 1\n", ServeSettings, "unknown key [serve] ports"),
        ("[slack]\nchannel = 'C1'\n", SlackSettings, "unknown key [slack] channel"),
        ("[clearinghouse]\nsender = 'X'\n", ClearinghouseIdentity, "unknown key [clearinghouse] sender"),
        ("[printing]\nx = 1\n", Settings, "unknown section [printing]"),
    ],
)
def test_an_unknown_key_is_an_error_naming_the_file_and_the_key(toml: Path, text: str, build: type, named: str) -> None:
    toml.write_text(text)
    with pytest.raises(ConfigFileError) as raised:
        build()
    assert str(toml) in str(raised.value) and named in str(raised.value)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[slack]\nbot_token = 'xoxb-1-SECRETVALUE'\n", "[slack] bot_token"),
        ("[slack]\nsigning_secret = 'SECRETVALUE'\n", "[slack] signing_secret"),
        ("[clearinghouse]\napi_key = 'SECRETVALUE'\n", "[clearinghouse] api_key"),
        ("credentials_key = 'SECRETVALUE'\n", "credentials_key"),
        ("database_url = 'postgresql://u:SECRETVALUE@db/claimbot'\n", "database_url holds a password"),
    ],
)
def test_a_secret_in_the_file_is_refused_without_quoting_it(toml: Path, text: str, where: str) -> None:
    toml.write_text(text)
    with pytest.raises(ConfigFileError) as raised:
        read_config()
    message = str(raised.value)
    assert where in message and "environment" in message and "SECRETVALUE" not in message


def test_a_missing_named_file_or_bad_toml_is_an_error(toml: Path) -> None:
    with pytest.raises(ConfigFileError, match="no such file"):
        Settings()
    toml.write_text("log_level = \n")
    with pytest.raises(ConfigFileError, match="not valid TOML"):
        Settings()


def test_the_command_line_names_the_file_and_key(toml: Path, runner: CliRunner) -> None:
    toml.write_text("[serve]\nprot = 1\n")
    result = runner.invoke(app, ["claims", "list"])
    assert result.exit_code == 3, result.output
    assert f"{toml}: unknown key [serve] prot" in result.stderr and "Traceback" not in result.stderr


def test_the_shipped_file_holds_the_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shipped = read_config(REPO / "config" / "claimbot.toml")
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    monkeypatch.setenv("CLAIMBOT_CONFIG", str(empty))
    defaults = {
        "": Settings(),
        "serve": ServeSettings(),
        "slack": SlackSettings(),
        "clearinghouse": (ClearinghouseIdentity(), BatchPolling()),
    }
    monkeypatch.setenv("CLAIMBOT_CONFIG", str(REPO / "config" / "claimbot.toml"))
    assert Settings() == defaults[""] and ServeSettings() == defaults["serve"] and SlackSettings() == defaults["slack"]
    assert (ClearinghouseIdentity(), BatchPolling()) == defaults["clearinghouse"]
    assert set(shipped) == {
        "log_format",
        "log_level",
        "evidence_retention_days",
        "run_lease_s",
        "eligibility_days",
        "schedule",
        "serve",
        "slack",
        "clearinghouse",
    }


def test_the_three_payer_example_loads_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMBOT_CONFIG", str(EXAMPLE))
    monkeypatch.delenv("CLAIMBOT_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CLAIMBOT_PLAYBOOKS_DIR", raising=False)
    settings = Settings()
    assert settings.config_dir == EXAMPLE.parent and settings.playbooks_dir == REPO / "playbooks"
    rules = load_payer_config(settings.payers_file).rules()
    assert {p: r.route.value for p, r in rules.items()} == {
        "SUNRISE": "portal",
        "MERIDIAN": "api_then_portal",
        "KEYSTONE": "api",
    }
    assert load_team(settings.team_file).members
    assert ServeSettings().host == "0.0.0.0"  # noqa: S104 - the example is for a container
    assert SlackSettings().leads_channel == "C0LEADS001"
    assert ClearinghouseIdentity().usage_indicator == "T"
