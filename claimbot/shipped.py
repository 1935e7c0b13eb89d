"""The defaults that ship with Claimbot: the example payer list (`config/`) and the portal playbooks.

A wheel carries them inside the package (`claimbot/_shipped/`, see pyproject's force-include), so an
installed `claimbot` works from any folder. In a source checkout (./dev, an editable install) the
same folders are the top-level `config/` and `playbooks/` of the repository. A team's own config
and playbooks are found through CLAIMBOT_CONFIG_DIR and CLAIMBOT_PLAYBOOKS_DIR, never here.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped(folder: str) -> Path:
    """`config` or `playbooks` as shipped with this copy of Claimbot."""
    inside = _PACKAGE / "_shipped" / folder
    return inside if inside.is_dir() else _PACKAGE.parent / folder
