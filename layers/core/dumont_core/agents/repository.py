"""Agent actions in the single table (layout in `platform.table`): what an instance's agent is asked to
do, kept under the instance's partition and expiring after a week."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import TTLAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from dumont_core.agents.models import ActionStatus, AgentAction
from dumont_core.platform import table
from dumont_core.platform.dynamodb import get_item, item_type, to_model, write_refused

ActionItem = item_type(AgentAction, expires_at=TTLAttribute())


def _key(instance_id: str, action_id: str, to_standby: bool = False) -> tuple[str, str]:
    kind = "STANDBY_ACTION" if to_standby else "ACTION"
    return table.instance_key(instance_id), table.key(kind, action_id)


def _to_action(item: Any) -> AgentAction:
    return to_model(AgentAction, item, to_standby=False)


class ActionRepository:
    def __init__(self, *, retention: timedelta) -> None:
        self._retention = retention

    def add(self, action: AgentAction) -> None:
        item = ActionItem(
            *_key(action.instance_id, action.action_id, action.to_standby),
            expires_at=action.created_at + self._retention,
            **action.model_dump(),
        )
        item.save(condition=ActionItem.PK.does_not_exist())

    def pending(self, instance_id: str, *, to_standby: bool = False) -> list[AgentAction]:
        prefix = table.STANDBY_ACTION_PREFIX if to_standby else table.ACTION_PREFIX
        items = ActionItem.query(
            table.instance_key(instance_id),
            ActionItem.SK.startswith(prefix),
            filter_condition=ActionItem.status == "pending",
        )
        return [_to_action(item) for item in items]

    def get(self, instance_id: str, action_id: str, *, to_standby: bool = False) -> AgentAction | None:
        item = get_item(ActionItem, *_key(instance_id, action_id, to_standby))
        return None if item is None else _to_action(item)

    def move(
        self,
        action: AgentAction,
        *,
        expected: tuple[ActionStatus, ...],
        status: ActionStatus,
        now: datetime,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Move an action on if it is still in one of the `expected` states; False if it was not."""
        actions: list[Action] = [ActionItem.status.set(status), ActionItem.updated_at.set(now)]
        if result is not None:
            actions.append(ActionItem.result.set(result))
        if error is not None:
            actions.append(ActionItem.error.set(error))
        try:
            ActionItem(*_key(action.instance_id, action.action_id, action.to_standby)).update(
                actions=actions, condition=ActionItem.PK.exists() & ActionItem.status.is_in(*expected)
            )
        except UpdateError as refused:
            if write_refused(refused):
                return False
            raise
        return True
