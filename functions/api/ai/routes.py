"""The GPU advisor (`POST /api/ai/recommend-gpu`)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from api.ai.schemas import AdviceView, RecommendRequest
from api.responses import json_response
from api.routing import Caller, DomainRoutes
from dumont_core import composition

routes = DomainRoutes(tag="GPU advisor")
# Advice on what to rent is for those who may rent: it asks the provider, as creating an instance does.


@routes.operation("POST", "/api/ai/recommend-gpu", AdviceView, "instances.create", errors=(400, 503))
def recommend_gpu(_: Caller, body: Annotated[RecommendRequest, Body(embed=False)]) -> Response[str]:
    """Recommend a GPU

    Reads the job from `task`, estimates the GPU memory it needs (the rule is in `memory_rule`), and picks
    from the offers on the market now the machine that does one pass over `dataset_size` for the least,
    within `budget_per_hour`. A task it cannot read is a 400 saying what it understood; a budget nothing
    fits is said in `reasoning`, with `recommended_gpu` null."""
    advice = composition.gpu_advisor().advise(body.task, body.dataset_size, body.budget_per_hour)
    return json_response(AdviceView.model_validate(advice))
