"""Finding and validating playbooks: `playbooks/<payer>/playbook.yaml`, one folder per portal.

Like Home Assistant's hassfest: every folder is checked in CI (`claimbot playbook validate`), the
folder name must be the payer id in lower case, and an error names the file, the key path and the
line, so whoever edits a playbook can find the mistake at once.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from claims.yaml_source import YamlSourceError, line_of, read_yaml
from portal_adapters.playbook.schema import STEP_KEYS, Playbook, playbook_problems

PLAYBOOK_FILE = "playbook.yaml"
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "playbooks"


class PlaybookError(ValueError):
    """A playbook cannot be used. The message is `file: line N: key a.b.c: what is wrong`."""


def _key_path(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop pydantic's union tags (step kinds) so the path is the one written in the YAML."""
    cleaned: list[int | str] = []
    for i, part in enumerate(loc):
        previous = loc[i - 1] if i else None
        if isinstance(part, str) and part in STEP_KEYS and isinstance(previous, int):
            continue
        cleaned.append(part)
    return tuple(cleaned)


def load_playbook(path: Path) -> Playbook:
    try:
        raw, node = read_yaml(path, "playbook")
    except YamlSourceError as err:
        raise PlaybookError(str(err)) from err
    if not isinstance(raw, dict):
        raise PlaybookError(f"{path}: line 1: a playbook is a YAML mapping")
    try:
        playbook = Playbook.model_validate(raw)
    except ValidationError as err:
        problems = []
        for problem in err.errors()[:5]:
            key = _key_path(tuple(problem["loc"]))
            line = line_of(node, key)
            dotted = ".".join(str(p) for p in key) or "(top level)"
            message = problem["msg"].removeprefix("Value error, ")
            problems.append(f"{path}: line {line}: key {dotted}: {message}")
        raise PlaybookError("\n".join(problems)) from err
    problems = [
        f"{path}: line {line_of(node, problem.key)}: key {problem.dotted}: {problem.message}"
        for problem in playbook_problems(playbook)
    ]
    if problems:
        raise PlaybookError("\n".join(problems[:5]))
    folder = path.parent.name
    if folder != playbook.payer_id.lower():
        line = line_of(node, ("payer_id",))
        raise PlaybookError(
            f"{path}: line {line}: key payer_id: {playbook.payer_id} does not match its folder "
            f"'{folder}' (the folder is the payer id in lower case)"
        )
    return playbook


def discover_playbooks(root: Path = DEFAULT_ROOT) -> dict[str, Path]:
    """payer id -> playbook file, for every `<root>/<payer>/playbook.yaml`."""
    return {
        folder.name.upper(): folder / PLAYBOOK_FILE
        for folder in sorted(root.iterdir())
        if folder.is_dir() and (folder / PLAYBOOK_FILE).exists()
    }


def validate_all(root: Path = DEFAULT_ROOT) -> tuple[list[Playbook], list[str]]:
    """Load every playbook under root; return the good ones and one message per bad one."""
    good: list[Playbook] = []
    problems: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        path = folder / PLAYBOOK_FILE
        if not path.exists():
            problems.append(f"{folder}: has no {PLAYBOOK_FILE}")
            continue
        try:
            good.append(load_playbook(path))
        except PlaybookError as err:
            problems.append(str(err))
    return good, problems
