"""The CDK app: `.venv/bin/python infra/app.py` (or `cdk synth` through cdk.json) writes cdk.out/."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent

# The CDK CLI runs this file as a script; the `infra` package is imported from the repository root.
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from infra.stack import build_app  # noqa: E402


def main() -> None:
    # The CDK CLI tells the app where to write; run directly, write to the repository's cdk.out/.
    outdir = None if os.environ.get("CDK_OUTDIR") else str(_REPO_ROOT / "cdk.out")
    build_app(outdir=outdir).app.synth()


if __name__ == "__main__":
    main()
