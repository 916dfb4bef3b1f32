"""The JavaScript/TypeScript and Go SDKs against the local stack: their own suites, and the seeds' snippets,
run by node and go as a user runs them, with DUMONT_API_URL and DUMONT_API_KEY pointing at the stack."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.topology import REPO_ROOT
from local_stack.stack import LocalStack

JS_SDK = REPO_ROOT / "sdk" / "js"
GO_SDK = REPO_ROOT / "sdk" / "go"
# The names older documents import the SDK by, each a package of its own re-exporting @dumont/cloud.
JS_ALIASES = ("dumont-sdk", "dumont-cloud")
SEEDS = Path(__file__).parent / "seeds"
RUN_SECONDS = 600


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` is not installed: `make clients` installs what the SDK suites need")
    return found


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Runs `command`; fails the test with everything it printed unless it exits 0."""
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_SECONDS, check=False
    )
    assert done.returncode == 0, (
        f"{' '.join(command)} exited {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )
    return done


@pytest.fixture(scope="package")
def client_env(stack: LocalStack) -> dict[str, str]:
    """The environment a user of the SDKs has: the stack's address and key, and Go kept offline."""
    return {
        **os.environ,
        "DUMONT_API_URL": stack.url,
        "DUMONT_API_KEY": stack.api_key,
        "GOPROXY": "off",
        "GOFLAGS": "-mod=mod",
        "NO_COLOR": "1",
    }


@pytest.fixture(scope="package")
def js_sdk(client_env: dict[str, str]) -> Path:
    """The JavaScript SDK built from its sources (its dependencies installed first if they are not)."""
    npm = tool("npm")
    if not (JS_SDK / "node_modules" / ".package-lock.json").exists():
        run([npm, "ci", "--no-audit", "--no-fund"], JS_SDK, client_env)
    run([npm, "run", "--silent", "build"], JS_SDK, client_env)
    return JS_SDK


@pytest.fixture
def node_project(tmp_path: Path, js_sdk: Path, client_env: dict[str, str]) -> Iterator[Path]:
    """A folder where the package and the two names the seeds import it by are installed as a user
    installs them: `npm install` of the package's folder and of its alias packages' folders, copied (not
    linked), offline."""
    (tmp_path / "package.json").write_text('{"name": "seed-snippets", "private": true}\n')
    folders = [str(js_sdk), *(str(js_sdk / "aliases" / name) for name in JS_ALIASES)]
    install = ["install", "--offline", "--install-links", "--no-audit", "--no-fund", "--no-save"]
    run([tool("npm"), *install, *folders], tmp_path, client_env)
    # Node's type declarations for the TypeScript seed, from the SDK's own dev dependencies.
    (tmp_path / "node_modules" / "@types").symlink_to(
        js_sdk / "node_modules" / "@types", target_is_directory=True
    )
    yield tmp_path
