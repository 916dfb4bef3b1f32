"""What every request goes through, whatever its route: JSON sent as a form read as JSON, a body the API
cannot read refused (`api.bodies`), the plan's rate limit (429 before anything runs, the
`X-RateLimit-*` headers on every answer), and the caller's authorization for the route's permission."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from api.bodies import read_json
from api.routing import DEMO_EXTENSION, PATH_TEAM_EXTENSION, PERMISSION_EXTENSION
from api.schemas import ErrorEnvelope, ErrorView
from dumont_core.access.context import principal_from_context
from dumont_core.access.rates import RateWindow
from dumont_core.platform.clock import utc_now
from dumont_core.platform.errors import DumontError, Forbidden, RateLimited, Unauthenticated
from dumont_core.platform.identity import Principal

logger = Logger(child=True)
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
                if not _is_json(body):
                    return
                json_type = content_types.APPLICATION_JSON
                headers[name] = [json_type] if isinstance(value, list) else json_type


def _is_json(body: str) -> bool:
    try:
        read_json(body)
    except ValueError:
        return False
    except DumontError:
        return True  # JSON, if too deep to be read: read as JSON, it is refused as such
    return True


def rate_limit_headers(rate: RateWindow) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(rate.limit),
        "X-RateLimit-Remaining": str(rate.remaining),
        "X-RateLimit-Reset": str(rate.reset_at),
    }


def error_answer(error: DumontError, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The proxy answer of a request refused before its route runs, in the error envelope."""
    logger.info("Request refused", extra={"code": error.code, "reason": error.message})
    envelope = ErrorEnvelope(error=ErrorView(code=error.code, message=error.message, details=error.details))
    multi_value = {"Content-Type": [content_types.APPLICATION_JSON]}
    multi_value.update({name: [value] for name, value in (headers or {}).items()})
    return {
        "statusCode": error.http_status,
        "multiValueHeaders": multi_value,
        "body": envelope.model_dump_json(),
        "isBase64Encoded": False,
    }


def rate_limited_answer(rate: RateWindow) -> dict[str, Any]:
    """429 with Retry-After: over the limit, nothing runs (the authorizer counted nothing)."""
    retry_after = rate.retry_after(utc_now())
    error = RateLimited(
        f"Your plan allows {rate.limit} requests in this window; retry in {retry_after} s",
        details={"limit": rate.limit, "retry_after": retry_after, "reset": rate.reset_at},
    )
    return error_answer(error, {"Retry-After": str(retry_after)})


def with_rate_limit_headers(answer: dict[str, Any], rate: RateWindow) -> dict[str, Any]:
    headers = answer.setdefault("multiValueHeaders", {})
    for name, value in rate_limit_headers(rate).items():
        headers[name] = [value]
    return answer


def authorize(app: ApiGatewayResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Let the call through if the route is public, or the caller's role grants its permission; the
    admitted caller is what `routing.Caller` hands the route."""
    route = app.context.get("_route")
    extensions = getattr(route, "openapi_extensions", None) or {}
    permission = extensions.get(PERMISSION_EXTENSION)
    if permission is not None:
        authorizer = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
        principal = principal_from_context(authorizer)
        if principal is None:
            raise Unauthenticated("Send an access token or API key")
        serves_demo = bool(extensions.get(DEMO_EXTENSION))
        if principal.demo:
            return _demo(app, next_middleware, principal, serves_demo)
        if serves_demo and _demo_asked(app):
            # Demo data is anyone's: a member asking for it needs no permission of their team (a viewer's
            # demo create is a demo create, not a 403).
            app.append_context(principal=principal)
            return next_middleware(app)
        path_team = (app.context.get("_route_args") or {}).get("team_id")
        in_another_team = extensions.get(PATH_TEAM_EXTENSION) and path_team != principal.team_id
        if not in_another_team and not principal.may(permission):
            raise Forbidden(
                f"Your role {principal.role} in this team does not allow this (needs {permission})",
                details={"permission": permission, "role": principal.role},
            )
        app.append_context(principal=principal)
    return next_middleware(app)


def _demo_asked(app: ApiGatewayResolver) -> bool:
    query = app.current_event.query_string_parameters or {}
    return str(query.get("demo", "")).strip().lower() == "true"


def _demo(
    app: ApiGatewayResolver, next_middleware: NextMiddleware, principal: Principal, serves_demo: bool
) -> Response[Any]:
    """A demo-mode caller without credentials reaches the routes that serve demo mode, and no other."""
    if not serves_demo:
        raise Unauthenticated(
            "Demo mode (?demo=true) serves listing, reading and creating instances and reading their "
            "events, metrics, logs and SSH keys (/api/machines, /api/instances, /api/v1/instances); send an "
            "access token or API key for this route"
        )
    app.append_context(principal=principal)
    return next_middleware(app)
