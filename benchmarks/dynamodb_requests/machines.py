"""The local stack the bench runs on, and the simulated machines it rents there: busy GPUs, the token
each machine's agent was given, what those agents report, and what a workspace holds."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from local_stack.machine_agents import agent_environment
from local_stack.stack import FAST_STACK, LocalStack

BUSY_GPU_PERCENT = 90.0
"""The simulated GPUs' load: well above any idle threshold, so serverless mode never hibernates an
instance by itself while the bench measures it."""

STACK_CONFIG = replace(FAST_STACK, seed=7, gpu_utilization=BUSY_GPU_PERCENT)

HEARTBEAT: dict[str, Any] = {
    "status": "running",
    "gpu_utilization": BUSY_GPU_PERCENT,
    "gpu_memory_used_gb": 21.6,
    "gpu_memory_total_gb": 24.0,
    "gpu_temperature": 71,
    "gpu_count": 1,
    "cpu_utilization": 35.0,
    "ram_used_gb": 12.5,
    "ram_total_gb": 64.0,
    "disk_used_gb": 1.2,
    "disk_total_gb": 50.0,
}
"""What an agent on a busy machine reports."""


def machine_of(stack: LocalStack, instance_id: str) -> dict[str, Any]:
    """The marketplace machine the instance runs on now."""
    for machine in stack.marketplace.machines():
        if str(machine["label"]).endswith(f":{instance_id}") and machine["actual_status"] == "running":
            return machine
    raise RuntimeError(f"no running machine carries {instance_id}")


def agent_token(machine: dict[str, Any]) -> str:
    """The token our on-start script gave the machine's agent."""
    environment = agent_environment(machine["onstart"])
    if environment is None:
        raise RuntimeError(f"machine {machine['id']} starts no agent")
    return environment["DUMONT_AGENT_TOKEN"]


def fill_workspace(stack: LocalStack, instance_id: str) -> None:
    """What a workspace holds: code, notes and a binary file, so a snapshot has chunks to store."""
    workspace = stack.machine_agents.workspace(machine_of(stack, instance_id)["id"])
    (workspace / "src").mkdir(parents=True, exist_ok=True)
    (workspace / "src" / "train.py").write_text("import torch\n" * 500)
    (workspace / "notes.md").write_text("# run 7\n" + "loss went down\n" * 2000)
    (workspace / "weights.bin").write_bytes(os.urandom(1024 * 1024))
