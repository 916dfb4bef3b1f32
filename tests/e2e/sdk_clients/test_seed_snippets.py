"""Every JavaScript, TypeScript and Go snippet of seeds 000, 001 and 003 runs as the seed writes it.

The snippets are in `seeds/`, character for character. Each is wrapped only as it must be to run: seed
001's `await` outside a function goes inside an async function (CommonJS has no top-level await), seed
003's Go statements go inside `main`, and a last line prints what the snippet got so the test can check
it. The placeholder keys they pass (`'your_key'`, `'YOUR_API_KEY'`, `'dumont_sk_...'`) stand for
DUMONT_API_KEY, as the SDKs document."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import wait_for_status
from tests.e2e.sdk_clients.conftest import GO_SDK, SEEDS, run, tool

pytestmark = pytest.mark.e2e


def snippet(name: str) -> str:
    return (SEEDS / name).read_text()


@pytest.fixture
def destroy_afterwards(api: httpx.Client) -> Iterator[Callable[[str], None]]:
    made: list[str] = []
    yield made.append
    for instance_id in made:
        api.delete(f"/api/v1/instances/{instance_id}")


def printed(stdout: str) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return answer


def first_page(api: httpx.Client) -> list[str]:
    return [instance["id"] for instance in api.get("/api/v1/instances").json()["data"]]


def test_the_names_the_seeds_install_are_the_one_package_with_its_types(
    node_project: Path, js_sdk: Path, client_env: dict[str, str]
) -> None:
    check = node_project / "names.mjs"
    check.write_text(
        "import { createRequire } from 'node:module';\n"
        "import * as real from '@dumont/cloud';\n"
        "import { Dumont, RateLimitError } from 'dumont-sdk';\n"
        "const require = createRequire(import.meta.url);\n"
        "const same = Dumont === real.DumontClient && RateLimitError === real.RateLimitError\n"
        "  && require('dumont-cloud') === require('@dumont/cloud')\n"
        "  && require('dumont-sdk') === require('@dumont/cloud');\n"
        "process.stdout.write(JSON.stringify({ same }) + '\\n');\n"
    )
    assert printed(run([tool("node"), check.name], node_project, client_env).stdout) == {"same": True}
    typed = node_project / "typed.mts"
    typed.write_text(
        "import { Dumont } from 'dumont-sdk';\n"
        "const client: InstanceType<typeof Dumont> = new Dumont({ apiKey: 'your_key' });\n"
        "export const listing: PromiseLike<unknown> = client.instances.list();\n"
    )
    tsc = js_sdk / "node_modules" / ".bin" / "tsc"
    options = ["--module", "nodenext", "--target", "es2022", "--strict", "--noEmit", "--types", "node"]
    run([str(tsc), *options, typed.name], node_project, client_env)


def test_seed_000s_esm_import_lists_instances(
    node_project: Path, client_env: dict[str, str], api: httpx.Client
) -> None:
    program = node_project / "seed_000.mjs"
    program.write_text(
        snippet("seed_000_javascript.txt")
        + "const listed = [...instances].map((found) => found.id);\n"
        + "process.stdout.write(JSON.stringify({ listed }) + '\\n');\n"
    )
    before = first_page(api)
    listed = printed(run([tool("node"), program.name], node_project, client_env).stdout)["listed"]
    # An instance an earlier test destroyed may leave the list meanwhile: the snippet saw one of the two.
    assert listed in (before, first_page(api))


def test_seed_001s_require_lists_and_creates(
    node_project: Path,
    client_env: dict[str, str],
    api: httpx.Client,
    destroy_afterwards: Callable[[str], None],
) -> None:
    program = node_project / "seed_001.cjs"
    program.write_text(
        "(async () => {\n"
        + snippet("seed_001_javascript.txt")
        + "const answer = { created: newMachine.id, listed: machines.total };\n"
        + "process.stdout.write(JSON.stringify(answer) + '\\n');\n"
        + "})().catch((error) => { console.error(error); process.exit(1); });\n"
    )
    answer = printed(run([tool("node"), program.name], node_project, client_env).stdout)
    destroy_afterwards(answer["created"])
    assert isinstance(answer["listed"], int)
    created = api.get(f"/api/v1/instances/{answer['created']}").json()["data"]
    assert (created["gpu_type"], created["image"]) == ("RTX_4090", "pytorch:2.0-cuda12")


def test_seed_003s_typescript_compiles_and_creates(
    node_project: Path,
    js_sdk: Path,
    client_env: dict[str, str],
    api: httpx.Client,
    destroy_afterwards: Callable[[str], None],
) -> None:
    source = node_project / "seed_003.mts"
    source.write_text(
        snippet("seed_003_typescript.txt")
        + "process.stdout.write(JSON.stringify({ created: instance.id }) + '\\n');\n"
    )
    tsc = js_sdk / "node_modules" / ".bin" / "tsc"
    compile_options = ["--module", "nodenext", "--target", "es2022", "--strict", "--types", "node"]
    run([str(tsc), *compile_options, source.name], node_project, client_env)
    answer = printed(run([tool("node"), "seed_003.mjs"], node_project, client_env).stdout)
    destroy_afterwards(answer["created"])
    running = wait_for_status(api, answer["created"], {"running", "failed"})
    assert (running["status"], running["gpu_type"], running["region"]) == ("running", "RTX_4090", "us-east")


def go_program(seed: str) -> str:
    """The seed's import at the top level, its statements in `main`, then a check of what they got."""
    lines = seed.splitlines(keepends=True)
    imports = "".join(line for line in lines if line.startswith("import "))
    statements = "".join(line for line in lines if not line.startswith("import "))
    assert imports + statements == seed, "the seed's import must come before its statements"
    return (
        "package main\n\n"
        + imports
        + '\nimport (\n\t"encoding/json"\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n'
        + statements
        + "\tif err != nil {\n\t\tfmt.Fprintln(os.Stderr, err)\n\t\tos.Exit(1)\n\t}\n"
        + '\t_ = json.NewEncoder(os.Stdout).Encode(map[string]string{"created": instance.ID})\n}\n'
    )


def test_seed_003s_go_creates(
    tmp_path: Path, client_env: dict[str, str], api: httpx.Client, destroy_afterwards: Callable[[str], None]
) -> None:
    (tmp_path / "go.mod").write_text(
        "module seedsnippet\n\ngo 1.19\n\nrequire github.com/dumont-cloud/go-sdk v0.0.0\n\n"
        f"replace github.com/dumont-cloud/go-sdk => {GO_SDK}\n"
    )
    (tmp_path / "main.go").write_text(go_program(snippet("seed_003_go.txt")))
    answer = printed(run([tool("go"), "run", "."], tmp_path, client_env).stdout)
    destroy_afterwards(answer["created"])
    running = wait_for_status(api, answer["created"], {"running", "failed"})
    assert (running["status"], running["gpu_type"], running["region"]) == ("running", "RTX_4090", "us-east")
