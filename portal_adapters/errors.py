"""One error taxonomy for every adapter; the retry policy reads only the type.

- PortalUnavailable (and RateLimited, TooManySessions): the system failed → retry with backoff.
- AuthenticationFailed, AccountLocked, LayoutChanged, PlaybookBroken: retrying cannot help and may
  make it worse (lockouts, a bot hammering a changed page) → stop that payer and alert a person.
- BadClaimData: our data is wrong for this payer → do not retry that claim; tell a specialist.
- "Claim not found" is not an error: it is a result with status not_found.

An error carries structured fields only — payer, reason (a stable code), claim id, playbook step,
field name, HTTP status, a payer code, evidence reference — and its text is built from them and
the message catalogue below. There is no free-text argument, so a URL, a page value, a library's
exception text or a validation error's input (any of which may hold a member id or a name) can
never reach a message, a log line or the ledger. Library exceptions (Playwright, httpx) are
translated at the adapter boundary with `raise ... from err`.
"""

from __future__ import annotations

import re
from enum import StrEnum


class ErrorKind(StrEnum):
    PORTAL_UNAVAILABLE = "portal_unavailable"
    RATE_LIMITED = "rate_limited"
    TOO_MANY_SESSIONS = "too_many_sessions"
    AUTH_FAILED = "auth_failed"
    ACCOUNT_LOCKED = "account_locked"
    LAYOUT_CHANGED = "layout_changed"
    PLAYBOOK_BROKEN = "playbook_broken"
    BAD_CLAIM_DATA = "bad_claim_data"


class Reason(StrEnum):
    """Why an adapter failed: a stable code; REASON_TEXT says it in words."""

    # the payer's system failed or is slow (retry)
    BROWSER_DID_NOT_START = "browser_did_not_start"
    PORTAL_TIMEOUT = "portal_timeout"
    PORTAL_UNREACHABLE = "portal_unreachable"
    PAGE_LOST = "page_lost"
    STEP_TIMEOUT = "step_timeout"
    HTTP_ERROR = "http_error"
    MAINTENANCE = "maintenance"
    SESSION_KEPT_EXPIRING = "session_kept_expiring"
    DATA_SERVICE_TIMEOUT = "data_service_timeout"
    DATA_SERVICE_FAILED = "data_service_failed"
    CLEARINGHOUSE_TIMEOUT = "clearinghouse_timeout"
    CLEARINGHOUSE_UNREACHABLE = "clearinghouse_unreachable"
    CLEARINGHOUSE_FAILED = "clearinghouse_failed"
    PAYER_COULD_NOT_ANSWER = "payer_could_not_answer"
    SLOW_DOWN = "slow_down"
    TOO_MANY_SESSIONS = "too_many_sessions"
    # our credentials (stop the payer)
    NO_ACCOUNT = "no_account"
    CREDENTIALS_INCOMPLETE = "credentials_incomplete"
    SIGN_IN_REFUSED = "sign_in_refused"
    ACCOUNT_LOCKED = "account_locked"
    NO_SECURITY_ANSWER = "no_security_answer"
    MFA_CODE_NOT_GIVEN = "mfa_code_not_given"
    API_KEY_REFUSED = "api_key_refused"
    PAYER_SUSPENDED = "payer_suspended"
    # the portal or the clearinghouse is not what we were told (stop the payer)
    ELEMENT_MISSING = "element_missing"
    PAGE_UNREADABLE = "page_unreadable"
    NOT_JSON = "not_json"
    UNEXPECTED_ANSWER = "unexpected_answer"
    ANSWER_NOT_X12 = "answer_not_x12"
    ANSWER_MALFORMED = "answer_malformed"
    ANSWER_MISSING_CLAIM = "answer_missing_claim"
    ANSWER_MISSING_MEMBER = "answer_missing_member"
    # the playbook itself is wrong (stop the payer; `claimbot playbook validate` should have said so)
    INVALID_SELECTOR = "invalid_selector"
    OFF_ORIGIN = "off_origin"
    UNSAFE_TEMPLATE = "unsafe_template"
    PORTAL_URL_INVALID = "portal_url_invalid"
    MISPLACED_STEP = "misplaced_step"
    # our data (do not retry this claim)
    NO_USABLE_SEARCH = "no_usable_search"
    MISSING_VALUE = "missing_value"
    NO_ELIGIBILITY_TASK = "no_eligibility_task"
    CANNOT_WRITE_X12 = "cannot_write_x12"
    REQUEST_REFUSED = "request_refused"
    UNSAFE_URL_VALUE = "unsafe_url_value"
    # corrected claims (the payer refused it, or this route cannot send it: do not resend as is)
    NO_CORRECTION_TASK = "no_correction_task"
    CORRECTION_FORM_MISMATCH = "correction_form_mismatch"
    CORRECTION_ORIGINAL_UNKNOWN = "correction_original_unknown"
    CORRECTION_DUPLICATE = "correction_duplicate"
    CORRECTION_REFUSED = "correction_refused"
    CORRECTION_UNCONFIRMED = "correction_unconfirmed"
    # a fault of Claimbot itself, kept to the one claim it happened on
    ENGINE_FAILED = "engine_failed"


