"""The agent's machine readings against recorded nvidia-smi answers (tests/fixtures/nvidia_smi) and a stand-in
for the NVIDIA management library, so no GPU is needed."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

from dumont_agent.host_metrics import GpuReading, HostMetrics, HostReading

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nvidia_smi"
QUERY = [
    "nvidia-smi",
    "--query-gpu=index,name,utilization.gpu,memory.used,memory.total,temperature.gpu",
    "--format=csv,noheader,nounits",
]
NO_TOOLING_NOTE = (
    "No NVIDIA GPU found: nvidia-smi is not installed and the NVIDIA management library is not available"
)
DRIVER_MESSAGE = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running."
)
GIB = 2**30
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


def assert_real_host_numbers(reading: HostReading) -> None:
    assert 0.0 <= reading.cpu_percent <= 100.0
    assert 0.0 < reading.ram_used_gb <= reading.ram_total_gb
    assert 0.0 < reading.disk_used_gb <= reading.disk_total_gb


# nvidia-smi recordings


def test_a_busy_rtx_4090(tmp_path: Path) -> None:
    runner = Replay(recorded("rtx4090_busy.csv"))

    reading = HostMetrics(tmp_path, runner=runner).read()

    assert runner.commands == [QUERY]
    assert reading.gpu_source == "nvidia-smi"
    assert reading.gpu_note is None
    assert reading.gpus == [
        GpuReading(
            index=0,
            name="NVIDIA GeForce RTX 4090",
            utilization_percent=98.0,
            memory_used_gb=21877 / 1024,
            memory_total_gb=24564 / 1024,
            temperature_c=72.0,
        )
    ]
    heartbeat = reading.as_heartbeat()
    assert heartbeat["gpu_utilization"] == 98.0
    assert heartbeat["gpu_memory_used_gb"] == 21.4
    assert heartbeat["gpu_memory_total_gb"] == 24.0
    assert heartbeat["gpu_temperature"] == 72.0
    assert heartbeat["gpu_count"] == 1


def test_eight_a100s_some_idle_are_averaged_summed_and_the_hottest_taken(tmp_path: Path) -> None:
    reading = HostMetrics(tmp_path, runner=Replay(recorded("a100x8_mixed.csv"))).read()

    assert [gpu.index for gpu in reading.gpus] == list(range(8))
    assert {gpu.name for gpu in reading.gpus} == {"NVIDIA A100-SXM4-80GB"}
    assert [gpu.utilization_percent for gpu in reading.gpus] == [100, 97, 0, 45, 100, 0, 12, 88]
    heartbeat = reading.as_heartbeat()
    assert heartbeat["gpu_count"] == 8
    assert heartbeat["gpu_utilization"] == round((100 + 97 + 0 + 45 + 100 + 0 + 12 + 88) / 8, 1)
    used_mib = 78342 + 77010 + 4 + 40122 + 79870 + 4 + 9216 + 65530
    assert heartbeat["gpu_memory_used_gb"] == round(used_mib / 1024, 1)
    assert heartbeat["gpu_memory_total_gb"] == 640.0
    assert heartbeat["gpu_temperature"] == 67.0
    assert heartbeat["gpu_source"] == "nvidia-smi"
    assert heartbeat["gpu_note"] is None


def test_a_temperature_the_gpu_does_not_report_is_none(tmp_path: Path) -> None:
    reading = HostMetrics(tmp_path, runner=Replay(recorded("vgpu_temperature_na.csv"))).read()

    assert [gpu.temperature_c for gpu in reading.gpus] == [None, None]
    assert [gpu.utilization_percent for gpu in reading.gpus] == [35.0, 61.0]
    assert reading.gpu_note is None
    heartbeat = reading.as_heartbeat()
    assert heartbeat["gpu_temperature"] is None
    assert heartbeat["gpu_utilization"] == 48.0
    assert heartbeat["gpus"] == [
        {
            "index": 0,
            "name": "GRID A100D-40C",
            "utilization": 35.0,
            "memory_used_gb": 12.0,
            "memory_total_gb": 40.0,
            "temperature": None,
        },
        {
            "index": 1,
            "name": "GRID A100D-40C",
            "utilization": 61.0,
            "memory_used_gb": 30.0,
            "memory_total_gb": 40.0,
            "temperature": None,
        },
    ]


def test_a_utilization_the_gpu_does_not_report_reads_as_zero_and_is_noted(tmp_path: Path) -> None:
    reading = HostMetrics(tmp_path, runner=Replay(recorded("a100_mig_utilization_na.csv"))).read()

    assert [gpu.utilization_percent for gpu in reading.gpus] == [0.0, 76.0]
    assert reading.gpus[0].memory_used_gb == 11.0
    assert reading.gpus[0].temperature_c == 45.0
    assert reading.gpu_source == "nvidia-smi"
    assert reading.gpu_note == "GPU 0 does not report utilization, so it reads as 0"


@pytest.mark.parametrize("unsupported", ["[Not Supported]", "[N/A]", "N/A", "[Unknown Error]"])
def test_every_spelling_of_an_unreported_temperature_is_none(tmp_path: Path, unsupported: str) -> None:
    output = f"0, Tesla T4, 7, 300, 15360, {unsupported}\n"
    runner = Replay(subprocess.CompletedProcess(QUERY, 0, output, ""))

    reading = HostMetrics(tmp_path, runner=runner).read()

    assert reading.gpus[0].temperature_c is None
    assert reading.gpus[0].memory_total_gb == 15.0


def test_a_comma_in_the_name_does_not_shift_the_numbers(tmp_path: Path) -> None:
    output = "3, Odd, Board, 55, 2048, 8192, 60\n"

    reading = HostMetrics(tmp_path, runner=Replay(subprocess.CompletedProcess(QUERY, 0, output, ""))).read()

    assert reading.gpus == [GpuReading(3, "Odd, Board", 55.0, 2.0, 8.0, 60.0)]


def test_nvidia_smi_that_cannot_reach_the_driver_gives_its_message(tmp_path: Path) -> None:
    reading = HostMetrics(tmp_path, runner=Replay(recorded("driver_not_loaded.json"))).read()

    assert reading.gpus == []
    assert reading.gpu_source == "none"
    assert reading.gpu_note == f"nvidia-smi failed: {DRIVER_MESSAGE}"
    assert_real_host_numbers(reading)


def test_a_failure_on_stderr_is_preferred_to_stdout(tmp_path: Path) -> None:
    failed = subprocess.CompletedProcess(QUERY, 9, "ignored\n", f"\n{DRIVER_MESSAGE}\nsecond line\n")

    reading = HostMetrics(tmp_path, runner=Replay(failed)).read()

    assert reading.gpu_note == f"nvidia-smi failed: {DRIVER_MESSAGE}"


def test_a_silent_failure_gives_the_exit_status(tmp_path: Path) -> None:
    reading = HostMetrics(tmp_path, runner=Replay(subprocess.CompletedProcess(QUERY, 255, "", ""))).read()

    assert reading.gpu_note == "nvidia-smi failed: it exited with status 255"


def test_nvidia_smi_without_devices(tmp_path: Path) -> None:
    reading = HostMetrics(tmp_path, runner=Replay(recorded("no_devices.json"))).read()

    assert (reading.gpu_source, reading.gpus) == ("none", [])
    assert reading.gpu_note == "nvidia-smi failed: No devices were found"


def test_nvidia_smi_that_answers_nothing_lists_no_gpus(tmp_path: Path) -> None:
    reading = HostMetrics(tmp_path, runner=Replay(subprocess.CompletedProcess(QUERY, 0, "\n", ""))).read()

    assert (reading.gpu_source, reading.gpus) == ("none", [])
    assert reading.gpu_note == "No NVIDIA GPU found: nvidia-smi lists no GPUs"


def test_output_of_another_shape_is_a_failure_not_an_exception(tmp_path: Path) -> None:
    output = "index, name, utilization.gpu\n"

    reading = HostMetrics(tmp_path, runner=Replay(subprocess.CompletedProcess(QUERY, 0, output, ""))).read()

    assert (reading.gpu_source, reading.gpus) == ("none", [])
    assert reading.gpu_note is not None
    assert reading.gpu_note.startswith("nvidia-smi failed: unexpected output")


def test_nvidia_smi_that_hangs(tmp_path: Path) -> None:
    runner = Replay(subprocess.TimeoutExpired(QUERY, 10))

    reading = HostMetrics(tmp_path, runner=runner).read()

    assert reading.gpu_source == "none"
    assert reading.gpu_note == "nvidia-smi failed: no answer within 10 seconds"


def test_nvidia_smi_that_cannot_be_run(tmp_path: Path) -> None:
    runner = Replay(PermissionError(13, "Permission denied"))

    reading = HostMetrics(tmp_path, runner=runner).read()

    assert reading.gpu_note == "nvidia-smi failed: [Errno 13] Permission denied"


def test_a_long_message_is_cut_to_fit_the_heartbeat(tmp_path: Path) -> None:
    failed = subprocess.CompletedProcess(QUERY, 1, "x" * 2_000, "")

    reading = HostMetrics(tmp_path, runner=Replay(failed)).read()

    assert reading.gpu_note is not None
    assert reading.gpu_note.startswith("nvidia-smi failed: xxx")
    assert len(reading.gpu_note) <= 300


def test_a_custom_nvidia_smi_path_is_the_one_run(tmp_path: Path) -> None:
    runner = Replay(recorded("rtx4090_busy.csv"))

    HostMetrics(tmp_path, nvidia_smi="/opt/nvidia/bin/nvidia-smi", runner=runner).read()

    assert runner.commands == [["/opt/nvidia/bin/nvidia-smi", *QUERY[1:]]]


# no NVIDIA tooling at all


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


# NVML


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


# the heartbeat body


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
