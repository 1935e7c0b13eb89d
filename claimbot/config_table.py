"""The README's table of every setting, generated from the settings classes of every layer.

Apart from claimbot.settings because it reads the classes of the layers below the shell (the Slack app's,
the clearinghouse's), while claimbot.settings stays a leaf that those layers may import.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic.fields import FieldInfo

from assistant.settings import SlackSettings
from claimbot.settings import SCHEDULE_KEYS, SECRET_KEYS, ServeSettings, Settings, TomlSettings
from portal_adapters.clearinghouse import BatchPolling, ClearinghouseIdentity


def _default_text(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "see meaning"
    if field.default is None:
        return "–"
    return f"`{field.default.value if isinstance(field.default, StrEnum) else field.default}`"


def key_table() -> str:
    """The README's table of every setting: its TOML key, its environment variable, default and meaning.

    Generated from the settings classes (tests/test_readme.py checks the README holds it as it is now)."""
    schedule_fields = {field: key for key, field in SCHEDULE_KEYS.items()}
    classes: list[type[TomlSettings]] = [Settings, ServeSettings, SlackSettings, ClearinghouseIdentity, BatchPolling]
    rows = ["| TOML key | environment variable | default | meaning |", "|---|---|---|---|"]
    for model in classes:
        section = model.toml_section
        prefix = str(model.model_config.get("env_prefix", ""))
        for name, field in model.model_fields.items():
            env = f"`{(prefix + name).upper()}`"
            if name in SECRET_KEYS or name.endswith(("_token", "_secret")):
                key = "– (environment only: a secret)"
            elif model is Settings and name in schedule_fields:
                key = f"`[schedule] {schedule_fields[name]}`"
            else:
                key = f"`[{section}] {name}`" if section else f"`{name}`"
            rows.append(f"| {key} | {env} | {_default_text(field)} | {field.description or ''} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(key_table())  # `python -m claimbot.config_table` prints the README's table
