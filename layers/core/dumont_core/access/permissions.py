"""What a caller may do: permissions, and the system roles built from them."""

from __future__ import annotations

PERMISSIONS: dict[str, str] = {
    "instances.view": "List and read instances and their events",
    "instances.create": "Create instances",
    "instances.operate": "Start, stop and reboot instances",
    "instances.delete": "Delete instances",
    "snapshots.view": "List and read snapshots",
    "snapshots.manage": "Take, delete and restore snapshots",
    "billing.view": "Read costs and savings",
    "webhooks.view": "List webhook subscriptions and their deliveries",
    "billing.manage": "Add credits to the team",
    "webhooks.manage": "Create, change, test and delete webhook subscriptions; redeliver",
    "api_keys.manage": "Create, list and revoke one's own API keys in the team",
    "team.view": "List one's teams, the team's members and roles",
    "team.manage": "Add and remove members, change their roles, create roles",
    "teams.create": "Create new teams",
}

ADMIN, DEVELOPER, VIEWER = "admin", "developer", "viewer"
AGENT_ROLE = "agent"
AGENT_PERMISSION = "agent.report"
OPERATOR_PERMISSION = "credits.grant"
"""Grant credits to any team: held by the deployment's operators (the bootstrap account), by no team role,
and never grantable through a custom role (it is not in `PERMISSIONS`)."""
"""What an instance's agent may do, and all it may do: report on its own instance."""

SYSTEM_ROLES: dict[str, frozenset[str]] = {
    ADMIN: frozenset(PERMISSIONS),
    DEVELOPER: frozenset(PERMISSIONS) - {"team.manage", "teams.create"},
    VIEWER: frozenset({"instances.view", "snapshots.view", "billing.view", "team.view", "webhooks.view"}),
}
SYSTEM_ROLE_DESCRIPTIONS: dict[str, str] = {
    ADMIN: "Everything, including members, roles and new teams",
    DEVELOPER: "Works with instances, API keys and webhooks; cannot manage the team",
    VIEWER: "Reads only",
}


def unknown_permissions(permissions: list[str]) -> list[str]:
    return sorted(set(permissions) - set(PERMISSIONS))


def permissions_of(role: str, custom_permissions: list[str] | None) -> frozenset[str]:
    """What a role grants: a system role's permissions, or the custom role's copied onto the seat."""
    if role in SYSTEM_ROLES:
        # An operator's seat carries the operator's permission alongside its system role.
        return SYSTEM_ROLES[role] | (frozenset(custom_permissions or ()) & {OPERATOR_PERMISSION})
    return frozenset(custom_permissions or ())
