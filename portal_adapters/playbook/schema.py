"""The playbook schema (pydantic). A playbook is data: a billing team edits it to add a payer or to
fix a portal that changed, without shipping code.

Steps are a small language of browser actions, one key each (`goto`, `fill`, `click`, ...).
Extraction maps selectors (HTML) or paths (JSON) to a fixed vocabulary of result fields, so the
engine can build typed results without knowing the portal. Values may use templates such as
`{claim.claim_id}`, `{patient.member_id}`, `{service_date:%m/%d/%Y}`, `{account.totp}`; the
allowed names are listed in `TEMPLATE_NAMES`.

The optional `corrected_claim` task is the one that writes to a portal: it fills the payer's
corrected-claim form (`for_each_line` for the service lines, `{correction.*}` and `{line.*}` values),
and its `submit` is the one click a dry run never makes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator
from selectolax.lexbor import LexborHTMLParser

from claims.status import ClaimStatus
from portal_adapters.errors import Reason
from portal_adapters.templates import origin_of, url_template_problem

TEMPLATE_NAMES = frozenset(
    {
        "account.username",
        "account.password",
        "account.totp",
        "claim.claim_id",
        "claim.payer_claim_number",
        "claim.billed_amount",
        "claim.rendering_npi",
        "patient.member_id",
        "patient.last_name",
        "patient.first_name",
        "patient.dob",
        "service_date",
        "service_date_to",
        "storage",
        # the corrected_claim task only (a correction being sent)
        "correction.frequency_code",
        "correction.payer_claim_number",
        "correction.reason",
        "claim.diagnosis_codes",
        # inside corrected_claim's for_each_line only (one service line of the correction)
        "line.number",
        "line.procedure_code",
        "line.modifiers",
        "line.modifier_1",
        "line.modifier_2",
        "line.modifier_3",
        "line.modifier_4",
        "line.units",
        "line.charge",
        "line.service_date",
        "line.diagnosis_pointers",
    }
)
#: Templates that only a correction being sent has: refused elsewhere by `playbook_problems`.
CORRECTION_TEMPLATE_PREFIXES = ("correction.", "claim.diagnosis_codes")
LINE_TEMPLATE_PREFIX = "line."
_TEMPLATE = re.compile(r"\{([a-z_]+(?:\.[a-zA-Z0-9_.\-]+)?)(?::[^}]*)?\}")


def _check_templates(text: str) -> str:
    for name in _TEMPLATE.findall(text):
        if name not in TEMPLATE_NAMES and not name.startswith(("storage.", "json.")):
            raise ValueError(f"unknown template name {{{name}}}; known: {', '.join(sorted(TEMPLATE_NAMES))}")
    return text


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- selectors -----------------------------------------------------------------------------------
# Steps and outcomes run in the browser, so they may use what Playwright adds to CSS (`text=...`,
# `:has-text()`, `>>` chains, `xpath=`); extraction runs in selectolax (lexbor), so plain CSS only.
# A selector neither can parse is refused at load, with its file, line and key.
_PROBE = LexborHTMLParser("<p></p>")
_PW_PSEUDO = re.compile(
    r":(has-text|text-is|text-matches|text|visible|nth-match|left-of|right-of|above|below|near)(?![\w-])"
)
_PW_ENGINE = re.compile(r"^([a-zA-Z_][\w:-]*)=(.*)$", re.DOTALL)
_TEXT_ENGINES = frozenset({"text", "id", "data-testid", "data-test-id", "data-test", "role"})


def _balanced_end(text: str, start: int) -> int | None:
    """Index just past the bracket group opening at `start` (quotes respected); None if it never closes."""
    closing = {"(": ")", "[": "]"}
    stack: list[str] = []
    quote: str | None = None
    index = start
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in closing:
            stack.append(closing[char])
        elif char in ")]":
            if not stack or stack.pop() != char:
                return None
            if not stack:
                return index + 1
        index += 1
    return None


def _split_chain(selector: str) -> list[str] | None:
    """The parts of a Playwright `a >> b` chain (outside quotes and brackets); None if unbalanced."""
    parts: list[str] = []
    start = index = 0
    quote: str | None = None
    while index < len(selector):
        char = selector[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "([":
            end = _balanced_end(selector, index)
            if end is None:
                return None
            index = end
            continue
        elif selector.startswith(">>", index):
            parts.append(selector[start:index])
            start = index = index + 2
            continue
        index += 1
    if quote:
        return None
    parts.append(selector[start:])
    return parts


def css_problem(selector: str) -> str | None:
    """Why selectolax (lexbor) cannot use this CSS selector; None when it can."""
    try:
        _PROBE.css(selector)
    except Exception:  # selectolax raises its own error type for syntax it cannot parse
        return f"{selector!r} is not a valid CSS selector"
    return None


def _playwright_css_problem(selector: str) -> str | None:
    """CSS with Playwright's own pseudo-classes (`:has-text()`, `:visible`, ...) replaced by a neutral one."""
    plain: list[str] = []
    index = 0
    while (found := _PW_PSEUDO.search(selector, index)) is not None:
        plain.append(selector[index : found.start()] + ":not(x-pw)")
        index = found.end()
        if selector.startswith("(", index):
            end = _balanced_end(selector, index)
            if end is None:
                return f"{selector!r} has an unclosed bracket or quote"
            index = end
    plain.append(selector[index:])
    return None if css_problem("".join(plain)) is None else f"{selector!r} is not a valid selector"


