"""The heartbeat body a reading makes: flat, rounded JSON of a fixed shape."""

from __future__ import annotations

import json
from pathlib import Path

from dumont_agent.host_metrics import GpuReading, HostMetrics, HostReading
from tests.unit.agent.host_metrics.conftest import Replay, recorded

HEARTBEAT_KEYS = {
    "gpu_utilization",
    "gpu_memory_used_gb",
    "gpu_memory_total_gb",
    "gpu_temperature",
    "gpu_count",
    "gpu_source",
    "gpu_note",
    "cpu_utilization",
    "ram_used_gb",
    "ram_total_gb",
    "disk_used_gb",
    "disk_total_gb",
    "gpus",
}


def test_the_heartbeat_is_flat_rounded_json(tmp_path: Path) -> None:
    reading = HostReading(
        gpus=[
            GpuReading(0, "NVIDIA L4", 33.333, 10.04, 22.49, 55.56),
            GpuReading(1, "NVIDIA L4", 66.666, 5.56, 22.49, None),
        ],
        gpu_source="nvml",
        gpu_note=None,
        cpu_percent=12.345,
        ram_used_gb=31.96,
        ram_total_gb=62.7,
        disk_used_gb=101.234,
        disk_total_gb=499.99,
    )

    heartbeat = reading.as_heartbeat()

    assert set(heartbeat) == HEARTBEAT_KEYS
    assert heartbeat == {
        "gpu_utilization": 50.0,
        "gpu_memory_used_gb": 15.6,
        "gpu_memory_total_gb": 45.0,
        "gpu_temperature": 55.6,
        "gpu_count": 2,
        "gpu_source": "nvml",
        "gpu_note": None,
        "cpu_utilization": 12.3,
        "ram_used_gb": 32.0,
        "ram_total_gb": 62.7,
        "disk_used_gb": 101.2,
        "disk_total_gb": 500.0,
        "gpus": [
            {
                "index": 0,
                "name": "NVIDIA L4",
                "utilization": 33.3,
                "memory_used_gb": 10.0,
                "memory_total_gb": 22.5,
                "temperature": 55.6,
            },
            {
                "index": 1,
                "name": "NVIDIA L4",
                "utilization": 66.7,
                "memory_used_gb": 5.6,
                "memory_total_gb": 22.5,
                "temperature": None,
            },
        ],
    }
    assert json.loads(json.dumps(heartbeat)) == heartbeat


def test_a_reading_from_the_machine_makes_a_heartbeat_of_the_same_shape(tmp_path: Path) -> None:
    heartbeat = HostMetrics(tmp_path, runner=Replay(recorded("rtx4090_busy.csv"))).read().as_heartbeat()

    assert set(heartbeat) == HEARTBEAT_KEYS
    assert json.loads(json.dumps(heartbeat)) == heartbeat
    for key in ("cpu_utilization", "ram_used_gb", "ram_total_gb", "disk_used_gb", "disk_total_gb"):
        value = heartbeat[key]
        assert isinstance(value, float)
        assert value == round(value, 1)
