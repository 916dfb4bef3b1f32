"""Lambda layers built on the synthesizing machine, without Docker.

CDK asks the `local` bundler first and only falls back to the Docker image when it returns False;
these bundlers always bundle (or raise), so the image named below is never pulled.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.topology import CORE_LAYER_DIR, REPO_ROOT

EVENT_CATALOG_DIR = REPO_ROOT / "events" / "domain"
EVENT_CATALOG_IN_LAYER = "event_catalog"
"""Where `dumont_core.webhooks.catalog` looks for the catalog in a deployed layer."""

PYPROJECT = REPO_ROOT / "pyproject.toml"

# The runtime, the architecture and the wheels pip fetches for them must agree.
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_PLATFORM = "manylinux2014_aarch64"
PIP_PYTHON_VERSION = "3.12"

# Never pulled: local bundling always succeeds or fails loudly. CDK requires an image all the same.
_NO_DOCKER = DockerImage.from_registry("unused")
_PYTHON_DIR = "python"
"""Lambda puts `/opt/python` of every layer on `sys.path`."""


def runtime_dependencies(pyproject: Path = PYPROJECT) -> list[str]:
    """The requirement strings of `[project].dependencies`: what the functions import at run time."""
    with pyproject.open("rb") as file:
        dependencies: list[str] = tomllib.load(file)["project"]["dependencies"]
    return dependencies


@jsii.implements(ILocalBundling)
class PipInstallBundling:
    """Installs requirements as Linux/arm64 CPython 3.12 wheels into `<output>/python`."""

    def __init__(self, requirements: Sequence[str]) -> None:
        self.requirements = list(requirements)

    def pip_command(self, output_dir: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--platform",
            PIP_PLATFORM,
            "--implementation",
            "cp",
            "--python-version",
            PIP_PYTHON_VERSION,
            "--only-binary=:all:",
            # Byte code compiled here would be for this interpreter, not the Lambda runtime's.
            "--no-compile",
            "--disable-pip-version-check",
            "--quiet",
            "--target",
            str(Path(output_dir) / _PYTHON_DIR),
            *self.requirements,
        ]

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        subprocess.run(self.pip_command(output_dir), check=True)
        # Console scripts are of no use in a layer.
        shutil.rmtree(Path(output_dir) / _PYTHON_DIR / "bin", ignore_errors=True)
        return True


@jsii.implements(ILocalBundling)
class CopyPackageBundling:
    """Copies a Python package into `<output>/python/<package>`, leaving byte code behind, and each of
    `extra` (a directory -> where in the package it goes)."""

    def __init__(self, package_dir: Path, extra: dict[Path, str] | None = None) -> None:
        self.package_dir = package_dir
        self.extra = extra or {}

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        package = Path(output_dir) / _PYTHON_DIR / self.package_dir.name
        shutil.copytree(self.package_dir, package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for source, inside in self.extra.items():
            shutil.copytree(source, package / inside)
        return True


class SharedLayers(Construct):
    """The third-party dependencies layer and the `dumont_core` layer every function uses."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            description="Third-party packages of pyproject [project].dependencies, linux arm64 CPython 3.12",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                # The project whose dependencies are installed. CDK wants a directory; with an OUTPUT
                # hash it never reads it, and the local bundler reads only pyproject.toml.
                str(PYPROJECT.parent),
                # Hash what pip produced, so a dependency release that resolves differently is a new
                # asset (and a new layer version) even when pyproject.toml did not change.
                asset_hash_type=AssetHashType.OUTPUT,
                bundling=BundlingOptions(
                    image=_NO_DOCKER,
                    local=PipInstallBundling(runtime_dependencies()),
                ),
            ),
        )
        core_package = CORE_LAYER_DIR / "dumont_core"
        self.core = lambda_.LayerVersion(
            self,
            "Core",
            description="dumont_core: models, settings, data access and providers shared by the functions",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                str(core_package),
                exclude=["**/__pycache__", "**/*.pyc"],
                bundling=BundlingOptions(
                    image=_NO_DOCKER,
                    # The event catalog goes with it: webhook subscriptions choose from its events.
                    local=CopyPackageBundling(core_package, {EVENT_CATALOG_DIR: EVENT_CATALOG_IN_LAYER}),
                ),
            ),
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.dependencies, self.core]