def _xpath_problem(xpath: str) -> str | None:
    if not xpath.strip() or _split_chain(xpath) is None:
        return f"{xpath!r} is not a valid XPath (empty, or an unclosed bracket or quote)"
    return None


def selector_problem(selector: str) -> str | None:
    """Why the browser (Playwright) cannot use this selector; None when it can."""
    parts = _split_chain(selector)
    if parts is None:
        return f"{selector!r} has an unclosed bracket or quote"
    for raw in parts:
        part = raw.strip()
        if not part:
            return f"{selector!r} has an empty part around >>"
        engine = _PW_ENGINE.match(part)
        if part.startswith(("//", "..", "(//")):
            problem = _xpath_problem(part)
        elif part[0] in "\"'":
            problem = None if _split_chain(part) is not None else f"{selector!r} has an unclosed quote"
        elif engine is not None:
            name, body = engine.group(1).lower(), engine.group(2).strip()
            if name == "css":
                problem = _playwright_css_problem(body)
            elif name == "xpath":
                problem = _xpath_problem(body)
            elif name == "nth":
                problem = None if body.lstrip("-").isdigit() else f"nth={body!r} needs a whole number"
            elif name == "visible":
                problem = None if body in ("true", "false") else "visible= takes true or false"
            elif name in _TEXT_ENGINES or name.startswith("internal:"):
                problem = None if body else f"{name}= needs a value"
            else:
                problem = f"{name}= is not a selector engine the browser knows"
        else:
            problem = _playwright_css_problem(part)
        if problem:
            return problem
    return None


def _browser_selector(value: str) -> str:
    if (problem := selector_problem(value)) is not None:
        raise ValueError(problem)
    return value


def _html_selector(value: str) -> str:
    if (problem := css_problem(value)) is not None:
        raise ValueError(f"{problem} (extraction selectors are plain CSS: no Playwright extensions)")
    return value


Selector = Annotated[
    str,
    Field(min_length=1, description="A selector the browser uses (CSS, or Playwright's)"),
    AfterValidator(_browser_selector),
]
HtmlSelector = Annotated[
    str, Field(min_length=1, description="A plain CSS selector read by selectolax"), AfterValidator(_html_selector)
]
Template = Annotated[str, Field(min_length=1)]


# --- steps ---------------------------------------------------------------------------------------
class Goto(Strict):
    goto: Template
    frame: str | None = Field(default=None, description="navigate this frame instead of the page")

    _t = field_validator("goto")(_check_templates)


