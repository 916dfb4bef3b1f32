"""The REST resolver every route module is served by: its error handling and middleware, one place."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.bodies import read_json
from api.middleware import authorize
from api.responses import error_response
from dumont_core.platform.errors import DumontError

logger = Logger(child=True)


def resolver(*routers: APIGatewayRouter) -> APIGatewayRestResolver:
    """A resolver serving `routers`, with validation, authorization and the error envelope."""
    # Bodies are read by `read_json`, which refuses absurd nesting with a 400 instead of recursing on it.
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=read_json)
    app.use([authorize])
    for router in routers:
        app.include_router(router)

    @app.exception_handler(DumontError)
    def domain_error(error: DumontError) -> Response[str]:
        if error.http_status >= 500:
            logger.error("Request failed", extra={"code": error.code, "reason": error.message})
        else:
            logger.info("Request refused", extra={"code": error.code, "reason": error.message})
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
        return error_response(error.http_status, error.code, error.message, error.details, headers)

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response[str]:
        return validation_error_response(error.errors())

    @app.not_found
    def no_route(_: Exception) -> Response[str]:
        event = app.current_event
        return error_response(404, "NOT_FOUND", f"No route {event.http_method} {event.path}")

    @app.exception_handler(Exception)
    def unexpected(_: Exception) -> Response[str]:
        logger.exception("Unexpected error")
        return error_response(500, "INTERNAL_ERROR", "Something went wrong on our side; please try again")

    return app


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_error_response(problems: Any) -> Response[str]:
    """400 VALIDATION_ERROR naming every bad field, instead of Powertools' 422."""
    fields = []
    for problem in problems:
        if problem.get("type") == "json_invalid":
            return error_response(
                400, "VALIDATION_ERROR", "The request body is not valid JSON", {"fields": []}
            )
        field = _field_name(tuple(problem.get("loc", ())))
        message = str(problem.get("msg", "is invalid")).removeprefix("Value error, ")
        if problem.get("type") == "missing" and field == "body":
            message = "A JSON request body is required"
        fields.append({"field": field, "message": message})
    summary = "; ".join(f"{item['field']}: {item['message']}" for item in fields)
    logger.info("Request refused", extra={"code": "VALIDATION_ERROR", "fields": fields})
    return error_response(400, "VALIDATION_ERROR", f"Invalid request: {summary}", {"fields": fields})
