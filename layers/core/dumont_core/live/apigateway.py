"""The live metrics publisher in AWS: API Gateway's Management API posts to a WebSocket connection."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from botocore.config import Config

from dumont_core.live.service import MAX_PARALLEL_SENDS
from dumont_core.platform.aws import aws_session, creating_clients

# A heartbeat waits for these: a slow connection must not hold it up. One HTTP connection per parallel send.
CLIENT_CONFIG = Config(
    connect_timeout=1,
    read_timeout=2,
    retries={"max_attempts": 1, "mode": "standard"},
    max_pool_connections=MAX_PARALLEL_SENDS,
)


class ManagementApiPublisher:
    def __init__(self, endpoint: str) -> None:
        self._endpoint = endpoint
        """`https://{api id}.execute-api.{region}.amazonaws.com/{stage}`: the WebSocket API's stage."""

    @cached_property
    def _client(self) -> Any:
        with creating_clients():
            return aws_session(None).create_client(
                "apigatewaymanagementapi", endpoint_url=self._endpoint, config=CLIENT_CONFIG
            )

    def send(self, connection_id: str, message: bytes) -> bool:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=message)
        except self._client.exceptions.GoneException:
            return False
        return True
