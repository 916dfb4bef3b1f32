"""The CDK app: `.venv/bin/python infra/app.py` (or `cdk synth` through cdk.json) writes cdk.out/."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_INFRA_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _INFRA_DIR.parent

# Run as a script, Python puts infra/ first on sys.path, where the infra/constructs package would
# shadow the `constructs` library that aws_cdk imports. Import everything from the repository root.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _INFRA_DIR]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from infra.stack import build_app  # noqa: E402


def main() -> None:
    # The CDK CLI tells the app where to write; run directly, write to the repository's cdk.out/.
    outdir = None if os.environ.get("CDK_OUTDIR") else str(_REPO_ROOT / "cdk.out")
    build_app(outdir=outdir).app.synth()


if __name__ == "__main__":
    main()
