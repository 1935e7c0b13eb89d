"""Rendering playbook value templates: `{patient.member_id}`, `{service_date:%m/%d/%Y}`, ...

Only the names in playbook.schema.TEMPLATE_NAMES resolve (no attribute access on objects), and
secrets such as `{account.totp}` are computed only when a template asks for them.

Addresses (`goto`, `fetch_json`, `login.start`) are templates with rules of their own, checked when
a playbook loads (`url_template_problem`) and again when it runs (`render_url`, `origin_of`):
- the origin (scheme, host, port) is written out, never made from a value: a URL starts with one
  `/` (the portal's base URL is put in front) or with an allowed `https://host`;
- credentials and tokens (`{account.*}`, `{storage.*}`) never go into an address;
- patient values (`{patient.*}`) only go into the query, never into the path;
- every value is URL-encoded, so it cannot add a path segment, a query parameter or a host.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from urllib.parse import quote, urlsplit

TemplateValue = str | date | Decimal | None | Callable[[], str | None]
_FIELD = re.compile(r"\{([a-z_]+(?:\.[a-zA-Z0-9_.\-]+)?)(?::([^}]*))?\}")

#: Template names that hold secrets: typed into forms or sent in request headers/bodies only.
SECRET_PREFIXES = ("account.", "storage.")
PATIENT_PREFIX = "patient."
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_ABSOLUTE = re.compile(r"^(https?)://([^/?#{}\\@\s]+)(?=[/?#]|$)", re.IGNORECASE)


class MissingTemplateValue(KeyError):
    """The claim lacks a value the playbook needs (e.g. no payer claim number)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class UnsafeTemplateValue(ValueError):
    """A value would change the shape of an address (an empty, `.` or `..` path segment)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def names_in(template: str) -> list[str]:
    return [match.group(1) for match in _FIELD.finditer(template)]


def _value(match: re.Match[str], values: Mapping[str, TemplateValue]) -> str:
    name, fmt = match.group(1), match.group(2)
    if name not in values:
        raise MissingTemplateValue(name)
    value = values[name]
    if callable(value):
        value = value()
    if value is None:
        raise MissingTemplateValue(name)
    if isinstance(value, date):
        return value.strftime(fmt or "%Y-%m-%d")
    if isinstance(value, Decimal):
        return format(value, fmt or "f")
    return value


def render(template: str, values: Mapping[str, TemplateValue]) -> str:
    return _FIELD.sub(lambda match: _value(match, values), template)


def render_url(template: str, values: Mapping[str, TemplateValue]) -> str:
    """Render an address: every value URL-encoded whole; a path segment value may not be '', '.' or '..'."""
    parts: list[str] = []
    in_query = False
    position = 0
    for match in _FIELD.finditer(template):
        literal = template[position : match.start()]
        parts.append(literal)
        in_query = in_query or "?" in literal or "#" in literal
        value = quote(_value(match, values), safe="")
        if not in_query and value in {"", ".", ".."}:
            raise UnsafeTemplateValue(match.group(1))
        parts.append(value)
        position = match.end()
    parts.append(template[position:])
    return "".join(parts)


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL, lower-cased; None for anything else."""
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError:
        return None
    if split.scheme.lower() not in ("http", "https") or not split.hostname:
        return None
    if split.username is not None or split.password is not None:
        return None
    default = {"http": 80, "https": 443}[split.scheme.lower()]
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{split.scheme.lower()}://{split.hostname.lower()}{suffix}"


def url_template_problem(template: str, origins: Iterable[str]) -> str | None:
    """Why this address template may not be used (None when it may), for `playbook validate`."""
    first_field = _FIELD.search(template)
    literal_head = template[: first_field.start()] if first_field else template
    literals = _FIELD.sub("", template)
    if any(ch == "\\" or ch.isspace() or ord(ch) < 32 for ch in literals):
        return "an address may not hold backslashes, spaces or control characters"
    if literal_head.startswith("//"):
        return "an address starting with // names another host: start with one / (a path on the portal)"
    if not literal_head.startswith("/"):
        scheme = _SCHEME.match(literal_head)
        if scheme is None:
            if first_field is not None and first_field.start() == 0:
                return "an address may not start with a value: a value cannot choose the host"
            return "an address is a path starting with / or an absolute http(s) URL on an allowed origin"
        if scheme.group(1).lower() not in ("http", "https"):
            return f"{scheme.group(1).lower()}: addresses are refused: only http(s) on the portal's origins"
        absolute = _ABSOLUTE.match(literal_head)
        if absolute is None:
            return "the host of an absolute address must be written out, with no user or password in it"
        origin = origin_of(absolute.group(0))
        if origin is None or origin not in set(origins):
            return f"{absolute.group(0)} is not one of the playbook's origins (base_url, allowed_origins)"
    in_query = False
    position = 0
    for match in _FIELD.finditer(template):
        in_query = in_query or "?" in template[position : match.start()] or "#" in template[position : match.start()]
        name = match.group(1)
        if name.startswith(SECRET_PREFIXES):
            return f"{{{name}}} is a secret: use it in a fill/select value or fetch_json headers/body, never an address"
        if name.startswith(PATIENT_PREFIX) and not in_query:
            return f"{{{name}}} is a patient value: it may go in the query of an address (after ?), never the path"
        position = match.end()
    return None
