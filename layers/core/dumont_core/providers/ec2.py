"""The CPU machines of the `cpu_standby` strategy on EC2 (boto3's client, through `platform.aws`).

Each machine is tagged `Name` and `dumont:label` with its instance's label and `dumont:deployment`
with the deployment's prefix; the IAM policy of the functions lets them start, stop and terminate
only machines carrying that deployment's tag. No instance profile is attached: the agent talks to
our API with its own token, never to AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dumont_core.platform.aws import aws_client
from dumont_core.platform.settings import CpuStandbySettings
from dumont_core.providers.cpu_machines import (
    CpuMachine,
    CpuMachineError,
    CpuMachineRequest,
    CpuMachineState,
)

LABEL_TAG = "dumont:label"
DEPLOYMENT_TAG = "dumont:deployment"
_STATES = {
    "pending": CpuMachineState.PENDING,
    "running": CpuMachineState.RUNNING,
    "stopping": CpuMachineState.STOPPING,
    "stopped": CpuMachineState.STOPPED,
}
HOURS_A_MONTH = 730
_LISTED_STATES = ["pending", "running", "stopping", "stopped"]


def _machine(described: dict[str, Any]) -> CpuMachine:
    tags = {tag["Key"]: tag["Value"] for tag in described.get("Tags", [])}
    state = _STATES.get(described.get("State", {}).get("Name", ""), CpuMachineState.GONE)
    return CpuMachine(
        machine_id=described["InstanceId"],
        state=state,
        label=tags.get(LABEL_TAG),
        ip_address=described.get("PublicIpAddress") or described.get("PrivateIpAddress"),
        launched_at=described.get("LaunchTime"),
    )


@dataclass(frozen=True)
class Ec2CpuMachines:
    settings: CpuStandbySettings

    @property
    def cost_per_hour(self) -> float:
        return self.settings.cpu_standby_cost_per_hour

    def stopped_cost_per_hour(self, disk_gb: int) -> float:
        return round(disk_gb * self.settings.cpu_standby_disk_price_per_gb_month / HOURS_A_MONTH, 4)

    def launch(self, request: CpuMachineRequest) -> CpuMachine:
        settings = self.settings
        if not settings.configured:
            raise CpuMachineError(
                "CPU standbys are not configured: set CPU_STANDBY_AMI_ID and CPU_STANDBY_SUBNET_ID"
            )
        tags = [
            {"Key": "Name", "Value": request.label},
            {"Key": LABEL_TAG, "Value": request.label},
            {"Key": DEPLOYMENT_TAG, "Value": request.deployment},
        ]
        network: dict[str, Any] = {
            "DeviceIndex": 0,
            "SubnetId": settings.cpu_standby_subnet_id,
            "AssociatePublicIpAddress": True,
        }
        if settings.cpu_standby_security_group_id:
            network["Groups"] = [settings.cpu_standby_security_group_id]
        launched = self._call(
            "run_instances",
            ImageId=settings.cpu_standby_ami_id,
            InstanceType=settings.cpu_standby_instance_type,
            MinCount=1,
            MaxCount=1,
            UserData=request.user_data,
            NetworkInterfaces=[network],
            BlockDeviceMappings=[
                {
                    "DeviceName": "/dev/sda1",
                    "Ebs": {
                        "VolumeSize": request.disk_gb,
                        "VolumeType": "gp3",
                        "Encrypted": True,
                    },
                }
            ],
            MetadataOptions={"HttpTokens": "required"},
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": tags},
                {"ResourceType": "volume", "Tags": tags},
            ],
        )
        return _machine(launched["Instances"][0])

    def get(self, machine_id: str) -> CpuMachine:
        try:
            described = self._call("describe_instances", InstanceIds=[machine_id])
        except CpuMachineError as error:
            if "InvalidInstanceID" in error.message:
                return CpuMachine(machine_id=machine_id, state=CpuMachineState.GONE)
            raise
        found = [each for reservation in described["Reservations"] for each in reservation["Instances"]]
        if not found:
            return CpuMachine(machine_id=machine_id, state=CpuMachineState.GONE)
        return _machine(found[0])

    def start(self, machine_id: str) -> None:
        self._call("start_instances", InstanceIds=[machine_id])

    def stop(self, machine_id: str) -> None:
        self._call("stop_instances", InstanceIds=[machine_id])

    def terminate(self, machine_id: str) -> None:
        try:
            self._call("terminate_instances", InstanceIds=[machine_id])
        except CpuMachineError as error:
            if "InvalidInstanceID" not in error.message:
                raise

    def of_deployment(self, deployment: str) -> list[CpuMachine]:
        paginator = aws_client("ec2").get_paginator("describe_instances")
        filters = [
            {"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [deployment]},
            {"Name": "instance-state-name", "Values": _LISTED_STATES},
        ]
        try:
            pages = list(paginator.paginate(Filters=filters))
        except (BotoCoreError, ClientError) as error:
            raise CpuMachineError(f"Could not list the CPU machines: {error}") from error
        return [
            _machine(each)
            for page in pages
            for reservation in page["Reservations"]
            for each in reservation["Instances"]
        ]

    @staticmethod
    def _call(operation: str, **arguments: Any) -> Any:
        client = aws_client("ec2")
        try:
            return getattr(client, operation)(**arguments)
        except (BotoCoreError, ClientError) as error:
            raise CpuMachineError(f"EC2 {operation} failed: {error}") from error
