"""Starting, stopping and rebooting an instance's machine, and finding out where it really is when
the provider did not do as asked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dumont_core.instances.charges import stopped_at
from dumont_core.instances.models import (
    MACHINE_GONE,
    POWER_ACTIONS,
    EventType,
    Instance,
    InstanceEvent,
    InstanceStatus,
    PowerAction,
)
from dumont_core.instances.step_support import (
    InstanceRef,
    MachineFailed,
    PowerActionTimedOut,
    StepSupport,
    failure_reason,
    machine_fields,
)
from dumont_core.providers.models import ProviderError, ProviderMachineNotFound, ProviderMachineStatus

_EVENT_OF_ACTION = {
    PowerAction.START: EventType.STARTED,
    PowerAction.STOP: EventType.STOPPED,
    PowerAction.REBOOT: EventType.REBOOTED,
}


class PowerSteps(StepSupport):
    def request_power_action(self, ref: InstanceRef, action: PowerAction) -> dict[str, Any]:
        _, interim, _ = POWER_ACTIONS[action]
        machine_id = self._machine_id(self._load(ref, interim))
        if action == PowerAction.START:
            self.provider.start_machine(machine_id)
        elif action == PowerAction.STOP:
            self.provider.stop_machine(machine_id)
        else:
            self.provider.reboot_machine(machine_id)
        return {"requested_at": self.clock().isoformat()}

    def check_power_action(self, ref: InstanceRef, action: PowerAction) -> dict[str, str]:
        _, interim, target = POWER_ACTIONS[action]
        instance = self._load(ref, interim)
        machine = self.provider.get_machine(self._machine_id(instance))
        now = self.clock()
        if machine.status == ProviderMachineStatus.FAILED:
            raise MachineFailed(f"The machine failed: {machine.status_message or 'no reason given'}")
        reached = (target == InstanceStatus.RUNNING and machine.status == ProviderMachineStatus.RUNNING) or (
            target == InstanceStatus.STOPPED and machine.status == ProviderMachineStatus.STOPPED
        )
        if reached:
            event = _EVENT_OF_ACTION[action]
            if target == InstanceStatus.RUNNING:
                self._record_running(
                    instance, machine, now, [event], keep_billing=action == PowerAction.REBOOT
                )
            else:
                self._finish(
                    instance,
                    [interim],
                    {
                        "status": InstanceStatus.STOPPED,
                        "status_reason": None,
                        **stopped_at(instance, now, machine.price_per_hour),
                    },
                    [InstanceEvent.of(event, instance)],
                )
            return {"state": "done"}
        timeout = self.settings.power_action_timeout_seconds
        if (now - instance.updated_at).total_seconds() > timeout:
            raise PowerActionTimedOut(f"The provider did not {action.value} the machine within {timeout} s")
        return {"state": "pending"}

    def fail_power_action(
        self, ref: InstanceRef, action: PowerAction, failure: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Put the instance in the state its machine is really in, and say what went wrong."""
        _, interim, _ = POWER_ACTIONS[action]
        instance = self.instances.find(ref.team_id, ref.instance_id)
        if instance is None or instance.status != interim:
            return {"status": instance.status.value if instance else None}
        reason = failure_reason(failure)
        status, changes = self._reconcile(instance, self.clock())
        self._finish(
            instance,
            [interim],
            {"status": status, "status_reason": f"{action.value} failed: {reason}", **changes},
            [InstanceEvent.of(EventType.ACTION_FAILED, instance, action=action.value, reason=reason)],
        )
        return {"status": status.value}

    def _reconcile(self, instance: Instance, now: datetime) -> tuple[InstanceStatus, dict[str, Any]]:
        stopped = instance.billing_stopped_at(now)
        try:
            machine = self.provider.get_machine(self._machine_id(instance))
        except ProviderMachineNotFound:
            return InstanceStatus.FAILED, {**stopped, **MACHINE_GONE}
        except ProviderError as error:
            if error.transient:
                raise  # the workflow retries this step; the machine may well be running
            return InstanceStatus.FAILED, stopped
        if machine.status == ProviderMachineStatus.RUNNING:
            running_since = instance.running_since or now
            return InstanceStatus.RUNNING, {**machine_fields(machine), "running_since": running_since}
        if machine.status == ProviderMachineStatus.STOPPED:
            return InstanceStatus.STOPPED, stopped_at(instance, now, machine.price_per_hour)
        return InstanceStatus.FAILED, stopped
