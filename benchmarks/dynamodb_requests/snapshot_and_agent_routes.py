"""The snapshot routes, and the agent's routes around them: a snapshot, a restore and a deletion on a
machine whose agent carries them out, then a snapshot on a machine whose agent the bench stands in for.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime

from websockets.sync.client import connect

from benchmarks.dynamodb_requests.client import POLL_INTERVAL_SECONDS, WAIT_SECONDS, BenchClient
from benchmarks.dynamodb_requests.machines import HEARTBEAT, agent_token, fill_workspace, machine_of
from local_stack.embedded_aws import TABLE_NAME
from local_stack.stack import LocalStack


def exercise_snapshots(client: BenchClient, stack: LocalStack, instance_id: str) -> tuple[str, str]:
    """Take two snapshots, restore the first and delete it. Returns the snapshot kept, and the id of the
    restore the agent carried out."""
    fill_workspace(stack, instance_id)
    first = client.measure(
        "POST",
        "/api/v1/snapshots",
        expected_status=202,
        body={"instance_id": instance_id, "name": "before upgrade", "compression": "lz4"},
    ).json()["data"]["id"]
    client.wait_for_snapshot(first)
    client.measure("GET", "/api/v1/snapshots", case="1 snapshot")
    client.measure("GET", f"/api/v1/snapshots/{first}")
    client.measure("GET", "/api/v1/snapshots/snap_0000000000000000", case="unknown id", expected_status=404)

    workspace = stack.machine_agents.workspace(machine_of(stack, instance_id)["id"])
    (workspace / "notes.md").write_text("# run 8\n")
    second = client.measure(
        "POST", "/api/snapshots", expected_status=202, body={"instance_id": instance_id, "name": "after"}
    ).json()["snapshot_id"]
    client.wait_for_snapshot(second)
    client.measure("GET", f"/api/snapshots/{second}")
    client.measure(
        "GET", "/api/v1/snapshots", case="2 snapshots, ?instance_id", query={"instance_id": instance_id}
    )

    client.measure(
        "POST", f"/api/v1/snapshots/{first}/restore", expected_status=202, body={"instance_id": instance_id}
    )
    restore_action = _finished_action(stack, instance_id, "restore", first)
    client.measure("DELETE", f"/api/v1/snapshots/{first}")
    return second, restore_action


def exercise_agent_routes(
    client: BenchClient, stack: LocalStack, instance_id: str, snapshot_id: str, finished_action_id: str
) -> None:
    """The agent's routes, called with the machine's own agent token while its agent runs.

    The agent carries out real actions within a heartbeat, so the outcomes that need an action or a
    snapshot in progress are measured on a machine whose agent the bench stands in for (below).
    """
    token = agent_token(machine_of(stack, instance_id))
    client.measure("POST", "/api/agent/status", case="no action waiting", body=HEARTBEAT, bearer=token)
    # Watched over a WebSocket: the heartbeat pushes to the connection it finds on the instance it reads.
    url = stack.url.replace("http://", "ws://") + f"/ws/instance/{instance_id}/metrics?token={stack.api_key}"
    with connect(url, open_timeout=30):
        client.measure("POST", "/api/agent/status", case="watched live", body=HEARTBEAT, bearer=token)
    lines = [
        {
            "timestamp": datetime.now(UTC).isoformat(),
            "message": f"machine.log: epoch {epoch}: loss 0.{93 - epoch}",
        }
        for epoch in range(1, 4)
    ]
    client.measure("POST", "/api/agent/logs", case="3 lines", body={"lines": lines}, bearer=token)
    client.measure(
        "GET", f"/api/agent/snapshots/{snapshot_id}/downloads", case="completed snapshot", bearer=token
    )
    client.measure(
        "POST",
        f"/api/agent/snapshots/{snapshot_id}/uploads",
        case="refused: snapshot completed",
        expected_status=409,
        body={"chunks": []},
        bearer=token,
    )
    client.measure(
        "POST",
        f"/api/agent/actions/{finished_action_id}",
        case="completed again: a retried report",
        body={"status": "completed", "result": {}},
        bearer=token,
    )
    client.measure(
        "POST",
        "/api/agent/actions/act_00000000000000000000",
        case="unknown action",
        expected_status=404,
        body={"status": "running"},
        bearer=token,
    )


def exercise_agent_routes_mid_snapshot(client: BenchClient, stack: LocalStack, instance_id: str) -> None:
    """The bench stands in for the machine's agent through a snapshot: the heartbeat that hands out the
    action, the `running` report, the upload plan, and the final report that ends the workflow's wait.

    The machine's own agent is stopped first, so it does not take the action; the snapshot is reported
    failed in the end, since the bench uploads nothing.
    """
    machine = machine_of(stack, instance_id)
    token = agent_token(machine)
    stack.machine_agents.kill_agent(machine["id"])
    # A heartbeat already under way when the agent was stopped finishes; let it, so it cannot take the action.
    time.sleep(stack.config.agent_heartbeat_seconds * 2)
    created = client.request("POST", "/api/v1/snapshots", {"instance_id": instance_id, "name": "stand-in"})
    snapshot_id = created.json()["data"]["id"]
    action_id = _offered_action(client, token, snapshot_id)
    client.measure("POST", "/api/agent/status", case="an action waiting", body=HEARTBEAT, bearer=token)
    client.measure(
        "POST", f"/api/agent/actions/{action_id}", case="running", body={"status": "running"}, bearer=token
    )
    chunks = [
        {
            "digest": hashlib.sha256(content).hexdigest(),
            "size": len(content),
            "stored_size": len(content) // 2,
        }
        for content in (b"workspace chunk one", b"workspace chunk two")
    ]
    client.measure(
        "POST",
        f"/api/agent/snapshots/{snapshot_id}/uploads",
        case="2 chunks, snapshot in progress",
        body={"chunks": chunks},
        bearer=token,
    )
    client.measure(
        "POST",
        f"/api/agent/actions/{action_id}",
        case="failed: ends the workflow's wait",
        body={"status": "failed", "error": "stopped after planning the uploads"},
        bearer=token,
    )
    client.wait_for_snapshot(snapshot_id, "failed")


def _offered_action(client: BenchClient, agent_token: str, snapshot_id: str) -> str:
    """Heartbeat as the instance's agent until an answer hands it the action on the snapshot."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        answer = client.request("POST", "/api/agent/status", HEARTBEAT, bearer=agent_token).json()
        for action in answer.get("actions", []):
            if action.get("snapshot_id") == snapshot_id:
                return str(action["id"])
        time.sleep(POLL_INTERVAL_SECONDS)
    raise RuntimeError(f"no heartbeat answer offered an action on {snapshot_id}")


def _finished_action(stack: LocalStack, instance_id: str, action_type: str, snapshot_id: str) -> str:
    """Wait until the instance's agent completed the action of this type on the snapshot; its id.

    Read straight from the table: no route lists an instance's actions.
    """
    dynamodb = stack.aws.client("dynamodb")
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        items = dynamodb.query(
            TableName=TABLE_NAME,
            KeyConditionExpression="PK = :instance AND begins_with(SK, :action)",
            ExpressionAttributeValues={
                ":instance": {"S": f"INSTANCE#{instance_id}"},
                ":action": {"S": "ACTION#"},
            },
        )["Items"]
        for item in items:
            params = json.loads(item["params"]["S"])
            if item["action_type"]["S"] != action_type or params.get("snapshot_id") != snapshot_id:
                continue
            status = item["status"]["S"]
            if status == "completed":
                return str(item["action_id"]["S"])
            if status == "failed":
                raise RuntimeError(f"the {action_type} of {snapshot_id} failed: {item.get('error')}")
        time.sleep(POLL_INTERVAL_SECONDS)
    raise RuntimeError(f"the {action_type} of {snapshot_id} never finished")
