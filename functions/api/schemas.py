"""Request and response shapes of the REST API; the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from dumont_core.catalog import find_gpu_type, find_region, known_gpu_type_ids, known_region_ids
from dumont_core.models import FailoverStrategy, Instance, InstanceEvent, InstanceStatus
from dumont_core.services.instances import InstanceSpec
from dumont_core.services.serverless import serverless_status
from dumont_core.settings import Settings

SSH_KEY_PATTERN = (
    r"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com)"
    r" [A-Za-z0-9+/=]+( [^\r\n'\"]{0,200})?$"
)
IMAGE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$"


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


class CreateInstanceBody(BaseModel):
    """Accepts the spellings of every API document: `gpu`/`gpu_type`, `disk_size`/`disk_gb`,
    `"RTX 4090"`/`"RTX_4090"`/`RTX4090`, `US-East`/`us-east`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

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
    failover_strategy: FailoverStrategy | None = None
    ssh_key: str | None = Field(default=None, max_length=4096, pattern=SSH_KEY_PATTERN)
    auto_hibernate: bool = Field(default=False, description="Hibernate the machine when it stays idle.")

    _gpu = field_validator("gpu_type")(canonical_gpu_type)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return None if value is None else canonical_region(value)

    def to_spec(self) -> InstanceSpec:
        return InstanceSpec(
            gpu_type=self.gpu_type,
            region=self.region,
            image=self.image,
            disk_gb=self.disk_gb,
            num_gpus=self.num_gpus,
            name=self.name,
            ssh_key=self.ssh_key,
            failover_enabled=self.failover_enabled or self.failover_strategy is not None,
            failover_strategy=self.failover_strategy
            or (FailoverStrategy.SNAPSHOT if self.failover_enabled else None),
            auto_hibernate=self.auto_hibernate,
        )


class FailoverBlock(BaseModel):
    enabled: bool
    strategy: FailoverStrategy | None
    last_failover: datetime | None


class ServerlessBlock(BaseModel):
    enabled: bool
    idle_timeout_minutes: float | None
    gpu_threshold: float | None = Field(description="GPU utilisation (%) under which the machine is idle")
    state: str | None = Field(
        description="active, idle, hibernating, hibernated or waking; null while serverless mode is off"
    )


class MetricsBlock(BaseModel):
    """Latest values the instance agent reported; null until it reports."""

    gpu_utilization: float | None = None
    gpu_memory_used_gb: float | None = None
    gpu_temperature: float | None = None
    cpu_utilization: float | None = None
    ram_used_gb: float | None = None
    disk_used_gb: float | None = None


def metrics_block(instance: Instance) -> MetricsBlock:
    return MetricsBlock(**{name: instance.latest_reading(name) for name in MetricsBlock.model_fields})


class ProviderBlock(BaseModel):
    name: str
    instance_id: str | None


class InstanceSummary(BaseModel):
    id: str
    name: str | None
    gpu_type: str
    status: InstanceStatus
    ip_address: str | None
    ssh_port: int | None
    created_at: datetime
    cost_per_hour: float | None
    region: str | None


class InstanceDetail(InstanceSummary):
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
    provider: ProviderBlock
    failover: FailoverBlock
    serverless: ServerlessBlock
    metrics: MetricsBlock


class CreatedInstance(BaseModel):
    id: str
    status: InstanceStatus
    estimated_ready_seconds: int


class EventView(BaseModel):
    type: str
    timestamp: datetime
    details: dict[str, Any]


class EventList(BaseModel):
    instance_id: str
    events: list[EventView]


class PageMeta(BaseModel):
    page: int
    per_page: int
    total: int


DataT = TypeVar("DataT")


class Envelope(BaseModel, Generic[DataT]):
    success: Literal[True] = True
    data: DataT


class ListEnvelope(BaseModel, Generic[DataT]):
    success: Literal[True] = True
    data: list[DataT]
    meta: PageMeta


