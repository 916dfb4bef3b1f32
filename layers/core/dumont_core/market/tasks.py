"""Reading a job from a sentence ("fine-tune llama2-7b", "inference mixtral 8x7b", "train resnet50") and
the memory it needs, with the rule written out so a person can check it."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

from dumont_core.platform.errors import ValidationFailed
from dumont_core.platform.models import DomainModel

FACTS_FILE = Path(__file__).with_name("gpu_facts.json")
Action = Literal["train", "fine-tune", "inference"]
Method = Literal["full", "lora", "qlora"]

_ACTIONS: tuple[tuple[Action, tuple[str, ...]], ...] = (
    ("fine-tune", ("fine-tune", "finetune", "fine tune", "lora", "qlora", "sft")),
    (
        "inference",
        ("inference", "infer", "serve", "serving", "deploy", "generate", "run ", "predict", "transcribe"),
    ),
    ("train", ("train", "pretrain", "pre-train")),
)
_PRECISIONS = (
    (0.5, "4-bit", ("4-bit", "4bit", "int4", "qlora", "gptq", "awq")),
    (1.0, "8-bit", ("8-bit", "8bit", "int8")),
    (4.0, "fp32", ("fp32", "float32", "full precision")),
)
_SIZE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*([bm])\b")
_EXPERTS = re.compile(r"(?<![\w.])(\d+)\s*x\s*(\d+(?:\.\d+)?)\s*b\b")
_DATASET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1.0, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, None: 1e9}
EXAMPLES = "'fine-tune llama2-7b', 'inference mixtral 8x7b', 'train resnet50', 'qlora 70b'"


class Job(DomainModel):
    action: Action
    model: str
    parameters_b: float
    kind: str
    """`language`, `audio`, `vision` or `image`: how its dataset is counted."""
    method: Method
    bytes_per_parameter: float
    precision: str
    gflops_per_sample: float | None = None


@cache
def facts() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FACTS_FILE.read_text())
    return loaded


def display_name(gpu_type: str) -> str:
    """How people and the older documents write a GPU type ("RTX 4090", "A100"); its id when unknown."""
    return next((str(gpu["name"]) for gpu in facts()["gpus"] if gpu["gpu_type"] == gpu_type), gpu_type)


def _refused(field: str, message: str, understood: dict[str, Any]) -> ValidationFailed:
    return ValidationFailed(
        f"Invalid request: {field}: {message}",
        details={"fields": [{"field": field, "message": message}], "understood": understood},
    )


def _action(text: str) -> Action | None:
    return next((action for action, words in _ACTIONS if any(word in text for word in words)), None)


def _model(text: str) -> tuple[str, float, str, float | None] | None:
    """The model named: one we know, or a size such as `13b` or `8x7b`; name, billions, kind, GFLOPs."""
    known = [(name, model) for model in facts()["models"] for name in model["names"] if name in text]
    if known:
        name, model = max(known, key=lambda found: len(found[0]))
        return name, float(model["parameters_b"]), str(model["kind"]), model.get("gflops_per_sample")
    if experts := _EXPERTS.search(text):
        return experts.group(0), int(experts.group(1)) * float(experts.group(2)), "language", None
    if size := _SIZE.search(text):
        billions = float(size.group(1)) / (1000 if size.group(2) == "m" else 1)
        return size.group(0), billions, "language", None
    return None


def read_task(task: str) -> Job:
    """The job a sentence describes; 400 naming what was understood when it names no model or action."""
    text = f" {task.lower().strip()} "
    action, model = _action(text), _model(text)
    understood = {"action": action, "model": model[0] if model else None}
    if model is None:
        raise _refused(
            "task",
            f"could not find a model and its size in {task.strip()!r}; write e.g. {EXAMPLES}",
            understood,
        )
    if action is None:
        raise _refused("task", f"say what to do with {model[0]}: train, fine-tune or inference", understood)
    bytes_per, precision = next(
        ((size, label) for size, label, words in _PRECISIONS if any(word in text for word in words)),
        (2.0, "bf16"),
    )
    method: Method = "full"
    if action == "fine-tune" and "full" not in text:
        method = "qlora" if bytes_per == 0.5 else "lora"
    return Job(
        action=action,
        model=model[0],
        parameters_b=model[1],
        kind=model[2],
        method=method,
        bytes_per_parameter=bytes_per,
        precision=precision,
        gflops_per_sample=model[3],
    )


def memory_needed(job: Job) -> tuple[float, str]:
    """GB of GPU memory the job needs, and the rule that says so."""
    weights = job.parameters_b * job.bytes_per_parameter
    size = f"{job.parameters_b:g}B parameters"
    if job.action == "inference":
        need = weights * 1.2 + 1
        rule = (
            f"{size} x {job.bytes_per_parameter:g} bytes ({job.precision}) x 1.2 for activations and KV "
            "cache + 1 GB"
        )
    elif job.method in ("lora", "qlora"):
        need = weights * 1.3 + 2
        rule = (
            f"{size} x {job.bytes_per_parameter:g} bytes for the frozen weights ({job.precision}) x 1.3 "
            "for the adapters, their optimizer state and activations + 2 GB"
        )
    else:
        headroom = 6 if job.kind == "vision" else 2
        need = job.parameters_b * 16 * 1.25 + headroom
        rule = (
            f"{size} x 16 bytes (weights 2, gradients 2, fp32 master weights 4, Adam moments 8) x 1.25 for "
            f"activations + {headroom} GB for a batch"
        )
    return round(need, 1), rule


def dataset_bytes(dataset_size: str | None) -> float | None:
    """`50GB`, `500 MB`, `1.2TB` or a number of GB; None when not given."""
    if dataset_size is None:
        return None
    found = _DATASET.match(dataset_size)
    if found is None:
        raise _refused("dataset_size", f"write a size such as 50GB, 500MB or 1.2TB, not {dataset_size!r}", {})
    return float(found.group(1)) * _UNITS[found.group(2).lower() if found.group(2) else None]


TEXT_BYTES_PER_TOKEN = 4
IMAGE_BYTES = 110e3
AUDIO_BYTES_PER_SECOND = 32_000
"""16 kHz 16-bit mono, what Whisper hears (its paper, arXiv 2212.04356)."""
AUDIO_POSITIONS_PER_SECOND = 50
"""Whisper's encoder sees 1,500 positions per 30-second window."""
DENOISING_STEPS = 50
"""Diffusers' default number of inference steps for Stable Diffusion and SDXL."""


