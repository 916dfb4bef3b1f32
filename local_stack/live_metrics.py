"""The local stack's WebSocket API of live metrics: what API Gateway does in AWS.

A WebSocket upgrade of `/ws/instance/{instance_id}/metrics` runs the live metrics function's `$connect`,
with the event API Gateway would hand it (the path's instance as the `instance_id` query parameter, as
the WebSocket API receives it in AWS); a refusal is answered with its status and envelope before the
upgrade. The connection is then kept until either side closes it, when `$disconnect` runs. Heartbeats
reach it through the Management API's `POST /@connections/{connection_id}`, served here on the same
port, so the functions push through the same client as in AWS (`LIVE_METRICS_ENDPOINT`); a connection
that is gone answers 410 `GoneException`, as API Gateway does.

The WebSocket protocol is simple-websocket's, on werkzeug's server (each connection keeps the thread
werkzeug serves it in, which the front's `ServerThreads` keeps and ends).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from socket import SHUT_RDWR
from typing import Any

from simple_websocket import ConnectionClosed, Server
from werkzeug.wrappers import Request, Response

from local_stack.lambda_runtime import FunctionError
from local_stack.serving import error_envelope

RECEIVE_SECONDS = 1.0
"""How often a connection's thread looks up from waiting for a client message to see if it should end."""
CLOSE_SECONDS = 2.0
"""How long a client is given to answer the close of its connection."""


class _Connection:
    def __init__(self, socket: Server) -> None:
        self.socket = socket
        self.sending = threading.Lock()


class LiveMetricsSockets:
    def __init__(
        self, invoke: Callable[[str, dict[str, Any]], Any], function_name: str, *, account_id: str, stage: str
    ) -> None:
        self._invoke = invoke
        self._function_name = function_name
        self._account_id = account_id
        self._stage = stage
        self._lock = threading.Lock()
        self._connections: dict[str, _Connection] = {}
        self._stopping = threading.Event()
        self.api_id = "local-websocket"

    # the Management API

    def post(self, connection_id: str, data: bytes) -> Response:
        """`POST /@connections/{connection_id}`: 200 once the message is sent, 410 when it is gone."""
        with self._lock:
            connection = self._connections.get(connection_id)
        if connection is not None:
            try:
                with connection.sending:
                    connection.socket.send(data.decode())
                return Response(status=200)
            except (ConnectionClosed, OSError):
                self._forget(connection_id)
        gone = Response(
            json.dumps({"message": f"Connection {connection_id} is gone"}),
            status=410,
            content_type="application/json",
        )
        gone.headers["x-amzn-ErrorType"] = "GoneException"
        return gone

    # the WebSocket side

    def serve(self, request: Request, instance_id: str) -> Response | None:
        """Answer a request for the instance's live metrics: a refusal (or a plain HTTP request's 426) as
        the response to send; None once an accepted connection has been served to its end."""
        if request.headers.get("Upgrade", "").lower() != "websocket":
            refused = Response(
                error_envelope("UPGRADE_REQUIRED", "Open a WebSocket here (ws:// or wss://), not a request"),
                status=426,
                content_type="application/json",
            )
            refused.headers["Upgrade"] = "websocket"
            return refused
        connection_id = secrets.token_urlsafe(12)
        answer = self._run("$connect", connection_id, request, instance_id)
        status = int(answer.get("statusCode", 500))
        if status != 200:
            response = Response(answer.get("body") or "", status=status)
            for name, value in (answer.get("headers") or {}).items():
                response.headers[name] = value
            return response
        try:
            socket = Server(request.environ)
        except Exception:
            self._run("$disconnect", connection_id, request, instance_id)
            raise
        with self._kept(connection_id, socket, request.environ["werkzeug.socket"]):
            self._wait_for_close(socket)
        self._run("$disconnect", connection_id, request, instance_id)
        return None

    def stop(self) -> None:
        """Close every connection: their threads then run `$disconnect` and end."""
        self._stopping.set()
        with self._lock:
            connections = list(self._connections.values())
        for connection in connections:
            with contextlib.suppress(Exception), connection.sending:
                connection.socket.close()

    @contextlib.contextmanager
    def _kept(self, connection_id: str, socket: Server, request_socket: Any) -> Iterator[None]:
        with self._lock:
            self._connections[connection_id] = _Connection(socket)
        try:
            yield
        finally:
            self._forget(connection_id)
            with contextlib.suppress(Exception):
                socket.close()
            # The thread simple-websocket reads the connection in ends when the client answers the close;
            # a client that never does is cut off. Then the TCP connection is ended, which closing the
            # socket alone does not do while werkzeug's request handler still holds it.
            socket.thread.join(timeout=CLOSE_SECONDS)
            with contextlib.suppress(OSError):
                request_socket.shutdown(SHUT_RDWR)
            socket.thread.join(timeout=CLOSE_SECONDS)

    def _forget(self, connection_id: str) -> None:
        with self._lock:
            self._connections.pop(connection_id, None)

    def _wait_for_close(self, socket: Server) -> None:
        # Clients send nothing that matters: what they send is read and dropped, until they close.
        while not self._stopping.is_set():
            try:
                socket.receive(timeout=RECEIVE_SECONDS)
            except ConnectionClosed:
                return

    def _run(self, route: str, connection_id: str, request: Request, instance_id: str) -> dict[str, Any]:
        event = self._event(route, connection_id, request, instance_id)
        try:
            answer = self._invoke(self._function_name, event)
        except FunctionError:
            return {"statusCode": 500, "body": error_envelope("INTERNAL_ERROR", "The connection failed")}
        return answer if isinstance(answer, dict) else {"statusCode": 200}

    def _event(self, route: str, connection_id: str, request: Request, instance_id: str) -> dict[str, Any]:
        now = time.time()
        event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
        query = {name: values[-1] for name, values in request.args.lists()}
        event: dict[str, Any] = {
            "requestContext": {
                "routeKey": route,
                "eventType": event_type,
                "connectionId": connection_id,
                "extendedRequestId": str(uuid.uuid4()),
                "requestId": str(uuid.uuid4()),
                "messageDirection": "IN",
                "stage": self._stage,
                "apiId": self.api_id,
                "domainName": request.host,
                "connectedAt": int(now * 1000),
                "requestTimeEpoch": int(now * 1000),
                "identity": {"sourceIp": request.remote_addr, "userAgent": request.user_agent.string},
            },
            "isBase64Encoded": False,
        }
        if route == "$connect":
            # As the WebSocket API receives it in AWS: the path's instance as a query parameter.
            event["headers"] = dict(request.headers.items())
            event["multiValueHeaders"] = {name: request.headers.getlist(name) for name in event["headers"]}
            event["queryStringParameters"] = {**query, "instance_id": instance_id}
        return event
