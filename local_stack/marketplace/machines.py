"""Rented machines: what Vast shows of one, and its status moving on a schedule as a real host's would."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from local_stack.marketplace.answers import Json
from local_stack.marketplace.offers import Offer


@dataclass
class Machine:
    id: int
    offer: Offer
    image: str
    disk: float
    label: str | None
    onstart: str | None
    runtype: str | None
    is_bid: bool
    dph_total: float
    start_date: float
    host_ports: dict[str, int]
    intended_status: str = "running"
    cur_state: str = "running"
    actual_status: str | None = None
    status_msg: str = "Pulling image"
    transitions: list[tuple[float, Json]] = field(default_factory=list)

    def apply_due(self, now: float) -> None:
        while self.transitions and self.transitions[0][0] <= now:
            _, changes = self.transitions.pop(0)
            for name, value in changes.items():
                setattr(self, name, value)

    def schedule(self, now: float, *steps: tuple[float, Json]) -> None:
        """Replace whatever was in progress: the latest request wins, as on a real host."""
        self.transitions = sorted(((now + delay, changes) for delay, changes in steps), key=lambda s: s[0])

    def as_json(self) -> Json:
        running = self.actual_status == "running"
        offer = self.offer
        return {
            "id": self.id,
            "machine_id": offer.machine_id,
            "host_id": offer.host_id,
            "actual_status": self.actual_status,
            "intended_status": self.intended_status,
            "cur_state": self.cur_state,
            "next_state": self.intended_status,
            "status_msg": self.status_msg,
            "label": self.label,
            "image_uuid": self.image,
            "image_runtype": self.runtype,
            "onstart": self.onstart,
            "disk_space": self.disk,
            "gpu_name": offer.gpu_name,
            "num_gpus": offer.num_gpus,
            "gpu_ram": offer.gpu_ram_mb,
            "gpu_totalram": offer.gpu_ram_mb * offer.num_gpus,
            "cpu_cores": offer.cpu_cores,
            "cpu_ram": offer.cpu_ram_mb,
            "dph_total": round(self.dph_total, 4),
            "is_bid": self.is_bid,
            "min_bid": round(offer.min_bid, 4),
            "reliability2": offer.reliability,
            "geolocation": offer.geolocation,
            "public_ipaddr": offer.public_ip,
            # Docker publishes ports only while the container runs.
            "ports": (
                {
                    container_port: [{"HostIp": "0.0.0.0", "HostPort": str(host_port)}]
                    for container_port, host_port in self.host_ports.items()
                }
                if running
                else {}
            ),
            "start_date": self.start_date,
        }


def published_ports(env: object) -> list[int]:
    """Container ports a machine publishes: SSH and Jupyter always, and those asked for with Docker
    `-p` flags, whether `env` is Vast's dict or a string."""
    text = " ".join(env.keys()) if isinstance(env, dict) else env if isinstance(env, str) else ""
    asked = [int(match) for match in re.findall(r"-p\s+(?:\d+:)?(\d+)(?:/tcp)?", text)]
    return sorted({22, 8888, *asked})
