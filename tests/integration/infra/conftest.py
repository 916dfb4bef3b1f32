"""Synthesizes the DumontCloud app once for the whole infra test session (CDK synthesis is slow).

The layers are not built: context `aws:cdk:bundling-stacks: []` makes CDK skip bundling, so no pip
runs. Synthesis runs the cdk-nag plugin; an unacknowledged finding fails it, and then every test
here fails with the list of findings.
"""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from infra.stack import build_app
from tests.integration.infra.template import SKIP_BUNDLING, Synthesized


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
