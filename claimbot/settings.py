"""Settings, layered: defaults < config/claimbot.toml < environment (CLAIMBOT_*, SLACK_*) < command-line options.

Embedded defaults need nothing: the ledger is a SQLite file in the data directory. Teams point
`database_url` (or CLAIMBOT_DATABASE_URL) at PostgreSQL.

One TOML file holds every non-secret setting: top-level keys are this module's `Settings`, and the
sections `[schedule]` (here too), `[serve]` (ServeSettings), `[slack]` (assistant.settings.SlackSettings)
and `[clearinghouse]` (portal_adapters.clearinghouse) belong to the other settings classes, each of which
reads its own section through `TomlSection`. The file is `CLAIMBOT_CONFIG`, else the `config/claimbot.toml`
shipped with Claimbot. An unknown section or key is an error naming the file and the key; so is a secret
(tokens, signing secret, API keys, passwords): those come from the environment or the credentials store.
Relative paths in the file are read from the file's own folder.
"""

from __future__ import annotations

import os
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from claimbot.shipped import shipped

CONFIG_ENV = "CLAIMBOT_CONFIG"

#: The TOML's sections and which settings class reads each (top-level keys: `Settings`).
SECTIONS = {
    "schedule": "claimbot.settings.Settings (schedule_* and *_cron)",
    "serve": "claimbot.settings.ServeSettings",
    "slack": "assistant.settings.SlackSettings",
    "clearinghouse": "portal_adapters.clearinghouse.ClearinghouseIdentity and BatchPolling",
}

#: Keys refused in the file wherever they appear: secrets live in the environment or the credentials store.
SECRET_KEYS = frozenset(
    {"bot_token", "app_token", "signing_secret", "api_key", "password", "token", "secret", "credentials_key"}
)

#: `[schedule]` keys and the `Settings` fields they set (their environment names keep the field's name).
SCHEDULE_KEYS = {
    "timezone": "schedule_timezone",
    "status_sweep_cron": "status_sweep_cron",
    "eligibility_sweep_cron": "eligibility_sweep_cron",
    "digest_cron": "digest_cron",
    "misfire_grace_s": "schedule_misfire_grace_s",
}


class ConfigFileError(ValueError):
    """The TOML is unreadable or holds a key nobody reads; the message names the file and the key, never a value."""


def config_file() -> Path:
    """The TOML in force: CLAIMBOT_CONFIG, else the one shipped with Claimbot."""
    named = os.environ.get(CONFIG_ENV)
    return Path(named) if named else shipped("config") / "claimbot.toml"


def read_config(path: Path | None = None) -> dict[str, Any]:
    """The whole file, checked for unknown sections and secrets (each section's keys are checked by its reader).

    A missing shipped file is an empty config; a missing CLAIMBOT_CONFIG is an error."""
    path = path or config_file()
    if not path.is_file():
        if os.environ.get(CONFIG_ENV):
            raise ConfigFileError(f"{path}: no such file ({CONFIG_ENV} names it)")
        return {}
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigFileError(f"{path}: not valid TOML ({error})") from None
    for key, value in data.items():
        where = f"[{key}]" if isinstance(value, dict) else key
        if isinstance(value, dict):
            if key not in SECTIONS:
                raise ConfigFileError(f"{path}: unknown section [{key}] (known: {', '.join(sorted(SECTIONS))})")
            for inner in value:
                _refuse_secret(path, f"[{key}] {inner}", inner)
        else:
            _refuse_secret(path, where, key)
    url = data.get("database_url")
    if isinstance(url, str) and urlsplit(url).password:
        raise ConfigFileError(
            f"{path}: database_url holds a password: set CLAIMBOT_DATABASE_URL in the environment instead, "
            "or leave the password to ~/.pgpass"
        )
    return data


def _refuse_secret(path: Path, where: str, key: str) -> None:
    if key in SECRET_KEYS or key.endswith(("_token", "_secret", "_api_key", "_password")):
        raise ConfigFileError(
            f"{path}: {where} is a secret and is not read from the file: set it in the environment "
            "or the credentials store (see the README's Configuration section)"
        )


