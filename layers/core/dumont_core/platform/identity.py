"""Who is calling. Every record belongs to an account and a team, and every service is told who asks."""

from __future__ import annotations

from dumont_core.platform.models import DomainModel


class Principal(DomainModel):
    account_id: str
    team_id: str
    role: str = "admin"
    plan: str = "free"
    permissions: frozenset[str] = frozenset()
    key_id: str | None = None
    """The API key the call was made with; None for an access token."""
    instance_id: str | None = None
    """Set for an instance's agent: the one instance it may report on."""
    standby: bool = False
    """For an agent: it runs on the instance's standby machine (failover), not on the machine the
    instance runs on; it reports no readings of the instance and is given the standby's actions."""

    demo: bool = False
    """Demo mode (`?demo=true`): whoever calls is served fictitious data, and nothing of anyone's."""

    def may(self, permission: str) -> bool:
        return permission in self.permissions
