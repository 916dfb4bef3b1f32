"""The fictitious machines of demo mode (`?demo=true`, seeds 002 and 003)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from dumont_core.instances.models import InstanceStatus
from dumont_core.platform.identity import Principal

DEMO_ACCOUNT = "demo"
DEMO_TEAM = "demo"
DEMO_PRINCIPAL = Principal(account_id=DEMO_ACCOUNT, team_id=DEMO_TEAM, role="demo", plan="demo", demo=True)
"""Who a request without credentials is in demo mode: no team of anyone's, no permission."""
DEMO_ID_PREFIX = "demo_"
DEMO_IMAGE = "pytorch/pytorch:2.0-cuda12.1"
DEMO_DISK_GB = 100


@dataclass(frozen=True)
class DemoMachine:
    """One machine of the demo fleet, always the same."""

    instance_id: str
    name: str
    gpu_type: str
    region: str
    status: InstanceStatus
    cost_per_hour: float
    age: timedelta
    """How long before the start of the current UTC day it was created."""
    ip_address: str | None
    """In 203.0.113.0/24, the range kept for documentation (RFC 5737): it reaches no one."""
    gpu_utilization: float


FLEET: tuple[DemoMachine, ...] = (
    DemoMachine(
        "demo_28864630",
        "ML Training Rig",
        "RTX_4090",
        "us-east",
        InstanceStatus.RUNNING,
        0.40,
        timedelta(hours=6),
        "203.0.113.50",
        87.0,
    ),
    DemoMachine(
        "demo_28864631",
        "LLM Fine-tuning",
        "A100",
        "us-west",
        InstanceStatus.HIBERNATING,
        1.20,
        timedelta(hours=30),
        "203.0.113.51",
        2.0,
    ),
    DemoMachine(
        "demo_28864632",
        "Stable Diffusion",
        "RTX_3090",
        "eu-central",
        InstanceStatus.RUNNING,
        0.22,
        timedelta(hours=50),
        "203.0.113.52",
        45.0,
    ),
)
DEMO_PRICES: dict[str, float] = {machine.gpu_type: machine.cost_per_hour for machine in FLEET}
DEFAULT_DEMO_PRICE = 0.50
DEFAULT_DEMO_REGION = "us-east"
DEMO_PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBeGYhCMnBk7Boq59jiR8saRA3ba+FaYqkKoUerzLigB demo@dumont"
)
"""The one key a demo instance lists: a real key (so it is shown as any other), whose private half no one
keeps, on machines that do not exist."""
DEMO_KEY_NAME = "demo laptop"
