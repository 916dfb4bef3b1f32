"""Ships the machine's log files to the API, a little at a time, from where it left off, also across
a restart of the agent or of the machine (the positions are kept on its disk)."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

# A log seen for the first time is shipped from at most this far before its end.
FIRST_READ_BYTES = 64 * 1024
MAX_LINES_PER_BATCH = 1_000
MAX_LINE_CHARS = 16_000
DEFAULT_LOG_FILES = ("/var/log/dumont-agent.log", "/var/log/onstart.log")


@dataclass
class _Position:
    inode: int
    offset: int


@dataclass
class LogTail:
    """New complete lines of each file since the last read; a truncated or replaced file starts over."""

    files: list[Path]
    positions_file: Path | None = None
    """Where the positions reached are kept once shipped, so a restarted agent does not ship again what
    its predecessor did (the log files outlive it: a stopped machine keeps its disk)."""
    _positions: dict[Path, _Position] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.positions_file is None:
            return
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            saved = json.loads(self.positions_file.read_text())
            for name, (inode, offset) in saved.items():
                self._positions[Path(name)] = _Position(int(inode), int(offset))

    def shipped(self) -> None:
        """What `read` returned reached the API: a restarted agent goes on from here."""
        if self.positions_file is None:
            return
        saved = {str(path): [position.inode, position.offset] for path, position in self._positions.items()}
        self.positions_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.positions_file.with_suffix(".partial")
        partial.write_text(json.dumps(saved))
        partial.replace(self.positions_file)

    def read(self) -> list[dict[str, str]]:
        now = datetime.now(timezone.utc).isoformat()  # noqa: UP017 - the agent also runs on Python 3.10
        lines: list[dict[str, str]] = []
        for path in self.files:
            for line in self._new_lines(path):
                lines.append({"timestamp": now, "message": f"{path.name}: {line[:MAX_LINE_CHARS]}"})
                if len(lines) >= MAX_LINES_PER_BATCH:
                    return lines
        return lines

    def _new_lines(self, path: Path) -> list[str]:
        try:
            status = path.stat()
        except OSError:
            return []
        position = self._positions.get(path)
        if position is None:
            position = _Position(status.st_ino, max(0, status.st_size - FIRST_READ_BYTES))
        elif position.inode != status.st_ino or status.st_size < position.offset:
            position = _Position(status.st_ino, 0)
        with path.open("rb") as log:
            log.seek(position.offset)
            chunk = log.read(status.st_size - position.offset)
        # Only whole lines: a line still being written waits for the next read.
        complete, _, _ = chunk.rpartition(b"\n")
        if not complete:
            self._positions[path] = position
            return []
        position.offset += len(complete) + 1
        self._positions[path] = position
        return [line for line in complete.decode("utf-8", errors="replace").split("\n") if line.strip()]


def log_files_from(value: str | None) -> list[Path]:
    names = value.split(os.pathsep) if value else list(DEFAULT_LOG_FILES)
    return [Path(name) for name in names if name]
