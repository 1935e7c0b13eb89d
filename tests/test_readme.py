"""The README's operator docs cannot drift from the code: its key table is the settings classes' own."""

from __future__ import annotations

import re

from assistant.settings import SlackSettings
from claimbot.config_table import key_table
from claimbot.settings import SCHEDULE_KEYS, ServeSettings, Settings
from portal_adapters.clearinghouse import BatchPolling, ClearinghouseIdentity
from tests.conftest import REPO

README = (REPO / "README.md").read_text("utf-8")


def readme_table() -> str:
    found = re.search(r"<!-- settings-table:start -->\n(.*?)\n<!-- settings-table:end -->", README, re.S)
    assert found, "README.md has lost its settings table markers"
    return found.group(1)


def test_the_readme_key_table_is_the_one_the_settings_classes_generate() -> None:
    assert readme_table() == key_table(), "regenerate it: uv run python -m claimbot.settings"


def test_every_settings_field_has_a_row_with_its_environment_name_and_a_meaning() -> None:
    rows = {line.split(" | ")[1].strip("`"): line for line in readme_table().splitlines()[2:]}
    classes = (Settings, ServeSettings, SlackSettings, ClearinghouseIdentity, BatchPolling)
    for model in classes:
        prefix = str(model.model_config.get("env_prefix", ""))
        for name, field in model.model_fields.items():
            env = (prefix + name).upper()
            assert env in rows, f"{model.__name__}.{name} ({env}) is not in the README's table"
            assert field.description, f"{model.__name__}.{name} has no description where it is defined"
            assert field.description in rows[env]
    assert {f"[schedule] {key}" for key in SCHEDULE_KEYS} <= {row.split(" | ")[0].strip("| `") for row in rows.values()}


def test_every_key_of_the_shipped_toml_is_in_the_table() -> None:
    import tomllib

    shipped = tomllib.loads((REPO / "config" / "claimbot.toml").read_text("utf-8"))
    keys = {k for k, v in shipped.items() if not isinstance(v, dict)}
    keys |= {f"[{k}] {inner}" for k, v in shipped.items() if isinstance(v, dict) for inner in v}
    table = readme_table()
    for key in keys:
        assert f"| `{key}` |" in table, key


def test_the_readme_names_the_demo_command_and_its_options() -> None:
    assert "./dev demo" in README and "`--claims N`" in README and "`--no-portals`" in README
    for heading in ("Adding a payer by playbook", "Credentials and the secret key", "Backup of the ledger"):
        assert f"### {heading}" in README