def _passes(job: Job) -> int:
    """Forward passes' worth of work per token or sample: a forward pass is 2 FLOPs a parameter, the
    backward pass twice that, and a frozen base (LoRA) skips the weights' gradients."""
    return {"inference": 2, "fine-tune": 4 if job.method != "full" else 6, "train": 6}[job.action]


def work(job: Job, data_bytes: float) -> tuple[float, str] | None:
    """Floating-point operations for one pass over the dataset, and how they were counted; None for kinds
    the advisor cannot time."""
    parameters = job.parameters_b * 1e9
    per = _passes(job)
    if job.kind == "language":
        tokens = data_bytes / TEXT_BYTES_PER_TOKEN
        return per * parameters * tokens, f"{tokens / 1e9:.3g}B tokens (4 bytes each) x {per} x parameters"
    if job.kind == "audio":
        seconds = data_bytes / AUDIO_BYTES_PER_SECOND
        positions = seconds * AUDIO_POSITIONS_PER_SECOND
        # Every parameter at every encoder position: the decoder runs per text token, so this is high.
        return (
            per * parameters * positions,
            f"{seconds / 3600:.3g} hours of audio (16 kHz, 32 KB a second) x 50 positions a second x {per} "
            "x parameters",
        )
    if job.gflops_per_sample is None:
        return None
    samples = data_bytes / IMAGE_BYTES
    if job.kind == "image":
        # Generating an image runs the U-Net once per denoising step; training runs it forward and
        # backward at one noise level per image.
        passes = DENOISING_STEPS if job.action == "inference" else per / 2
        counted = f"{DENOISING_STEPS} denoising steps" if job.action == "inference" else f"{passes:g}"
        return (
            passes * job.gflops_per_sample * 1e9 * samples,
            f"{samples / 1e6:.3g}M images (110 KB each) x {counted} x {job.gflops_per_sample:g} GFLOPs a "
            "U-Net pass",
        )
    passes = 1 if job.action == "inference" else 3
    return (
        passes * job.gflops_per_sample * 1e9 * samples,
        f"{samples / 1e6:.3g}M images (110 KB each) x {passes} x {job.gflops_per_sample:g} GFLOPs",
    )
