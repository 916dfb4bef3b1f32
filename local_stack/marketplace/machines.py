"""Rented machines: what Vast shows of one, and its status moving on a schedule as a real host's would."""

from __future__ import annotations

import itertools
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
    env: dict[str, str] = field(default_factory=dict)
    jupyter_token: str = ""
    ssh_idx: int = 1
    proxy_ssh_port: int = 10_000
    intended_status: str = "running"
    cur_state: str = "running"
    actual_status: str | None = None
    status_msg: str = "Scheduling"
    running_since: float | None = None
    """The market's time the container last started running; None while it does not run."""
    transitions: list[tuple[float, Json]] = field(default_factory=list)
    partitioned: bool = False
    """Cut off from the network: it runs, as far as Vast knows, but its agent reaches nobody."""

    def apply_due(self, now: float) -> None:
        while self.transitions and self.transitions[0][0] <= now:
            when, changes = self.transitions.pop(0)
            for name, value in changes.items():
                setattr(self, name, value)
            if "actual_status" in changes:
                self.running_since = when if changes["actual_status"] == "running" else None

    def schedule(self, now: float, *steps: tuple[float, Json]) -> None:
        """Replace whatever was in progress: the latest request wins, as on a real host."""
        self.transitions = sorted(((now + delay, changes) for delay, changes in steps), key=lambda s: s[0])

    def boot(self, now: float, seconds: float, *, failure: str | None) -> None:
        """Pull the image and run it; with a `failure`, exit at the end of the boot instead."""
        if failure is None:
            ending: Json = {"actual_status": "running", "status_msg": "success, running " + self.image}
        else:
            ending = {"actual_status": "exited", "status_msg": failure}
        created = {"actual_status": "created", "status_msg": "Container created"}
        loading = {"actual_status": "loading", "status_msg": "Loading image"}
        self.schedule(now, (seconds * 0.1, created), (seconds * 0.25, loading), (seconds, ending))

    def ask_for(self, state: str) -> bool:
        """Take `state` ("running" or "stopped") as the one wanted; whether the container has to move."""
        already_there = (
            self.intended_status == "stopped"
            if state == "stopped"
            else self.intended_status == "running"
            and self.actual_status in (None, "created", "loading", "rebooting", "running")
        )
        self.intended_status = self.cur_state = state
        # Nothing moves on a host that is offline, and asking twice changes nothing.
        return self.actual_status != "offline" and not already_there

    def stop(self, now: float, seconds: float) -> None:
        self.status_msg = "Stopping container"
        self.schedule(now, (seconds, {"actual_status": "stopped", "status_msg": "Stopped"}))

    def start(
        self, now: float, seconds: float, *, rebooting: bool = False, failure: str | None = None
    ) -> None:
        """Load the container and run it; a reboot restarts it. With a `failure`, it exits at the end of
        the start instead."""
        self.actual_status, self.status_msg = (
            ("rebooting", "Rebooting") if rebooting else ("loading", "Starting container")
        )
        self.running_since = None
        ending: Json = (
            {"actual_status": "running", "status_msg": "success, running"}
            if failure is None
            else {"actual_status": "exited", "status_msg": failure}
        )
        self.schedule(now, (seconds, ending))

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
        self.running_since = None
        if kind != Interruption.HOST_OFFLINE:
            self.cur_state = "stopped"

    def show_status(self, actual_status: str, message: str | None) -> None:
        """Vast shows `actual_status` from now on, whatever was in progress: `unknown` when the host has
        not reported lately, `frozen` when the container was paused, and so on."""
        self.transitions.clear()
        self.actual_status = actual_status
        self.status_msg = message or f"Instance is {actual_status}"
        if actual_status != "running":
            self.running_since = None

    @property
    def billed_per_hour(self) -> float:
        """What it costs now: its price while it runs, its disk alone once stopped."""
        if self.intended_status == "stopped" and self.actual_status != "running":
            return self.storage_per_hour
        return self.dph_total

    @property
    def storage_per_hour(self) -> float:
        return self.offer.storage_per_hour(self.disk)

    @property
    def interruptible_now(self) -> bool:
        """Running, reachable, and so something an interruption can take away."""
        return self.actual_status == "running" and not self.partitioned

    def as_json(self, now: float) -> Json:
        """The machine as Vast shows it (`show instance`), at the market's time `now`."""
        running = self.actual_status == "running"
        offer = self.offer
        json = offer.as_json("bid" if self.is_bid else "on-demand", self.disk)
        for offer_only in ("ask_contract_id", "bundle_id", "bundled_results", "rented", "rn", "score"):
            json.pop(offer_only)
        direct = sorted(self.host_ports.values())
        return {
            **json,
            "id": self.id,
            "actual_status": self.actual_status,
            "intended_status": self.intended_status,
            "cur_state": self.cur_state,
            "next_state": self.intended_status,
            "status_msg": self.status_msg,
            "label": self.label,
            "template_id": None,
            "template_hash_id": None,
            "template_name": None,
            "image_uuid": self.image,
            "image_args": [],
            "image_runtype": self.runtype,
            "extra_env": [[name, value] for name, value in self.env.items()],
            "onstart": self.onstart,
            "jupyter_token": self.jupyter_token,
            "local_ipaddrs": "10.0.0.5 172.17.0.2",
            "ssh_host": f"ssh{self.ssh_idx}.vast.ai",
            "ssh_idx": str(self.ssh_idx),
            "ssh_port": self.proxy_ssh_port,
            "machine_dir_ssh_port": self.proxy_ssh_port + 1000,
            "direct_port_start": direct[0] if direct else -1,
            "direct_port_end": direct[-1] if direct else -1,
            "disk_space": self.disk,
            "disk_usage": 0.0,
            "disk_util": 0.0,
            # A stopped machine is billed for its disk alone, as Vast bills it.
            "dph_total": round(self.billed_per_hour, 4),
            "dph_base": round(self.dph_total - offer.storage_per_hour(self.disk), 4),
            "is_bid": self.is_bid,
            "uptime_mins": round((now - self.running_since) / 60, 2)
            if self.running_since is not None
            else None,
            "gpu_util": 0.0 if running else None,
            "gpu_temp": 38.0 if running else None,
            "cpu_util": 0.0,
            "mem_limit": None,
            "mem_usage": None,
            "vmem_usage": None,
            "country_code": offer.geolocation.rsplit(",", 1)[-1].strip(),
            "credit_balance": None,
            "credit_discount": None,
            "client_run_time": 1.0,
            "host_run_time": 1.0,
            "volume_info": [],
            "start_date": self.start_date,
            "end_date": self.start_date + json["duration"],
            # Docker publishes ports only while the container runs.
            "ports": (
                {
                    container_port: [{"HostIp": "0.0.0.0", "HostPort": str(host_port)}]
                    for container_port, host_port in self.host_ports.items()
                }
                if running
                else {}
            ),
        }