REASON_TEXT: dict[Reason, str] = {
    Reason.BROWSER_DID_NOT_START: "the browser did not start",
    Reason.PORTAL_TIMEOUT: "the portal did not answer in time",
    Reason.PORTAL_UNREACHABLE: "the portal could not be reached",
    Reason.PAGE_LOST: "the browser lost the page",
    Reason.STEP_TIMEOUT: "the portal did not finish a step in time",
    Reason.HTTP_ERROR: "the portal answered with an error",
    Reason.MAINTENANCE: "the portal shows a maintenance page",
    Reason.SESSION_KEPT_EXPIRING: "the portal session kept expiring",
    Reason.DATA_SERVICE_TIMEOUT: "the portal's data service did not answer in time",
    Reason.DATA_SERVICE_FAILED: "the portal's data service failed",
    Reason.CLEARINGHOUSE_TIMEOUT: "the clearinghouse did not answer in time",
    Reason.CLEARINGHOUSE_UNREACHABLE: "the clearinghouse could not be reached",
    Reason.CLEARINGHOUSE_FAILED: "the clearinghouse failed",
    Reason.PAYER_COULD_NOT_ANSWER: "the payer could not answer through the clearinghouse",
    Reason.SLOW_DOWN: "the payer asked us to slow down",
    Reason.TOO_MANY_SESSIONS: "the portal refused another session for this account (too many open)",
    Reason.NO_ACCOUNT: "no portal account is configured",
    Reason.CREDENTIALS_INCOMPLETE: "the stored credentials lack a value the sign-in needs",
    Reason.SIGN_IN_REFUSED: "the portal refused the sign-in",
    Reason.ACCOUNT_LOCKED: "the portal account is locked",
    Reason.NO_SECURITY_ANSWER: "no stored answer matches the portal's security question",
    Reason.MFA_CODE_NOT_GIVEN: (
        "the portal asked for a one-time code and none was given (no one to ask in this process, "
        "or the credential's owner did not answer in time)"
    ),
    Reason.API_KEY_REFUSED: "the clearinghouse refused the API key",
    Reason.PAYER_SUSPENDED: "the payer is suspended after a refused sign-in: a person must clear it",
    Reason.ELEMENT_MISSING: "an element the playbook requires did not appear (the page is not what it describes)",
    Reason.PAGE_UNREADABLE: "the page does not read as the playbook describes",
    Reason.NOT_JSON: "the portal's data service did not return JSON",
    Reason.UNEXPECTED_ANSWER: "the answer is not what Claimbot expects",
    Reason.ANSWER_NOT_X12: "the clearinghouse's answer is not X12",
    Reason.ANSWER_MALFORMED: "the clearinghouse's answer is malformed",
    Reason.ANSWER_MISSING_CLAIM: "the answer says nothing about this claim",
    Reason.ANSWER_MISSING_MEMBER: "the answer says nothing about the member asked about",
    Reason.INVALID_SELECTOR: "the playbook has a selector the browser cannot use",
    Reason.OFF_ORIGIN: "the playbook tried to leave the portal's declared origins",
    Reason.UNSAFE_TEMPLATE: "the playbook puts a credential or a patient value where it could leak (an address)",
    Reason.PORTAL_URL_INVALID: (
        "the portal address (CLAIMBOT_PORTAL_<PAYER>_URL, or the playbook's base_url) is not a plain http(s) "
        "address: scheme, host, optional port and path, with no user, password, query or fragment"
    ),
    Reason.MISPLACED_STEP: (
        "the playbook uses a step or a value where it cannot work (for_each_line, {line.*} or {correction.*} "
        "outside corrected_claim)"
    ),
    Reason.NO_USABLE_SEARCH: "the claim lacks what every search of this portal needs",
    Reason.MISSING_VALUE: "the look-up needs a value this claim lacks",
    Reason.NO_ELIGIBILITY_TASK: "this portal's playbook has no eligibility task",
    Reason.CANNOT_WRITE_X12: "the request cannot be written as X12",
    Reason.REQUEST_REFUSED: "the clearinghouse could not read the request written for it",
    Reason.UNSAFE_URL_VALUE: "a value of this look-up would change the shape of the portal address",
    Reason.NO_CORRECTION_TASK: (
        "this portal route cannot take corrections: its playbook has no corrected_claim section"
    ),
    Reason.CORRECTION_FORM_MISMATCH: "the corrected claim's service lines do not fit the portal's form",
    Reason.CORRECTION_ORIGINAL_UNKNOWN: "the payer refused the correction: it does not know the original claim number",
    Reason.CORRECTION_DUPLICATE: (
        "the payer refused the correction as a duplicate: the claim is paid, still in process or already corrected"
    ),
    Reason.CORRECTION_REFUSED: "the payer refused the correction (its message is in the evidence)",
    Reason.CORRECTION_UNCONFIRMED: (
        "the portal did not confirm the correction after the final submit: it may have been sent, so look at "
        "the portal (and the evidence) before sending it again"
    ),
    Reason.ENGINE_FAILED: "Claimbot failed while checking this claim (a bug: the log names the error type)",
}

