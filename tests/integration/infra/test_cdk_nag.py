"""cdk-nag finds nothing unacknowledged, and every acknowledgment is narrow and says why."""

from __future__ import annotations

import re

from aws_cdk import Acknowledgment, App, Stack, Validations
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks

from infra.components.nag import MIN_REASON_LENGTH
from tests.integration.infra.template import Synthesized, actions_of


def test_no_unacknowledged_cdk_nag_errors_or_warnings(synthesized: Synthesized) -> None:
    report = synthesized.built.nag.validate_scope(synthesized.built.app)
    assert [violation.rule_name for violation in report.violations] == []
    assert report.success
    annotations = Annotations.from_stack(synthesized.built.stack)
    assert annotations.find_error("*", Match.any_value()) == []
    assert annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*")) == []


def test_every_acknowledgment_names_a_rule_and_says_why(synthesized: Synthesized) -> None:
    acknowledged: dict[str, set[str]] = {}
    for key, resource in synthesized.resources.items():
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            assert re.fullmatch(r"AwsSolutions-[A-Z]+\d+(\[.+\])?", rule["id"]), rule
            assert len(rule["reason"]) >= MIN_REASON_LENGTH, rule
            acknowledged.setdefault(rule["id"].split("[")[0], set()).add(key)
    assert set(acknowledged) == {
        "AwsSolutions-APIG3",
        "AwsSolutions-APIG4",
        # The CloudFront distribution in front of the live metrics WebSocket API.
        "AwsSolutions-CFR1",
        "AwsSolutions-CFR2",
        "AwsSolutions-CFR3",
        "AwsSolutions-CFR4",
        "AwsSolutions-COG4",
        "AwsSolutions-IAM4",
        "AwsSolutions-IAM5",
        "AwsSolutions-L1",
        "AwsSolutions-S1",
        "AwsSolutions-SMG4",
    }
    # Not blanket: nothing is acknowledged on the stack as a whole, nor on every resource.
    assert "cdk_nag" not in synthesized.template.to_json().get("Metadata", {})
    assert len(set().union(*acknowledged.values())) < len(synthesized.resources) / 2


def test_the_nag_check_does_catch_a_finding() -> None:
    app = App(context={"aws:cdk:bundling-stacks": []})
    stack = Stack(app, "Probe")
    sqs.Queue(stack, "Plain", enforce_ssl=False)
    acknowledged = sqs.Queue(stack, "Acknowledged", enforce_ssl=False)
    Validations.of(acknowledged).acknowledge(
        Acknowledgment(id="AwsSolutions-SQS4", reason="only here to show an acknowledgment is honoured")
    )
    nag = AwsSolutionsChecks(app)
    rules = {
        violation.rule_name: [r.construct_path for r in violation.violating_resources]
        for violation in nag.validate_scope(app).violations
    }
    assert rules["AwsSolutions-SQS4"] == ["Probe/Plain/Resource"]


def test_the_task_completion_acknowledgment_covers_only_its_own_policy(synthesized: Synthesized) -> None:
    completing = [
        policy
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if any(
            "states:SendTaskSuccess" in actions_of(s)
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )
    ]
    (policy,) = completing
    # Alone in its policy: the acknowledged `Resource::*` covers nothing else.
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(actions_of(statement)) == ["states:SendTaskFailure", "states:SendTaskSuccess"]
    acknowledged = [rule["id"] for rule in policy["Metadata"]["cdk_nag"]["rules_to_suppress"]]
    assert acknowledged == ["AwsSolutions-IAM5[Resource::*]"]
