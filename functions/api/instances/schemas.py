"""Requests and answers of the instance routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, ConfigDict, Field, computed_field, field_validator

from api.schemas import RequestBody, View
from dumont_core.instances.charges import cost_accumulated_at
from dumont_core.instances.models import FailoverStrategy, Instance, InstanceSpec, InstanceStatus, RunningOn
from dumont_core.platform.settings import BillingSettings, PresentationSettings, load_settings
from dumont_core.providers.catalog import find_gpu_type, find_region, known_gpu_type_ids, known_region_ids
from dumont_core.serverless.models import serverless_status

SSH_KEY_PATTERN = (
    r"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com"
    r"|sk-ecdsa-sha2-nistp256@openssh\.com)"
    r" [A-Za-z0-9+/=]+( [^\r\n'\"]{0,200})?$"
)
IMAGE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$"
METRIC_NAMES = {
    "gpu_util": "gpu_utilization",
    "gpu_mem": "gpu_memory_used_gb",
    "cpu": "cpu_utilization",
    "ram": "ram_used_gb",
}


def canonical_gpu_type(value: str) -> str:
    gpu = find_gpu_type(value)
    if gpu is None:
        raise ValueError(f"unknown GPU type {value!r}; choose one of {', '.join(known_gpu_type_ids())}")
    return gpu.id


def canonical_region(value: str) -> str:
    region = find_region(value)
    if region is None:
        raise ValueError(f"unknown region {value!r}; choose one of {', '.join(known_region_ids())}")
    return region.id


class CreateInstanceRequest(RequestBody):
    """Accepts the spellings of every API document: `gpu`/`gpu_type`, `disk_size`/`disk_gb`,
    `"RTX 4090"`/`"RTX_4090"`/`RTX4090`, `US-East`/`us-east`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    gpu_type: str = Field(
        validation_alias=AliasChoices("gpu_type", "gpu"),
        description="GPU type, e.g. RTX_4090, A100, H100 (any common spelling).",
        examples=["RTX_4090"],
    )
    region: str | None = Field(
        default=None, description="Region, e.g. us-east, us-west, eu-central. Any region when omitted."
    )
    image: str = Field(
        default="pytorch/pytorch:latest",
        max_length=512,
        pattern=IMAGE_PATTERN,
        description="Container image the machine boots.",
    )
    disk_gb: int = Field(
        default=50,
        ge=10,
        le=4096,
        validation_alias=AliasChoices("disk_gb", "disk_size"),
        description="Disk size in GB.",
    )
    num_gpus: int = Field(
        default=1,
        ge=1,
        le=8,
        description="GPUs the machine has at least; the cheapest such machine is rented.",
    )
    name: str | None = Field(default=None, min_length=1, max_length=64)
    failover_enabled: bool = False
    failover_strategy: FailoverStrategy | None = Field(default=None, strict=False)
    ssh_key: str | None = Field(default=None, max_length=4096, pattern=SSH_KEY_PATTERN)
    auto_hibernate: bool = Field(default=False, description="Hibernate the machine when it stays idle.")

    _gpu = field_validator("gpu_type")(canonical_gpu_type)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return None if value is None else canonical_region(value)

    def to_spec(self) -> InstanceSpec:
        failover = self.failover_enabled or self.failover_strategy is not None
        return InstanceSpec(
            gpu_type=self.gpu_type,
            region=self.region,
            image=self.image,
            disk_gb=self.disk_gb,
            num_gpus=self.num_gpus,
            name=self.name,
            ssh_key=self.ssh_key,
            failover_enabled=failover,
            failover_strategy=self.failover_strategy
            or (FailoverStrategy.SNAPSHOT if self.failover_enabled else None),
            auto_hibernate=self.auto_hibernate,
        )


class FailoverView(View):
    enabled: bool
    strategy: FailoverStrategy | None
    last_failover: datetime | None


class ServerlessView(View):
    enabled: bool
    idle_timeout_minutes: float | None
    gpu_threshold: float | None = Field(description="GPU utilisation (%) under which the machine is idle")
    state: str | None = Field(
        description="active, idle, hibernating, hibernated or waking; null while serverless mode is off"
    )


class ServerlessStatusView(ServerlessView):
    """The instance's serverless mode and its GPU's last reading."""

    instance_id: str
    gpu_utilization: float | None
    last_heartbeat: datetime | None


class MetricsView(View):
    """Latest values the instance agent reported; null until it reports."""

    gpu_utilization: float | None = None
    gpu_memory_used_gb: float | None = None
    gpu_temperature: float | None = None
    cpu_utilization: float | None = None
    ram_used_gb: float | None = None
    disk_used_gb: float | None = None


class ProviderView(View):
    name: str
    instance_id: str | None


