"""./dev puts `claimbot` on the PATH of new shells (a link in ~/.local/bin, beside pip's uv)."""

import os
import subprocess
from pathlib import Path

from tests.conftest import REPO


def _run_on_path(home: Path, path: str) -> subprocess.CompletedProcess[str]:
    script = f'log() {{ printf "[dev] %s\\n" "$*" >&2; }}\n{_function("on_path")}\ncd "{REPO}" && on_path'
    env = {**os.environ, "HOME": str(home), "PATH": path}
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True)


def _function(name: str) -> str:
    lines = (REPO / "dev").read_text().splitlines()
    start = lines.index(f"{name}() {{")
    end = lines.index("}", start)
    return "\n".join(lines[start : end + 1])


def test_claimbot_is_linked_into_local_bin_and_the_missing_path_line_is_said(tmp_path: Path) -> None:
    done = _run_on_path(tmp_path, "/usr/bin:/bin")
    link = tmp_path / ".local" / "bin" / "claimbot"
    assert link.is_symlink() and link.resolve() == (REPO / ".venv" / "bin" / "claimbot").resolve()
    assert 'export PATH="$HOME/.local/bin:$PATH"' in done.stderr
    quiet = _run_on_path(tmp_path, f"{tmp_path}/.local/bin:/usr/bin:/bin")
    assert quiet.stderr == ""
    found = subprocess.run(
        ["bash", "-c", "claimbot --help"],
        env={**os.environ, "PATH": f"{tmp_path}/.local/bin:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0 and "Usage: claimbot" in found.stdout


def test_a_claimbot_of_someone_elses_is_left_alone(tmp_path: Path) -> None:
    own = tmp_path / ".local" / "bin" / "claimbot"
    own.parent.mkdir(parents=True)
    own.write_text("#!/bin/sh\necho mine\n")
    _run_on_path(tmp_path, "/usr/bin:/bin")
    assert own.read_text() == "#!/bin/sh\necho mine\n" and not own.is_symlink()