class Fill(Strict):
    fill: Selector
    value: Template
    frame: str | None = None

    _t = field_validator("value")(_check_templates)


class Select(Strict):
    select: Selector
    value: Template
    frame: str | None = None

    _t = field_validator("value")(_check_templates)


class Click(Strict):
    click: Selector
    frame: str | None = None
    navigates: bool = Field(default=False, description="wait for the navigation the click starts")


class ClickIfPresent(Strict):
    """Dismiss things that may or may not show up: consent banners, what's-new pop-ups."""

    click_if_present: Selector
    frame: str | None = None
    wait_ms: int = Field(default=1500, ge=0, le=30_000)


class WaitFor(Strict):
    """A required element: missing after the timeout (and no outcome recognised) = layout changed."""

    wait_for: Selector
    frame: str | None = None


class WaitForAny(Strict):
    wait_for_any: list[Selector] = Field(min_length=2)
    frame: str | None = None


class WhenPresent(Strict):
    when_present: Selector
    steps: list[Step]
    frame: str | None = None


class SecurityQuestion(Strict):
    """Read the portal's question, type the stored answer whose key words it contains."""

    security_question: Selector
    answer_into: Selector
    submit: Selector
    frame: str | None = None


class FetchJson(Strict):
    """Read a JSON endpoint through the logged-in browser context, instead of rendering the page."""

    fetch_json: Template
    method: Literal["GET", "POST"] = "GET"
    headers: dict[str, Template] = Field(default_factory=dict)
    body: dict[str, Template] | None = None
    no_results_when_empty: str | None = Field(
        default=None, description="dotted path in the answer: empty, false or missing there = no such claim/member"
    )

    @field_validator("fetch_json")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_templates(value)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for text in value.values():
            _check_templates(text)
        return value


class PickRow(Strict):
    """Among result rows (across pages), open the one whose column matches; none = not found."""

    pick_row: Selector
    match: dict[str, Template] = Field(min_length=1, description="column selector -> expected text")
    open: Selector = Field(description="the link inside the picked row")
    next_page: Selector | None = None
    max_pages: int = Field(default=10, ge=1, le=100)
    frame: str | None = None

    @field_validator("match")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        for column, text in value.items():
            _browser_selector(column)
            _check_templates(text)
        return value


class ForEachLine(Strict):
    """Fill the service-line rows of a form: `steps` run once per line of the correction, in order,
    inside that line's row (their selectors are relative to the row), with `{line.*}` values."""

    for_each_line: Selector = Field(description="the rows of the form's service lines, one per line, in order")
    steps: list[Step] = Field(min_length=1, description="fill, select, click or wait_for, relative to the row")
    # (only those four kinds: playbook_problems refuses the others, by key path)
    add_line: Selector | None = Field(default=None, description="clicked while the form has fewer rows than lines")
    frame: str | None = None


STEP_KEYS = (
    "goto",
    "fill",
    "select",
    "click",
    "click_if_present",
    "wait_for",
    "wait_for_any",
    "when_present",
    "security_question",
    "fetch_json",
    "pick_row",
    "for_each_line",
)


def step_kind(value: Any) -> str | None:
    """The key that names a step's kind (`fill`, `goto`, ...), for a YAML mapping or a Step model."""
    if isinstance(value, dict):
        return next((key for key in STEP_KEYS if key in value), None)
    return next((key for key in STEP_KEYS if hasattr(value, key)), None)


Step = Annotated[
    Annotated[Goto, Tag("goto")]
    | Annotated[Fill, Tag("fill")]
    | Annotated[Select, Tag("select")]
    | Annotated[Click, Tag("click")]
    | Annotated[ClickIfPresent, Tag("click_if_present")]
    | Annotated[WaitFor, Tag("wait_for")]
    | Annotated[WaitForAny, Tag("wait_for_any")]
    | Annotated[WhenPresent, Tag("when_present")]
    | Annotated[SecurityQuestion, Tag("security_question")]
    | Annotated[FetchJson, Tag("fetch_json")]
    | Annotated[PickRow, Tag("pick_row")]
    | Annotated[ForEachLine, Tag("for_each_line")],
    Discriminator(
        step_kind,
        custom_error_type="unknown_step",
        custom_error_message=f"a step is one of: {', '.join(STEP_KEYS)}",
    ),
]
WhenPresent.model_rebuild()
ForEachLine.model_rebuild()


