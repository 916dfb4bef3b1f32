"""Ships the machine's log files to the API, a little at a time, from where it left off."""

from __future__ import annotations

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
    _positions: dict[Path, _Position] = field(default_factory=dict)

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