# Structured fields must stay PHI-free by construction, so each is checked for its shape.
_STEP = re.compile(r"^[a-z_]+(\.[a-z0-9_]+)*( \([a-z_]+\))?$")  # a playbook key path, e.g. login.steps.2 (fill)
_FIELD = re.compile(r"^[a-z_]+(\.[a-z_]+)?( row \d+)?$")  # a playbook field/column name, e.g. denials.amount row 2
_CODE = re.compile(r"^(?:[A-Z][A-Za-z]{1,40}|[A-Z0-9]{1,3}|[A-Z]\d{1,2}(?::\d{1,4})?)$")  # E1, 42, A7:21, RateLimited
_TEMPLATE_NAME = re.compile(r"^[a-z_]+(\.[a-z_]+)?$")


def _shape(value: str | None, pattern: re.Pattern[str]) -> str | None:
    return value if value is not None and pattern.match(value) else None


class AdapterError(Exception):
    """Base of every error an adapter may raise. Nothing else escapes an adapter."""

    kind: ErrorKind
    retryable: bool = False
    stops_payer: bool = False
    default_reason: Reason

    def __init__(
        self,
        payer_id: str,
        reason: Reason | None = None,
        *,
        claim_id: str | None = None,
        step: str | None = None,
        field: str | None = None,
        http_status: int | None = None,
        code: str | None = None,
        evidence_ref: str | None = None,
    ) -> None:
        self.payer_id = payer_id
        self.reason = reason or self.default_reason
        self.claim_id = claim_id
        self.step = _shape(step, _STEP)
        self.field = _shape(field, _FIELD) or _shape(field, _TEMPLATE_NAME)
        self.http_status = http_status
        self.code = _shape(code, _CODE)
        self.evidence_ref = evidence_ref
        super().__init__(f"{payer_id}: {self.message}")

    @property
    def message(self) -> str:
        """The reason in words, with the structured details that help a person find the cause."""
        details = [
            f"claim {self.claim_id}" if self.claim_id else None,
            f"at {self.step}" if self.step else None,
            f"field {self.field}" if self.field else None,
            f"HTTP {self.http_status}" if self.http_status else None,
            f"code {self.code}" if self.code else None,
        ]
        said = ", ".join(d for d in details if d)
        return REASON_TEXT[self.reason] + (f" ({said})" if said else "")


