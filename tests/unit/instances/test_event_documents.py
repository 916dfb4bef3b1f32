"""The documents in `events/` describe what the code really publishes and receives."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast, get_args

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from dumont_core.billing.models import BillingEventType
from dumont_core.failover.paths import FailoverRecovery, SnapshotPath
from dumont_core.failover.service import FailoverService
from dumont_core.instances.interruptions import InterruptionWatch
from dumont_core.instances.machine_labels import machine_label
from dumont_core.instances.metrics import MetricsRepository
from dumont_core.instances.models import EventType, InstanceEvent, InstanceSpec, PowerAction
from dumont_core.instances.reconciler import MachineReconciler
from dumont_core.instances.repository import InstanceRepository
from dumont_core.instances.service import InstanceService
from dumont_core.instances.step_support import InstanceRef, NoOfferAvailable
from dumont_core.instances.steps import InstanceWorkflowSteps
from dumont_core.platform.errors import ServiceUnavailable
from dumont_core.platform.identity import Principal
from dumont_core.platform.settings import ProviderSettings
from dumont_core.providers.catalog import known_gpu_type_ids, known_region_ids
from dumont_core.providers.models import (
    MachineRequest,
    ProviderMachineStatus,
    ProviderRequestRejected,
    ProviderUnavailable,
)
from dumont_core.snapshots.repository import SnapshotRepository
from dumont_core.snapshots.service import SnapshotService
from dumont_core.snapshots.steps import SnapshotSteps
from dumont_core.snapshots.store import SnapshotStore
from dumont_core.webhooks.events import WEBHOOK_DISABLED
from infra.topology import API_ROUTES, REPO_ROOT, STATE_MACHINES_DIR, USAGE_PLANS
from tests.fakes.events import InMemoryPublisher
from tests.fakes.instances import MemoryInstances
from tests.fakes.provider import FakeProvider, offer
from tests.fakes.snapshots import MemorySnapshots
from tests.fakes.workflows import RecordingStarter, step_failure
from workflows.steps import STEPS, StepInput

EVENTS_DIR = REPO_ROOT / "events"
DOMAIN_DIR = EVENTS_DIR / "domain"
SAMPLES_DIR = EVENTS_DIR / "samples"
TASK_SAMPLES_DIR = SAMPLES_DIR / "tasks"

try:
    import jsonschema
except ImportError:  # pragma: no cover - jsonschema comes with moto
    jsonschema = None


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def schema_for(event_name: str) -> dict[str, Any]:
    return cast(dict[str, Any], load_json(DOMAIN_DIR / f"{event_name}.json"))


def _required_keys_problems(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    """The part of JSON Schema our documents use, for when jsonschema is not installed."""
    problems: list[str] = []
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if schema.get("type") == "object":
        if not isinstance(value, dict):
            return [*problems, f"{where}: not an object"]
        properties = schema.get("properties", {})
        problems += [f"{where}.{key}: missing" for key in schema.get("required", []) if key not in value]
        if schema.get("additionalProperties") is False:
            problems += [f"{where}.{key}: not allowed" for key in value if key not in properties]
        for key, item in value.items():
            if key in properties:
                problems += _required_keys_problems(item, properties[key], f"{where}.{key}")
    return problems


def validation_problems(value: Any, schema: Mapping[str, Any]) -> list[str]:
    if jsonschema is None:
        return _required_keys_problems(value, schema, "detail")
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return [
        f"{'.'.join(map(str, error.absolute_path)) or 'detail'}: {error.message}"
        for error in validator.iter_errors(value)
    ]


# The schema documents ----------------------------------------------------------------------------


def test_every_event_type_has_a_schema_and_there_are_no_others() -> None:
    documented = {path.name.removesuffix(".json") for path in DOMAIN_DIR.glob("*.json")}

    assert documented == {event_type.value for event_type in EventType} | {WEBHOOK_DISABLED} | {
        event_type.value for event_type in BillingEventType
    }


@pytest.mark.parametrize("event_type", list(EventType), ids=str)
def test_each_schema_describes_its_own_event_and_its_example_validates(event_type: EventType) -> None:
    schema = schema_for(event_type.value)

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == event_type.value
    assert schema["description"].startswith("Published ")
    assert schema["properties"]["event"]["const"] == event_type.value
    assert set(schema["required"]) == {"event", "timestamp", "account_id", "team_id", "data"}
    assert "instance_id" in schema["properties"]["data"]["required"]
    if jsonschema is not None:
        jsonschema.Draft202012Validator.check_schema(schema)
    (example,) = schema["examples"]
    assert validation_problems(example, schema) == []


@pytest.mark.parametrize("event_type", list(EventType), ids=str)
def test_the_schemas_refuse_details_they_do_not_describe(event_type: EventType) -> None:
    schema = schema_for(event_type.value)
    (example,) = schema["examples"]

    without_instance = {**example, "data": {k: v for k, v in example["data"].items() if k != "instance_id"}}
    with_unknown_field = {**example, "data": {**example["data"], "surprise": 1}}
    wrong_event = {**example, "event": "instance.exploded"}

    for broken in (without_instance, with_unknown_field, wrong_event):
        assert validation_problems(broken, schema) != []


def test_the_gpu_types_and_regions_in_the_schemas_are_those_of_the_catalog() -> None:
    for event_type in EventType:
        data = schema_for(event_type.value)["properties"]["data"]["properties"]
        if "gpu_type" in data:
            assert data["gpu_type"]["enum"] == known_gpu_type_ids(), event_type
        if "region" in data:
            assert data["region"]["enum"] == known_region_ids(), event_type


# What the code publishes -------------------------------------------------------------------------


def published_events() -> list[InstanceEvent]:
    """Drive every lifecycle path of the real service and workflow steps, and return what they published."""
    now = [datetime(2025, 3, 1, 12, 0, tzinfo=UTC)]

    def clock() -> datetime:
        now[0] += timedelta(seconds=30)
        return now[0]

    repository = cast(InstanceRepository, MemoryInstances())
    publisher, starter = InMemoryPublisher(), RecordingStarter()
    provider = FakeProvider(
        offers=[offer(offer_id, region="us-east") for offer_id in range(8812345, 8812360)]
    )
    service = InstanceService(
        repository=repository,
        readings=MetricsRepository(retention=timedelta(days=1)),
        publisher=publisher,
        workflows=starter,
        clock=clock,
    )
    steps = InstanceWorkflowSteps(
        instances=service,
        provider=provider,
        settings=ProviderSettings(),
        clock=clock,
    )
    principal = Principal(account_id="acct_k3x9q2", team_id="team_k3x9q2")

    def boot(ref: InstanceRef) -> str:
        machine_id: str = steps.rent_machine(ref, steps.choose_offers(ref)["candidates"])[
            "provider_instance_id"
        ]
        provider.machines[machine_id].comes_up()
        steps.check_boot(ref, machine_id)
        return machine_id

    # Provisioned, stopped, started, rebooted, a failed stop, deleted.
    instance = service.create(
        principal, InstanceSpec(gpu_type="RTX_4090", image="pytorch/pytorch:latest", disk_gb=50)
    )
    ref = InstanceRef(team_id=instance.team_id, instance_id=instance.instance_id)
    machine = provider.machines[boot(ref)]
    for action, reached in (
        (PowerAction.STOP, ProviderMachineStatus.STOPPED),
        (PowerAction.START, ProviderMachineStatus.RUNNING),
        (PowerAction.REBOOT, ProviderMachineStatus.RUNNING),
    ):
        service.request_power_action(principal, instance.instance_id, action)
        steps.request_power_action(ref, action)
        machine.status = reached
        steps.check_power_action(ref, action)
    service.request_power_action(principal, instance.instance_id, PowerAction.STOP)
    provider.fail_next("stop", ProviderRequestRejected("instance is locked"))
    with pytest.raises(ProviderRequestRejected) as rejected:
        steps.request_power_action(ref, PowerAction.STOP)
    steps.fail_power_action(ref, PowerAction.STOP, step_failure(rejected.value))
    service.delete(principal, instance.instance_id)
    steps.destroy_machine(ref)

    # No offer for the GPU in the region asked for; then a delete the provider does not carry out.
    unrentable = service.create(
        principal,
        InstanceSpec(
            gpu_type="H100", image="nvidia/cuda:12.4.1-runtime-ubuntu22.04", disk_gb=80, region="eu-west"
        ),
    )
    unrentable_ref = InstanceRef(team_id=unrentable.team_id, instance_id=unrentable.instance_id)
    with pytest.raises(NoOfferAvailable) as no_offer:
        steps.choose_offers(unrentable_ref)
    steps.fail_provisioning(unrentable_ref, step_failure(no_offer.value))
    service.delete(principal, unrentable.instance_id)
    steps.fail_destroy(unrentable_ref, step_failure(ProviderUnavailable("Vast.ai answered 502")))
    # A machine rented for it all the same, which the reconciler finds and destroys.
    provider.clock = clock
    label = machine_label(ProviderSettings().machine_label_prefix, unrentable.team_id, unrentable.instance_id)
    provider.create_machine(
        MachineRequest(offer_id=8812347, image="pytorch/pytorch:latest", disk_gb=80, label=label)
    )
    MachineReconciler(
        instances=service, provider=provider, settings=ProviderSettings(), clock=clock
    ).reconcile()

    # A machine outbid while running: the watch notices, confirms, and interrupts its instance.
    outbid = service.create(
        principal, InstanceSpec(gpu_type="RTX_4090", image="pytorch/pytorch:latest", disk_gb=50)
    )
    outbid_machine = provider.machines[
        boot(InstanceRef(team_id=outbid.team_id, instance_id=outbid.instance_id))
    ]
    outbid_machine.status = ProviderMachineStatus.FAILED
    outbid_machine.status_message = "Instance stopped: outbid by a higher priority contract"
    watch = InterruptionWatch(
        instances=service, provider=provider, heartbeat_seconds=60, confirm_seconds=0, clock=clock
    )
    watch.look(provider.list_machines())
    assert watch.look(provider.list_machines()) == [outbid.instance_id]

    # A snapshot, a hibernation that completes, one whose snapshot fails, and a wake that fails.
    memory = MemorySnapshots()
    snapshot_records, snapshot_store = cast(SnapshotRepository, memory), cast(SnapshotStore, memory)
    snapshot_service = SnapshotService(
        instances=service, snapshots=snapshot_records, store=snapshot_store, workflows=starter, clock=clock
    )
    snapshot_steps = SnapshotSteps(
        instances=service, snapshots=snapshot_records, store=snapshot_store, clock=clock
    )
    sleeper = service.create(
        principal, InstanceSpec(gpu_type="RTX_4090", image="pytorch/pytorch:latest", disk_gb=50)
    )
    sleeper_ref = InstanceRef(team_id=sleeper.team_id, instance_id=sleeper.instance_id)
    boot(sleeper_ref)
    manual = snapshot_service.create(principal, sleeper.instance_id, "before upgrade", "lz4")
    snapshot_steps.finish_snapshot(
        sleeper.team_id,
        manual.snapshot_id,
        {"size_bytes": 3_000_000, "stored_bytes": 1_000_000, "uploaded_bytes": 10},
    )
    _, failing = snapshot_service.hibernate(principal, sleeper.instance_id, "hibernation requested")
    snapshot_service.fail_snapshot(sleeper.team_id, failing.snapshot_id, "AgentActionFailed: disk full")
    steps.abort_hibernation(
        sleeper_ref, failing.snapshot_id, {"Error": "AgentActionFailed", "Cause": "disk full"}
    )
    _, taken = snapshot_service.hibernate(
        principal, sleeper.instance_id, "Low GPU utilization (<5%) for 15 minutes"
    )
    steps.complete_hibernation(sleeper_ref, taken.snapshot_id, "Low GPU utilization (<5%) for 15 minutes")
    snapshot_service.wake(principal, sleeper.instance_id)
    steps.fail_wake(sleeper_ref, step_failure(NoOfferAvailable("No RTX_4090 offer is available right now")))

    # Failover on: one instance with a snapshot to come back from, one without.
    recovery = FailoverRecovery(instances=service, fallback=SnapshotPath(snapshots=snapshot_service))
    failover_watch = InterruptionWatch(
        instances=service,
        provider=provider,
        heartbeat_seconds=60,
        confirm_seconds=0,
        recovery=recovery,
        clock=clock,
    )
    guarded_spec = InstanceSpec(
        gpu_type="RTX_4090", image="pytorch/pytorch:latest", disk_gb=50, failover_enabled=True
    )
    guarded, unguarded = (service.create(principal, guarded_spec) for _ in range(2))
    for each in (guarded, unguarded):
        provider.machines[
            boot(InstanceRef(team_id=each.team_id, instance_id=each.instance_id))
        ].status = ProviderMachineStatus.FAILED
    checkpoint = snapshot_service.create(principal, guarded.instance_id, "checkpoint", "lz4")
    snapshot_steps.finish_snapshot(
        guarded.team_id, checkpoint.snapshot_id, {"size_bytes": 10, "stored_bytes": 10}
    )
    failover_watch.look(provider.list_machines())
    failover_watch.look(provider.list_machines())
    steps.finish_wake(InstanceRef(team_id=guarded.team_id, instance_id=guarded.instance_id))
    # And a drill on it, now that it runs again.
    FailoverService(instances=service, recovery=recovery, clock=clock).trigger(principal, guarded.instance_id)

    # Provisioning that could not even be started.
    starter.fail_with = RuntimeError("Step Functions is unavailable")
    with pytest.raises(ServiceUnavailable):
        service.create(principal, InstanceSpec(gpu_type="A100", image="pytorch/pytorch:latest", disk_gb=50))
    return publisher.published


def test_the_code_publishes_every_documented_event() -> None:
    assert {event.type for event in published_events()} == set(EventType)


def test_every_published_event_matches_its_schema() -> None:
    for event in published_events():
        detail = event.bus_detail()
        problems = validation_problems(json.loads(json.dumps(detail)), schema_for(event.type.value))
        assert problems == [], f"{event.type.value}: {problems} in {detail}"


def test_a_detail_the_schema_does_not_describe_is_caught() -> None:
    event = InstanceEvent(
        type=EventType.STOPPED,
        instance_id="inst_0123456789abcdef",
        account_id="acct_1",
        team_id="team_1",
        details={"reason": "not documented for instance.stopped"},
    )

    assert validation_problems(event.bus_detail(), schema_for("instance.stopped")) != []


# Samples -----------------------------------------------------------------------------------------


def asl_task_payloads() -> dict[str, set[str]]:
    """For each step, the keys the state machines put in the tasks function's payload."""
    payloads: dict[str, set[str]] = {}
    for path in STATE_MACHINES_DIR.glob("*.asl.json"):
        for state in load_json(path)["States"].values():
            payload = state.get("Parameters", {}).get("Payload")
            if payload:
                # A step several state machines call gets the keys of all of them.
                payloads.setdefault(payload["step"], set()).update(key.removesuffix(".$") for key in payload)
    return payloads


