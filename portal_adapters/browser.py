"""Which Chromium to launch: Playwright's own when installed, else a system one; a path can be set.

`playwright install` downloads a browser, which is not possible everywhere (nor wanted on locked
down machines), so Debian's `chromium-headless-shell` or `chromium` work as well.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from pathlib import Path

SYSTEM_CANDIDATES = (
    "/usr/lib/chromium/chromium-headless-shell",
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium-headless-shell",
    "/usr/bin/chromium",
    "/usr/bin/google-chrome",
)
PLAYWRIGHT_GLOBS = (
    "~/.cache/ms-playwright/chromium_headless_shell-*/chrome-*/*headless_shell",
    "~/.cache/ms-playwright/chromium-*/chrome-linux*/chrome",
)
#: Flags that keep a headless browser quiet and small; no network chatter beyond the portal itself.
LAUNCH_ARGS = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--disable-background-networking",
)


#: Environment variables the browser never inherits: portal and clearinghouse credentials, keys, tokens.
SECRET_ENV_PREFIXES = ("CLAIMBOT_PORTAL_", "CLAIMBOT_CLEARINGHOUSE_", "SLACK_")
SECRET_ENV_NAMES = frozenset({"CLAIMBOT_CREDENTIALS_KEY"})
SECRET_ENV_WORDS = ("PASSWORD", "SECRET", "TOKEN", "KEY", "PASSWD", "CREDENTIAL")


def browser_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment to launch Chromium with: this process's, minus every secret it may hold.

    A browser renders pages from the internet; whatever is in its environment can be read by
    whatever escapes it (and ends up in crash dumps), so credentials stay with Claimbot.
    """
    source = os.environ if environ is None else environ
    kept: dict[str, str] = {}
    for name, value in source.items():
        upper = name.upper()
        if upper in SECRET_ENV_NAMES or upper.startswith(SECRET_ENV_PREFIXES):
            continue
        if any(word in upper for word in SECRET_ENV_WORDS):
            continue
        kept[name] = value
    return kept


class BrowserNotFound(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "no Chromium found: install one with `apt-get install chromium-headless-shell` "
            "(or `playwright install chromium`), or set CLAIMBOT_CHROMIUM to its path"
        )


def find_chromium(configured: str | None = None) -> str:
    """The browser executable to launch, or BrowserNotFound with the one line that fixes it."""
    explicit = configured or os.environ.get("CLAIMBOT_CHROMIUM")
    if explicit:
        if Path(explicit).is_file() and os.access(explicit, os.X_OK):
            return explicit
        raise BrowserNotFound()
    for pattern in PLAYWRIGHT_GLOBS:
        found = sorted(glob.glob(os.path.expanduser(pattern)), reverse=True)
        if found:
            return found[0]
    for candidate in SYSTEM_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise BrowserNotFound()
