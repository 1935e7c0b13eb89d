"""YAML the team edits by hand (payers.yaml, playbooks, denials.yaml), read with its line numbers.

A mistake is reported as `file: line N: key a.b.c: what is wrong`, so whoever edits the file finds it at
once. `read_yaml` gives the parsed data and the composed node tree; `line_of` walks that tree along a
key path (as pydantic reports it) to the line the key is written on.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml


class YamlSourceError(ValueError):
    """The file cannot be read or is not YAML. The message names the file (and the line)."""


def read_yaml(path: Path, what: str = "file") -> tuple[Any, yaml.Node | None]:
    """The data and its node tree (for line numbers); errors name the file and the line, never the text."""
    import yaml  # on first use: `claimbot --help` never reads YAML (tests/claimbot/test_startup.py)

    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise YamlSourceError(f"{path}: cannot read the {what} ({err.__class__.__name__})") from err
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise YamlSourceError(f"{path}: {where}not valid YAML ({getattr(err, 'problem', 'syntax error')})") from err
    return raw, node


def line_of(root: yaml.Node | None, path: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at `path` (as far down as the document goes)."""
    import yaml

    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            entry = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if entry is None:
                break
            line, node = entry[0].start_mark.line + 1, entry[1]  # the line the key is written on
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
