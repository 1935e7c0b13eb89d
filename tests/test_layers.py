"""The package layers hold: a package imports only the layers below it (ARCHITECTURE.md).

The one reach upwards is the configuration: `claimbot.settings` is a leaf (pydantic, the TOML reader
and `claimbot.shipped`), so every component reads its section of the same file; nothing else of the
shell is imported from below it.
"""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO

ORDER = ["edi", "claims", "portal_adapters", "bots", "assistant", "claimbot"]
SHARED_CONFIG = {"claimbot.settings", "claimbot.shipped"}
LEAF_IMPORTS = {"claimbot.shipped"}


def imported_modules(package: str) -> dict[str, set[str]]:
    """Every module a package's files import (at any depth: lazy imports count too), by file."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[str(path.relative_to(REPO))] = names
    return found


@pytest.mark.parametrize("package", ORDER[:-1])
def test_a_package_imports_no_layer_above_it(package: str) -> None:
    above = ORDER[ORDER.index(package) + 1 :]
    wrong = {
        file: sorted(
            name
            for name in names
            if name.split(".")[0] in above and not (name in SHARED_CONFIG and name.split(".")[0] == "claimbot")
        )
        for file, names in imported_modules(package).items()
    }
    assert {file: names for file, names in wrong.items() if names} == {}


def test_the_sandbox_shares_no_payer_logic_with_the_bots() -> None:
    allowed = {"edi", "sandbox"}
    others = {"claims", "portal_adapters", "bots", "assistant", "claimbot"}
    wrong = {
        file: sorted(n for n in names if n.split(".")[0] in others)
        for file, names in imported_modules("sandbox").items()
    }
    assert {f: n for f, n in wrong.items() if n} == {}, f"sandbox may import only {sorted(allowed)}"


def test_the_shared_configuration_is_a_leaf() -> None:
    for module in ("settings", "shipped"):
        names = imported_modules("claimbot")[f"claimbot/{module}.py"]
        ours = {n for n in names if n.split(".")[0] in [*ORDER, "sandbox"]}
        assert ours <= LEAF_IMPORTS, f"claimbot/{module}.py must stay a leaf: {sorted(ours)}"