# --- outcomes ------------------------------------------------------------------------------------
class Recognizer(Strict):
    """Matches when every given condition holds on the current page."""

    selector: Selector | None = None
    text: str | None = Field(default=None, description="case-insensitive text anywhere in the page (or selector)")
    url_contains: str | None = None
    http_status: int | None = Field(default=None, ge=100, le=599)
    frame: str | None = None

    @model_validator(mode="after")
    def _something(self) -> Recognizer:
        if not (self.selector or self.text or self.url_contains or self.http_status):
            raise ValueError("a recogniser needs a selector, text, url_contains or http_status")
        return self


class Outcomes(Strict):
    """Pages a portal shows instead of what we asked for; checked whenever an expected element is missing."""

    too_many_sessions: list[Recognizer] = Field(
        default_factory=list,
        description="signing in: the account has as many sessions as the portal allows (checked before "
        "invalid_login and locked: a retry later, never a wrong password, never a suspension)",
    )
    invalid_login: list[Recognizer] = Field(min_length=1)
    locked: list[Recognizer] = Field(default_factory=list)
    maintenance: list[Recognizer] = Field(default_factory=list)
    rate_limited: list[Recognizer] = Field(default_factory=list)
    session_expired: list[Recognizer] = Field(default_factory=list)
    mfa_again: list[Recognizer] = Field(default_factory=list)
    no_results: list[Recognizer] = Field(default_factory=list)


# --- extraction ----------------------------------------------------------------------------------
ValueType = Literal["text", "money", "date", "code", "percent", "int"]


class FieldSpec(Strict):
    """Where one value is: a CSS selector (HTML) or a dotted path (JSON), and how to read it."""

    selector: HtmlSelector | None = None
    path: str | None = None
    attribute: str | None = None
    type: ValueType = "text"
    date_format: str = "%Y-%m-%d"
    pattern: str | None = Field(default=None, description="regex with one group: keep only that part")
    none_values: tuple[str, ...] = Field(default=("N/A", "NA", "-", "--", "—"), description="texts meaning 'no value'")
    required: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        if (self.selector is None) == (self.path is None):
            raise ValueError("give exactly one of 'selector' (HTML) or 'path' (JSON)")
        if self.pattern is not None:
            try:
                if re.compile(self.pattern).groups != 1:
                    raise ValueError("'pattern' needs exactly one capture group")
            except re.error as err:
                raise ValueError(f"'pattern' is not a regular expression ({err})") from err
        return self


class TableSpec(Strict):
    rows: str = Field(description="CSS selector of the rows (HTML) or dotted path to a list (JSON)")
    columns: dict[str, FieldSpec] = Field(min_length=1, description="relative selectors or paths within a row")


