"""What the agent reports in each heartbeat about its machine: GPUs, CPU, RAM and the workspace's disk.

GPUs are read through the NVIDIA management library (NVML, the ``pynvml`` module of ``nvidia-ml-py``) when it
is installed and starts, otherwise through ``nvidia-smi``. A machine without either still reports CPU, RAM
and disk, with a sentence in ``gpu_note`` saying why there are no GPU readings: a broken driver must never
stop the heartbeat.

Sizes are in GB of 2**30 bytes, the unit nvidia-smi and GPU data sheets use (an "80 GB" A100 reads 80.0).
"""

from __future__ import annotations

import importlib
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

BYTES_PER_GB = 2**30
MIB_PER_GB = 1024
NVIDIA_SMI_TIMEOUT_SECONDS = 10
NVIDIA_SMI_QUERY = "index,name,utilization.gpu,memory.used,memory.total,temperature.gpu"
# The heartbeat rejects a gpu_note longer than 500 characters; a driver's message can be long.
GPU_NOTE_MAX_CHARS = 300

# Values in pynvml that older releases may lack; these are the numbers NVML itself defines.
NVML_TEMPERATURE_GPU_DEFAULT = 0
NVML_ERROR_NOT_SUPPORTED_DEFAULT = 3

NVML_NOT_INSTALLED = "the NVIDIA management library is not available"

Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


@dataclass(frozen=True)
class GpuReading:
    index: int
    name: str
    utilization_percent: float
    """0 to 100. A GPU that does not report it (MIG mode, some virtual GPUs) reads 0.0, said in gpu_note."""
    memory_used_gb: float
    memory_total_gb: float
    temperature_c: float | None
    """None when the GPU does not report it (virtual GPUs, for one)."""

    def as_heartbeat(self) -> dict[str, object]:
        return {
            "index": self.index,
            "name": self.name,
            "utilization": round(self.utilization_percent, 1),
            "memory_used_gb": round(self.memory_used_gb, 1),
            "memory_total_gb": round(self.memory_total_gb, 1),
            "temperature": _rounded(self.temperature_c),
        }


@dataclass(frozen=True)
class HostReading:
    gpus: list[GpuReading]
    gpu_source: str
    """Where the GPU readings come from: "nvml", "nvidia-smi", or "none" when there are none."""
    gpu_note: str | None
    """Why there are no GPU readings when gpu_source is "none"; otherwise what is off about them (a field a
    GPU does not report, NVML failing so nvidia-smi was used), or None when nothing is."""
    cpu_percent: float
    ram_used_gb: float
    ram_total_gb: float
    disk_used_gb: float
    """Of the filesystem holding the workspace."""
    disk_total_gb: float

    def as_heartbeat(self) -> dict[str, object]:
        """The flat heartbeat body. GPU aggregates are None without a GPU, so the control plane does not
        average a machine without GPUs in as an idle one."""
        temperatures = [gpu.temperature_c for gpu in self.gpus if gpu.temperature_c is not None]
        has_gpus = bool(self.gpus)
        return {
            "gpu_utilization": (
                round(sum(gpu.utilization_percent for gpu in self.gpus) / len(self.gpus), 1)
                if has_gpus
                else None
            ),
            "gpu_memory_used_gb": (
                round(sum(gpu.memory_used_gb for gpu in self.gpus), 1) if has_gpus else None
            ),
            "gpu_memory_total_gb": (
                round(sum(gpu.memory_total_gb for gpu in self.gpus), 1) if has_gpus else None
            ),
            "gpu_temperature": _rounded(max(temperatures)) if temperatures else None,
            "gpu_count": len(self.gpus),
            "gpu_source": self.gpu_source,
            "gpu_note": self.gpu_note,
            "cpu_utilization": round(self.cpu_percent, 1),
            "ram_used_gb": round(self.ram_used_gb, 1),
            "ram_total_gb": round(self.ram_total_gb, 1),
            "disk_used_gb": round(self.disk_used_gb, 1),
            "disk_total_gb": round(self.disk_total_gb, 1),
            "gpus": [gpu.as_heartbeat() for gpu in self.gpus],
        }


class _NvidiaSmiFailed(Exception):
    """nvidia-smi ran but gave no usable answer; the message is the sentence for gpu_note."""


class _NvidiaSmiMissing(Exception):
    """There is no nvidia-smi to run."""


@dataclass(frozen=True)
class _GpuAnswer:
    gpus: list[GpuReading]
    notes: list[str]


