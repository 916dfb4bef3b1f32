"""A machine without NVIDIA tooling still reports its CPU, RAM and disk."""

from __future__ import annotations

from pathlib import Path

from dumont_agent.host_metrics import HostMetrics
from tests.unit.agent.host_metrics.conftest import Replay, assert_real_host_numbers

NO_TOOLING_NOTE = (
    "No NVIDIA GPU found: nvidia-smi is not installed and the NVIDIA management library is not available"
)


def test_without_any_nvidia_tooling_the_rest_is_still_read(tmp_path: Path) -> None:
    # The real runner, on a program that is nowhere: what a machine without the NVIDIA driver sees.
    metrics = HostMetrics(tmp_path, nvidia_smi="nvidia-smi-that-is-not-installed")

    reading = metrics.read()

    assert reading.gpus == []
    assert reading.gpu_source == "none"
    assert reading.gpu_note == NO_TOOLING_NOTE
    assert_real_host_numbers(reading)
    heartbeat = reading.as_heartbeat()
    assert heartbeat["gpu_utilization"] is None
    assert heartbeat["gpu_memory_used_gb"] is None
    assert heartbeat["gpu_memory_total_gb"] is None
    assert heartbeat["gpu_temperature"] is None
    assert heartbeat["gpu_count"] == 0
    assert heartbeat["gpus"] == []
    assert heartbeat["gpu_note"] == NO_TOOLING_NOTE
    assert isinstance(heartbeat["ram_total_gb"], float)
    assert heartbeat["ram_total_gb"] > 0


def test_a_workspace_not_yet_created_reports_the_disk_it_will_be_on(tmp_path: Path) -> None:
    missing = tmp_path / "workspace" / "not" / "there"
    runner = Replay(FileNotFoundError("nvidia-smi"))

    reading = HostMetrics(missing, runner=runner).read()

    assert reading.disk_total_gb == HostMetrics(tmp_path, runner=runner).read().disk_total_gb
    assert reading.disk_total_gb > 0