class PortalUnavailable(AdapterError):
    """Timeouts, 5xx, maintenance pages, dropped connections: try again later."""

    kind = ErrorKind.PORTAL_UNAVAILABLE
    retryable = True
    default_reason = Reason.PORTAL_UNREACHABLE


class RateLimited(PortalUnavailable):
    """The payer asked us to slow down (429 or a 'too many requests' page)."""

    kind = ErrorKind.RATE_LIMITED
    default_reason = Reason.SLOW_DOWN

    def __init__(
        self, payer_id: str, reason: Reason | None = None, *, retry_after_s: float | None = None, **fields: object
    ) -> None:
        super().__init__(payer_id, reason, **fields)  # type: ignore[arg-type]
        self.retry_after_s = retry_after_s


class TooManySessions(PortalUnavailable):
    """The portal allows only so many sessions per user: wait for one to end, never treat it as bad credentials."""

    kind = ErrorKind.TOO_MANY_SESSIONS
    default_reason = Reason.TOO_MANY_SESSIONS


class AuthenticationFailed(AdapterError):
    """Wrong credentials or a second factor we could not pass. Retrying risks a lockout."""

    kind = ErrorKind.AUTH_FAILED
    stops_payer = True
    default_reason = Reason.SIGN_IN_REFUSED


class AccountLocked(AuthenticationFailed):
    kind = ErrorKind.ACCOUNT_LOCKED
    default_reason = Reason.ACCOUNT_LOCKED


class LayoutChanged(AdapterError):
    """A required element is missing: the portal changed, the playbook must be fixed."""

    kind = ErrorKind.LAYOUT_CHANGED
    stops_payer = True
    default_reason = Reason.ELEMENT_MISSING


class PlaybookBroken(AdapterError):
    """The playbook asks for something the engine refuses (a selector that does not parse, a foreign host)."""

    kind = ErrorKind.PLAYBOOK_BROKEN
    stops_payer = True
    default_reason = Reason.INVALID_SELECTOR


class BadClaimData(AdapterError):
    """The claim cannot be looked up as it is (missing member id, a date the portal refuses)."""

    kind = ErrorKind.BAD_CLAIM_DATA
    default_reason = Reason.MISSING_VALUE


ERROR_TYPES: dict[ErrorKind, type[AdapterError]] = {
    cls.kind: cls
    for cls in (
        PortalUnavailable,
        RateLimited,
        TooManySessions,
        AuthenticationFailed,
        AccountLocked,
        LayoutChanged,
        PlaybookBroken,
        BadClaimData,
    )
}

#: Kinds after which no scheduled run may sign in again until a person clears the payer.
SUSPENDING_KINDS = frozenset({ErrorKind.AUTH_FAILED, ErrorKind.ACCOUNT_LOCKED})


def suspends_payer(err: AdapterError) -> bool:
    """Whether this failure holds the payer until a person clears it: a refused sign-in or a locked
    account, but not a one-time code that never came (the password was not refused; the next run asks again)."""
    return err.kind in SUSPENDING_KINDS and err.reason is not Reason.MFA_CODE_NOT_GIVEN


def error_for(kind: ErrorKind, payer_id: str, reason: Reason | None = None) -> AdapterError:
    """Rebuild the typed error of a recorded failure, so the retry policy can judge it by type."""
    return ERROR_TYPES[kind](payer_id, reason)
