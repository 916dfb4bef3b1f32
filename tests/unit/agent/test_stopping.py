"""A stopped agent calls the API no more: its machine may be going away, or the API it reports to."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from dumont_agent.agent import AgentConfig, AgentError, ApiClient


def test_a_stopped_agent_retries_no_request(tmp_path: Path) -> None:
    stop = threading.Event()
    sent: list[httpx.Request] = []

    def unavailable(request: httpx.Request) -> httpx.Response:
        # The agent is told to stop while the API answers with an error worth retrying.
        sent.append(request)
        stop.set()
        return httpx.Response(503)

    config = AgentConfig(api_url="http://api.test", token="t", workspace=tmp_path, state_dir=tmp_path)
    client = ApiClient(config, httpx.MockTransport(unavailable), stop)
    with pytest.raises(AgentError, match="stopping"):
        client.heartbeat({"gpu_utilization": 1})
    client.close()
    assert len(sent) == 1
