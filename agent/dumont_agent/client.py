"""The agent's configuration, from its environment, and its side of the API, with retries for what is
worth retrying."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from dumont_agent.logs import log_files_from

logger = logging.getLogger("dumont_agent")

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class AgentError(Exception):
    """Something an action could not do, said so a person can act on it."""


@dataclass(frozen=True)
class AgentConfig:
    api_url: str
    token: str
    workspace: Path
    state_dir: Path
    instance_id: str | None = None
    log_files: tuple[Path, ...] = ()
    upload_workers: int = 8
    request_timeout_seconds: float = 60.0
    authorized_keys: Path = Path.home() / ".ssh" / "authorized_keys"

    @classmethod
    def from_environment(cls, environment: dict[str, str] | None = None) -> AgentConfig:
        values = os.environ if environment is None else environment
        missing = [name for name in ("DUMONT_API_URL", "DUMONT_AGENT_TOKEN") if not values.get(name)]
        if missing:
            raise SystemExit(f"dumont-agent: set {' and '.join(missing)} (the machine's first boot does)")
        workspace = Path(values.get("DUMONT_WORKSPACE", "/workspace"))
        return cls(
            api_url=values["DUMONT_API_URL"].rstrip("/"),
            token=values["DUMONT_AGENT_TOKEN"],
            workspace=workspace,
            state_dir=Path(values.get("DUMONT_AGENT_STATE", str(Path.home() / ".dumont-agent"))),
            instance_id=values.get("DUMONT_INSTANCE_ID") or None,
            log_files=tuple(log_files_from(values.get("DUMONT_LOG_FILES"))),
            upload_workers=int(values.get("DUMONT_UPLOAD_WORKERS", "8")),
            authorized_keys=Path(
                values.get("DUMONT_AUTHORIZED_KEYS", str(Path.home() / ".ssh" / "authorized_keys"))
            ),
        )


class ApiClient:
    """The agent's side of the API, with retries for what is worth retrying."""

    def __init__(
        self,
        config: AgentConfig,
        transport: httpx.BaseTransport | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self._stop = stop or threading.Event()
        self._api = httpx.Client(
            base_url=config.api_url,
            headers={"Authorization": f"Bearer {config.token}"},
            timeout=config.request_timeout_seconds,
            transport=transport,
        )
        # Presigned S3 URLs carry their own authorisation: no API token goes to S3.
        self._storage = httpx.Client(timeout=config.request_timeout_seconds, transport=transport)

    def close(self) -> None:
        self._api.close()
        self._storage.close()

    def heartbeat(self, reading: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/api/agent/status", reading)

    def report(
        self, action_id: str, status: str, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        body: dict[str, Any] = {"status": status}
        if result is not None:
            body["result"] = result
        if error is not None:
            body["error"] = error[:4000]
        self._call("POST", f"/api/agent/actions/{action_id}", body)

    def ship_logs(self, lines: list[dict[str, str]]) -> None:
        self._call("POST", "/api/agent/logs", {"lines": lines})

    def plan_uploads(
        self, snapshot_id: str, chunks: list[dict[str, Any]], *, append: bool = False
    ) -> dict[str, Any]:
        """`append`: these chunks add to those planned before; otherwise they are all of the snapshot's
        (the field is sent only when true, so an API from before it answers the first plan too)."""
        body: dict[str, Any] = {"chunks": chunks, "append": True} if append else {"chunks": chunks}
        return self._call("POST", f"/api/agent/snapshots/{snapshot_id}/uploads", body)

    def plan_downloads(self, snapshot_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/agent/snapshots/{snapshot_id}/downloads")

    def put(self, url: str, content: bytes) -> None:
        self._with_retries(lambda: self._storage.put(url, content=content), "upload")

    def get(self, url: str) -> bytes:
        return self._with_retries(lambda: self._storage.get(url), "download").content

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._with_retries(lambda: self._api.request(method, path, json=body), f"{method} {path}")
        answer: dict[str, Any] = response.json()
        return answer

    def _with_retries(
        self, send: Callable[[], httpx.Response], what: str, attempts: int = 5
    ) -> httpx.Response:
        delay = 0.5
        for attempt in range(1, attempts + 1):
            try:
                response = send()
            except httpx.TransportError as error:
                if attempt == attempts:
                    raise AgentError(f"{what}: no answer ({error})") from error
            else:
                if response.status_code not in RETRYABLE_STATUS or attempt == attempts:
                    if response.is_error:
                        raise AgentError(f"{what}: {response.status_code} {response.text[:300]}")
                    return response
            # A stopped agent tries no more: it must not go on calling an API that may be gone.
            if self._stop.wait(delay):
                raise AgentError(f"{what}: the agent is stopping")
            delay = min(delay * 2, 8.0)
        raise AgentError(f"{what}: gave up")
