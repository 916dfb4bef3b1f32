"""Rules the code keeps by itself: no source file grows past what a person reads in one sitting."""

from __future__ import annotations

import subprocess
from pathlib import Path

from infra.topology import REPO_ROOT

MAX_LINES = 400
SOURCE_PATTERNS = ["*.py", "*.ts", "*.js", "*.mjs", "*.cjs", "*.go"]
"""Python, and the SDKs' TypeScript, JavaScript and Go."""


def source_files() -> list[Path]:
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *SOURCE_PATTERNS],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [REPO_ROOT / name for name in tracked if (REPO_ROOT / name).is_file()]


def test_no_source_file_is_longer_than_400_lines() -> None:
    too_long = {
        str(path.relative_to(REPO_ROOT)): lines
        for path in source_files()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}, f"split these by what they do (at most {MAX_LINES} lines each)"