CLAIM_FIELDS = frozenset(
    {
        "status_text",
        "category_code",
        "status_code",
        "billed_amount",
        "allowed_amount",
        "paid_amount",
        "patient_responsibility",
        "payer_claim_number",
        "check_number",
        "payment_date",
    }
)
DENIAL_COLUMNS = frozenset({"group", "carc", "code", "rarc", "amount", "line"})
#: Remark codes (RARCs) shown apart from their adjustment's row: table -> (columns it may read, columns it must).
#: `remarks`: a list of remarks for the claim, one or more codes a row ("Remark N290"), optionally with
#: the service line and the adjustment (CARC or GROUP-CARC) it belongs to; `line_remarks`: the
#: service lines' own remark column (rows are the service lines).
REMARK_TABLES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "line_remarks": (frozenset({"rarc", "line"}), frozenset({"rarc", "line"})),
    "remarks": (frozenset({"rarc", "line", "adjustment"}), frozenset({"rarc"})),
}
#: Benefits a portal shows one value each (not as a table): name -> (benefit kind, what the value is).
BENEFIT_FIELDS: dict[str, tuple[str, str]] = {
    "copay": ("copay", "amount"),
    "coinsurance": ("coinsurance", "percent"),
    "deductible": ("deductible", "amount"),
    "deductible_remaining": ("deductible", "remaining"),
    "out_of_pocket": ("out_of_pocket", "amount"),
    "out_of_pocket_remaining": ("out_of_pocket", "remaining"),
}
ELIGIBILITY_FIELDS = frozenset({"coverage_text", "plan_name", *BENEFIT_FIELDS})
BENEFIT_COLUMNS = frozenset({"kind", "service_type", "amount", "percent", "remaining", "network"})


class Extraction(Strict):
    source: Literal["html", "json"] = "html"
    frame: str | None = None
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    tables: dict[str, TableSpec] = Field(default_factory=dict)


class ClaimStatusTask(Strict):
    """How to find one claim and read its status. The first search whose inputs the claim has is used."""

    searches: list[Search] = Field(min_length=1)
    extract: Extraction
    status_words: dict[str, ClaimStatus] = Field(
        default_factory=dict,
        description="portal status words -> normalized status (when no X12 category shown)",
    )

    @model_validator(mode="after")
    def _vocabulary(self) -> ClaimStatusTask:
        unknown = set(self.extract.fields) - CLAIM_FIELDS
        if unknown:
            raise ValueError(f"unknown claim field(s) {sorted(unknown)}; known: {sorted(CLAIM_FIELDS)}")
        if "category_code" not in self.extract.fields and "status_text" not in self.extract.fields:
            raise ValueError("extract 'category_code' or 'status_text' (with status_words)")
        if "category_code" not in self.extract.fields and not self.status_words:
            raise ValueError("without a category_code field, 'status_words' must map the portal's words")
        for name, table in self.extract.tables.items():
            if name == "denials":
                known, needed = DENIAL_COLUMNS, frozenset[str]()
            elif name in REMARK_TABLES:
                known, needed = REMARK_TABLES[name]
            else:
                raise ValueError(
                    f"unknown table {name!r}: the claim task reads 'denials', {', '.join(map(repr, REMARK_TABLES))}"
                )
            unknown_columns = set(table.columns) - known
            if unknown_columns:
                raise ValueError(f"unknown {name} column(s) {sorted(unknown_columns)}; known: {sorted(known)}")
            if needed - set(table.columns):
                raise ValueError(f"the {name} table needs column(s) {sorted(needed - set(table.columns))}")
        return self


class Search(Strict):
    requires: list[Literal["payer_claim_number", "claim_id", "member_id"]] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)


ClaimStatusTask.model_rebuild()


class EligibilityTask(Strict):
    steps: list[Step] = Field(min_length=1)
    extract: Extraction
    active_words: list[str] = Field(min_length=1, description="coverage_text holding one of these words = active")
    inactive_words: list[str] = Field(default_factory=list, description="checked first: 'not active', 'terminated'")

    @model_validator(mode="after")
    def _vocabulary(self) -> EligibilityTask:
        unknown = set(self.extract.fields) - ELIGIBILITY_FIELDS
        if unknown:
            raise ValueError(f"unknown eligibility field(s) {sorted(unknown)}; known: {sorted(ELIGIBILITY_FIELDS)}")
        if "coverage_text" not in self.extract.fields:
            raise ValueError("extract 'coverage_text' so coverage can be told active or not")
        for name, table in self.extract.tables.items():
            if name != "benefits":
                raise ValueError(f"unknown table {name!r}: the eligibility task reads only 'benefits'")
            unknown_columns = set(table.columns) - BENEFIT_COLUMNS
            if unknown_columns:
                raise ValueError(
                    f"unknown benefit column(s) {sorted(unknown_columns)}; known: {sorted(BENEFIT_COLUMNS)}"
                )
        return self