def environment(env: object) -> dict[str, str]:
    """Vast's `env` as the dict the CLI sends (`{"-p 8081:8081": "1", "TZ": "UTC"}`), also when it
    comes as the string of Docker flags Vast's documents show (`"-e TZ=UTC -p 8081:8081"`)."""
    if isinstance(env, dict):
        return {str(name): str(value) for name, value in env.items()}
    if not isinstance(env, str):
        return {}
    parsed: dict[str, str] = {}
    words = env.split()
    for flag, word in itertools.pairwise(words):
        if flag == "-p":
            parsed[f"-p {word}"] = "1"
        elif flag == "-e" and "=" in word:
            name, value = word.split("=", 1)
            parsed[name] = value.strip("'\"")
    return parsed


def published_ports(env: dict[str, str], runtype: str | None, direct_ports: int) -> list[int]:
    """Container ports a machine publishes on its host: none on a host without open ports (SSH goes
    through Vast's proxy then); else SSH for a direct runtype, Jupyter's 8080 for a direct Jupyter one,
    and those asked for with Docker `-p` flags."""
    if direct_ports <= 0:
        return []
    modes = set((runtype or "").split())
    asked = {int(match) for match in re.findall(r"-p\s+(?:\d+:)?(\d+)(?:/tcp)?", " ".join(env))}
    if modes & {"ssh_direc", "ssh_direct", "jupyter_direc", "jupyter_direct"}:
        asked.add(22)
    if modes & {"jupyter_direc", "jupyter_direct"}:
        asked.add(8080)
    return sorted(asked)[:direct_ports]
