"""Evidence: a screenshot and the page HTML (optionally a Playwright trace) saved when a check
fails, and on demand. Evidence shows patients, so it is PHI: files are owner-only (0600 in a 0700
folder), names carry only the payer, a timestamp and a random id, and old files are purged:
every store purges its folder once when it is opened (so every command that may write evidence
does), and `claimbot evidence purge` does it on demand.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict


class EvidenceFiles(BaseModel):
    model_config = ConfigDict(frozen=True)

    ref: str
    screenshot: Path | None
    html: Path | None


class EvidenceStore:
    def __init__(self, folder: Path, retention_days: int = 30, *, purge_on_open: bool = True) -> None:
        """Open the store; unless told not to, delete what is past retention now (one listing of
        the folder). `purged_on_open` says how many files that removed."""
        self.folder = folder
        self.retention_days = retention_days
        self.purged_on_open = self.purge() if purge_on_open else 0

    def _prepare(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)

    def new_ref(self, payer_id: str, reason: str) -> str:
        """A name with no PHI in it: payer, UTC time, reason word, random id."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        safe_reason = "".join(c if c.isalnum() else "-" for c in reason.lower())[:24]
        return f"{payer_id.lower()}-{stamp}-{safe_reason}-{secrets.token_hex(4)}"

    def write(self, ref: str, screenshot: bytes | None, html: str | None) -> EvidenceFiles:
        self._prepare()
        shot_path = self._write_private(f"{ref}.png", screenshot) if screenshot is not None else None
        html_path = self._write_private(f"{ref}.html", html.encode()) if html is not None else None
        return EvidenceFiles(ref=ref, screenshot=shot_path, html=html_path)

    def _write_private(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return path

    def trace_path(self, ref: str) -> Path:
        self._prepare()
        return self.folder / f"{ref}.trace.zip"

    def purge(self, now: float | None = None) -> int:
        """Delete evidence older than the retention period; returns how many files went.

        Safe beside another process purging or writing the same folder: a file that is gone by
        the time it is looked at is not counted."""
        cutoff = (time.time() if now is None else now) - self.retention_days * 86_400
        removed = 0
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return 0
        for entry in entries:
            try:
                if not entry.is_file(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_mtime >= cutoff:
                    continue
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            removed += 1
        return removed