CORRECTION_FIELDS = frozenset({"confirmation_number", "payer_claim_number", "status_text"})
RefusalKind = Literal["original_unknown", "duplicate", "refused"]
#: How a refused correction is told: recogniser group -> what it means (portal_adapters.errors.Reason).
REFUSAL_KINDS: dict[RefusalKind, Reason] = {
    "original_unknown": Reason.CORRECTION_ORIGINAL_UNKNOWN,
    "duplicate": Reason.CORRECTION_DUPLICATE,
    "refused": Reason.CORRECTION_REFUSED,
}


class CorrectedClaimTask(Strict):
    """Send a corrected (7) or void (8) claim through the portal's form: the task that writes.

    `steps` open the claim's correction form and fill it (a dry run runs them and stops); `submit` is
    the final click, never made in a dry run; `done_when` is an element only the confirmation page
    has, and `extract` reads it (`confirmation_number`, optionally the new `payer_claim_number`).
    `refused` recognises the portal's refusal, at any step or after submit, by kind (checked in the
    order original_unknown, duplicate, refused).
    """

    steps: list[Step] = Field(min_length=1)
    submit: Selector = Field(description="the final submit: the one click a dry run never makes")
    done_when: Selector = Field(description="an element only the confirmation page has")
    frame: str | None = Field(default=None, description="the frame the form, submit and done_when are in")
    extract: Extraction
    refused: dict[RefusalKind, list[Recognizer]] = Field(
        min_length=1, description="the portal's refusals by kind; at least one group"
    )

    @model_validator(mode="after")
    def _vocabulary(self) -> CorrectedClaimTask:
        unknown = set(self.extract.fields) - CORRECTION_FIELDS
        if unknown:
            raise ValueError(f"unknown correction field(s) {sorted(unknown)}; known: {sorted(CORRECTION_FIELDS)}")
        if "confirmation_number" not in self.extract.fields:
            raise ValueError("extract 'confirmation_number' from the confirmation page")
        if self.extract.tables:
            raise ValueError("the corrected_claim task reads fields only, no tables")
        if not any(self.refused.values()):
            raise ValueError("'refused' needs at least one recogniser")
        return self


class Login(Strict):
    start: Template = "/"
    steps: list[Step] = Field(min_length=1)
    done_when: Selector = Field(description="an element only a signed-in page has")
    frame: str | None = Field(default=None, description="the frame done_when is in")


class Logout(Strict):
    """How to sign out, so the portal frees the session (portals allow only a few per user).

    Run for every session when the adapter closes (and before signing in again), bounded by
    `timeout_ms`; a sign-out that fails is logged and never hides what the run found.
    """

    steps: list[Step] = Field(min_length=1, description="e.g. goto /logout, or click the sign-out link")
    done_when: Selector | None = Field(default=None, description="an element the signed-out page has")
    frame: str | None = Field(default=None, description="the frame done_when is in")
    timeout_ms: int = Field(default=5_000, ge=500, le=60_000, description="the most one sign-out may take")

    @model_validator(mode="after")
    def _no_claim_values(self) -> Logout:
        for step in self.steps:  # a step's dump holds its nested steps too
            for name in _TEMPLATE.findall(str(step.model_dump())):
                if not name.startswith(("account.", "storage.")):
                    raise ValueError(f"a sign-out has no claim or patient: {{{name}}} cannot be used in logout steps")
        return self


class SessionPolicy(Strict):
    max_concurrent: int = Field(default=1, ge=1, le=16, description="browser sessions per account")
    navigation_timeout_ms: int = Field(default=20_000, ge=1_000, le=120_000)
    element_timeout_ms: int = Field(default=5_000, ge=200, le=60_000)
    relogin_attempts: int = Field(default=1, ge=0, le=3)


