"""The GPU advisor on a fixed market: the memory a job needs, the class of GPU it picks for it, the time
and cost of a pass over a dataset, a budget nothing fits, and a task it cannot read."""

from __future__ import annotations

import pytest

from dumont_core.market.advisor import GpuAdvisor
from dumont_core.market.offers import OfferBook
from dumont_core.market.tasks import facts
from dumont_core.platform.errors import ValidationFailed
from dumont_core.providers.models import Offer
from tests.fakes.provider import FakeProvider

MARKET = [  # provider name, GPUs, GB per GPU, $ per hour
    ("Tesla T4", 1, 16, 0.10),
    ("Tesla V100", 1, 16, 0.20),
    ("RTX 4080", 1, 16, 0.25),
    ("RTX 3090", 1, 24, 0.22),
    ("A10", 1, 24, 0.28),
    ("RTX 4090", 1, 24, 0.40),
    ("RTX A6000", 1, 48, 0.55),
    ("L40S", 1, 48, 0.85),
    ("A100 SXM4", 1, 80, 1.40),
    ("H100 SXM", 1, 80, 2.50),
    ("A100 SXM4", 2, 80, 2.80),
    ("A100 SXM4", 4, 80, 5.60),
    ("H100 SXM", 8, 80, 20.00),
]


@pytest.fixture
def advisor() -> GpuAdvisor:
    offers = [
        Offer(
            offer_id=index,
            gpu_name=name,
            num_gpus=gpus,
            gpu_memory_gb=memory,
            price_per_hour=price,
            min_bid_per_hour=price / 2,
            reliability=0.98,
            geolocation="Texas, US",
            region="us-central",
            disk_space_gb=500,
        )
        for index, (name, gpus, memory, price) in enumerate(MARKET, start=1)
    ]
    return GpuAdvisor(
        offers=OfferBook(providers=[FakeProvider(name="vastai", offers=offers)], ttl_seconds=60)
    )


def gpu_class(advisor: GpuAdvisor, task: str) -> str:
    advice = advisor.advise(task, None, None)
    assert advice.recommendation is not None, advice.reasoning
    chosen = next(name for name in MARKET if MARKET.index(name) + 1 == advice.recommendation.offer_id)
    return "multi" if chosen[1] > 1 else str(chosen[2])


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("fine-tune llama2-7b", "24"),
        ("inference mixtral 8x7b", "multi"),
        ("train resnet50", "16"),
        ("inference llama2-7b", "24"),
        ("inference llama2-7b in int8", "16"),
        ("inference llama2-7b 4-bit", "16"),
        ("QLoRA llama2-70b", "48"),
        ("fine-tune llama2-70b", "multi"),
        ("inference llama2-70b", "multi"),
        ("serve llama2-70b quantized to 4-bit", "48"),
        ("full fine-tune mistral-7b", "multi"),
        ("fine-tune Mistral 7B", "24"),
        ("train bert-base", "16"),
        ("fine-tune bert-large", "16"),
        ("inference stable diffusion xl", "16"),
        ("train vit-large", "16"),
        ("fine-tune llama2-13b", "48"),
        ("inference llama2-13b", "48"),
        ("inference falcon-40b", "multi"),
        ("inference falcon-40b int8", "80"),
        ("train gpt2", "16"),
        ("inference whisper-large", "16"),
        ("train a 3b model from scratch", "80"),
        ("qlora mixtral 8x7b", "48"),
        ("inference mixtral 8x22b 4-bit", "multi"),
        ("inference llama3-8b", "24"),
        ("qlora llama3-8b", "16"),
        ("fine-tune sdxl", "16"),
        ("train stable diffusion 1.5", "24"),
        ("transcribe podcasts with whisper-large", "16"),
    ],
)
def test_the_gpu_class_each_task_needs(advisor: GpuAdvisor, task: str, expected: str) -> None:
    assert gpu_class(advisor, task) == expected


