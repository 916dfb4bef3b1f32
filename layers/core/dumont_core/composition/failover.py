"""The failover domain's services: the recovery that picks each strategy's path, the warm pool's and the
CPU standby's workflow steps, and the CPU machines those standbys run on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dumont_core.composition.providing import provided
from dumont_core.platform.settings import CpuStandbySettings, ProviderSettings, load_settings

if TYPE_CHECKING:
    from dumont_core.failover.cpu_failover_steps import CpuFailoverSteps
    from dumont_core.failover.cpu_standby import CpuStandbyPath
    from dumont_core.failover.paths import FailoverRecovery
    from dumont_core.failover.service import FailoverService
    from dumont_core.failover.warmpool_steps import WarmPoolSteps
    from dumont_core.providers.cpu_machines import CpuMachines


@provided
def cpu_machines() -> CpuMachines:
    """The CPU machines of the `cpu_standby` failover strategy, on EC2."""
    from dumont_core.providers.ec2 import Ec2CpuMachines

    return Ec2CpuMachines(load_settings(CpuStandbySettings))


@provided
def failover_recovery() -> FailoverRecovery:
    """How interrupted instances come back: the path of each failover strategy, the snapshot's last."""
    from dumont_core import composition
    from dumont_core.failover.paths import FailoverRecovery, SnapshotPath
    from dumont_core.failover.warmpool import WarmPoolPath
    from dumont_core.instances.models import FailoverStrategy

    return FailoverRecovery(
        instances=composition.instances(),
        fallback=SnapshotPath(snapshots=composition.snapshots()),
        paths={
            FailoverStrategy.CPU_STANDBY: cpu_standby(),
            FailoverStrategy.WARMPOOL: WarmPoolPath(
                instances=composition.instances(), workflows=composition.workflows()
            ),
        },
    )


@provided
def cpu_standby() -> CpuStandbyPath:
    from dumont_core import composition
    from dumont_core.failover.cpu_standby import CpuStandbyPath
    from dumont_core.platform.aws import aws_region

    return CpuStandbyPath(
        instances=composition.instances(),
        agents=composition.agents(),
        machines=cpu_machines(),
        workflows=composition.workflows(),
        settings=load_settings(ProviderSettings),
        region=aws_region(),
    )


@provided
def cpu_failover_steps() -> CpuFailoverSteps:
    from dumont_core import composition
    from dumont_core.failover.cpu_failover_steps import CpuFailoverSteps

    return CpuFailoverSteps(
        instances=composition.instances(),
        provider=composition.gpu_provider(),
        settings=load_settings(ProviderSettings),
        machines=cpu_machines(),
        snapshots=composition.snapshots(),
        cpu_settings=load_settings(CpuStandbySettings),
        fallback=composition.snapshots(),
    )


@provided
def warmpool_steps() -> WarmPoolSteps:
    from dumont_core import composition
    from dumont_core.failover.warmpool_steps import WarmPoolSteps

    return WarmPoolSteps(
        instances=composition.instances(),
        provider=composition.gpu_provider(),
        settings=load_settings(ProviderSettings),
    )


@provided
def failover() -> FailoverService:
    from dumont_core import composition
    from dumont_core.failover.service import FailoverService

    return FailoverService(instances=composition.instances(), recovery=failover_recovery())
