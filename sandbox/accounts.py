"""Sandbox log-in accounts and the clearinghouse API key. Every secret here is a sandbox value.

Each portal has a demo account (printed by `claimbot sandbox serve`) and a second account, so tests
can exercise per-account limits (concurrent sessions, rate limits, lockout) without touching the demo.
"""

# ruff: noqa: S106 - the passwords and TOTP secrets below are published sandbox values, not secrets

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from sandbox.models import PayerId


class ServerName(StrEnum):
    """The four sandbox servers; the portal names are what `--fault PORTAL:SPEC` and URLs use."""

    SUNRISE = "sunrise"
    MERIDIAN = "meridian"
    KEYSTONE = "keystone"
    CLEARINGHOUSE = "clearinghouse"


#: Port offsets from `port_base`, in this order.
SERVER_ORDER = (ServerName.SUNRISE, ServerName.MERIDIAN, ServerName.KEYSTONE, ServerName.CLEARINGHOUSE)


PORTALS: tuple[ServerName, ...] = (ServerName.SUNRISE, ServerName.MERIDIAN, ServerName.KEYSTONE)
#: The payer behind each portal.
PORTAL_PAYER: dict[ServerName, PayerId] = {
    ServerName.SUNRISE: "SUNRISE",
    ServerName.MERIDIAN: "MERIDIAN",
    ServerName.KEYSTONE: "KEYSTONE",
}


class PortalAccount(BaseModel):
    """One portal log-in. SUNRISE and MERIDIAN ask a TOTP code; KEYSTONE asks a security question."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str
    password: str
    totp_secret: str | None = None
    security_answers: dict[str, str] = {}

    def answer_to(self, question: str) -> str:
        """The answer to a security question as the page words it (KeyError for an unknown question)."""
        return self.security_answers[question]


_KEYSTONE_ANSWERS = {
    "What was the name of your first pet?": "biscuit",
    "In what city was your first job?": "sandbox falls",
    "What is your favorite color?": "teal",
}

ACCOUNTS: dict[ServerName, tuple[PortalAccount, ...]] = {
    ServerName.SUNRISE: (
        PortalAccount(
            username="demo.biller",
            password="Sunrise-Sandbox-1",
            totp_secret="SANDBOXSUNRISEDEMOTOTPSECRETAAAA",
        ),
        PortalAccount(
            username="second.biller",
            password="Sunrise-Sandbox-2",
            totp_secret="SANDBOXSUNRISESECONDTOTPSECRETAA",
        ),
    ),
    ServerName.MERIDIAN: (
        PortalAccount(
            username="demo@willowbend.test",
            password="Meridian-Sandbox-1",
            totp_secret="SANDBOXMERIDIANDEMOTOTPSECRETAAA",
        ),
        PortalAccount(
            username="second@willowbend.test",
            password="Meridian-Sandbox-2",
            totp_secret="SANDBOXMERIDIANSECONDTOTPSECRETA",
        ),
    ),
    ServerName.KEYSTONE: (
        PortalAccount(username="WBFM0001", password="Keystone-Sandbox-1", security_answers=_KEYSTONE_ANSWERS),
        PortalAccount(username="WBFM0002", password="Keystone-Sandbox-2", security_answers=_KEYSTONE_ANSWERS),
    ),
}

#: Clearinghouse API key, sent as the `X-API-Key` header.
CLEARINGHOUSE_API_KEY = "sandbox-clearinghouse-key-0001"


def demo_account(portal: ServerName) -> PortalAccount:
    """The account the demo and the README use for a portal."""
    return ACCOUNTS[portal][0]


def find_account(portal: ServerName, username: str) -> PortalAccount | None:
    return next((account for account in ACCOUNTS[portal] if account.username == username), None)
