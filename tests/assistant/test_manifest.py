"""The Slack app manifest asks for exactly the scopes the code needs: every Web API method named in
assistant/ is mapped to its scope, and each scope asked for is used by one of them."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from assistant.app import SUGGESTED_PROMPTS

ASSISTANT = Path(__file__).resolve().parents[2] / "assistant"
MANIFEST = yaml.safe_load((ASSISTANT / "manifest.yaml").read_text("utf-8"))

#: Web API method -> the bot scope it needs (None: no scope). A method missing here fails the test:
#: add it with its scope, and the scope to assistant/manifest.yaml.
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.open": "im:write",
    "conversations.replies": "im:history",  # Bolt's assistant thread context store
    "usergroups.users.list": "usergroups:read",
    "views.open": None,
    "views.update": None,
    "views.publish": None,
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "assistant.threads.setStatus": "assistant:write",
    "assistant.threads.setSuggestedPrompts": "assistant:write",
}
#: Scopes that listeners need rather than calls: /claim, mentions, DMs.
LISTENER_SCOPES = {"commands", "app_mentions:read", "im:history"}
NEVER = {"channels:history", "groups:history", "chat:write.public", "users:read.email", "chat:write.customize"}

_CALL = re.compile(r"\bclient\.(?!api_call)([a-z]+(?:_[a-zA-Z]+)+)\(")  # api_call("x.y"): _NAMED finds it
_NAMED = re.compile(
    r"\"((?:chat|conversations|usergroups|views|files|assistant\.threads|users|reactions|pins)\.[A-Za-z.]+)\""
)


def _as_method(python_name: str) -> str:
    family, _, rest = python_name.partition("_")
    if family == "assistant":  # assistant_threads_setStatus
        return "assistant.threads." + rest.removeprefix("threads_")
    return family + "." + rest.replace("_", ".")


def methods_in_code() -> set[str]:
    found: set[str] = set()
    for source in ASSISTANT.glob("*.py"):
        text = source.read_text("utf-8")
        found |= {_as_method(name) for name in _CALL.findall(text)}
        found |= set(_NAMED.findall(text))
    return found | {"assistant.threads.setStatus", "assistant.threads.setSuggestedPrompts", "conversations.replies"}


def test_every_method_the_code_calls_has_its_scope_and_every_scope_is_used() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    called = methods_in_code()
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"map these methods to their scopes: {sorted(unknown)}"
    needed = {METHOD_SCOPES[m] for m in called} - {None} | LISTENER_SCOPES
    assert scopes == needed
    assert not scopes & NEVER
    assert "user" not in MANIFEST["oauth_config"]["scopes"]


def test_the_manifest_points_everything_at_one_endpoint_and_subscribes_what_the_app_listens_to() -> None:
    settings = MANIFEST["settings"]
    urls = [settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]]
    urls += [c["url"] for c in MANIFEST["features"]["slash_commands"]]
    assert all(url.endswith("/slack/events") for url in urls)
    assert [c["command"] for c in MANIFEST["features"]["slash_commands"]] == ["/claim"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_mention",
        "message.im",
        "app_home_opened",
        "assistant_thread_started",
        "assistant_thread_context_changed",
    }
    assert MANIFEST["features"]["assistant_view"]["suggested_prompts"] == list(SUGGESTED_PROMPTS)