class HostMetrics:
    """Reads the machine for each heartbeat.

    ``runner`` runs nvidia-smi (a list of arguments in, a finished process out) and ``nvml`` stands for an
    initialised ``pynvml`` module; both are there so tests need no GPU. Without ``nvml`` the real library is
    imported and started once, here, and the reason it could not be is kept for gpu_note.
    """

    def __init__(
        self,
        workspace: Path,
        *,
        nvidia_smi: str = "nvidia-smi",
        runner: Runner | None = None,
        nvml: object | None = None,
    ) -> None:
        self._workspace = workspace
        self._nvidia_smi = nvidia_smi
        self._runner: Runner = runner or _run_with_timeout
        self._nvml: Any = nvml
        self._nvml_unavailable = NVML_NOT_INSTALLED
        if nvml is None:
            self._nvml, self._nvml_unavailable = _start_nvml()
        # psutil measures CPU use between two calls, so the first call only starts the clock. Making it here
        # means the first read() covers the time since construction; read at once, it may still say 0.
        psutil.cpu_percent(interval=None)

    def read(self) -> HostReading:
        gpu_source, gpu_note, gpus = self._read_gpus()
        memory = psutil.virtual_memory()
        disk = psutil.disk_usage(str(_nearest_existing(self._workspace)))
        return HostReading(
            gpus=gpus,
            gpu_source=gpu_source,
            gpu_note=_short(gpu_note) if gpu_note else None,
            cpu_percent=_percent(float(psutil.cpu_percent(interval=None))),
            # What programs could not get without swapping; psutil's own "used" leaves out different
            # things on different systems.
            ram_used_gb=(memory.total - memory.available) / BYTES_PER_GB,
            ram_total_gb=memory.total / BYTES_PER_GB,
            disk_used_gb=disk.used / BYTES_PER_GB,
            disk_total_gb=disk.total / BYTES_PER_GB,
        )

    def _read_gpus(self) -> tuple[str, str | None, list[GpuReading]]:
        nvml_problem = self._nvml_unavailable
        nvml_failed_mid_way = False
        if self._nvml is not None:
            try:
                answer = _read_nvml(self._nvml)
            # Any failure of the library (a lost GPU, a driver reloaded under us) must cost only this
            # reading's NVML answer, not the heartbeat: nvidia-smi gets its turn.
            except Exception as error:
                nvml_problem = f"the NVIDIA management library failed ({_describe(error)})"
                nvml_failed_mid_way = True
            else:
                if not answer.gpus:
                    return "none", "No NVIDIA GPU found: the NVIDIA driver lists no GPUs", []
                return "nvml", _joined(answer.notes), answer.gpus

        try:
            answer = self._read_nvidia_smi()
        except _NvidiaSmiMissing:
            return "none", f"No NVIDIA GPU found: nvidia-smi is not installed and {nvml_problem}", []
        except _NvidiaSmiFailed as failure:
            note = str(failure)
            if nvml_failed_mid_way:
                note = f"{note}; {nvml_problem}"
            return "none", note, []
        if not answer.gpus:
            return "none", "No NVIDIA GPU found: nvidia-smi lists no GPUs", []
        notes = list(answer.notes)
        if nvml_failed_mid_way:
            notes.insert(0, f"Read with nvidia-smi because {nvml_problem}")
        return "nvidia-smi", _joined(notes), answer.gpus

    def _read_nvidia_smi(self) -> _GpuAnswer:
        command = [self._nvidia_smi, f"--query-gpu={NVIDIA_SMI_QUERY}", "--format=csv,noheader,nounits"]
        try:
            finished = self._runner(command)
        except FileNotFoundError:
            raise _NvidiaSmiMissing from None
        except subprocess.TimeoutExpired:
            raise _NvidiaSmiFailed(
                f"nvidia-smi failed: no answer within {NVIDIA_SMI_TIMEOUT_SECONDS} seconds"
            ) from None
        except OSError as error:
            raise _NvidiaSmiFailed(f"nvidia-smi failed: {_describe(error)}") from None
        if finished.returncode != 0:
            # nvidia-smi may print its own errors (a driver it cannot reach, no devices) on stdout rather
            # than stderr, so that is read when stderr says nothing.
            message = _first_line(finished.stderr) or _first_line(finished.stdout)
            raise _NvidiaSmiFailed(
                f"nvidia-smi failed: {message or f'it exited with status {finished.returncode}'}"
            )
        return _parse_nvidia_smi_csv(finished.stdout or "")


