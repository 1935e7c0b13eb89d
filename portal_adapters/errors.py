"""One error taxonomy for every adapter; the retry policy reads only the type.

- PortalUnavailable (and RateLimited): the system failed → retry with backoff.
- AuthenticationFailed, AccountLocked, LayoutChanged: retrying cannot help and may make it worse
  (lockouts, a bot hammering a changed page) → stop that payer and alert a person.
- BadClaimData: our data is wrong for this payer → do not retry that claim; tell a specialist.
- "Claim not found" is not an error: it is a result with status not_found.

Messages are written for people and never include credentials or PHI. Library exceptions
(Playwright, httpx) are translated at the adapter boundary with `raise ... from err`.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    PORTAL_UNAVAILABLE = "portal_unavailable"
    RATE_LIMITED = "rate_limited"
    AUTH_FAILED = "auth_failed"
    ACCOUNT_LOCKED = "account_locked"
    LAYOUT_CHANGED = "layout_changed"
    BAD_CLAIM_DATA = "bad_claim_data"


class AdapterError(Exception):
    """Base of every error an adapter may raise. Nothing else escapes an adapter."""

    kind: ErrorKind
    retryable: bool = False
    stops_payer: bool = False

    def __init__(self, payer_id: str, message: str, evidence_ref: str | None = None) -> None:
        super().__init__(f"{payer_id}: {message}")
        self.payer_id = payer_id
        self.message = message
        self.evidence_ref = evidence_ref


class PortalUnavailable(AdapterError):
    """Timeouts, 5xx, maintenance pages, dropped connections: try again later."""

    kind = ErrorKind.PORTAL_UNAVAILABLE
    retryable = True


class RateLimited(PortalUnavailable):
    """The payer asked us to slow down (429 or a 'too many requests' page)."""

    kind = ErrorKind.RATE_LIMITED

    def __init__(
        self, payer_id: str, message: str, retry_after_s: float | None = None, evidence_ref: str | None = None
    ) -> None:
        super().__init__(payer_id, message, evidence_ref)
        self.retry_after_s = retry_after_s


class AuthenticationFailed(AdapterError):
    """Wrong credentials or a second factor we could not pass. Retrying risks a lockout."""

    kind = ErrorKind.AUTH_FAILED
    stops_payer = True


class AccountLocked(AuthenticationFailed):
    kind = ErrorKind.ACCOUNT_LOCKED


class LayoutChanged(AdapterError):
    """A required element is missing: the portal changed, the playbook must be fixed."""

    kind = ErrorKind.LAYOUT_CHANGED
    stops_payer = True


class BadClaimData(AdapterError):
    """The claim cannot be looked up as it is (missing member id, a date the portal refuses)."""

    kind = ErrorKind.BAD_CLAIM_DATA


ERROR_TYPES: dict[ErrorKind, type[AdapterError]] = {
    cls.kind: cls
    for cls in (PortalUnavailable, RateLimited, AuthenticationFailed, AccountLocked, LayoutChanged, BadClaimData)
}


def error_for(kind: ErrorKind, payer_id: str, message: str, evidence_ref: str | None = None) -> AdapterError:
    """Rebuild the typed error of a recorded failure, so the retry policy can judge it by type."""
    return ERROR_TYPES[kind](payer_id, message, evidence_ref=evidence_ref)
