"""The GPU advisor's request and answer."""

from __future__ import annotations

from pydantic import Field

from api.schemas import RequestBody, View
from dumont_core.market.advisor import Choice


class RecommendRequest(RequestBody):
    task: str = Field(
        min_length=1,
        max_length=300,
        examples=["fine-tune llama2-7b"],
        description="What to run: an action (train, fine-tune, inference) and a model with its size, e.g. "
        "`fine-tune llama2-7b`, `inference mixtral 8x7b`, `train resnet50`; `4-bit`, `int8`, `qlora`, "
        "`full fine-tune` are understood",
    )
    dataset_size: str | None = Field(
        default=None,
        max_length=32,
        examples=["50GB"],
        description="e.g. 50GB, 500MB: gives a time and a cost",
    )
    budget_per_hour: float | None = Field(default=None, gt=0, le=1000, examples=[1.0])


class ChoiceView(View, Choice):
    """A machine that fits the job: its GPU, price and the time and cost of one pass over the dataset."""


class AdviceView(View):
    """The GPU to rent for a job, why, how long it takes and what it costs, and the alternatives."""

    recommended_gpu: str | None = Field(description="Null when nothing on the market fits (see reasoning)")
    reasoning: str
    estimated_time: str | None = Field(description="One pass over dataset_size; null without it")
    total_cost: str | None
    recommendation: ChoiceView | None
    memory_needed_gb: float
    memory_rule: str = Field(description="How the memory was estimated, written out")
    understood: dict[str, str | float] = Field(description="What was read from the task")
    alternatives: list[ChoiceView]
