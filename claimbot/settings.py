"""Settings, layered: defaults < environment (CLAIMBOT_*) < command-line options.

Embedded defaults need nothing: the ledger is a SQLite file in the data directory. Teams point
CLAIMBOT_DATABASE_URL at PostgreSQL.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from claimbot.shipped import shipped


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "claimbot"


class LogFormat(StrEnum):
    CONSOLE = "console"
    JSON = "json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMBOT_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None
    log_format: LogFormat = LogFormat.CONSOLE
    log_level: str = "INFO"
    config_dir: Path = Field(default_factory=lambda: shipped("config"))
    playbooks_dir: Path = Field(default_factory=lambda: shipped("playbooks"))
    evidence_retention_days: int = Field(default=30, ge=1)
    run_lease_s: float = Field(default=60.0, gt=0, description="a bot run silent this long is taken for dead")
    # `claimbot scheduler run` (bots.schedule): crontab lines read in schedule_timezone.
    schedule_timezone: str = Field(default="UTC", description="IANA zone the cron lines are read in")
    status_sweep_cron: str = "0 2 * * *"
    eligibility_sweep_cron: str = "0 1 * * *"
    digest_cron: str = "0 7 * * *"
    schedule_misfire_grace_s: int = Field(
        default=23 * 3600, ge=1, description="a run missed by less than this (downtime) still runs, once"
    )
    # The eligibility sweep: appointments in the next `eligibility_days` days, from this CSV when set.
    appointments_file: Path | None = None
    eligibility_days: int = Field(default=7, ge=0, le=90)

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