def _parse_nvidia_smi_csv(output: str) -> _GpuAnswer:
    """Parses ``nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total,temperature.gpu
    --format=csv,noheader,nounits`` (memory in MiB).

    A field the GPU does not report ("[N/A]", "[Not Supported]") is None for the temperature and 0 for the
    others, with a note naming it. Raises _NvidiaSmiFailed on a line of another shape.
    """
    gpus: list[GpuReading] = []
    notes: list[str] = []
    for line in output.splitlines():
        if not line.strip():
            continue
        # The name comes second and could itself hold a comma, so the four numbers are split off the end.
        head, *numbers = line.rsplit(",", 4)
        index_text, _, name = head.partition(",")
        if len(numbers) != 4 or not name:
            raise _NvidiaSmiFailed(f"nvidia-smi failed: unexpected output {line.strip()[:120]!r}")
        index = _number(index_text)
        if index is None:
            raise _NvidiaSmiFailed(f"nvidia-smi failed: unexpected output {line.strip()[:120]!r}")
        utilization, memory_used_mib, memory_total_mib, temperature = (_number(text) for text in numbers)
        missing = [
            field
            for field, value in (
                ("utilization", utilization),
                ("memory used", memory_used_mib),
                ("memory total", memory_total_mib),
            )
            if value is None
        ]
        if missing:
            notes.append(f"GPU {int(index)} does not report {' or '.join(missing)}, so it reads as 0")
        gpus.append(
            GpuReading(
                index=int(index),
                name=name.strip(),
                utilization_percent=_percent(utilization or 0.0),
                memory_used_gb=(memory_used_mib or 0.0) / MIB_PER_GB,
                memory_total_gb=(memory_total_mib or 0.0) / MIB_PER_GB,
                temperature_c=temperature,
            )
        )
    return _GpuAnswer(gpus, notes)


def _read_nvml(nvml: Any) -> _GpuAnswer:
    temperature_sensor = getattr(nvml, "NVML_TEMPERATURE_GPU", NVML_TEMPERATURE_GPU_DEFAULT)
    gpus: list[GpuReading] = []
    notes: list[str] = []
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        name = nvml.nvmlDeviceGetName(handle)
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        # A GPU may lack a sensor or a counter (MIG mode has no whole-GPU utilization); that is this GPU's
        # answer, as "[N/A]" is for nvidia-smi, not a reason to give up on NVML.
        rates = _unless_unsupported(nvml, nvml.nvmlDeviceGetUtilizationRates, handle)
        utilization = rates.gpu if rates is not None else None
        temperature = _unless_unsupported(nvml, nvml.nvmlDeviceGetTemperature, handle, temperature_sensor)
        if utilization is None:
            notes.append(f"GPU {index} does not report utilization, so it reads as 0")
        gpus.append(
            GpuReading(
                index=index,
                name=name.decode(errors="replace") if isinstance(name, bytes) else str(name),
                utilization_percent=_percent(float(utilization or 0)),
                memory_used_gb=memory.used / BYTES_PER_GB,
                memory_total_gb=memory.total / BYTES_PER_GB,
                temperature_c=float(temperature) if temperature is not None else None,
            )
        )
    return _GpuAnswer(gpus, notes)


def _unless_unsupported(nvml: Any, call: Callable[..., Any], *arguments: object) -> Any:
    """What ``call`` answers, or None when NVML says the GPU does not support it; other errors propagate."""
    not_supported = getattr(nvml, "NVML_ERROR_NOT_SUPPORTED", NVML_ERROR_NOT_SUPPORTED_DEFAULT)
    try:
        return call(*arguments)
    except Exception as error:
        if getattr(error, "value", None) == not_supported:
            return None
        raise


def _start_nvml() -> tuple[Any, str]:
    """The started pynvml module, or None and why not."""
    try:
        nvml = importlib.import_module("pynvml")
    except ImportError:
        return None, NVML_NOT_INSTALLED
    try:
        nvml.nvmlInit()
    # pynvml raises its own NVMLError family (driver not loaded, library not found, ...); none of them may
    # stop the agent from starting.
    except Exception as error:
        return None, f"the NVIDIA management library could not start ({_describe(error)})"
    return nvml, NVML_NOT_INSTALLED


def _run_with_timeout(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_SECONDS, check=False
    )


def _nearest_existing(path: Path) -> Path:
    """The workspace, or the closest folder above it that exists: before the first restore it may not."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return path


def _number(text: str) -> float | None:
    """A number from nvidia-smi, or None for "[N/A]", "[Not Supported]" and the like."""
    try:
        return float(text.strip())
    except ValueError:
        return None


def _percent(value: float) -> float:
    # The heartbeat refuses percentages outside 0 to 100; a glitching counter must not cost the heartbeat.
    return min(max(value, 0.0), 100.0)


def _rounded(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _first_line(text: str | None) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def _describe(error: BaseException) -> str:
    return str(error).strip() or type(error).__name__


def _joined(notes: Sequence[str]) -> str | None:
    return "; ".join(notes) if notes else None


def _short(note: str) -> str:
    return note if len(note) <= GPU_NOTE_MAX_CHARS else note[: GPU_NOTE_MAX_CHARS - 1].rstrip() + "…"
