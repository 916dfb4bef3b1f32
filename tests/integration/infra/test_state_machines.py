"""The state machines: standard, logged and traced, each running its ASL file against the tasks function."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.topology import API_FUNCTION, INSTANCE_TASKS_FUNCTION, STATE_MACHINES, TASKS_FUNCTION_PLACEHOLDER
from tests.integration.infra.template import Synthesized, actions_of, described

_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def _machine_ids_by_env_var(synthesized: Synthesized) -> dict[str, str]:
    _, props = synthesized.functions_by_handler()[API_FUNCTION.handler]
    env = props["Environment"]["Variables"]
    return {spec.arn_env_var: env[spec.arn_env_var]["Ref"] for spec in STATE_MACHINES}


def test_every_state_machine_is_standard_logged_and_traced(synthesized: Synthesized) -> None:
    machines = synthesized.of_type("AWS::StepFunctions::StateMachine")
    assert len(machines) == len(STATE_MACHINES) == 11
    assert {spec.name for spec in STATE_MACHINES} >= {
        "SnapshotInstance",
        "RestoreSnapshot",
        "WakeInstance",
        "CpuFailover",
        "PrepareWarmStandby",
        "WarmPoolFailover",
    }
    assert sorted(_machine_ids_by_env_var(synthesized).values()) == sorted(machines)
    for machine in machines.values():
        props = machine["Properties"]
        assert props["StateMachineType"] == "STANDARD"
        assert props["TracingConfiguration"] == {"Enabled": True}
        assert props["LoggingConfiguration"]["Level"] in {"ALL", "ERROR"}
        assert props["LoggingConfiguration"]["Destinations"]


@pytest.mark.parametrize("spec", STATE_MACHINES, ids=lambda spec: spec.name)
def test_state_machine_definition_is_filled_with_the_tasks_function_arn(
    synthesized: Synthesized, spec: Any
) -> None:
    machine_id = _machine_ids_by_env_var(synthesized)[spec.arn_env_var]
    props = synthesized.resources[machine_id]["Properties"]
    definition = synthesized.asset_text(props["DefinitionS3Location"]["Key"])
    assert json.loads(definition) == json.loads(spec.asl_file.read_text())

    substitutions = props["DefinitionSubstitutions"]
    tasks_id = synthesized.function_id(INSTANCE_TASKS_FUNCTION.handler)
    assert substitutions[TASKS_FUNCTION_PLACEHOLDER] == {"Fn::GetAtt": [tasks_id, "Arn"]}
    assert set(_PLACEHOLDER.findall(definition)) <= set(substitutions)
    # What Step Functions receives once CloudFormation substituted the values.
    rendered = _PLACEHOLDER.sub(lambda match: described(substitutions[match.group(1)]), definition)
    assert "${" not in rendered
    for key, value in spec.substitutions.items():
        assert substitutions[key] == value
    # Tasks that wait for an agent invoke the function too, and need the same permission.
    invoked = {
        state["Parameters"]["FunctionName"]
        for state in json.loads(rendered)["States"].values()
        if state.get("Resource", "").startswith("arn:aws:states:::lambda:invoke")
    }
    assert invoked == {f"<GetAtt {tasks_id}.Arn>"}

    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    invoke = [s for s in synthesized.role_statements(role_id) if "lambda:InvokeFunction" in actions_of(s)]
    assert [s["Resource"] for s in invoke] == [{"Fn::GetAtt": [tasks_id, "Arn"]}]
