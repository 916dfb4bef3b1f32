"""Demo mode (`?demo=true`, seeds 002 and 003): instances that look and behave like real ones, served
without credentials, with nothing rented and nothing stored.

The fleet is always the same three machines (an RTX 4090 and an RTX 3090 running, an A100 hibernating),
dated from the start of the current UTC day, so two requests agree with each other. A demo instance one
creates carries what it was created as in its id (`demo_{created, base 36}{random}_{region}_{gpu type}`):
reading it back works it out again, `starting` until the time a real one takes to boot, `running` after,
so it advances through its states as a real one does, without a write anywhere.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dumont_core.demo.models import (
    DEFAULT_DEMO_PRICE,
    DEFAULT_DEMO_REGION,
    DEMO_ACCOUNT,
    DEMO_DISK_GB,
    DEMO_ID_PREFIX,
    DEMO_IMAGE,
    DEMO_PRICES,
    DEMO_TEAM,
    FLEET,
    DemoMachine,
)
from dumont_core.demo.records import demo_events, demo_log_lines, demo_metrics, demo_ssh_keys
from dumont_core.instances.models import (
    Instance,
    InstanceEvent,
    InstancePage,
    InstanceSpec,
    InstanceStatus,
    MetricPoint,
)
from dumont_core.instances.service import METRIC_PERIODS
from dumont_core.instances.ssh_keys import SshKey
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import InstanceNotFound
from dumont_core.providers.catalog import find_gpu_type, find_region

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_RANDOM_CHARS = 4


def is_demo_id(instance_id: str) -> bool:
    return instance_id.startswith(DEMO_ID_PREFIX)


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, digit = divmod(number, 36)
        digits = _DIGITS[digit] + digits
        if number == 0:
            return digits


def _demo_address(instance_id: str) -> str:
    """A fixed address in 203.0.113.0/24 (RFC 5737, for documentation: it reaches no one)."""
    return f"203.0.113.{100 + hashlib.sha256(instance_id.encode()).digest()[0] % 150}"


def _reading(gpu_utilization: float) -> dict[str, float]:
    return {
        "gpu_utilization": gpu_utilization,
        "gpu_memory_used_gb": round(gpu_utilization * 0.2, 1),
        "gpu_temperature": 40.0 + gpu_utilization / 3,
        "cpu_utilization": 20.0,
        "ram_used_gb": 8.0,
    }


@dataclass(frozen=True, kw_only=True)
class DemoService:
    ready_seconds: int
    """How long a demo instance one creates stays `starting`: as long as a real one is said to take."""
    clock: Clock = utc_now

    def fleet(self) -> list[Instance]:
        day = self.clock().replace(hour=0, minute=0, second=0, microsecond=0)
        return [self._fleet_instance(machine, day - machine.age) for machine in FLEET]

    def list_page(
        self, *, status: InstanceStatus | None, gpu_type: str | None, page: int, per_page: int
    ) -> InstancePage:
        matching = [
            instance
            for instance in self.fleet()
            if (status is None or instance.status == status)
            and (gpu_type is None or instance.gpu_type == gpu_type)
        ]
        start = (page - 1) * per_page
        return InstancePage(
            items=matching[start : start + per_page], page=page, per_page=per_page, total=len(matching)
        )

    def get(self, instance_id: str) -> Instance:
        known = next((instance for instance in self.fleet() if instance.instance_id == instance_id), None)
        return known or self._created(instance_id)

    def events(self, instance_id: str) -> list[InstanceEvent]:
        return demo_events(self.get(instance_id))

    def metrics(self, instance_id: str, period: str) -> list[MetricPoint]:
        """Points as a real instance's over `period` (`METRIC_PERIODS`), at the same intervals."""
        span, bucket, _ = METRIC_PERIODS[period]
        return demo_metrics(self.get(instance_id), self.clock(), span, bucket)

    def logs(self, instance_id: str, lines: int, since: datetime | None) -> list[tuple[datetime, str]]:
        """The last `lines` lines of the machine's logs, from `since` on if given; oldest first."""
        now = self.clock()
        shown = [
            (at, message)
            for at, message in demo_log_lines(self.get(instance_id))
            if at <= now and (since is None or at >= since)
        ]
        return shown[-lines:]

    def ssh_keys(self, instance_id: str) -> list[SshKey]:
        return demo_ssh_keys(self.get(instance_id))

    def create(self, spec: InstanceSpec) -> Instance:
        now = self.clock()
        stamp = _base36(int(now.timestamp())) + secrets.token_hex(_RANDOM_CHARS // 2)
        region = spec.region or DEFAULT_DEMO_REGION
        return self._created(f"{DEMO_ID_PREFIX}{stamp}_{region}_{spec.gpu_type}")

    def _fleet_instance(self, machine: DemoMachine, created_at: datetime) -> Instance:
        running = machine.status == InstanceStatus.RUNNING
        hours_run = machine.age.total_seconds() / 3600
        return self._instance(
            machine.instance_id,
            name=machine.name,
            gpu_type=machine.gpu_type,
            region=machine.region,
            created_at=created_at,
            status=machine.status,
            cost_per_hour=machine.cost_per_hour,
            ip_address=machine.ip_address if running else None,
            running_since=created_at if running else None,
            closed_cost=0.0 if running else round(hours_run * machine.cost_per_hour, 4),
            latest_metrics=_reading(machine.gpu_utilization),
        )

    def _created(self, instance_id: str) -> Instance:
        """The demo instance an id stands for, as it is now; InstanceNotFound for an id no create made."""
        parts = instance_id.removeprefix(DEMO_ID_PREFIX).split("_", 2)
        if not is_demo_id(instance_id) or len(parts) != 3 or len(parts[0]) <= _RANDOM_CHARS:
            raise InstanceNotFound(instance_id)
        stamp, region, gpu_type = parts
        try:
            created_at = datetime.fromtimestamp(int(stamp[:-_RANDOM_CHARS], 36), UTC)
        except (ValueError, OverflowError, OSError):
            raise InstanceNotFound(instance_id) from None
        gpu, known_region = find_gpu_type(gpu_type), find_region(region)
        if gpu is None or gpu.id != gpu_type or known_region is None or known_region.id != region:
            raise InstanceNotFound(instance_id)
        ready_at = created_at + timedelta(seconds=self.ready_seconds)
        running = self.clock() >= ready_at
        return self._instance(
            instance_id,
            gpu_type=gpu_type,
            region=region,
            created_at=created_at,
            status=InstanceStatus.RUNNING if running else InstanceStatus.STARTING,
            cost_per_hour=DEMO_PRICES.get(gpu_type, DEFAULT_DEMO_PRICE),
            ip_address=_demo_address(instance_id) if running else None,
            running_since=ready_at if running else None,
            closed_cost=0.0,
            latest_metrics=_reading(0.0) if running else None,
        )

    @staticmethod
    def _instance(instance_id: str, **values: object) -> Instance:
        created_at = values["created_at"]
        ip_address = values["ip_address"]
        gpu = find_gpu_type(str(values["gpu_type"]))
        return Instance.model_validate(
            {
                "instance_id": instance_id,
                "account_id": DEMO_ACCOUNT,
                "team_id": DEMO_TEAM,
                "image": DEMO_IMAGE,
                "disk_gb": DEMO_DISK_GB,
                "requested_region": values["region"],
                "updated_at": created_at,
                "provider": "demo",
                # As the seeds name them: "RTX 4090", "A100", "RTX 3090".
                "gpu_name": gpu.id.replace("_", " ") if gpu else None,
                "ssh_port": 22 if ip_address else None,
                "host_reliability": 0.97,
                **values,
            }
        )
