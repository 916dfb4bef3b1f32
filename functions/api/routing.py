"""How a route is declared, once: its method and path, who may call it, what it answers and how it can
fail. From that one declaration come the Powertools route, its OpenAPI operation, the authorization the
middleware applies, and (through the committed OpenAPI document) the route API Gateway deploys.

Every route module builds its routes with `DomainRoutes`; `DOMAINS` says which module serves which
URLs, so the handler imports only the module a request needs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar, get_args

from aws_lambda_powertools.event_handler import Request
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.responses import documented_responses
from dumont_core.access.permissions import AGENT_PERMISSION
from dumont_core.platform.identity import Principal

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

PERMISSION_EXTENSION = "x-dumont-permission"
PATH_TEAM_EXTENSION = "x-dumont-permission-in-path-team"
"""Set on routes whose permission is held in the team of the path (`/teams/{team_id}/…`), not necessarily
the team the credential acts in: the domain checks it against the caller's seat in that team."""
"""What the caller's role must grant; absent on public routes."""
CALLER_EXTENSION = "x-dumont-caller"
"""`anyone` (public), `member` (a team member; counted against their plan) or `agent` (an instance's
agent; not counted): what API Gateway asks of the request before our code runs."""
DEMO_EXTENSION = "x-dumont-demo"
"""Set on routes that serve demo mode (`?demo=true`): fictitious data, to callers without credentials too."""
WEBSOCKET_EXTENSION = "x-dumont-websocket"
"""Set on the operations the WebSocket API serves (live metrics), documented with the rest: the REST API
has no route for them."""
SECURITY_SCHEMES: dict[str, Any] = {
    "accessToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "`Authorization: Bearer <access token>`, the token `POST /api/v1/auth/login` answers; "
        "an API key is also accepted this way, as `Authorization: Bearer dumont_sk_…`",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "`X-API-Key: dumont_sk_…`, a team's API key from `POST /api/v1/api-keys`",
    },
    "agentToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "dumont_ag_…",
        "description": "`Authorization: Bearer dumont_ag_…`, the token the agent of one instance is started "
        "with; good for that instance's agent routes only",
    },
}
SECURITY: dict[str, list[dict[str, list[str]]] | None] = {
    "anyone": None,
    "member": [{"accessToken": []}, {"apiKey": []}],
    "agent": [{"agentToken": []}],
}
"""The credentials each kind of caller sends, by `caller_kind`."""

DOMAINS: dict[str, tuple[str, ...]] = {
    "api.instances.routes": ("/api/v1/instances",),
    "api.instances.unversioned": ("/api/instances", "/api/machines"),
    "api.ssh_keys.routes": ("/api/v1/ssh-keys",),
    "api.snapshots.routes": ("/api/v1/snapshots", "/api/snapshots"),
    "api.serverless.routes": ("/api/v1/serverless", "/api/metrics/hibernation"),
    "api.failover.routes": ("/api/v1/failover",),
    "api.webhooks.routes": ("/api/v1/webhooks", "/api/webhooks"),
    "api.billing.routes": ("/api/v1/balance", "/api/v1/billing"),
    "api.savings.routes": ("/api/savings", "/api/v1/savings"),
    "api.market.routes": (
        "/api/v1/market",
        "/api/metrics/market",
        "/api/metrics/predictions",
        "/api/metrics/providers",
    ),
    "api.offers.routes": ("/api/v1/offers",),
    "api.ai.routes": ("/api/ai",),
    "api.agents.routes": ("/api/agent",),
    "api.access.routes": ("/api/v1/auth", "/api/auth", "/api/v1/api-keys"),
    "api.teams.routes": ("/api/v1/teams", "/api/v1/roles"),
    "api.documentation.routes": ("/health", "/docs", "/openapi.json", "/demo-app"),
}
"""Route module -> the URL prefixes it serves, whole path segments each. The handler imports the module
of a request's URL, and no other."""


def module_serving(path: str) -> str | None:
    """The route module serving `path`, or None when no module serves it."""
    for module, prefixes in DOMAINS.items():
        if any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes):
            return module
    return None


