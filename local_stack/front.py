"""The local stack's HTTP front: what API Gateway does in AWS.

It matches the request against the deployed routes, runs the REQUEST authorizer on every
non-public route (no caching, so a revoked key stops working at once), turns the request into a
REST API Lambda proxy event carrying the authorizer's context, and runs the API handler. A metered route
requires a usage key, as its method does in AWS (API key source AUTHORIZER): an authorizer answer that names
none is refused as API Gateway refuses it. On the same port it serves the WebSocket API of live metrics and
its Management API (`local_stack.live_metrics`).
"""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from infra.topology import (
    API_FUNCTION,
    API_ROUTES,
    AUTHORIZER_FUNCTION,
    LIVE_METRICS_FUNCTION,
    LIVE_METRICS_PATH,
    Route,
)
from local_stack.lambda_runtime import FunctionError
from local_stack.live_metrics import LiveMetricsSockets
from local_stack.serving import JsonErrorRequestHandler, ServerThreads, error_envelope

STAGE = "prod"
MANAGEMENT_PATH = re.compile(r"^/@connections/(?P<connection_id>[^/]+)$")
UPGRADED = Response(status=101)


@dataclass(frozen=True)
class _CompiledRoute:
    route: Route
    pattern: re.Pattern[str]


def _compile(route: Route) -> _CompiledRoute:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
    return _CompiledRoute(route, re.compile(f"^{regex}$"))


def _error(status: int, code: str, message: str) -> Response:
    return Response(error_envelope(code, message), status=status, content_type="application/json")


