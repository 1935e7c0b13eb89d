"""The team file: roles by CLI login, Slack user and Slack group; errors name the file and key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from claims.team import Role, TeamConfig, TeamConfigError, load_team

TEAM = """
members:
  - {name: Dana Reyes, cli_user: dana, slack_user: U0DANA01, roles: [specialist, lead]}
  - {name: Sam Ortiz, slack_user: U0SAM001, roles: [specialist]}
slack_groups:
  lead: [S0LEADS01]
resubmit_approval_above: 500
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "team.yaml"
    path.write_text(text)
    return path


def test_roles_come_from_the_member_entry_and_from_groups(tmp_path: Path) -> None:
    team = load_team(write(tmp_path, TEAM))
    assert team.resubmit_approval_above == Decimal("500")
    assert team.cli_actor("dana").roles == {Role.SPECIALIST, Role.LEAD}
    assert team.slack_actor("U0SAM001").roles == {Role.SPECIALIST}
    promoted = team.slack_actor("U0SAM001", frozenset({"S0LEADS01"}))
    assert promoted.roles == {Role.SPECIALIST, Role.LEAD} and promoted.id == "slack:U0SAM001"
    assert team.slack_actor("U0STRANGER").roles == frozenset()


def test_an_unlisted_cli_user_holds_the_local_roles_and_a_missing_file_is_the_default(tmp_path: Path) -> None:
    assert load_team(write(tmp_path, TEAM)).cli_actor("someone").roles == {Role.SPECIALIST}
    default = load_team(tmp_path / "absent.yaml")
    assert default == TeamConfig()
    assert default.cli_actor("me").roles == {Role.SPECIALIST}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("members:\n  - {name: A, slack_user: nope, roles: [lead]}\n", "members.0.slack_user"),
        ("members:\n  - {name: A, roles: [lead]}\n", "members.0"),
        ("members:\n  - {name: A, cli_user: a, roles: [boss]}\n", "members.0.roles.0"),
        ("colour: blue\n", "colour"),
    ],
)
def test_bad_entries_name_the_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(TeamConfigError) as caught:
        load_team(path)
    assert str(path) in str(caught.value) and f"key '{key}'" in str(caught.value)


def test_one_login_for_two_members_is_an_error(tmp_path: Path) -> None:
    text = "members:\n  - {name: A, cli_user: a, roles: [lead]}\n  - {name: B, cli_user: a, roles: [lead]}\n"
    with pytest.raises(TeamConfigError, match="cli_user listed for two members: a"):
        load_team(write(tmp_path, text))


def test_the_shipped_team_file_loads() -> None:
    shipped = Path(__file__).parents[2] / "config" / "team.yaml"
    assert load_team(shipped).cli_actor("anyone").has(Role.SPECIALIST)