def test_every_step_has_a_task_sample_a_payload_in_the_state_machines_and_one_runner() -> None:
    step_names = get_args(StepInput.model_fields["step"].annotation)
    steps = set(step_names)

    assert {path.stem for path in TASK_SAMPLES_DIR.glob("*.json")} == steps
    assert set(asl_task_payloads()) == steps
    assert sorted(STEPS) == sorted(step_names), "a step the state machines call runs exactly one function"


@pytest.mark.parametrize("path", sorted(TASK_SAMPLES_DIR.glob("*.json")), ids=lambda path: path.stem)
def test_task_samples_parse_and_carry_what_the_state_machines_send(path: Path) -> None:
    sample = load_json(path)

    parsed = StepInput.model_validate(sample)

    assert parsed.step == path.stem
    assert set(sample) == asl_task_payloads()[path.stem]
    if parsed.step in {"request_power_action", "check_power_action", "fail_power_action"}:
        assert parsed.action is not None
    if parsed.step == "check_boot":
        assert parsed.machine is not None
    if parsed.step.startswith("fail_"):
        assert parsed.failure is not None and {"Error", "Cause"} <= set(parsed.failure)


def test_the_eventbridge_sample_carries_a_documented_detail() -> None:
    sample = load_json(SAMPLES_DIR / "eventbridge-instance-ready.json")

    assert sample["source"] == InstanceEvent.source
    assert sample["detail-type"] == sample["detail"]["event"]
    assert validation_problems(sample["detail"], schema_for(sample["detail-type"])) == []


def test_the_api_gateway_sample_is_a_known_route_with_the_authorizers_principal() -> None:
    event = APIGatewayProxyEvent(load_json(SAMPLES_DIR / "apigateway-list-instances.json"))

    assert (event.http_method, event.path) == ("GET", "/api/v1/instances")
    assert any(route.method == "GET" and route.path == event.resource for route in API_ROUTES)
    authorizer = event.request_context.authorizer
    assert authorizer.get("account_id", "").startswith("acct_")
    assert authorizer.get("team_id", "").startswith("team_")
    assert authorizer.get("plan") in {plan.name.lower() for plan in USAGE_PLANS}