class ApiFront:
    def __init__(
        self,
        invoke: Callable[[str, dict[str, Any]], Any],
        *,
        function_name: str,
        authorizer_name: str,
        live_metrics_name: str,
        api_id: str,
        account_id: str,
        region: str,
        host: str = "127.0.0.1",
        port: int = 8766,
    ) -> None:
        self._invoke = invoke
        self._function_name = function_name
        self._authorizer_name = authorizer_name
        self.api_id = api_id
        """The REST API the events name; may be set after the front listens."""
        self._account_id = account_id
        self._region = region
        self._routes = [_compile(route) for route in API_ROUTES]
        self._live_path = _compile(Route("GET", LIVE_METRICS_PATH)).pattern
        self.live_metrics = LiveMetricsSockets(invoke, live_metrics_name, account_id=account_id, stage=STAGE)
        self._server: BaseWSGIServer = make_server(
            host, port, self._wsgi, threaded=True, request_handler=JsonErrorRequestHandler
        )
        self._threads = ServerThreads(self._server, "api-front")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._threads.start()

    def stop(self, timeout: float = 10) -> None:
        # WebSocket connections first: each closes, runs `$disconnect` and ends its thread.
        self.live_metrics.stop()
        self._threads.stop(timeout)

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self._live(request)
        if response is UPGRADED:
            # The connection was upgraded and served to its end: no HTTP response follows. werkzeug's
            # server takes this as the client going away, and writes nothing.
            raise ConnectionAbortedError("WebSocket closed")
        return (response or self._handle(request))(environ, start_response)

    def _live(self, request: Request) -> Response | None:
        """The answer of a live metrics request (UPGRADED once a WebSocket was served); None for others."""
        management = MANAGEMENT_PATH.match(request.path)
        if management is not None and request.method == "POST":
            return self.live_metrics.post(management["connection_id"], request.get_data())
        watched = self._live_path.match(request.path)
        if watched is not None and request.method == "GET":
            return self.live_metrics.serve(request, watched["instance_id"]) or UPGRADED
        return None

    def _match(self, request: Request) -> tuple[_CompiledRoute | None, dict[str, str], list[str]]:
        """The route of the request and its path parameters; else the methods its path allows."""
        allowed: list[str] = []
        for compiled in self._routes:
            found = compiled.pattern.match(request.path)
            if found:
                if compiled.route.method == request.method:
                    return compiled, found.groupdict(), allowed
                allowed.append(compiled.route.method)
        return None, {}, allowed

    def _handle(self, request: Request) -> Response:
        compiled, path_parameters, allowed = self._match(request)
        if compiled is None:
            if allowed:
                refused = _error(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"{request.method} is not allowed on {request.path}; use {', '.join(sorted(allowed))}",
                )
                refused.headers["Allow"] = ", ".join(sorted(allowed))
                return refused
            return _error(404, "NOT_FOUND", f"No route {request.method} {request.path}")
        event = self._proxy_event(request, compiled.route, path_parameters)
        if not compiled.route.public:
            answer = self._authorize(event)
            if answer is None:
                return _error(
                    401,
                    "UNAUTHENTICATED",
                    "Send a valid access token or API key: `Authorization: Bearer …` or `X-API-Key: …`",
                )
            authorizer_context, usage_key = answer
            if compiled.route.metered and not usage_key:
                # The method requires an API key, and the authorizer named none (INVALID_API_KEY).
                return _error(401, "UNAUTHENTICATED", "Unknown or disabled API key")
            event["requestContext"]["authorizer"] = authorizer_context
        result = self._invoke(self._function_name, event)
        return self._response(result)

    def _authorize(self, proxy_event: dict[str, Any]) -> tuple[dict[str, Any], str | None] | None:
        """The context the authorizer hands the API and the usage key it names; None when it refuses."""
        method_arn = (
            f"arn:aws:execute-api:{self._region}:{self._account_id}:{self.api_id}/{STAGE}/"
            f"{proxy_event['httpMethod']}{proxy_event['path']}"
        )
        carried = ("resource", "path", "httpMethod", "headers", "queryStringParameters", "pathParameters")
        authorizer_event = {
            "type": "REQUEST",
            "methodArn": method_arn,
            **{key: proxy_event[key] for key in carried},
            "requestContext": proxy_event["requestContext"],
        }
        try:
            answer = self._invoke(self._authorizer_name, authorizer_event)
        except FunctionError:
            return None
        # API Gateway hands the context on with every value as a string.
        context = {
            name: ("true" if value else "false") if isinstance(value, bool) else str(value)
            for name, value in answer.get("context", {}).items()
        }
        return {"principalId": answer["principalId"], **context}, answer.get("usageIdentifierKey")

    def _proxy_event(
        self,
        request: Request,
        route: Route,
        path_parameters: dict[str, str],
    ) -> dict[str, Any]:
        raw_body = request.get_data()
        try:
            body: str | None = raw_body.decode() if raw_body else None
            is_base64 = False
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(raw_body).decode(), True
        headers = dict(request.headers.items())
        multi_headers = {name: request.headers.getlist(name) for name in headers}
        query = {name: values[-1] for name, values in request.args.lists()} or None
        multi_query = dict(request.args.lists()) or None
        now = time.time()
        return {
            "resource": route.path,
            "path": request.path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": route.path,
                "httpMethod": request.method,
                # Served at the root, as API Gateway serves a stage through a custom domain: the path the
                # caller sent is the whole path (behind the default endpoint it starts with the stage).
                "path": request.path,
                "stage": STAGE,
                "requestId": str(uuid.uuid4()),
                "extendedRequestId": str(uuid.uuid4()),
                "accountId": self._account_id,
                "apiId": self.api_id,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "requestTimeEpoch": int(now * 1000),
                "domainName": request.host,
                # The connection's own address, as API Gateway reports it; never a header the caller sets
                # (X-Forwarded-For): the limits on guessing count per address.
                "identity": {"sourceIp": request.remote_addr, "userAgent": request.user_agent.string},
            },
            "body": body,
            "isBase64Encoded": is_base64,
        }

    @staticmethod
    def _response(result: dict[str, Any]) -> Response:
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        response = Response(payload, status=int(result.get("statusCode", 502)))
        for name, value in (result.get("headers") or {}).items():
            response.headers[name] = value
        for name, values in (result.get("multiValueHeaders") or {}).items():
            response.headers.remove(name)
            for value in values:
                response.headers.add(name, value)
        return response


def api_function_name(prefix: str) -> str:
    return f"{prefix}{API_FUNCTION.name}"


def authorizer_function_name(prefix: str) -> str:
    return f"{prefix}{AUTHORIZER_FUNCTION.name}"


def live_metrics_function_name(prefix: str) -> str:
    return f"{prefix}{LIVE_METRICS_FUNCTION.name}"
