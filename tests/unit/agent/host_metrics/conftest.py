"""Recorded nvidia-smi answers (tests/fixtures/nvidia_smi) and a runner that replays them, so no GPU is
needed; a pynvml installed on the machine running the tests is kept out of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dumont_agent.host_metrics import HostReading

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "nvidia_smi"
QUERY = [
    "nvidia-smi",
    "--query-gpu=index,name,utilization.gpu,memory.used,memory.total,temperature.gpu",
    "--format=csv,noheader,nounits",
]
DRIVER_MESSAGE = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running."
)


@pytest.fixture(autouse=True)
def no_installed_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeps a pynvml installed on the machine running the tests out of them: importing it fails."""
    monkeypatch.setitem(sys.modules, "pynvml", None)


def recorded(name: str) -> subprocess.CompletedProcess[str]:
    """A recorded nvidia-smi run: a .csv is what a successful run printed, a .json a failed run."""
    path = FIXTURES / name
    if path.suffix == ".csv":
        return subprocess.CompletedProcess(QUERY, 0, path.read_text(), "")
    record = json.loads(path.read_text())
    return subprocess.CompletedProcess(QUERY, record["returncode"], record["stdout"], record["stderr"])


class Replay:
    """Runs nothing: answers every command with the same recording (or raises it) and keeps the commands."""

    def __init__(self, answer: subprocess.CompletedProcess[str] | BaseException) -> None:
        self.answer = answer
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def assert_real_host_numbers(reading: HostReading) -> None:
    assert 0.0 <= reading.cpu_percent <= 100.0
    assert 0.0 < reading.ram_used_gb <= reading.ram_total_gb
    assert 0.0 < reading.disk_used_gb <= reading.disk_total_gb
