"""The WebSocket API of live metrics, `/ws/instance/{instance_id}/metrics`: connections open and close.

`$connect` lets a connection in with the REST API's credentials, checked and counted by the same access
service as the authorizer's: `?token=<access token or API key>` on the URL (browsers cannot set headers
on a WebSocket), `Authorization: Bearer …` or `X-API-Key: dumont_sk_…`; and only onto an instance of the
caller's team. A refusal answers the status of the REST API (401, 403, 404, 429) before the upgrade,
with the error envelope. `$disconnect` forgets the connection. What clients send is ignored: heartbeats
are pushed to them (`dumont_core.live`).
"""

from dumont_core.platform.coldstart import first_call_long_lived, long_lived

with long_lived():
    import json
    from typing import Any

    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from dumont_core import composition
    from dumont_core.access.credentials import credential_in
    from dumont_core.platform.errors import DumontError, ValidationFailed
    from dumont_core.platform.observability import observed
    from dumont_core.platform.settings import LiveConnectionSettings, load_settings

    logger = Logger()
    # Checked at cold start: a missing variable stops the function before its first request.
    load_settings(LiveConnectionSettings)

INSTANCE_PARAMETER = "instance_id"
"""Where the instance of the path reaches the function: API Gateway's WebSocket APIs route by message,
not by path, so the path's instance is handed on as this query parameter (see infra/components/live.py)."""
TOKEN_PARAMETER = "token"
OK = {"statusCode": 200}


def _envelope(error: DumontError) -> dict[str, Any]:
    """The refusal in the API's error envelope (seed 000)."""
    problem = {"code": error.code, "message": error.message, "details": error.details}
    body = {"success": False, "error": problem}
    headers = {"Content-Type": "application/json"}
    if error.retry_after is not None or "retry_after" in error.details:
        headers["Retry-After"] = str(error.retry_after or error.details["retry_after"])
    return {"statusCode": error.http_status, "headers": headers, "body": json.dumps(body)}


def _connect(event: dict[str, Any], connection_id: str) -> dict[str, Any]:
    query = event.get("queryStringParameters") or {}
    instance_id = str(query.get(INSTANCE_PARAMETER) or "").strip()
    credential = str(query.get(TOKEN_PARAMETER) or "").strip() or credential_in(event.get("headers"))
    try:
        if not instance_id:
            raise ValidationFailed(
                "Connect to /ws/instance/{instance_id}/metrics with the id of one of your instances",
                details={"fields": [{"field": INSTANCE_PARAMETER, "message": "missing"}]},
            )
        composition.live_metrics().connect(credential, instance_id, connection_id)
    except DumontError as refused:
        logger.info("Connection refused", extra={"code": refused.code, "instance_id": instance_id})
        return _envelope(refused)
    logger.info("Connection opened", extra={"instance_id": instance_id})
    return OK


@first_call_long_lived
@observed(logger)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("requestContext") or {}
    route, connection_id = request.get("routeKey"), str(request.get("connectionId") or "")
    if route == "$connect":
        return _connect(event, connection_id)
    if route == "$disconnect":
        composition.live_metrics().disconnect(connection_id)
    return OK