_PLAIN_PATH = re.compile(r"^(/[A-Za-z0-9._~\-]+)*/?$")


def base_url_problem(url: str) -> str | None:
    """Why this is not a plain portal address (http(s), a host, optional port and path; nothing else)."""
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        return "holds spaces, backslashes or control characters"
    try:
        split = urlsplit(url)
        split.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "is not a URL"
    if split.scheme.lower() not in ("http", "https"):
        return "must be http:// or https://"
    if not split.hostname:
        return "has no host"
    if split.username is not None or split.password is not None or "@" in split.netloc:
        return "may not hold a user name or password"
    if split.query or split.fragment or "?" in url or "#" in url:
        return "may not hold a query or fragment"
    if not _PLAIN_PATH.match(split.path) or any(part in (".", "..") for part in split.path.split("/")):
        return "has a path that is not plain (only letters, digits, . _ ~ - between single slashes; no . or ..)"
    return None


class Playbook(Strict):
    schema_version: Literal[1] = 1
    payer_id: str = Field(pattern=r"^[A-Z0-9_]{2,20}$")
    name: str = Field(min_length=1)
    base_url: str = Field(pattern=r"^https?://", description="overridden by CLAIMBOT_PORTAL_<PAYER>_URL")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="origins (https://host[:port]) the portal also uses, besides base_url's own (e.g. its SSO)",
    )
    notes: str | None = None
    session: SessionPolicy = SessionPolicy()
    login: Login
    logout: Logout | None = Field(default=None, description="how to sign out; without it sessions wait to time out")
    outcomes: Outcomes
    claim_status: ClaimStatusTask
    eligibility: EligibilityTask | None = None
    corrected_claim: CorrectedClaimTask | None = Field(
        default=None, description="how to send a corrected or void claim; without it the portal takes none"
    )

    @field_validator("base_url")
    @classmethod
    def _plain_base_url(cls, value: str) -> str:
        if (problem := base_url_problem(value)) is not None:
            raise ValueError(f"base_url {problem}")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            plain = base_url_problem(origin) is None and urlsplit(origin).path in ("", "/")
            if not plain or origin_of(origin) is None:
                raise ValueError(f"{origin!r} is not an origin: write scheme://host[:port], nothing more")
        return value

    @property
    def origins(self) -> frozenset[str]:
        """Every origin the playbook may navigate to or fetch from: base_url's and the allowed ones."""
        found = {origin_of(self.base_url), *(origin_of(o) for o in self.allowed_origins)}
        return frozenset(o for o in found if o is not None)


# --- checks across the playbook ------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """Something a playbook may not do, found after its shape is valid; `key` is its path in the YAML."""

    key: tuple[str | int, ...]
    message: str
    reason: Reason

    @property
    def dotted(self) -> str:
        return ".".join(str(part) for part in self.key)


def _steps_with_keys(steps: Sequence[Step], key: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Step]]:
    for index, step in enumerate(steps):
        yield (*key, index), step
        if isinstance(step, WhenPresent | ForEachLine):
            yield from _steps_with_keys(step.steps, (*key, index, "steps"))


def all_steps(playbook: Playbook) -> Iterator[tuple[tuple[str | int, ...], Step]]:
    """Every step of the playbook (nested ones too), with its key path: ("login", "steps", 2), ..."""
    yield from _steps_with_keys(playbook.login.steps, ("login", "steps"))
    if playbook.logout is not None:
        yield from _steps_with_keys(playbook.logout.steps, ("logout", "steps"))
    for number, search in enumerate(playbook.claim_status.searches):
        yield from _steps_with_keys(search.steps, ("claim_status", "searches", number, "steps"))
    if playbook.eligibility is not None:
        yield from _steps_with_keys(playbook.eligibility.steps, ("eligibility", "steps"))
    if playbook.corrected_claim is not None:
        yield from _steps_with_keys(playbook.corrected_claim.steps, ("corrected_claim", "steps"))


