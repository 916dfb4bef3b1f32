"""Lambda entry point of the REST API: one Powertools resolver, routers per domain."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from api import idempotency
from api.context import json_response
from api.routes import access, instances
from api.schemas import ErrorBody, ErrorEnvelope
from dumont_core.errors import DumontError

logger = Logger()
tracer = Tracer()
metrics = Metrics()

app = APIGatewayRestResolver(enable_validation=True)
app.include_router(instances.router)
app.include_router(access.router)

OPENAPI_TITLE = "Dumont Cloud API"
OPENAPI_DESCRIPTION = (
    "Spot GPUs that hibernate when idle and fail over without losing data. "
    "Send your API key in the `X-API-Key` header. Versioned routes answer "
    '`{"success": true, "data": ...}`; errors answer '
    '`{"success": false, "error": {"code", "message", "details"}}`.'
)
app.enable_swagger(path="/docs", title=OPENAPI_TITLE, description=OPENAPI_DESCRIPTION, version="1.0.0")


def error_response(
    status_code: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response[str]:
    envelope = ErrorEnvelope(error=ErrorBody(code=code, message=message, details=details or {}))
    return json_response(envelope, status_code)


@app.exception_handler(DumontError)
def handle_domain_error(error: DumontError) -> Response[str]:
    if error.http_status >= 500:
        logger.error("Request failed", extra={"code": error.code, "reason": error.message})
    else:
        logger.info("Request refused", extra={"code": error.code, "reason": error.message})
    return error_response(error.http_status, error.code, error.message, error.details)


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


@app.exception_handler(RequestValidationError)
def handle_validation_error(error: RequestValidationError) -> Response[str]:
    fields = []
    for problem in error.errors():
        location = tuple(problem.get("loc", ()))
        if problem.get("type") == "json_invalid":
            return error_response(
                400, "VALIDATION_ERROR", "The request body is not valid JSON", {"fields": []}
            )
        field = _field_name(location)
        message = str(problem.get("msg", "is invalid")).removeprefix("Value error, ")
        if problem.get("type") == "missing" and field == "body":
            message = "A JSON request body is required"
        fields.append({"field": field, "message": message})
    summary = "; ".join(f"{item['field']}: {item['message']}" for item in fields)
    logger.info("Request refused", extra={"code": "VALIDATION_ERROR", "fields": fields})
    return error_response(400, "VALIDATION_ERROR", f"Invalid request: {summary}", {"fields": fields})


@app.not_found
def handle_not_found(_: Exception) -> Response[str]:
    path = app.current_event.path
    return error_response(404, "NOT_FOUND", f"No route {app.current_event.http_method} {path}")


@app.exception_handler(Exception)
def handle_unexpected_error(error: Exception) -> Response[str]:
    logger.exception("Unexpected error")
    return error_response(500, "INTERNAL_ERROR", "Something went wrong on our side; please try again")


@app.get("/health", include_in_schema=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(
        status_code=200,
        content_type="application/json",
        body=app.get_openapi_json_schema(
            title=OPENAPI_TITLE, description=OPENAPI_DESCRIPTION, version="1.0.0"
        ),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return app.resolve(event, context)
