"""The Slack app's settings: SLACK_* environment variables over the `[slack]` section of config/claimbot.toml.

SLACK_API_URL reaches every Web API call the app makes (GovSlack, or a fake Web API in tests). The
tokens and the signing secret are SecretStr: their repr hides them, and `require()` names what is
missing without quoting anything. They are read from the environment only (a .env or a secrets manager in
production): the TOML refuses them (claimbot.settings.SECRET_KEYS).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from claimbot.settings import TomlSettings

SLACK_PUBLIC_API_URL = "https://slack.com/api/"


class SlackSettingsError(ValueError):
    pass


class SlackSettings(TomlSettings):
    model_config = SettingsConfigDict(env_prefix="SLACK_", extra="ignore")
    toml_section: ClassVar[str | None] = "slack"

    bot_token: SecretStr | None = Field(default=None, description="xoxb- bot token")
    signing_secret: SecretStr | None = Field(default=None, description="verifies every HTTP request from Slack")
    app_token: SecretStr | None = Field(default=None, description="xapp- token, Socket Mode only")
    api_url: str = Field(default=SLACK_PUBLIC_API_URL, description="the Web API base URL every call goes to")
    alert_channel: str | None = Field(default=None, description="channel id for denial alerts")
    leads_channel: str | None = Field(default=None, description="channel id for escalations to team leads")
    digest_channel: str | None = Field(default=None, description="channel id for the daily digest")
    usergroup_cache_s: float = Field(default=300.0, ge=0, description="how long a user group's members are kept")

    @property
    def base_url(self) -> str:
        return self.api_url if self.api_url.endswith("/") else self.api_url + "/"

    def require(self, *, socket_mode: bool = False) -> None:
        """Refuse to start without what the transport needs; names the variables, never their values."""
        needed = {"SLACK_BOT_TOKEN": self.bot_token}
        if socket_mode:
            needed["SLACK_APP_TOKEN"] = self.app_token
        else:
            needed["SLACK_SIGNING_SECRET"] = self.signing_secret
        missing = [name for name, value in needed.items() if value is None or not value.get_secret_value()]
        if missing:
            raise SlackSettingsError(f"set {' and '.join(missing)} to serve the Slack app")
