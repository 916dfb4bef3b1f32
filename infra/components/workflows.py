"""The Step Functions state machines of topology.STATE_MACHINES, run by the instance tasks function."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.components.nag import WILDCARD_RESOURCE, acknowledge
from infra.topology import STATE_MACHINES, TASKS_FUNCTION_PLACEHOLDER, StateMachineSpec, render_asl

LOG_RETENTION = logs.RetentionDays.ONE_MONTH


class Workflows(Construct):
    """One STANDARD state machine per spec, each logging every event and traced with X-Ray.

    `starters` get StartExecution on every state machine and its ARN in the spec's environment variable.
    `task_completers` may complete the tasks that wait for a task token (`lambda:invoke.waitForTaskToken`:
    an agent's action), with SendTaskSuccess and SendTaskFailure.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tasks_function: lambda_.IFunction,
        starters: Sequence[lambda_.Function],
        task_completers: Sequence[lambda_.Function] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.state_machines: dict[str, sfn.StateMachine] = {}
        for spec in STATE_MACHINES:
            machine = self._state_machine(spec, tasks_function)
            # The ASL invokes the function by its unqualified ARN: no need for grant_invoke's `<arn>:*`
            # (every version and alias).
            machine.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"], resources=[tasks_function.function_arn]
                )
            )
            acknowledge(
                machine.role,
                "AwsSolutions-IAM5",
                "Added by CDK for logging and tracing: the CloudWatch Logs delivery actions "
                "(logs:CreateLogDelivery and the like) and X-Ray's PutTraceSegments/GetSampling* "
                "support no resource-level permissions and require Resource '*'.",
                WILDCARD_RESOURCE,
            )
            for function in starters:
                machine.grant_start_execution(function)
                function.add_environment(spec.arn_env_var, machine.state_machine_arn)
            self.state_machines[spec.name] = machine
        self._let_complete_tasks(task_completers)

    def _let_complete_tasks(self, functions: Sequence[lambda_.Function]) -> None:
        roles = [function.role for function in functions if function.role is not None]
        if len(roles) != len(functions):
            raise ValueError("every task completer needs an execution role")
        if not roles:
            return
        # A policy of its own, so that the acknowledgment below covers these actions only: the roles'
        # own `Resource::*` acknowledgment is for X-Ray.
        policy = iam.Policy(
            self,
            "CompleteTasksPolicy",
            roles=roles,
            statements=[
                iam.PolicyStatement(
                    sid="CompleteTasksWaitingForTheirToken",
                    actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                    resources=["*"],
                )
            ],
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "states:SendTaskSuccess and states:SendTaskFailure support no resource-level permissions "
            "and require Resource '*'; a call is scoped by the task token it names instead. The tokens "
            "stay in our table: an agent reports on an action by its id, and the API function completes "
            "the task waiting for that action.",
            WILDCARD_RESOURCE,
        )

    def _state_machine(self, spec: StateMachineSpec, tasks_function: lambda_.IFunction) -> sfn.StateMachine:
        # Fails synthesis, naming the file, if an ASL file has a placeholder nobody fills.
        render_asl(spec, tasks_function_arn="arn:check")
        log_group = logs.LogGroup(
            self,
            f"{spec.name}Logs",
            # The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy from growing per group.
            log_group_name=f"/aws/vendedlogs/states/{Stack.of(self).stack_name}-{spec.name}",
            retention=LOG_RETENTION,
        )
        return sfn.StateMachine(
            self,
            spec.name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(spec.asl_file)),
            definition_substitutions={
                **spec.substitutions,
                TASKS_FUNCTION_PLACEHOLDER: tasks_function.function_arn,
            },
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
