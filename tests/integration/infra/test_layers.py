"""The Lambda layers: Python 3.12 on arm64, dependencies as wheels, our code without byte code."""

from __future__ import annotations

import shutil
from pathlib import Path

from aws_cdk import DockerImage

from dumont_core.webhooks.catalog import CATALOG_DIRS
from infra.components.layers import (
    EVENT_CATALOG_DIR,
    EVENT_CATALOG_IN_LAYER,
    CopyPackageBundling,
    PipInstallBundling,
    runtime_dependencies,
)
from infra.topology import CORE_LAYER_DIR
from tests.integration.infra.template import Synthesized


def test_layers_are_for_python312_on_arm64(synthesized: Synthesized) -> None:
    layers = synthesized.of_type("AWS::Lambda::LayerVersion")
    assert len(layers) == 2
    for layer in layers.values():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_dependencies_layer_installs_pyproject_dependencies_as_aarch64_cp312_wheels(tmp_path: Path) -> None:
    dependencies = runtime_dependencies()
    assert any(d.startswith("pydantic") for d in dependencies)
    command = PipInstallBundling(dependencies).pip_command(str(tmp_path))
    joined = " ".join(command)
    assert "--platform manylinux2014_aarch64" in joined
    assert "--implementation cp" in joined
    assert "--python-version 3.12" in joined
    assert "--only-binary=:all:" in command
    assert f"--target {tmp_path / 'python'}" in joined
    assert command[-len(dependencies) :] == dependencies


def test_core_layer_bundles_dumont_core_under_python_without_byte_code(tmp_path: Path) -> None:
    package = tmp_path / "source" / "dumont_core"
    shutil.copytree(CORE_LAYER_DIR / "dumont_core", package)
    (package / "__pycache__").mkdir(exist_ok=True)
    (package / "__pycache__" / "settings.cpython-312.pyc").write_bytes(b"")
    (package / "stray.pyc").write_bytes(b"")
    output = tmp_path / "output"
    assert CopyPackageBundling(package).try_bundle(str(output), image=DockerImage.from_registry("unused"))
    bundled = output / "python" / "dumont_core"
    assert (bundled / "__init__.py").is_file()
    assert (bundled / "platform" / "table.py").is_file()
    assert not list(bundled.rglob("__pycache__"))
    assert not list(bundled.rglob("*.pyc"))


def test_the_core_layer_carries_the_event_catalog_where_webhooks_read_it(tmp_path: Path) -> None:
    output = tmp_path / "output"
    bundling = CopyPackageBundling(
        CORE_LAYER_DIR / "dumont_core", {EVENT_CATALOG_DIR: EVENT_CATALOG_IN_LAYER}
    )
    assert bundling.try_bundle(str(output), image=DockerImage.from_registry("unused"))
    bundled = output / "python" / "dumont_core"
    assert sorted(path.name for path in (bundled / EVENT_CATALOG_IN_LAYER).glob("*.json")) == sorted(
        path.name for path in EVENT_CATALOG_DIR.glob("*.json")
    )
    assert CATALOG_DIRS[0].name == EVENT_CATALOG_IN_LAYER
