"""Acknowledging cdk-nag findings next to the resources that cause them.

cdk-nag 3 reads acknowledgments from CDK's `Validations` metadata on a resource or any construct
above it. Granular rules (IAM4, IAM5) report one finding per policy or resource, named
`Rule[finding]`, and each finding is acknowledged on its own: there are no wildcards, so a new
wildcard permission fails synthesis until someone looks at it.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct

MIN_REASON_LENGTH = 40


def acknowledge(construct: IConstruct, rule: str, reason: str, *findings: str) -> None:
    """Acknowledge `rule` (or only the given findings of it) on `construct` and everything below it."""
    if len(reason) < MIN_REASON_LENGTH:
        raise ValueError(f"say why {rule} is acceptable in at least {MIN_REASON_LENGTH} characters")
    ids = [f"{rule}[{finding}]" for finding in findings] or [rule]
    Validations.of(construct).acknowledge(*(Acknowledgment(id=id_, reason=reason) for id_ in ids))


def arn_finding(resource: CfnElement, suffix: str = "") -> str:
    """The IAM5 finding for a policy resource `<resource ARN><suffix>`, as cdk-nag spells it."""
    return f"Resource::<{Stack.of(resource).get_logical_id(resource)}.Arn>{suffix}"


WILDCARD_RESOURCE = "Resource::*"
