"""How the machines we rent are labelled at the provider: `{prefix}:{team_id}:{instance_id}`.

The label is how a machine whose creation answer was lost is found again, and how the reconciler
finds the record of any machine it sees with one key read. The prefix names the deployment, so two
deployments sharing a provider account never take each other's machines for orphans, and a
machine the account's owner rented by hand, with another label or none, is never touched.
"""

from __future__ import annotations

from dumont_core.platform.models import DomainModel

_SEPARATOR = ":"


class MachineOwner(DomainModel):
    """The instance a machine was rented for, as its label tells."""

    team_id: str
    instance_id: str


def machine_label(prefix: str, team_id: str, instance_id: str) -> str:
    return _SEPARATOR.join((prefix, team_id, instance_id))


def owner_of(label: str | None, prefix: str) -> MachineOwner | None:
    """Whose the machine labelled `label` is, or None when it is not one of this deployment's."""
    parts = (label or "").split(_SEPARATOR)
    if len(parts) != 3 or parts[0] != prefix or not parts[1] or not parts[2]:
        return None
    return MachineOwner(team_id=parts[1], instance_id=parts[2])
