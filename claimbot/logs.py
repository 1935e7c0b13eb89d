"""Structured logging (structlog): JSON in production, readable on a console; never PHI, never secrets.

Every event, ours or a library's (httpx, uvicorn, the job engine: stdlib loggers are routed through
the same chain), passes one redaction step before it is rendered:
- values under PHI keys (claims.phi.redact) and secret-looking keys are masked;
- every string — the message itself, every value, a formatted traceback — goes through
  `claims.phi.scrub_free_text`: loaded secrets and the patients in play are masked by value, and
  URL query strings (where portals put member ids and birth dates) are cut.
So a careless `log.info("x", member_id=...)` or an exception text quoting a URL still prints a mask.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from claimbot.settings import LogFormat
from claims.phi import MASK, redact, scrub_free_text

SECRET_KEYS = frozenset({"password", "secret", "token", "totp_secret", "api_key", "authorization", "cookie"})


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_free_text(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v) for v in value)
    return value


def _redact_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    cleaned: MutableMapping[str, Any] = redact(dict(event))
    for key, value in list(cleaned.items()):
        if key == "_record" or key == "_from_structlog":
            continue
        if any(secret in key.lower() for secret in SECRET_KEYS):
            cleaned[key] = MASK
        else:
            cleaned[key] = _scrub(value)
    return cleaned


def _chain(*extra: Any) -> list[Any]:
    """What every event passes before rendering; tracebacks are made text first, so they are scrubbed too."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        *extra,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redact_event,
    ]


def configure_logging(fmt: LogFormat = LogFormat.CONSOLE, level: str = "INFO") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt is LogFormat.JSON else structlog.dev.ConsoleRenderer(colors=False)
    )
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*_chain(), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries log through the stdlib: same redaction, same format, same stream.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_chain(structlog.stdlib.add_logger_name),
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_claimbot", False)]:
        root.removeHandler(old)
    handler._claimbot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(numeric)
    # Chatty clients log every request line at INFO: shown only when debugging (scrubbed even then).
    for name in ("httpx", "httpcore", "hpack", "asyncio", "alembic", "apscheduler", "uvicorn.access"):
        logging.getLogger(name).setLevel(numeric if numeric <= logging.DEBUG else logging.WARNING)
    # slack-sdk's debug lines carry whole message bodies: never below WARNING.
    for name in ("slack_sdk", "slack_bolt"):
        logging.getLogger(name).setLevel(logging.WARNING)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
