"""Structured logging (structlog): JSON in production, readable on a console; never PHI, never secrets.

Every event passes the PHI redactor (claims.phi.redact) and a secret-key redactor before it is
rendered, so a careless `log.info("x", member_id=...)` still prints a mask.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from claimbot.settings import LogFormat
from claims.phi import MASK, redact, scrub_secrets

SECRET_KEYS = frozenset({"password", "secret", "token", "totp_secret", "api_key", "authorization", "cookie"})


def _redact_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    cleaned: MutableMapping[str, Any] = redact(dict(event))
    for key, value in list(cleaned.items()):
        if any(secret in key.lower() for secret in SECRET_KEYS):
            cleaned[key] = MASK
        elif isinstance(value, str):
            cleaned[key] = scrub_secrets(value)
    return cleaned


def configure_logging(fmt: LogFormat = LogFormat.CONSOLE, level: str = "INFO") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt is LogFormat.JSON else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
