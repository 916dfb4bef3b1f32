"""Requests and answers of the agents' routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import ConfigDict, Field

from api.schemas import LogTime, RequestBody, View
from dumont_core.agents.models import AgentHealth

Percent = Annotated[float, Field(ge=0, le=100)]


Gigabytes = Annotated[float, Field(ge=0, le=100_000)]


ActionId = Annotated[str, Path(max_length=64)]


AgentSnapshotId = Annotated[str, Path(max_length=64)]


class HeartbeatRequest(RequestBody):
    """What the agent reports; every reading is optional, so an agent that cannot read the GPU still
    reports CPU, RAM and disk."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    instance_id: str | None = Field(default=None, max_length=64, description="Must be the token's instance")
    status: str | None = Field(default=None, max_length=32, description="What the agent sees, e.g. running")
    gpu_utilization: Percent | None = None
    gpu_memory_used_gb: Gigabytes | None = None
    vram_used_gb: Gigabytes | None = Field(default=None, description="Same as gpu_memory_used_gb")
    gpu_memory_total_gb: Gigabytes | None = None
    gpu_temperature: float | None = Field(default=None, ge=-50, le=200)
    gpu_count: int | None = Field(default=None, ge=0, le=64)
    gpu_source: str | None = Field(default=None, max_length=32)
    gpu_note: str | None = Field(default=None, max_length=500)
    cpu_utilization: Percent | None = None
    ram_used_gb: Gigabytes | None = None
    ram_total_gb: Gigabytes | None = None
    disk_used_gb: Gigabytes | None = None
    disk_total_gb: Gigabytes | None = None
    cost_accumulated: float | None = Field(default=None, ge=0)
    workspace_bytes: int | None = Field(default=None, ge=0, description="Bytes of files in the workspace")
    unsaved_bytes: int | None = Field(
        default=None, ge=0, description="Bytes of files the last snapshot does not hold as they are now"
    )
    unsaved_files: int | None = Field(default=None, ge=0)
    ssh_keys_wanted: bool = Field(
        default=False, description="The agent has just started: answer the instance's SSH keys"
    )
    ssh_keys_version: int | None = Field(
        default=None,
        ge=0,
        description="The version of the SSH key list the agent holds: an older one than the instance's "
        "is answered the current list",
    )

    def reading(self) -> dict[str, Any]:
        values = self.model_dump(
            exclude_none=True, exclude={"instance_id", "vram_used_gb", "ssh_keys_wanted", "ssh_keys_version"}
        )
        if self.gpu_memory_used_gb is None and self.vram_used_gb is not None:
            values["gpu_memory_used_gb"] = self.vram_used_gb
        # Extra fields (per-GPU lists and the like) are kept as sent, within reason.
        return {key: value for key, value in values.items() if len(str(value)) <= 4_000}


class HeartbeatView(View):
    """When to report next, and what to do."""

    success: Literal[True] = True
    next_heartbeat_in_seconds: int
    actions: list[dict[str, Any]] = Field(
        description="What the agent is asked to do: `{id, type, ...}`; it reports back on "
        "`POST /api/agent/actions/{id}`."
    )
    ssh_keys: list[str] | None = Field(
        default=None,
        description="Answered to `ssh_keys_wanted` or an older `ssh_keys_version`: every key that may log "
        "in, as `authorized_keys` lines",
    )
    ssh_keys_version: int | None = Field(default=None, description="The version of `ssh_keys`")


class ActionReportRequest(RequestBody):
    status: Literal["running", "completed", "failed"]
    result: dict[str, Any] | None = None
    error: str | None = Field(default=None, max_length=4_000)


class AcceptedView(View):
    """Recorded."""

    success: Literal[True] = True


class AgentView(View, AgentHealth):
    """An agent's health, from the age of its last heartbeat."""


class AgentListView(View):
    """The agents of your team's running machines."""

    instances: list[AgentView]


class ChunkRequest(RequestBody):
    digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the chunk's uncompressed bytes")
    size: int = Field(ge=0)
    stored_size: int = Field(ge=0)


class UploadRequest(RequestBody):
    chunks: list[ChunkRequest] = Field(max_length=200_000)
    append: bool = Field(
        default=False,
        description="false: these are all of the snapshot's chunks; true: more of them, added to those "
        "planned before (an agent plans a batch at a time while it packs)",
    )


class UploadPlanView(View):
    """Where to upload the chunks S3 lacks, and the manifest."""

    uploads: dict[str, str] = Field(description="digest -> presigned PUT URL, for the chunks S3 lacks")
    manifest_url: str


class DownloadPlanView(View):
    """Where to download the manifest and every chunk."""

    manifest_url: str
    chunks: dict[str, str] = Field(description="digest -> presigned GET URL")


class LogLineRequest(RequestBody):
    timestamp: LogTime = Field(strict=False)
    message: str = Field(min_length=1, max_length=32_000)


class LogBatchRequest(RequestBody):
    lines: list[LogLineRequest] = Field(max_length=10_000)


class LogsKeptView(View):
    """How many lines were kept."""

    success: Literal[True] = True
    kept: int