def answer_description(answer: Any) -> str:
    """What a success answer holds, from the docstring of the view it is or wraps (in an envelope, or a
    list)."""
    described = answer
    while True:
        metadata = getattr(described, "__pydantic_generic_metadata__", None) or {}
        inner = metadata.get("args") or get_args(described)
        if not inner:
            break
        described = inner[0]
    doc = inspect.getdoc(described) if getattr(described, "__module__", "").startswith("api.") else None
    return doc.split("\n\n")[0].replace("\n", " ") if doc else "Done"


def caller_kind(permission: str | None) -> Literal["anyone", "member", "agent"]:
    if permission is None:
        return "anyone"
    return "agent" if permission == AGENT_PERMISSION else "member"


def the_caller(request: Request) -> Principal:
    """The caller, as the authorization middleware admitted them for this route."""
    principal: Principal = request.context["principal"]
    return principal


Caller = Annotated[Principal, Depends(the_caller)]
"""A route parameter receiving the authorized caller."""


def the_source_address(request: Request) -> str:
    """The address the request came from, as API Gateway saw the connection (`identity.sourceIp`); empty
    when the event has none."""
    context = request.resolved_event.raw_event.get("requestContext") or {}
    return str((context.get("identity") or {}).get("sourceIp") or "")


SourceAddress = Annotated[str, Depends(the_source_address)]
"""A route parameter receiving the caller's address."""

DemoMode = Annotated[
    bool,
    Query(
        description="Demo mode: fictitious machines (RTX 4090, A100, RTX 3090), nothing rented or stored; "
        "served without credentials too"
    ),
]
"""The `demo` query parameter of the routes that serve demo mode."""


def in_demo(caller: Principal, demo: bool) -> bool:
    """Whether to answer with demo data: asked for (`?demo=true`), whoever calls."""
    return demo or caller.demo


class DomainRoutes(APIGatewayRouter):
    """The routes of one domain, all under one OpenAPI tag."""

    def __init__(self, tag: str) -> None:
        super().__init__()
        self.tag = tag

    def operation(
        self,
        method: Method,
        path: str,
        answer: type,
        permission: str | None,
        *,
        status: int = 200,
        answered: str | None = None,
        errors: tuple[int, ...] = (),
        tag: str | None = None,
        media_type: str = "application/json",
        permission_in_path_team: bool = False,
        demo: bool = False,
    ) -> Callable[[HandlerT], HandlerT]:
        """Declare the route the decorated function serves. Its docstring documents it: the first line
        is the summary, the paragraphs after it the description. `permission` None makes it public;
        otherwise the caller must be admitted by the authorizer and hold the permission, and the route
        can answer 401 and 403 besides `errors`. `permission_in_path_team`: the permission is the caller's
        in the path's `team_id`, which the domain checks, when that is not the credential's team. `demo`: the
        route serves demo mode (`?demo=true`), to callers without credentials too."""
        kind = caller_kind(permission)
        if kind != "anyone":
            errors = (401, 403, *errors)
        if kind == "agent":
            # A person's credential sent here is counted against their plan, and past it refused.
            errors = (*errors, 429)
        extensions: dict[str, Any] = {CALLER_EXTENSION: kind}
        if permission is not None:
            extensions[PERMISSION_EXTENSION] = permission
        if permission_in_path_team:
            extensions[PATH_TEAM_EXTENSION] = True
        if demo:
            extensions[DEMO_EXTENSION] = True

        def register(handler: HandlerT) -> HandlerT:
            summary, _, description = inspect.cleandoc(handler.__doc__ or "").partition("\n\n")
            if not summary:
                raise ValueError(
                    f"{handler.__name__} needs a docstring: its first line is the route's summary"
                )
            declared = self.route(
                path.replace("{", "<").replace("}", ">"),
                method,
                summary=" ".join(summary.split()),
                description=" ".join(description.split()) or None,
                responses=documented_responses(
                    answer,
                    answered or answer_description(answer),
                    status,
                    tuple(set(errors)),
                    metered=kind == "member",
                    media_type=media_type,
                ),
                tags=[tag or self.tag],
                # Demo mode is served without credentials too: an empty requirement says they are optional.
                security=[*(SECURITY[kind] or []), {}] if demo else SECURITY[kind],
                openapi_extensions=extensions,
            )
            return declared(handler)

        return register
