"""Who may grant credits: the deployment's operators, never a team role or a custom role."""

from __future__ import annotations

from dumont_core.access.permissions import (
    ADMIN,
    OPERATOR_PERMISSION,
    SYSTEM_ROLES,
    permissions_of,
    unknown_permissions,
)


def test_no_team_role_grants_credits() -> None:
    assert all(OPERATOR_PERMISSION not in permissions for permissions in SYSTEM_ROLES.values())


def test_an_operators_admin_seat_grants_credits_besides_everything_an_admin_may() -> None:
    assert permissions_of(ADMIN, [OPERATOR_PERMISSION]) == SYSTEM_ROLES[ADMIN] | {OPERATOR_PERMISSION}


def test_a_custom_role_can_never_hold_the_operators_permission() -> None:
    assert unknown_permissions([OPERATOR_PERMISSION, "instances.view"]) == [OPERATOR_PERMISSION]
    assert permissions_of(ADMIN, ["instances.view"]) == SYSTEM_ROLES[ADMIN]


def test_a_custom_role_grants_exactly_the_permissions_it_lists() -> None:
    listed = ["instances.view", "instances.operate"]
    assert permissions_of("operator", listed) == frozenset(listed)
    assert permissions_of("operator", []) == frozenset()
    assert permissions_of("operator", None) == frozenset()
