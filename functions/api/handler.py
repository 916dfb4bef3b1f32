"""Lambda entry point of the REST API: one Powertools resolver, routers per domain."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from api import idempotency
from api.context import json_response
from api.routes import access, agent, instances, serverless, snapshots, teams
from api.schemas import ErrorBody, ErrorEnvelope
from dumont_core.access.context import rate_from_context
from dumont_core.access.service import RateWindow
from dumont_core.errors import DumontError, RateLimited
from dumont_core.models import utc_now

logger = Logger()
tracer = Tracer()
metrics = Metrics()

app = APIGatewayRestResolver(enable_validation=True)
app.include_router(instances.router)
app.include_router(access.router)
app.include_router(teams.router)
app.include_router(agent.router)
app.include_router(snapshots.router)
app.include_router(serverless.router)

OPENAPI_TITLE = "Dumont Cloud API"
OPENAPI_DESCRIPTION = (
    "Spot GPUs that hibernate when idle and fail over without losing data.\n\n"
    "**Credentials.** Send one of `Authorization: Bearer <access token>` (from `POST /api/v1/auth/login`), "
    "`Authorization: Bearer dumont_sk_…` or `X-API-Key: dumont_sk_…` (from `POST /api/v1/api-keys`). "
    "Each credential acts in one team, with the permissions of your role there.\n\n"
    "**Rate limits.** Free: 60 requests/minute and 1,000/day; Pro: 300/minute and 10,000/day; "
    "Enterprise: 1,000/minute, no daily cap; counted per member of a team. Every authenticated answer "
    "carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (epoch seconds) for "
    "the window nearest its limit. Past it: 429 `RATE_LIMITED` with `Retry-After` (seconds); the request "
    "is not carried out.\n\n"
    "Versioned routes answer "
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


def rate_limit_headers(rate: RateWindow) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(rate.limit),
        "X-RateLimit-Remaining": str(rate.remaining),
        "X-RateLimit-Reset": str(rate.reset_at),
    }


def rate_limited(rate: RateWindow) -> dict[str, Any]:
    retry_after = rate.retry_after(utc_now())
    logger.info("Request refused", extra={"code": RateLimited.code, "retry_after": retry_after})
    envelope = ErrorEnvelope(
        error=ErrorBody(
            code=RateLimited.code,
            message=f"Your plan allows {rate.limit} requests in this window; retry in {retry_after} s",
            details={"limit": rate.limit, "retry_after": retry_after, "reset": rate.reset_at},
        )
    )
    return {
        "statusCode": RateLimited.http_status,
        "multiValueHeaders": {
            "Content-Type": [content_types.APPLICATION_JSON],
            "Retry-After": [str(retry_after)],
        },
        "body": envelope.model_dump_json(),
        "isBase64Encoded": False,
    }


FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def json_sent_as_form(event: dict[str, Any]) -> None:
    """`curl -d '{…}'` labels a JSON body as a form; read such a body as the JSON it is."""
    body = event.get("body")
    if not isinstance(body, str) or event.get("isBase64Encoded") or not body.lstrip().startswith(("{", "[")):
        return
    for key in ("headers", "multiValueHeaders"):
        headers = event.get(key) or {}
        for name, value in list(headers.items()):
            values = value if isinstance(value, list) else [value]
            if name.lower() == "content-type" and any(
                str(item).startswith(FORM_CONTENT_TYPE) for item in values
            ):
                try:
                    json.loads(body)
                except ValueError:
                    return
                headers[name] = (
                    [content_types.APPLICATION_JSON]
                    if isinstance(value, list)
                    else content_types.APPLICATION_JSON
                )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    json_sent_as_form(event)
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    rate = rate_from_context(authorizer)
    if rate is None:
        return app.resolve(event, context)
    # Over the limit, nothing runs: the authorizer counted nothing and the route is not called.
    answer = rate_limited(rate) if rate.limited else app.resolve(event, context)
    multi_value = answer.setdefault("multiValueHeaders", {})
    for name, value in rate_limit_headers(rate).items():
        multi_value[name] = [value]
    return answer
