"""A threaded HTTP server of the local stack, served so that stopping it ends every thread it started, and
answering the requests it cannot parse (headers too large, a malformed request line) in the API's error
envelope rather than an HTML page.

werkzeug's threaded server answers each connection in a daemon thread that nothing keeps, and a client
that keeps its HTTP/1.1 connection open keeps that thread waiting for its next request after the server
stopped. These threads are kept here; stopping shuts their connections and joins them.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

PARSE_ERRORS = {
    400: ("BAD_REQUEST", "The request could not be parsed as HTTP/1.1"),
    414: ("URI_TOO_LONG", "The request's URL is too long: keep it under 64 KiB"),
    431: (
        "HEADERS_TOO_LARGE",
        "The request's headers are too large: keep each header line under 64 KiB and send at most 100",
    ),
}


def error_envelope(code: str, message: str) -> str:
    return json.dumps({"success": False, "error": {"code": code, "message": message, "details": {}}})


class JsonErrorRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, but what the HTTP server refuses itself is answered as JSON."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        error_code, text = PARSE_ERRORS.get(code, ("BAD_REQUEST", message or "The request was refused"))
        body = error_envelope(error_code, text).encode()
        self.close_connection = True
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class ServerThreads:
    def __init__(self, server: BaseWSGIServer, name: str, poll_interval: float = 0.5) -> None:
        self._server = server
        self._name = name
        self._poll_interval = poll_interval
        self._lock = threading.Lock()
        self._connections: dict[Any, threading.Thread] = {}
        self._thread: threading.Thread | None = None
        # The serving loop calls this for each accepted connection, in place of the threaded server's own.
        server.process_request = self._process_request  # type: ignore[method-assign]

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": self._poll_interval},
            name=self._name,
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Stop accepting, end the connections still open, and wait up to `timeout` s for their threads."""
        deadline = time.monotonic() + timeout
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = dict(self._connections)
        for connection in connections:
            # A thread waiting for the next request on this connection reads its end, and finishes.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread in [self._thread, *connections.values()]:
            if thread is not None:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"{self._name}-connection",
            daemon=True,
        )
        # Kept before it starts: once the serving loop has stopped, every connection thread is known.
        with self._lock:
            self._connections[request] = thread
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self._server.finish_request(request, client_address)
        except Exception:
            self._server.handle_error(request, client_address)
        finally:
            self._server.shutdown_request(request)
            with self._lock:
                self._connections.pop(request, None)
