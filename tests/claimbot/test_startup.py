"""A command a person runs many times a day starts fast: `claimbot --help` imports nothing heavy.

Timing belongs in bench/startup_bench.py; this guard checks the cause instead, which does not vary
with the machine: which modules `claimbot --help` pulls in. A heavy import at the top of a command
module shows up here at once.
"""

import json
import subprocess
import sys

#: Browsers, HTTP stacks, the database layer, servers, crypto and the X12 reader: each belongs to
#: the commands that use them, never to start-up.
HEAVY = (
    "playwright",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "httpx",
    "selectolax",
    "starlette",
    "uvicorn",
    "cryptography",
    "keyring",
    "pyotp",
    "apscheduler",
    "slack_bolt",
    "slack_sdk",
    "yaml",
    "rich.progress",
    "edi",
    "bots",
    "claims.ledger",
    "claims.edi_intake",
    "claims.importing",
    "portal_adapters.engine",
    "portal_adapters.clearinghouse",
    "sandbox.servers",
)

_PROBE = """
import json, sys
from claimbot.cli import app
try:
    app(["--help"], prog_name="claimbot")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_after(probe: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_no_heavy_module() -> None:
    loaded = _modules_after(_PROBE)
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == [], f"`claimbot --help` imports {heavy}: import them inside the commands that use them"


def test_the_guard_sees_a_heavy_import() -> None:
    loaded = _modules_after(
        _PROBE.replace("from claimbot.cli import app", "import sqlalchemy\nfrom claimbot.cli import app")
    )
    assert "sqlalchemy" in loaded