def test_a_dataset_gives_a_time_and_a_cost_and_the_cheapest_job_wins(advisor: GpuAdvisor) -> None:
    advice = advisor.advise("fine-tune llama2-7b", "1GB", None)
    assert advice.memory_needed_gb == 20.2
    assert "x 1.3" in advice.memory_rule and "LORA" in advice.reasoning
    assert advice.recommendation is not None and advice.estimated_time and advice.total_cost
    # 0.25B tokens x 4 x 7B parameters at 35% of each GPU: the fastest per dollar, not the cheapest per hour.
    costs = [
        float(choice.total_cost.strip("$").replace(",", ""))
        for choice in advice.alternatives
        if choice.total_cost
    ]
    assert costs, "alternatives with a cost to compare against"
    assert all(float(advice.total_cost.strip("$")) <= cost for cost in costs)
    assert "0.25B tokens" in advice.reasoning


def test_a_budget_nothing_fits_says_so(advisor: GpuAdvisor) -> None:
    advice = advisor.advise("inference llama2-70b", None, 1.0)
    assert advice.recommended_gpu is None and advice.total_cost is None
    assert "Nothing that fits costs $1.00/hour or less" in advice.reasoning
    assert "4x A100 at $5.60/hour" in advice.reasoning


def test_a_budget_picks_among_what_it_allows(advisor: GpuAdvisor) -> None:
    advice = advisor.advise("inference llama2-7b", None, 0.30)
    assert advice.recommended_gpu == "RTX 3090"


@pytest.mark.parametrize(
    ("task", "understood"),
    [
        ("make me a chatbot", {"action": None, "model": None}),
        ("llama2-7b", {"action": None, "model": "llama2-7b"}),
        ("train something big", {"action": "train", "model": None}),
    ],
)
def test_a_task_it_cannot_read_is_refused_saying_what_it_understood(
    advisor: GpuAdvisor, task: str, understood: dict[str, str | None]
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        advisor.advise(task, None, None)
    assert refused.value.details["understood"] == understood
    assert refused.value.details["fields"][0]["field"] == "task"


def test_an_unreadable_dataset_size_is_refused(advisor: GpuAdvisor) -> None:
    with pytest.raises(ValidationFailed, match="50GB"):
        advisor.advise("train resnet50", "lots", None)


def test_every_model_the_advisor_knows_says_where_its_size_comes_from() -> None:
    for model in facts()["models"]:
        assert str(model.get("source", "")).startswith("https://"), model["names"][0]
        if "gflops_per_sample" in model:
            assert "gflops_source" in model or "gflops_note" in model or "pytorch.org" in model["source"]


def test_llama3_8b_is_counted_at_eight_billion_parameters(advisor: GpuAdvisor) -> None:
    advice = advisor.advise("inference llama3-8b", None, None)
    assert advice.understood["parameters_b"] == 8.0
    assert advice.memory_needed_gb == 20.2  # 8B x 2 bytes x 1.2 + 1 GB


@pytest.mark.parametrize(
    ("task", "counted"),
    [
        ("fine-tune sdxl", "0.00909M images (110 KB each) x 2 x 8200 GFLOPs a U-Net pass"),
        ("train stable diffusion", "0.00909M images (110 KB each) x 3 x 678 GFLOPs a U-Net pass"),
        ("inference stable diffusion", "x 50 denoising steps x 678 GFLOPs a U-Net pass"),
    ],
)
def test_image_models_get_a_time_and_a_cost(advisor: GpuAdvisor, task: str, counted: str) -> None:
    advice = advisor.advise(task, "1GB", None)
    assert advice.estimated_time and advice.total_cost
    assert counted in advice.reasoning


def test_whisper_counts_its_dataset_as_audio_not_text(advisor: GpuAdvisor) -> None:
    advice = advisor.advise("transcribe with whisper-large", "1152MB", None)  # 10 hours at 32 KB a second
    assert advice.estimated_time and advice.total_cost
    assert (
        "10 hours of audio (16 kHz, 32 KB a second) x 50 positions a second x 2 x parameters"
        in advice.reasoning
    )
    assert "tokens" not in advice.reasoning
