"""The synthesized template, and how the infra tests read it: resources by type, functions by handler,
the statements of a role, and CloudFormation values written as text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from aws_cdk import cx_api
from aws_cdk.assertions import Template

from infra.stack import DumontCloudApp
from infra.topology import INSTANCE_LOG_GROUP_NAME

SKIP_BUNDLING = {"aws:cdk:bundling-stacks": []}


@dataclass(frozen=True)
class Synthesized:
    built: DumontCloudApp
    template: Template
    assembly: cx_api.CloudAssembly

    @cached_property
    def resources(self) -> dict[str, dict[str, Any]]:
        """Read once: each read is a round trip through jsii. Tests only read it."""
        resources: dict[str, dict[str, Any]] = self.template.to_json()["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {key: value for key, value in self.resources.items() if value["Type"] == resource_type}

    def instance_log_group(self) -> tuple[str, dict[str, Any]]:
        """The machines' log group, with its logical id."""
        (found,) = (
            (key, group)
            for key, group in self.of_type("AWS::Logs::LogGroup").items()
            if group["Properties"].get("LogGroupName") == INSTANCE_LOG_GROUP_NAME
        )
        return found

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        """The one resource of `resource_type`, with its logical id."""
        resources = self.of_type(resource_type)
        assert len(resources) == 1, sorted(resources)
        return next(iter(resources.items()))

    def functions_by_handler(self) -> dict[str, tuple[str, dict[str, Any]]]:
        return {
            value["Properties"]["Handler"]: (key, value["Properties"])
            for key, value in self.of_type("AWS::Lambda::Function").items()
        }

    def function_id(self, handler: str) -> str:
        return self.functions_by_handler()[handler][0]

    def role_statements(self, role_id: str) -> list[dict[str, Any]]:
        """The statements of every policy attached to the role."""
        statements: list[dict[str, Any]] = []
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"]["Roles"]:
                statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
        return statements

    def usage_plan_ids_by_name(self) -> dict[str, str]:
        return {
            plan["Properties"]["UsagePlanName"]: key
            for key, plan in self.of_type("AWS::ApiGateway::UsagePlan").items()
        }

    def snapshot_bucket_id(self) -> str:
        """The bucket of snapshots: the one whose access is logged."""
        logged = [
            key
            for key, bucket in self.of_type("AWS::S3::Bucket").items()
            if "LoggingConfiguration" in bucket["Properties"]
        ]
        assert len(logged) == 1, logged
        return logged[0]

    def secret_id(self, name_part: str) -> str:
        matching = [key for key in self.of_type("AWS::SecretsManager::Secret") if name_part in key]
        assert len(matching) == 1, matching
        return matching[0]

    def asset_text(self, object_key: str) -> str:
        """The content of the file asset uploaded under `object_key`, from the cloud assembly."""
        outdir = Path(self.assembly.directory)
        manifest = json.loads((outdir / f"{self.built.stack.artifact_id}.assets.json").read_text())
        for asset in manifest["files"].values():
            if any(d["objectKey"] == object_key for d in asset["destinations"].values()):
                return (outdir / asset["source"]["path"]).read_text()
        raise KeyError(object_key)


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def described(value: Any) -> str:
    """A substitution value as a JSON-safe string: literals as they are, references as `<...>`."""
    if isinstance(value, str):
        return value
    if set(value) == {"Fn::GetAtt"}:
        return "<GetAtt {}.{}>".format(*value["Fn::GetAtt"])
    if set(value) == {"Ref"}:
        return f"<Ref {value['Ref']}>"
    raise AssertionError(f"unexpected substitution {value}")


def as_text(value: Any) -> str:
    """A template string value as text: `Fn::Join` joined, references written as `<Ref ...>`."""
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(as_text(part) for part in parts)
    return described(value)
