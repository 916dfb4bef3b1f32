"""Every Python SDK snippet of seeds 000, 001 and 003, run unmodified against the local stack.

The snippets are the seeds' code blocks character for character (seed_snippets/); only the two
variables DUMONT_API_KEY and DUMONT_API_URL are set. A snippet that goes on from an earlier one runs in
the earlier one's namespace, in the document's order. Where a snippet names an object of its own
(instance "28864630"), it runs as written and must fail as the API says, then runs again with that one
id replaced by an instance of the test's.
"""

from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest

from dumont import Client, InstanceNotFoundError, PageIterator
from dumont.models import Instance
from tests.e2e.conftest import wait_for_agent, wait_for_status
from tests.e2e.sdk.conftest import snippet
from tests.fakes.slack import FakeSlackApp, FakeWebClient, slack_sdk_module

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("user_env", "cleanup_instances")]


def run(name: str, namespace: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    exec(compile(text if text is not None else snippet(name), name, "exec"), namespace)
    return namespace


def test_seed_000_lists_instances_with_the_dumont_client() -> None:
    namespace = run("seed_000_python.txt", {})
    instances = namespace["instances"]
    assert isinstance(instances, PageIterator)
    assert all(isinstance(instance, Instance) and instance.id.startswith("inst_") for instance in instances)


def test_seed_001_creates_a_machine_by_gpu_and_image_and_stops_it(api: httpx.Client) -> None:
    namespace = run("seed_001_python.txt", {})
    new_machine = namespace["new_machine"]
    assert new_machine.status == "running" and new_machine.ip
    assert new_machine.id not in {
        machine.id for machine in namespace["machines"]
    }  # listed before it was made
    stopped = wait_for_status(api, new_machine.id, {"stopped"})
    assert stopped["image"] == "pytorch:2.0-cuda12"
    assert stopped["gpu_type"] == "RTX_4090"


def test_seed_003_python_sdk_section_in_order(api: httpx.Client, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = run("seed_003_quick_start.txt", {})
    instance = namespace["instance"]
    printed = capsys.readouterr().out
    assert f"Instance ID: {instance.id}\nStatus: running\nIP: {instance.ip}\n" in printed
    assert instance.ip and instance.ip != "None"
    assert api.get(f"/api/v1/instances/{instance.id}").json()["data"]["region"] == "us-east"

    run("seed_003_list.txt", namespace)
    listed = capsys.readouterr().out
    assert f"{instance.name}: running" in listed
    assert all(inst.status == "running" for inst in namespace["running"])
    assert instance.id in {inst.id for inst in namespace["running"]}

    # The seed's instance "28864630" is not one of ours: the API says so, in the SDK's error.
    with pytest.raises(InstanceNotFoundError) as missing:
        run("seed_003_snapshot.txt", namespace)
    assert missing.value.status == 404 and "28864630" in missing.value.message
    wait_for_agent(api, instance.id)
    run("seed_003_snapshot.txt", namespace, snippet("seed_003_snapshot.txt").replace("28864630", instance.id))
    snapshot = namespace["snapshot"]
    assert snapshot.status == "completed"
    assert f"Snapshot completo: {snapshot.size_gb}GB" in capsys.readouterr().out

    run("seed_003_hibernate.txt", namespace)
    assert instance.status == "running"
    events = [
        event["type"] for event in api.get(f"/api/v1/instances/{instance.id}/events").json()["data"]["events"]
    ]
    assert "instance.hibernated" in events

    run("seed_003_savings.txt", namespace)
    savings = namespace["savings"]
    assert (
        f"Total economizado: ${savings.total_saved_usd}\nROI: {savings.roi_percent}%\n"
        in capsys.readouterr().out
    )

    run("seed_003_errors.txt", namespace)
    assert namespace["instance"].status == "running"
    assert capsys.readouterr().out == ""

    run("seed_003_retry.txt", namespace)
    retried = namespace["create_instance_with_retry"](
        namespace["client"], gpu_type="RTX 4090", region="US-East"
    )
    assert retried.status == "running"


def test_seed_003_slack_bot_creates_the_gpu_it_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "slack_sdk", slack_sdk_module())
    # The names the bot's snippet takes from the rest of its program.
    app, posted = FakeSlackApp(), FakeWebClient()
    namespace = run("seed_003_slack.txt", {"slack": app, "dumont_client": Client(), "slack_client": posted})
    acknowledged: list[bool] = []
    namespace["create_gpu"](lambda: acknowledged.append(True), {"text": "RTX4090", "channel_id": "C42"})
    assert acknowledged == [True]
    [message] = posted.posted
    assert message["channel"] == "C42"
    assert message["text"].startswith("GPU RTX4090 criada! IP: ") and not message["text"].endswith("None")
    assert app.commands["/create-gpu"] is namespace["create_gpu"]