class TomlSection(PydanticBaseSettingsSource):
    """One section of the TOML (`None`: the top-level keys) as a pydantic-settings source.

    `keys` maps the section's keys to the model's fields (default: the same names, every field); `shared`
    names keys of the same section that another class reads. Any other key is an error naming the file
    and the key."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        section: str | None,
        keys: dict[str, str] | None = None,
        shared: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(settings_cls)
        self.section = section
        self.keys = keys if keys is not None else {name: name for name in settings_cls.model_fields}
        self.shared = shared

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ reads the whole section at once

    def __call__(self) -> dict[str, Any]:
        path = config_file()
        data = read_config(path)
        found = data.get(self.section, {}) if self.section else {k: v for k, v in data.items() if k not in SECTIONS}
        label = f"[{self.section}] " if self.section else ""
        values: dict[str, Any] = {}
        for key, value in found.items():
            if key in self.shared and key not in self.keys:
                continue
            if key not in self.keys:
                raise ConfigFileError(f"{path}: unknown key {label}{key}")
            name = self.keys[key]
            field = self.settings_cls.model_fields[name]
            if isinstance(value, str) and _is_path(field):
                value = str((path.parent / Path(value).expanduser()).resolve())
            values[name] = value
        return values


def _is_path(field: FieldInfo) -> bool:
    return field.annotation is Path or str(field.annotation) in ("pathlib.Path | None", "Path | None")


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "claimbot"


class LogFormat(StrEnum):
    CONSOLE = "console"
    JSON = "json"


class TomlSettings(BaseSettings):
    """Settings read from init arguments, then the environment, then their section of the TOML (`toml_sources`)."""

    toml_section: ClassVar[str | None] = None

    @classmethod
    def toml_sources(cls) -> tuple[PydanticBaseSettingsSource, ...]:
        return (TomlSection(cls, cls.toml_section),)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        del dotenv_settings, file_secret_settings  # no .env files, no secrets directory: the environment has them
        return init_settings, env_settings, *cls.toml_sources()


class Settings(TomlSettings):
    """Claimbot's own settings: env CLAIMBOT_<FIELD>, TOML top-level keys (the schedule in `[schedule]`)."""

    model_config = SettingsConfigDict(env_prefix="CLAIMBOT_", extra="ignore")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="ledger file, imported code lists, credentials file, evidence (default ~/.local/share/claimbot)",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the ledger, e.g. postgresql+psycopg://claimbot@db/claimbot (default: "
        "SQLite in data_dir); in the TOML without a password (use the environment or ~/.pgpass)",
    )
    log_format: LogFormat = Field(default=LogFormat.CONSOLE, description="`json` in production")
    log_level: str = Field(default="INFO", description="DEBUG adds library request lines (scrubbed)")
    config_dir: Path = Field(
        default_factory=lambda: shipped("config"),
        description="the team's payers.yaml, team.yaml, escalations.yaml (default: the config/ shipped)",
    )
    playbooks_dir: Path = Field(
        default_factory=lambda: shipped("playbooks"),
        description="the team's playbooks, one folder per payer (default: the playbooks/ shipped)",
    )
    evidence_retention_days: int = Field(default=30, ge=1, description="evidence older than this is deleted")
    run_lease_s: float = Field(default=60.0, gt=0, description="a bot run silent this long is taken for dead")
    # `claimbot scheduler run` (bots.schedule): crontab lines read in schedule_timezone ([schedule] in the TOML).
    schedule_timezone: str = Field(default="UTC", description="IANA zone the cron lines are read in")
    status_sweep_cron: str = Field(default="0 2 * * *", description="when the status sweep runs")
    eligibility_sweep_cron: str = Field(default="0 1 * * *", description="when the eligibility sweep runs")
    digest_cron: str = Field(default="0 7 * * *", description="when the daily digest is sent")
    schedule_misfire_grace_s: int = Field(
        default=23 * 3600, ge=1, description="a run missed by less than this (downtime) still runs, once"
    )
    # The eligibility sweep: appointments in the next `eligibility_days` days, from this CSV when set.
    appointments_file: Path | None = Field(
        default=None, description="appointments CSV the eligibility sweep reads (else the members of open claims)"
    )
    eligibility_days: int = Field(default=7, ge=0, le=90, description="the eligibility sweep's window in days")

    @classmethod
    def toml_sources(cls) -> tuple[PydanticBaseSettingsSource, ...]:
        top = {name: name for name in cls.model_fields if name not in SCHEDULE_KEYS.values()}
        return TomlSection(cls, None, top), TomlSection(cls, "schedule", SCHEDULE_KEYS)

    @property
    def ledger_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'ledger.sqlite3'}"

    @property
    def codesets_dir(self) -> Path:
        return self.data_dir / "codesets"

    @property
    def payers_file(self) -> Path:
        return self.config_dir / "payers.yaml"

    @property
    def team_file(self) -> Path:
        """Who holds which role (claims.team); absent: the one local user is a specialist."""
        return self.config_dir / "team.yaml"


class ServeSettings(TomlSettings):
    """`claimbot serve`'s listening address: env CLAIMBOT_SERVE_*, TOML `[serve]`; --port/--host win."""

    toml_section: ClassVar[str | None] = "serve"

    model_config = SettingsConfigDict(env_prefix="CLAIMBOT_SERVE_", extra="ignore")

    port: int = Field(default=9464, ge=0, le=65535, description="port of /healthz, /readyz, /metrics (and Slack)")
    host: str = Field(default="127.0.0.1", description="address to listen on (0.0.0.0 in a container)")
