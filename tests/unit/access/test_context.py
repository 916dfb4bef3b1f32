"""The principal reaches the API function from the authorizer as flat strings, and comes back whole."""

from __future__ import annotations

import pytest

from dumont_core.access.context import principal_context, principal_from_context
from dumont_core.access.permissions import AGENT_PERMISSION, AGENT_ROLE
from dumont_core.platform.identity import Principal


@pytest.mark.parametrize("standby", [False, True], ids=["machine", "standby"])
def test_an_agent_principal_survives_the_trip_and_says_whose_machine_it_runs_on(standby: bool) -> None:
    agent = Principal(
        account_id="acct_1",
        team_id="team_1",
        role=AGENT_ROLE,
        plan="",
        permissions=frozenset({AGENT_PERMISSION}),
        instance_id="inst_0123456789abcdef",
        standby=standby,
    )

    context = principal_context(agent)

    assert all(isinstance(value, str) for value in context.values())
    assert principal_from_context(context) == agent
