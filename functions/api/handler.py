"""Lambda entry point of the REST API.

A request is served by the route module of its URL (`routing.DOMAINS`), imported on the first request
that needs it: a cold start loads one domain, not all of them.
"""

from dumont_core.platform.coldstart import first_call_long_lived, long_lived

with long_lived():
    import importlib
    from functools import cache
    from typing import Any

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from api.app import resolver
    from api.bodies import unreadable_body
    from api.middleware import error_answer, json_sent_as_form, rate_limited_answer, with_rate_limit_headers
    from api.routing import module_serving
    from dumont_core.access.context import rate_from_context
    from dumont_core.platform.observability import observed
    from dumont_core.platform.settings import ApiSettings, load_settings

    logger = Logger()
    metrics = Metrics()
    # Checked at cold start: a missing variable stops the function before its first request.
    load_settings(ApiSettings)


@cache
def resolver_for(module: str | None) -> APIGatewayRestResolver:
    """The resolver of one route module; with no module, one that answers 404 to everything."""
    if module is None:
        return resolver()
    with long_lived():
        return resolver(importlib.import_module(module).routes)


@first_call_long_lived
@observed(logger, correlation_id_path=correlation_paths.API_GATEWAY_REST, metrics=metrics)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    json_sent_as_form(event)
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    rate = rate_from_context(authorizer)
    if rate is None:
        return served(event, context)
    # Over the limit, nothing runs: the authorizer counted nothing and the route is not called.
    answer = rate_limited_answer(rate) if rate.limited else served(event, context)
    return with_rate_limit_headers(answer, rate)


def served(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The route's answer; a body the API cannot read is refused before any route runs."""
    refusal = unreadable_body(event)
    if refusal is not None:
        return error_answer(refusal)
    answer: dict[str, Any] = resolver_for(module_serving(str(event.get("path") or ""))).resolve(
        event, context
    )
    return answer
