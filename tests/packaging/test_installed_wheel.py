"""Installed like a Python tool: the wheel works from an empty folder, with the defaults it ships.

Builds the wheel, installs it into a fresh virtual environment (uv, from its cache: the project's
own dependencies are already there), and runs the first commands a new user runs, from a folder
that holds nothing of the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO


def _uv() -> list[str]:
    found = os.environ.get("UV") or shutil.which("uv")
    return [found] if found else ["python3", "-m", "uv"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([*_uv(), "build", "--wheel", "-q", "-o", str(work / "dist"), str(REPO)], check=True)
    [wheel] = (work / "dist").glob("claimbot-*.whl")
    subprocess.run([*_uv(), "venv", "-q", "--python", "python3", str(work / "venv")], check=True)
    subprocess.run(
        [*_uv(), "pip", "install", "-q", "--python", str(work / "venv" / "bin" / "python"), str(wheel)], check=True
    )
    return work / "venv" / "bin" / "claimbot"


def test_first_commands_work_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "anywhere"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMBOT_")}
    env |= {"CLAIMBOT_DATA_DIR": str(tmp_path / "data"), "PATH": f"{installed.parent}:{env.get('PATH', '')}"}

    def run(*args: str) -> str:
        done = subprocess.run([str(installed), *args], cwd=empty, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"claimbot {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    assert "ledger ready" in run("db", "upgrade")
    sample = next((installed.parent.parent / "lib").glob("python3*/site-packages/sandbox/data/claims.csv"))
    assert "540 claims" in run("claims", "import", str(sample))
    validated = run("playbook", "validate")
    assert {"ok  SUNRISE", "ok  MERIDIAN", "ok  KEYSTONE"} <= {line[:12].rstrip(":") for line in validated.splitlines()}
    assert "ok  denials.yaml: " in validated  # the denial playbook ships beside the portal playbooks
    assert "0 open denials" in run("denials", "list")
    python = str(installed.parent / "python")
    found = subprocess.run(
        [python, "-c", "from claims.denials import load_denial_playbook; print(len(load_denial_playbook().rules))"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(found.stdout) > 40  # the library finds the shipped file inside the package, too
    assert run("claims", "list", "--limit", "1").strip()
    assert not any(empty.iterdir()), "nothing is written into the folder the command runs in"