class ErrorBody(BaseModel):
    code: str = Field(examples=["INSTANCE_NOT_FOUND"])
    message: str
    details: dict[str, Any] = {}


class ErrorEnvelope(BaseModel):
    success: Literal[False] = False
    error: ErrorBody


# Shapes of the unversioned routes, as the older documents show them.


class LegacyMachine(BaseModel):
    id: str
    name: str | None
    gpu_name: str
    status: InstanceStatus
    cost_per_hour: float | None
    region: str | None


class LegacyMachineList(BaseModel):
    machines: list[LegacyMachine]


class LegacyCreated(BaseModel):
    id: str
    instance_id: str
    status: Literal["creating"]
    gpu_name: str
    ip: str | None
    estimated_ready: datetime


class LegacyDeleted(BaseModel):
    message: str
    final_cost: float


# Building views ------------------------------------------------------------------------------------


def _short_gpu_name(instance: Instance) -> str:
    gpu = find_gpu_type(instance.gpu_type)
    return instance.gpu_name or (gpu.provider_names[0] if gpu else instance.gpu_type)


def instance_summary(instance: Instance) -> InstanceSummary:
    return InstanceSummary(
        id=instance.instance_id,
        name=instance.name,
        gpu_type=instance.gpu_type,
        status=instance.status,
        ip_address=instance.ip_address,
        ssh_port=instance.ssh_port,
        created_at=instance.created_at,
        cost_per_hour=instance.cost_per_hour,
        region=instance.region,
    )


def instance_detail(instance: Instance, now: datetime, settings: Settings) -> InstanceDetail:
    gpu = find_gpu_type(instance.gpu_type)
    serverless = serverless_status(instance)
    reachable = instance.status == InstanceStatus.RUNNING and instance.ip_address is not None
    ssh_command = (
        f"ssh -p {instance.ssh_port} root@{instance.ip_address}" if reachable and instance.ssh_port else None
    )
    jupyter_url: str | None = None
    if reachable and settings.jupyter_domain:
        jupyter_url = f"https://{instance.instance_id}.{settings.jupyter_domain}:8888"
    elif reachable and instance.jupyter_port:
        jupyter_url = f"http://{instance.ip_address}:{instance.jupyter_port}"
    return InstanceDetail(
        **instance_summary(instance).model_dump(),
        gpu_name=gpu.full_name if gpu else instance.gpu_type,
        gpu_memory_gb=instance.gpu_memory_gb,
        num_gpus=instance.num_gpus,
        status_reason=instance.status_reason,
        ssh_command=ssh_command,
        jupyter_url=jupyter_url,
        image=instance.image,
        disk_gb=instance.disk_gb,
        updated_at=instance.updated_at,
        uptime_seconds=instance.uptime_seconds_at(now),
        cost_accumulated=instance.cost_accumulated_at(now),
        host_reliability_score=round(instance.host_reliability * 5, 2)
        if instance.host_reliability is not None
        else None,
        provider=ProviderBlock(name=instance.provider, instance_id=instance.provider_instance_id),
        failover=FailoverBlock(
            enabled=instance.failover_enabled,
            strategy=instance.failover_strategy,
            last_failover=instance.last_failover_at,
        ),
        serverless=ServerlessBlock(
            enabled=serverless.enabled,
            idle_timeout_minutes=serverless.idle_timeout_minutes,
            gpu_threshold=serverless.gpu_threshold,
            state=serverless.state,
        ),
        metrics=metrics_block(instance),
    )


def event_view(event: InstanceEvent) -> EventView:
    return EventView(type=event.type.value, timestamp=event.timestamp, details=event.details)


def legacy_machine(instance: Instance) -> LegacyMachine:
    return LegacyMachine(
        id=instance.instance_id,
        name=instance.name,
        gpu_name=_short_gpu_name(instance),
        status=instance.status,
        cost_per_hour=instance.cost_per_hour,
        region=instance.region,
    )
