"""Who is on the team and what each may do (config/team.yaml), validated; errors name the file and key.

People are known by their login name on the machine running the CLI (`cli_user`), their Slack user id
(`slack_user`, "U..."), or through a Slack user group whose members hold a role (`slack_groups`,
"S..."; the assistant resolves a group's members through the Web API). The rules that use the roles
(who may resubmit, when a lead must approve) live in one guard service (bots.resubmission), which the
CLI and the chat both call; this module only says who holds which role.

A machine with no team file (the embedded default) has one user: whoever runs the CLI holds
`local_user_roles` (specialist by default), so a single biller can work, but the two-person rule
still needs a second person with the lead role.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from claims.validation import plain_problems

SLACK_USER = r"^[UW][A-Z0-9]{2,20}$"
SLACK_GROUP = r"^S[A-Z0-9]{2,20}$"
LOGIN = r"^[A-Za-z0-9._\-]{1,64}$"


class TeamConfigError(ValueError):
    pass


class Role(StrEnum):
    SPECIALIST = "specialist"  # may trigger live checks and request resubmissions
    LEAD = "lead"  # may approve resubmissions above the threshold; receives escalations


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeamMember(_Strict):
    """One person. `name` is how Claimbot refers to them in audit views (staff names are not PHI)."""

    name: str = Field(min_length=1, max_length=100)
    cli_user: Annotated[str, Field(pattern=LOGIN)] | None = None
    slack_user: Annotated[str, Field(pattern=SLACK_USER)] | None = None
    roles: tuple[Role, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _reachable(self) -> TeamMember:
        if self.cli_user is None and self.slack_user is None:
            raise ValueError("a member needs cli_user, slack_user or both")
        return self


class TeamConfig(_Strict):
    """The whole team.yaml."""

    members: tuple[TeamMember, ...] = ()
    slack_groups: dict[Role, tuple[Annotated[str, Field(pattern=SLACK_GROUP)], ...]] = Field(default_factory=dict)
    local_user_roles: tuple[Role, ...] = (Role.SPECIALIST,)
    resubmit_approval_above: Decimal | None = Field(
        default=Decimal("1000.00"),
        ge=0,
        description="billed amount above which a lead other than the requester must approve; null: never",
    )

    @model_validator(mode="after")
    def _unique(self) -> TeamConfig:
        for attribute in ("cli_user", "slack_user"):
            seen = [getattr(m, attribute) for m in self.members if getattr(m, attribute)]
            twice = sorted({value for value in seen if seen.count(value) > 1})
            if twice:
                raise ValueError(f"{attribute} listed for two members: {', '.join(twice)}")
        return self

    def cli_actor(self, login: str) -> Actor:
        """The person running the CLI: their member entry, else the local user's roles."""
        for member in self.members:
            if member.cli_user == login:
                return Actor(id=f"cli:{login}", name=member.name, roles=frozenset(member.roles))
        return Actor(id=f"cli:{login}", name=login, roles=frozenset(self.local_user_roles))

    def slack_actor(self, user_id: str, group_ids: frozenset[str] = frozenset()) -> Actor:
        """A Slack user: the roles of their member entry plus those of the listed groups they belong to."""
        roles: set[Role] = set()
        name = user_id
        for member in self.members:
            if member.slack_user == user_id:
                roles.update(member.roles)
                name = member.name
        for role, groups in self.slack_groups.items():
            if group_ids.intersection(groups):
                roles.add(role)
        return Actor(id=f"slack:{user_id}", name=name, roles=frozenset(roles))


class Actor(_Strict):
    """Someone asking Claimbot to act, with the roles they hold right now. `id` goes into the audit log."""

    id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=100)
    roles: frozenset[Role] = frozenset()

    def has(self, role: Role) -> bool:
        return role in self.roles


def load_team(path: Path) -> TeamConfig:
    """The team file; a missing file is the embedded default (one local user), not an error."""
    if not path.exists():
        return TeamConfig()
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except OSError as err:
        raise TeamConfigError(f"{path}: cannot read the team file ({err.strerror})") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise TeamConfigError(f"{path}: {'line ' + str(mark.line + 1) + ': ' if mark else ''}not valid YAML") from err
    try:
        return TeamConfig.model_validate(raw or {})
    except ValidationError as err:
        first = plain_problems(err)[0]
        raise TeamConfigError(f"{path}: key '{first.key}': {first.message}") from err
