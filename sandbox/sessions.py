"""Server-side portal sessions and the account rules real portals enforce.

- a session ends after `idle_timeout_s` without a request;
- an account holds at most `max_sessions_per_account` live sessions: a further log-in is REFUSED
  (the oldest session is not evicted), until one logs out or times out;
- each account may make `rate_limit_requests` requests per `rate_limit_window_s` (fixed window);
- `lockout_after_failures` wrong passwords in a row lock the account until an admin reset;
- a password alone is not enough: the session must pass a second factor (TOTP or a security question).

`PortalGate` is the one object a portal's handlers talk to; each portal maps its answers to its own
pages (redirects, JSON errors or old-style notice pages).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum

import pyotp

from sandbox.accounts import PortalAccount, ServerName, find_account
from sandbox.faults import FaultSpec
from sandbox.runtime import RateLimiter, ServerRuntime


class LoginResult(StrEnum):
    SECOND_FACTOR_NEEDED = "second_factor_needed"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    TOO_MANY_SESSIONS = "too_many_sessions"


class Access(StrEnum):
    GRANTED = "granted"
    LOGIN_REQUIRED = "login_required"
    SECOND_FACTOR_REQUIRED = "second_factor_required"
    RATE_LIMITED = "rate_limited"


@dataclass
class PortalSession:
    """One signed-in (or half signed-in) browser."""

    sid: str
    account: PortalAccount
    last_seen: float
    second_factor_passed: bool = False
    mfa_epoch: int = 0
    question: str | None = None
    csrf_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))


class PortalGate:
    """Sessions, second factors, lockouts and rate limits of one portal."""

    def __init__(self, portal: ServerName, runtime: ServerRuntime[FaultSpec]) -> None:
        self.portal = portal
        self.runtime = runtime
        self.sessions: dict[str, PortalSession] = {}
        self._failures: dict[str, int] = {}
        self._locked: set[str] = set()
        self._rate = RateLimiter(runtime)
        self._mfa_epoch = 0
        self._questions_asked = 0
        runtime.live_sessions = lambda: len(self._purge_idle())
        runtime.on_reset(self._clear)
        runtime.on_one_shot("kill_sessions", self.sessions.clear)
        runtime.on_one_shot("mfa_again", self._demand_second_factor_again)

    def _clear(self) -> None:
        self.sessions.clear()
        self._failures.clear()
        self._locked.clear()
        self._rate.clear()
        self._questions_asked = 0

    def _demand_second_factor_again(self) -> None:
        self._mfa_epoch += 1

    def _purge_idle(self) -> dict[str, PortalSession]:
        deadline = time.monotonic() - self.runtime.spec.idle_timeout_s
        for sid in [sid for sid, s in self.sessions.items() if s.last_seen < deadline]:
            del self.sessions[sid]
            self.runtime.counters.sessions_expired += 1
        return self.sessions

    # --- signing in ---------------------------------------------------------------------------

    def log_in(self, username: str, password: str) -> tuple[LoginResult, PortalSession | None]:
        """Check a password; on success open a session that still needs its second factor."""
        counters = self.runtime.counters
        account = find_account(self.portal, username)
        if account is not None and username in self._locked:
            counters.login_failures += 1
            return LoginResult.LOCKED, None
        if account is None or not secrets.compare_digest(account.password, password):
            counters.login_failures += 1
            if account is not None:
                self._failures[username] = self._failures.get(username, 0) + 1
                if self._failures[username] >= self.runtime.spec.lockout_after_failures:
                    self._locked.add(username)
                    counters.lockouts += 1
                    return LoginResult.LOCKED, None
            return LoginResult.BAD_CREDENTIALS, None
        self._failures.pop(username, None)
        live = self._purge_idle()
        if (
            sum(1 for s in live.values() if s.account.username == username)
            >= self.runtime.spec.max_sessions_per_account
        ):
            counters.sessions_refused += 1
            return LoginResult.TOO_MANY_SESSIONS, None
        session = PortalSession(sid=secrets.token_urlsafe(24), account=account, last_seen=time.monotonic())
        self.sessions[session.sid] = session
        self.runtime.note_sessions(len(self.sessions))
        return LoginResult.SECOND_FACTOR_NEEDED, session

    def security_question(self, session: PortalSession) -> str:
        """The question this session must answer; the portal rotates through the account's questions."""
        if session.question is None:
            questions = list(session.account.security_answers)
            session.question = questions[self._questions_asked % len(questions)]
            self._questions_asked += 1
        return session.question

    def pass_second_factor(self, session: PortalSession, response: str) -> bool:
        """Check a TOTP code (one step of clock drift allowed) or a security answer (case-insensitive)."""
        account = session.account
        if account.totp_secret is not None:
            passed = pyotp.TOTP(account.totp_secret).verify(response.strip(), valid_window=1)
        else:
            expected = account.security_answers.get(self.security_question(session), "")
            passed = secrets.compare_digest(expected.casefold(), response.strip().casefold())
        if passed:
            session.second_factor_passed = True
            session.mfa_epoch = self._mfa_epoch
            session.question = None
            self.runtime.counters.logins += 1
        else:
            self.runtime.counters.second_factor_failures += 1
        return passed

    def log_out(self, sid: str | None) -> None:
        if sid is not None:
            self.sessions.pop(sid, None)

    # --- every request ------------------------------------------------------------------------

    def admit(self, sid: str | None) -> tuple[Access, PortalSession | None]:
        """Decide what a request with this session id may do; touches the session's idle clock."""
        if not sid:
            return Access.LOGIN_REQUIRED, None
        session = self.sessions.get(sid)
        now = time.monotonic()
        if session is None:
            return Access.LOGIN_REQUIRED, None
        spec = self.runtime.spec
        if now - session.last_seen > spec.idle_timeout_s:
            del self.sessions[sid]
            self.runtime.counters.sessions_expired += 1
            return Access.LOGIN_REQUIRED, None
        session.last_seen = now
        if session.second_factor_passed and session.mfa_epoch < self._mfa_epoch:
            session.second_factor_passed = False
            self.runtime.counters.faults_served["mfa_again_served"] += 1
        if not session.second_factor_passed:
            return Access.SECOND_FACTOR_REQUIRED, session
        if not self._rate.allow(session.account.username, now):
            return Access.RATE_LIMITED, session
        return Access.GRANTED, session
