"""Slack user -> claims.team.Actor: their member entry's roles plus those of the team's user groups they
are in. A group's members come from the Web API (`usergroups.users.list`) and are kept for
SLACK_USERGROUP_CACHE_S (5 minutes by default), so a person removed from a group loses its role
within that time; a group the API cannot list gives nobody its role (logged, without ids of people).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from claims.team import Actor, Role, TeamConfig

log = structlog.get_logger(__name__)


class Identity:
    def __init__(
        self,
        team: TeamConfig,
        client: AsyncWebClient,
        cache_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.team = team
        self.client = client
        self.cache_s = cache_s
        self.clock = clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = asyncio.Lock()

    def _groups(self) -> list[str]:
        return sorted({group for groups in self.team.slack_groups.values() for group in groups})

    async def _group_members(self, group: str) -> frozenset[str]:
        cached = self._members.get(group)
        if cached is not None and self.clock() - cached[0] < self.cache_s:
            return cached[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=group)
            users: list[str] = response.get("users", [])
            members = frozenset(users)
        except SlackApiError as err:
            log.warning("usergroup_unavailable", usergroup=group, error=str(err.response.get("error", "unknown")))
            members = frozenset()
        self._members[group] = (self.clock(), members)
        return members

    async def actor(self, user_id: str) -> Actor:
        """The person and the roles they hold right now (checked on every action and modal submit)."""
        async with self._lock:
            groups = frozenset([group for group in self._groups() if user_id in await self._group_members(group)])
        return self.team.slack_actor(user_id, groups)

    async def holders(self, role: Role) -> list[str]:
        """The Slack users who hold `role`: by their member entry or through one of the role's groups."""
        users = {m.slack_user for m in self.team.members if m.slack_user and role in m.roles}
        async with self._lock:
            for group in self.team.slack_groups.get(role, ()):
                users |= await self._group_members(group)
        return sorted(users)

    def forget(self) -> None:
        """Drop the cached group members (tests; a `/claim` refresh could use it too)."""
        self._members.clear()
