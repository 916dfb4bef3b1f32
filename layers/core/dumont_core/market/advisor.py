"""The GPU advisor: from a job's description, the memory it needs (`tasks`), the offers that hold it now,
and the one that does the job for least, with the reasoning a person can follow.

Time is one pass over the dataset at a share of the GPU's dense tensor throughput (35% when training,
25% for inference), several GPUs of one offer counted at 90% each; the cost is that time at the offer's
on-demand price. Without a dataset size, the cheapest offer per hour that fits is chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dumont_core.market.offers import MarketOffer, OfferBook, OfferFilter
from dumont_core.market.tasks import Job, dataset_bytes, facts, memory_needed, read_task, work
from dumont_core.platform.models import DomainModel

TRAINING_UTILISATION = 0.35
INFERENCE_UTILISATION = 0.25
SHARDED_EFFICIENCY = 0.9
"""Several GPUs of one machine: each counts this much, in memory (sharding) and in speed."""
ALTERNATIVES = 3


class Choice(DomainModel):
    gpu: str
    gpu_type: str
    num_gpus: int
    offer_id: int
    price_per_hour: float
    estimated_hours: float | None
    estimated_time: str | None
    total_cost: str | None


class Advice(DomainModel):
    recommended_gpu: str | None
    reasoning: str
    estimated_time: str | None
    total_cost: str | None
    recommendation: Choice | None
    memory_needed_gb: float
    memory_rule: str
    understood: dict[str, str | float]
    alternatives: list[Choice]


def usable_memory(offer: MarketOffer) -> float:
    share = 1.0 if offer.num_gpus == 1 else SHARDED_EFFICIENCY
    return offer.gpu_memory_gb * offer.num_gpus * share


def human_time(hours: float) -> str:
    if hours < 1:
        return f"{max(1, round(hours * 60))} minutes"
    if hours < 48:
        return f"{hours:.1f} hours"
    return f"{hours / 24:.1f} days"


@dataclass(frozen=True, kw_only=True)
class GpuAdvisor:
    offers: OfferBook

    def advise(self, task: str, dataset_size: str | None, budget_per_hour: float | None) -> Advice:
        job = read_task(task)
        need, rule = memory_needed(job)
        size = dataset_bytes(dataset_size)
        fitting = [offer for offer in self.offers.offers(OfferFilter()) if usable_memory(offer) >= need]
        choices = sorted(_cheapest_per_machine(fitting), key=lambda choice: _cost_key(job, size, choice))
        ranked = [_choice(job, size, offer) for offer in choices]
        affordable = [
            choice for choice in ranked if budget_per_hour is None or choice.price_per_hour <= budget_per_hour
        ]
        understood: dict[str, str | float] = {
            "action": job.action,
            "model": job.model,
            "parameters_b": job.parameters_b,
            "method": job.method,
            "precision": job.precision,
        }
        reasoning = _reasoning(job, need, rule, size, ranked, affordable, budget_per_hour)
        best = affordable[0] if affordable else None
        return Advice(
            recommended_gpu=best.gpu if best else None,
            reasoning=reasoning,
            estimated_time=best.estimated_time if best else None,
            total_cost=best.total_cost if best else None,
            recommendation=best,
            memory_needed_gb=need,
            memory_rule=rule,
            understood=understood,
            alternatives=[choice for choice in ranked if choice is not best][:ALTERNATIVES],
        )


def _cheapest_per_machine(offers: Sequence[MarketOffer]) -> list[MarketOffer]:
    """The cheapest offer of each GPU type and GPU count."""
    cheapest: dict[tuple[str, int], MarketOffer] = {}
    for offer in offers:
        key = (offer.gpu_type, offer.num_gpus)
        if key not in cheapest or offer.price_per_hour < cheapest[key].price_per_hour:
            cheapest[key] = offer
    return list(cheapest.values())


def _hours(job: Job, size: float | None, offer: MarketOffer) -> float | None:
    counted = work(job, size) if size is not None else None
    if counted is None:
        return None
    fact = _fact(offer.gpu_type)
    share = TRAINING_UTILISATION if job.action != "inference" else INFERENCE_UTILISATION
    scale = 1.0 if offer.num_gpus == 1 else offer.num_gpus * SHARDED_EFFICIENCY
    return counted[0] / (float(fact["tensor_tflops"]) * 1e12 * share * scale) / 3600


def _cost_key(job: Job, size: float | None, offer: MarketOffer) -> tuple[float, float]:
    hours = _hours(job, size, offer)
    if hours is None:
        return (offer.price_per_hour, 0.0)
    return (hours * offer.price_per_hour, hours)


def _choice(job: Job, size: float | None, offer: MarketOffer) -> Choice:
    hours = _hours(job, size, offer)
    return Choice(
        gpu=str(_fact(offer.gpu_type)["name"]),
        gpu_type=offer.gpu_type,
        num_gpus=offer.num_gpus,
        offer_id=offer.offer_id,
        price_per_hour=offer.price_per_hour,
        estimated_hours=round(hours, 2) if hours is not None else None,
        estimated_time=human_time(hours) if hours is not None else None,
        total_cost=f"${hours * offer.price_per_hour:,.2f}" if hours is not None else None,
    )


def _fact(gpu_type: str) -> dict[str, Any]:
    return next(gpu for gpu in facts()["gpus"] if gpu["gpu_type"] == gpu_type)


def _reasoning(
    job: Job,
    need: float,
    rule: str,
    size: float | None,
    ranked: Sequence[Choice],
    affordable: Sequence[Choice],
    budget: float | None,
) -> str:
    what = f"{job.action} {job.model}" + (f" with {job.method.upper()}" if job.method != "full" else "")
    needs = f"{what} needs about {need:g} GB of GPU memory ({rule})."
    if not ranked:
        return f"{needs} No offer on the market now holds that much, even with several GPUs."
    if not affordable:
        cheapest = min(ranked, key=lambda choice: choice.price_per_hour)
        return (
            f"{needs} Nothing that fits costs ${budget:.2f}/hour or less: the cheapest that fits is "
            f"{_machine(cheapest)} at ${cheapest.price_per_hour:.2f}/hour."
        )
    best = affordable[0]
    counted = work(job, size) if size is not None else None
    if counted is None or best.estimated_time is None:
        why = "the lowest price per hour of the offers that fit" + (
            "; give dataset_size for a time and total cost" if size is None else ""
        )
        return f"{needs} {_machine(best)} fits at ${best.price_per_hour:.2f}/hour, {why}."
    return (
        f"{needs} {_machine(best)} fits at ${best.price_per_hour:.2f}/hour and does one pass over "
        f"{counted[1]} in about {best.estimated_time} at {_share(job):.0%} of its dense tensor throughput: "
        f"the lowest total cost ({best.total_cost}) of the {len(ranked)} machines that fit."
    )


def _machine(choice: Choice) -> str:
    return choice.gpu if choice.num_gpus == 1 else f"{choice.num_gpus}x {choice.gpu}"


def _share(job: Job) -> float:
    return TRAINING_UTILISATION if job.action != "inference" else INFERENCE_UTILISATION
