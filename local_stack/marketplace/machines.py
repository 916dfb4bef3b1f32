"""Rented machines: what Vast shows of one, and its status moving on a schedule as a real host's would."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from local_stack.marketplace.json_bodies import Json
from local_stack.marketplace.offers import Offer


class Interruption(StrEnum):
    """The ways a spot GPU is lost, as a real marketplace loses them."""

    OUTBID = "outbid"
    """An interruptible (bid) rental taken by a higher bid: the container exits, the host keeps running."""
    HOST_OFFLINE = "host_offline"
    """The host stops answering: Vast shows the machine `offline`."""
    PARTITION = "partition"
    """The network between the machine and us is cut: Vast still says running, nothing reaches us."""
    MAINTENANCE = "maintenance"
    """The host's owner stops it for maintenance: the container exits though we still want it running."""


STORAGE_DOLLARS_PER_GB_MONTH = 0.15
"""What a machine's disk costs; a stopped machine is billed for this alone, as on Vast."""
_HOURS_PER_MONTH = 730

_INTERRUPTION_MESSAGES = {
    Interruption.OUTBID: "Instance stopped: outbid by a higher priority contract",
    Interruption.HOST_OFFLINE: "Host is offline: lost contact with the machine",
    Interruption.MAINTENANCE: "Instance stopped: the host is down for scheduled maintenance",
}


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
    partitioned: bool = False
    """Cut off from the network: it runs, as far as Vast knows, but its agent reaches nobody."""

    def apply_due(self, now: float) -> None:
        while self.transitions and self.transitions[0][0] <= now:
            _, changes = self.transitions.pop(0)
            for name, value in changes.items():
                setattr(self, name, value)

    def schedule(self, now: float, *steps: tuple[float, Json]) -> None:
        """Replace whatever was in progress: the latest request wins, as on a real host."""
        self.transitions = sorted(((now + delay, changes) for delay, changes in steps), key=lambda s: s[0])

    def boot(self, now: float, seconds: float, *, failure: str | None) -> None:
        """Pull the image and run it; with a `failure`, exit at the end of the boot instead."""
        if failure is None:
            ending: Json = {"actual_status": "running", "status_msg": "success, running " + self.image}
        else:
            ending = {"actual_status": "exited", "status_msg": failure}
        loading = {"actual_status": "loading", "status_msg": "Loading image"}
        self.schedule(now, (seconds * 0.25, loading), (seconds, ending))

    def ask_for(self, state: str) -> bool:
        """Take `state` ("running" or "stopped") as the one wanted; whether the container has to move."""
        already_there = (
            self.intended_status == "stopped"
            if state == "stopped"
            else self.intended_status == "running" and self.actual_status in (None, "loading", "running")
        )
        self.intended_status = self.cur_state = state
        # Nothing moves on a host that is offline, and asking twice changes nothing.
        return self.actual_status != "offline" and not already_there

    def stop(self, now: float, seconds: float) -> None:
        self.status_msg = "Stopping container"
        self.schedule(now, (seconds, {"actual_status": "exited", "status_msg": "Exited (0)"}))

    def start(self, now: float, seconds: float, status_msg: str = "Starting container") -> None:
        """Load the container and run it; a reboot does the same under its own status message."""
        self.actual_status, self.status_msg = "loading", status_msg
        self.schedule(now, (seconds, {"actual_status": "running", "status_msg": "success, running"}))

    @property
    def can_reboot(self) -> bool:
        return self.intended_status != "stopped" and self.actual_status != "offline"

    def break_down(self, *, offline: bool, message: str | None) -> None:
        """Fail now, whatever was in progress: the host goes offline, or the container exits."""
        self.interrupt(Interruption.HOST_OFFLINE if offline else Interruption.OUTBID, message)

    def interrupt(self, kind: Interruption, message: str | None = None) -> None:
        """Lose the machine now, whatever was in progress, the way `kind` says; we still want it running."""
        if kind == Interruption.PARTITION:
            self.partitioned = True
            return
        self.transitions.clear()
        self.status_msg = message or _INTERRUPTION_MESSAGES[kind]
        self.actual_status = "offline" if kind == Interruption.HOST_OFFLINE else "exited"
        if kind != Interruption.HOST_OFFLINE:
            self.cur_state = "stopped"

    @property
    def billed_per_hour(self) -> float:
        """What it costs now: its price while it runs, its disk alone once stopped."""
        if self.intended_status == "stopped" and self.actual_status != "running":
            return self.storage_per_hour
        return self.dph_total

    @property
    def storage_per_hour(self) -> float:
        return self.disk * STORAGE_DOLLARS_PER_GB_MONTH / _HOURS_PER_MONTH

    @property
    def interruptible_now(self) -> bool:
        """Running, reachable, and so something an interruption can take away."""
        return self.actual_status == "running" and not self.partitioned

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
            "dph_total": round(self.billed_per_hour, 4),
            "storage_cost": STORAGE_DOLLARS_PER_GB_MONTH,
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
