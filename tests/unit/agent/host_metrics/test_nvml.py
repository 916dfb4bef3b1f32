"""The agent's GPU readings through the NVIDIA management library, against a stand-in for pynvml:
preferred to nvidia-smi, which it falls back to for a reading when the library fails."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

from dumont_agent.host_metrics import GpuReading, HostMetrics
from tests.unit.agent.host_metrics.conftest import (
    DRIVER_MESSAGE,
    QUERY,
    Replay,
    assert_real_host_numbers,
    recorded,
)

GIB = 2**30


class FakeNvmlError(Exception):
    """Shaped like pynvml.NVMLError: the NVML return code is in ``value``."""

    def __init__(self, value: int, message: str) -> None:
        super().__init__(message)
        self.value = value


NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_GPU_IS_LOST = 15


@dataclass
class FakeDevice:
    name: str | bytes
    utilization: int | None
    used_bytes: int
    total_bytes: int
    temperature: int | None


class FakeNvml:
    """The calls of pynvml the agent makes. ``lost_at`` makes that device's memory query fail
    ``lost_times`` times, as a GPU falling off the bus does."""

    NVML_TEMPERATURE_GPU = 0
    NVML_ERROR_NOT_SUPPORTED = NVML_ERROR_NOT_SUPPORTED

    def __init__(self, devices: list[FakeDevice], *, lost_at: int | None = None, lost_times: int = 1) -> None:
        self.devices = devices
        self.lost_at = lost_at
        self.lost_times = lost_times
        self.init_calls = 0

    def nvmlInit(self) -> None:
        self.init_calls += 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, handle: int) -> str | bytes:
        return self.devices[handle].name

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> types.SimpleNamespace:
        utilization = self.devices[handle].utilization
        if utilization is None:
            raise FakeNvmlError(NVML_ERROR_NOT_SUPPORTED, "Not Supported")
        return types.SimpleNamespace(gpu=utilization, memory=0)

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> types.SimpleNamespace:
        if handle == self.lost_at and self.lost_times > 0:
            self.lost_times -= 1
            raise FakeNvmlError(NVML_ERROR_GPU_IS_LOST, "GPU is lost")
        device = self.devices[handle]
        return types.SimpleNamespace(
            used=device.used_bytes, total=device.total_bytes, free=device.total_bytes - device.used_bytes
        )

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        assert sensor == self.NVML_TEMPERATURE_GPU
        temperature = self.devices[handle].temperature
        if temperature is None:
            raise FakeNvmlError(NVML_ERROR_NOT_SUPPORTED, "Not Supported")
        return temperature


def two_h100s() -> list[FakeDevice]:
    return [
        FakeDevice(b"NVIDIA H100 80GB HBM3", 93, 70 * GIB, 80 * GIB, 66),
        FakeDevice("NVIDIA H100 80GB HBM3", 41, 20 * GIB, 80 * GIB, 49),
    ]


def test_nvml_is_preferred_and_nvidia_smi_not_run(tmp_path: Path) -> None:
    runner = Replay(recorded("rtx4090_busy.csv"))

    reading = HostMetrics(tmp_path, runner=runner, nvml=FakeNvml(two_h100s())).read()

    assert runner.commands == []
    assert reading.gpu_source == "nvml"
    assert reading.gpu_note is None
    assert reading.gpus == [
        GpuReading(0, "NVIDIA H100 80GB HBM3", 93.0, 70.0, 80.0, 66.0),
        GpuReading(1, "NVIDIA H100 80GB HBM3", 41.0, 20.0, 80.0, 49.0),
    ]
    heartbeat = reading.as_heartbeat()
    assert heartbeat["gpu_utilization"] == 67.0
    assert heartbeat["gpu_memory_used_gb"] == 90.0
    assert heartbeat["gpu_memory_total_gb"] == 160.0
    assert heartbeat["gpu_temperature"] == 66.0
    assert heartbeat["gpu_source"] == "nvml"


def test_what_a_gpu_does_not_support_through_nvml_is_read_as_nvidia_smi_would(tmp_path: Path) -> None:
    devices = [FakeDevice("NVIDIA A100-SXM4-40GB", None, 11 * GIB, 40 * GIB, None)]

    reading = HostMetrics(tmp_path, runner=Replay(FileNotFoundError()), nvml=FakeNvml(devices)).read()

    assert reading.gpu_source == "nvml"
    assert reading.gpus == [GpuReading(0, "NVIDIA A100-SXM4-40GB", 0.0, 11.0, 40.0, None)]
    assert reading.gpu_note == "GPU 0 does not report utilization, so it reads as 0"


def test_nvml_failing_mid_way_falls_back_to_nvidia_smi_for_that_reading(tmp_path: Path) -> None:
    runner = Replay(recorded("a100x8_mixed.csv"))
    nvml = FakeNvml(two_h100s(), lost_at=1)
    metrics = HostMetrics(tmp_path, runner=runner, nvml=nvml)

    fallen_back = metrics.read()
    recovered = metrics.read()

    assert fallen_back.gpu_source == "nvidia-smi"
    assert len(fallen_back.gpus) == 8
    assert fallen_back.gpu_note == (
        "Read with nvidia-smi because the NVIDIA management library failed (GPU is lost)"
    )
    assert runner.commands == [QUERY]
    assert recovered.gpu_source == "nvml"
    assert len(recovered.gpus) == 2
    assert recovered.gpu_note is None


def test_nvml_failing_with_nvidia_smi_failing_too_says_both(tmp_path: Path) -> None:
    nvml = FakeNvml(two_h100s(), lost_at=0)
    metrics = HostMetrics(tmp_path, runner=Replay(recorded("driver_not_loaded.json")), nvml=nvml)

    reading = metrics.read()

    assert (reading.gpu_source, reading.gpus) == ("none", [])
    assert reading.gpu_note == (
        f"nvidia-smi failed: {DRIVER_MESSAGE}; the NVIDIA management library failed (GPU is lost)"
    )
    assert_real_host_numbers(reading)


def test_nvml_failing_without_nvidia_smi(tmp_path: Path) -> None:
    nvml = FakeNvml(two_h100s(), lost_at=0)

    reading = HostMetrics(tmp_path, runner=Replay(FileNotFoundError()), nvml=nvml).read()

    assert reading.gpu_source == "none"
    assert reading.gpu_note == (
        "No NVIDIA GPU found: nvidia-smi is not installed and the NVIDIA management library failed "
        "(GPU is lost)"
    )


def test_nvml_listing_no_gpus(tmp_path: Path) -> None:
    runner = Replay(recorded("rtx4090_busy.csv"))

    reading = HostMetrics(tmp_path, runner=runner, nvml=FakeNvml([])).read()

    assert (reading.gpu_source, reading.gpus) == ("none", [])
    assert reading.gpu_note == "No NVIDIA GPU found: the NVIDIA driver lists no GPUs"
    assert runner.commands == []


def test_the_installed_nvml_is_started_once_and_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installed = FakeNvml(two_h100s())
    monkeypatch.setitem(sys.modules, "pynvml", installed)
    metrics = HostMetrics(tmp_path, runner=Replay(FileNotFoundError()))

    readings = [metrics.read(), metrics.read()]

    assert installed.init_calls == 1
    assert [reading.gpu_source for reading in readings] == ["nvml", "nvml"]


def test_an_installed_nvml_that_cannot_start_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def driver_not_loaded() -> None:
        raise FakeNvmlError(9, "Driver Not Loaded")

    installed = FakeNvml(two_h100s())
    monkeypatch.setattr(installed, "nvmlInit", driver_not_loaded)
    monkeypatch.setitem(sys.modules, "pynvml", installed)

    reading = HostMetrics(tmp_path, runner=Replay(FileNotFoundError())).read()

    assert reading.gpu_source == "none"
    assert reading.gpu_note == (
        "No NVIDIA GPU found: nvidia-smi is not installed and the NVIDIA management library could not "
        "start (Driver Not Loaded)"
    )
