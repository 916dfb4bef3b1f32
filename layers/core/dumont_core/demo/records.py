"""What demo mode shows of a demo instance beside the instance itself: its timeline, metrics, logs and
SSH keys. Each is worked out from the instance as it is now (the same on every request), agrees with it
(a machine still starting has no metrics and no logs, one hibernating used its GPU little), and is
written nowhere."""

from __future__ import annotations

from datetime import datetime, timedelta

from dumont_core.demo.models import DEMO_KEY_NAME, DEMO_PUBLIC_KEY
from dumont_core.instances.models import EventType, Instance, InstanceEvent, InstanceStatus, MetricPoint
from dumont_core.instances.ssh_keys import SshKey, read_public_key

BOOT_TIME = timedelta(minutes=2)
"""How long after its creation a fleet machine was running: as long as a real one takes."""


def _running_since(instance: Instance) -> datetime | None:
    """When the instance came up, for one that did (a hibernating one ran before it went to sleep)."""
    if instance.running_since is not None:
        return instance.running_since
    if instance.status == InstanceStatus.HIBERNATING:
        return instance.created_at + BOOT_TIME
    return None


def demo_events(instance: Instance) -> list[InstanceEvent]:
    def event(event_type: EventType, at: datetime, **details: object) -> InstanceEvent:
        return InstanceEvent.of(event_type, instance, **details).model_copy(update={"timestamp": at})

    events = [event(EventType.CREATED, instance.created_at, gpu_type=instance.gpu_type)]
    came_up = _running_since(instance)
    if came_up is not None:
        events.append(event(EventType.STARTED, came_up))
        events.append(event(EventType.READY, came_up, ip=instance.ip_address))
    return events


def demo_metrics(instance: Instance, now: datetime, span: timedelta, bucket: timedelta) -> list[MetricPoint]:
    """The instance's one reading (`latest_metrics`) at every bucket since it came up, within `span`."""
    came_up = _running_since(instance)
    if came_up is None or not instance.latest_metrics:
        return []
    bucket_seconds = int(bucket.total_seconds())
    last = datetime.fromtimestamp(int(now.timestamp()) // bucket_seconds * bucket_seconds, now.tzinfo)
    first = max(now - span, came_up)
    points = []
    at = last
    while at >= first:
        points.append(MetricPoint(timestamp=at, values=dict(instance.latest_metrics), samples=1))
        at -= bucket
    return points[::-1]


def demo_log_lines(instance: Instance) -> list[tuple[datetime, str]]:
    came_up = _running_since(instance)
    if came_up is None:
        return []
    gpu = instance.gpu_name or instance.gpu_type
    lines = [
        (came_up, "dumont-agent: started, reporting every 60 s"),
        (came_up + timedelta(seconds=1), f"nvidia-smi: 1 x {gpu} detected"),
        (came_up + timedelta(seconds=3), "jupyter: serving on port 8888"),
    ]
    if instance.status == InstanceStatus.HIBERNATING:
        lines.append((came_up + timedelta(hours=1), "dumont-agent: idle, hibernating (snapshot under way)"))
    return lines


def demo_ssh_keys(instance: Instance) -> list[SshKey]:
    """One key, the same on every request (a real key parsed as any other, its id derived from the
    instance's)."""
    key = read_public_key(DEMO_PUBLIC_KEY, DEMO_KEY_NAME, instance.created_at)
    return [key.model_copy(update={"key_id": f"key_{instance.instance_id.removeprefix('demo_')[:16]}"})]
