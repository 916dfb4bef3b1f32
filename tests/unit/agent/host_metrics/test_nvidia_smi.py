"""The agent's GPU readings from nvidia-smi, against recorded answers of real machines and failures."""

from __future__ import annotations

import subprocess
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
