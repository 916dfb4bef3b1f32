"""Who watches an instance's live metrics, kept on the instance's own item.

A heartbeat reads its instance anyway (for the interval its agent is told): with the watching
connections on that item, pushing live metrics costs it no request of its own, and a heartbeat nobody
watches costs nothing more at all. The connections are a string set, so adding or removing one is a
single conditional update, and a retried one changes nothing.
"""

from __future__ import annotations

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import size

from dumont_core.instances.repository import InstanceItem, instance_item_key
from dumont_core.platform import table
from dumont_core.platform.dynamodb import get_item, write_refused
from dumont_core.platform.errors import Conflict, InstanceNotFound

MAX_WATCHERS_PER_INSTANCE = 100
"""Each heartbeat pushes to every watcher: a bound on the work one instance can ask of it."""


class TooManyWatchers(Conflict):
    code = "TOO_MANY_CONNECTIONS"


class InstanceWatchers:
    def watch(self, team_id: str, instance_id: str, connection_id: str) -> None:
        """The connection gets the instance's heartbeats from now on. InstanceNotFound when the instance is
        gone; TooManyWatchers when MAX_WATCHERS_PER_INSTANCE others watch it already."""
        has_room = InstanceItem.watchers.does_not_exist() | (
            size(InstanceItem.watchers) < MAX_WATCHERS_PER_INSTANCE
        )
        try:
            instance_item_key(team_id, instance_id).update(
                actions=[InstanceItem.watchers.add({connection_id})],
                condition=InstanceItem.PK.exists() & has_room,
            )
        except UpdateError as error:
            if not write_refused(error):
                raise
            self._refuse(team_id, instance_id)

    def unwatch(self, team_id: str, instance_id: str, connection_id: str) -> None:
        """The connection gets nothing more; already gone, or the instance too, is the same."""
        try:
            instance_item_key(team_id, instance_id).update(
                actions=[InstanceItem.watchers.delete({connection_id})],
                condition=InstanceItem.PK.exists(),
            )
        except UpdateError as error:
            if not write_refused(error):
                raise

    @staticmethod
    def _refuse(team_id: str, instance_id: str) -> None:
        # The update says only that a condition failed: which one, the item tells.
        item = get_item(InstanceItem, table.team_key(team_id), table.instance_key(instance_id))
        if item is None:
            raise InstanceNotFound(instance_id)
        raise TooManyWatchers(
            f"{len(item.watchers or ())} connections already watch instance {instance_id}, the most one "
            f"instance allows ({MAX_WATCHERS_PER_INSTANCE}); close one before opening another",
            details={"limit": MAX_WATCHERS_PER_INSTANCE},
        )
