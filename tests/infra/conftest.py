"""Synthesizes the DumontCloud app once for the whole infra test session (CDK synthesis is slow).

The layers are not built: context `aws:cdk:bundling-stacks: []` makes CDK skip bundling, so no pip
runs. Synthesis runs the cdk-nag plugin; an unacknowledged finding fails it, and then every test
here fails with the list of findings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import cx_api
from aws_cdk.assertions import Template

from infra.stack import DumontCloudApp, build_app

SKIP_BUNDLING = {"aws:cdk:bundling-stacks": []}


@dataclass(frozen=True)
class Synthesized:
    built: DumontCloudApp
    template: Template
    assembly: cx_api.CloudAssembly

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.to_json()["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {key: value for key, value in self.resources.items() if value["Type"] == resource_type}

    def asset_text(self, object_key: str) -> str:
        """The content of the file asset uploaded under `object_key`, from the cloud assembly."""
        outdir = Path(self.assembly.directory)
        manifest = json.loads((outdir / f"{self.built.stack.artifact_id}.assets.json").read_text())
        for asset in manifest["files"].values():
            if any(d["objectKey"] == object_key for d in asset["destinations"].values()):
                return (outdir / asset["source"]["path"]).read_text()
        raise KeyError(object_key)


@pytest.fixture(scope="session")
def synthesized() -> Synthesized:
    built = build_app(context=SKIP_BUNDLING)
    try:
        assembly = built.app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
        findings = [
            f"{violation.rule_name}: {[r.construct_path for r in violation.violating_resources]}"
            for violation in built.nag.validate_scope(built.app).violations
        ]
        pytest.fail("cdk-nag findings without acknowledgment:\n" + "\n".join(findings))
    template = Template.from_json(assembly.get_stack_artifact(built.stack.artifact_id).template)
    return Synthesized(built=built, template=template, assembly=assembly)