class InstanceView(View):
    """An instance, as lists show it."""

    id: str = Field(validation_alias=AliasChoices("id", "instance_id"))
    name: str | None
    gpu_type: str
    status: InstanceStatus
    ip_address: str | None
    ssh_port: int | None
    created_at: datetime
    cost_per_hour: float | None
    region: str | None

    # Seed 001 names these `gpu` and `ip`, and its SDK reads `instance.ip`: both spellings are answered.
    @computed_field(description="The GPU as seed 001 spells it (`RTX 4090`); `gpu_type` is its id.")  # type: ignore[prop-decorator]
    @property
    def gpu(self) -> str:
        gpu = find_gpu_type(self.gpu_type)
        return gpu.provider_names[0] if gpu else self.gpu_type

    @computed_field(description="The same as `ip_address`.")  # type: ignore[prop-decorator]
    @property
    def ip(self) -> str | None:
        return self.ip_address


class InstanceDetailView(InstanceView):
    """An instance, all of it: how to reach it, what it costs, and its modes."""

    gpu_name: str
    gpu_memory_gb: float | None
    num_gpus: int
    status_reason: str | None
    ssh_command: str | None
    jupyter_url: str | None
    image: str
    disk_gb: int
    updated_at: datetime
    uptime_seconds: int
    cost_accumulated: float
    host_reliability_score: float | None = Field(
        description="Host reliability on a 0-5 scale (the provider's 0-1 score times 5)."
    )
    provider: ProviderView
    running_on: RunningOn | None = Field(
        description="The machine it runs on now: `gpu`, or its standby during a failover "
        "(`cpu_standby`, whose address it then has); null while it runs nowhere"
    )
    failover: FailoverView
    serverless: ServerlessView
    metrics: MetricsView


class CreatedInstanceView(View):
    """The new instance, starting."""

    id: str
    status: InstanceStatus
    estimated_ready_seconds: int


class EventView(View):
    type: str
    timestamp: datetime
    details: dict[str, Any]


class EventListView(View):
    """What happened to the instance, oldest first."""

    instance_id: str
    events: list[EventView]


class MetricsPointView(View):
    timestamp: datetime
    gpu_utilization: float | None = None
    gpu_memory_used_gb: float | None = None
    cpu_utilization: float | None = None
    ram_used_gb: float | None = None


class MetricsSeriesView(View):
    """The instance's readings over the period, oldest first."""

    success: Literal[True] = True
    instance_id: str
    period: str
    data: list[MetricsPointView]


class LogLineView(View):
    timestamp: datetime
    message: str


class InstanceLogsView(View):
    """The instance's log lines, oldest first."""

    instance_id: str
    lines: list[LogLineView]


def instance_detail(instance: Instance, now: datetime) -> InstanceDetailView:
    gpu = find_gpu_type(instance.gpu_type)
    reachable = instance.running_on is not None and instance.ip_address is not None
    # Vast's SSH proxy serves the GPU machine only; a standby is reached at its own address.
    ssh_host = (instance.ssh_host if instance.running_on == "gpu" else None) or instance.ip_address
    ssh_command = f"ssh -p {instance.ssh_port} root@{ssh_host}" if reachable and instance.ssh_port else None
    jupyter_url: str | None = None
    jupyter_domain = load_settings(PresentationSettings).jupyter_domain
    if reachable and jupyter_domain:
        jupyter_url = f"https://{instance.instance_id}.{jupyter_domain}:8888"
    elif reachable and instance.jupyter_url:
        jupyter_url = instance.jupyter_url
    elif reachable and instance.jupyter_port:
        jupyter_url = f"http://{instance.ip_address}:{instance.jupyter_port}"
    reliability = instance.host_reliability
    margin = load_settings(BillingSettings).platform_margin  # shown as charged, margin included
    # The fields of the same name come from the instance itself; these are worked out or reshaped.
    return InstanceDetailView.model_validate(
        {
            **instance.model_dump(),
            "gpu_name": gpu.full_name if gpu else instance.gpu_type,
            "ssh_command": ssh_command,
            "jupyter_url": jupyter_url,
            "uptime_seconds": instance.uptime_seconds_at(now),
            "cost_accumulated": cost_accumulated_at(instance, now, margin),
            "host_reliability_score": round(reliability * 5, 2) if reliability is not None else None,
            "provider": ProviderView(name=instance.provider, instance_id=instance.provider_instance_id),
            "running_on": instance.running_on,
            "failover": FailoverView(
                enabled=instance.failover_enabled,
                strategy=instance.failover_strategy,
                last_failover=instance.last_failover_at,
            ),
            "serverless": ServerlessView.model_validate(serverless_status(instance)),
            "metrics": MetricsView(
                **{name: instance.latest_reading(name) for name in MetricsView.model_fields}
            ),
        }
    )


class NewSshKeyRequest(RequestBody):
    public_key: str = Field(
        max_length=16_384,
        description="One line of a .pub file: type, key data and an optional comment",
        examples=[
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8sPw4wYx0Zq5nN3J1e3rQvX2hQ2x0Y7d9c8f6k5j4h alice@laptop"
        ],
    )
    name: str | None = Field(
        default=None, max_length=100, description="What to call it; the key's comment when left out"
    )


class SshKeyView(View):
    """A key that may log in to the instance's machines."""

    id: str = Field(validation_alias=AliasChoices("id", "key_id"))
    name: str
    fingerprint: str = Field(description="As `ssh-keygen -l` prints it")
    public_key: str
    added_at: datetime