def _misplaced(playbook: Playbook) -> Iterator[Problem]:
    """`for_each_line` and `{line.*}` belong inside corrected_claim's for_each_line, `{correction.*}`
    inside corrected_claim: anywhere else there is no correction, and the value would be missing."""

    def walk(steps: Sequence[Step], key: tuple[str | int, ...], in_task: bool, in_lines: bool) -> Iterator[Problem]:
        for index, step in enumerate(steps):
            here = (*key, index)
            if isinstance(step, ForEachLine):
                if not in_task or in_lines:
                    yield Problem(here, "for_each_line runs only in corrected_claim.steps", Reason.MISPLACED_STEP)
                yield from walk(step.steps, (*here, "steps"), in_task, True)
                continue
            if in_lines and not isinstance(step, Fill | Select | Click | WaitFor):
                message = f"inside for_each_line only fill, select, click and wait_for run, not {step_kind(step)}"
                yield Problem(here, message, Reason.MISPLACED_STEP)
            if isinstance(step, WhenPresent):
                yield from walk(step.steps, (*here, "steps"), in_task, in_lines)
            names = _TEMPLATE.findall(str(step.model_dump(exclude={"steps"})))
            for name in names:
                if name.startswith(LINE_TEMPLATE_PREFIX) and not in_lines:
                    message = f"{{{name}}} is a service line's value: use it inside for_each_line"
                    yield Problem(here, message, Reason.MISPLACED_STEP)
                elif name.startswith(CORRECTION_TEMPLATE_PREFIXES) and not in_task:
                    message = f"{{{name}}} belongs to a correction: use it in corrected_claim only"
                    yield Problem(here, message, Reason.MISPLACED_STEP)

    sections: list[tuple[tuple[str | int, ...], Sequence[Step], bool]] = [
        (("login", "steps"), playbook.login.steps, False),
        *([(("logout", "steps"), playbook.logout.steps, False)] if playbook.logout else []),
        *(
            (("claim_status", "searches", n, "steps"), search.steps, False)
            for n, search in enumerate(playbook.claim_status.searches)
        ),
        *([(("eligibility", "steps"), playbook.eligibility.steps, False)] if playbook.eligibility else []),
        *([(("corrected_claim", "steps"), playbook.corrected_claim.steps, True)] if playbook.corrected_claim else []),
    ]
    for key, steps, in_task in sections:
        yield from walk(steps, key, in_task, False)


def playbook_problems(playbook: Playbook) -> list[Problem]:
    """What pydantic cannot see field by field: addresses against the origins, and HTML row selectors.

    `playbook validate` (the loader) reports these with file, line and key; the engine refuses to run
    a playbook that has any (PlaybookBroken), however it was built.
    """
    problems: list[Problem] = list(_misplaced(playbook))
    origins = playbook.origins

    def address(template: str, key: tuple[str | int, ...]) -> None:
        if (problem := url_template_problem(template, origins)) is not None:
            secret = "secret" in problem or "patient value" in problem
            problems.append(Problem(key, problem, Reason.UNSAFE_TEMPLATE if secret else Reason.OFF_ORIGIN))

    address(playbook.login.start, ("login", "start"))
    for key, step in all_steps(playbook):
        if isinstance(step, Goto):
            address(step.goto, (*key, "goto"))
        elif isinstance(step, FetchJson):
            address(step.fetch_json, (*key, "fetch_json"))
    extractions: list[tuple[str, Extraction]] = [("claim_status", playbook.claim_status.extract)]
    if playbook.eligibility is not None:
        extractions.append(("eligibility", playbook.eligibility.extract))
    if playbook.corrected_claim is not None:
        extractions.append(("corrected_claim", playbook.corrected_claim.extract))
    for task, extraction in extractions:
        if extraction.source != "html":
            continue
        for name, table in extraction.tables.items():
            if (problem := css_problem(table.rows)) is not None:
                key = (task, "extract", "tables", name, "rows")
                problems.append(Problem(key, problem, Reason.INVALID_SELECTOR))
    return problems
