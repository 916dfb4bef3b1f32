"""Every step of the instance workflows, as the workflow steps function runs them."""

from __future__ import annotations

from dumont_core.instances.hibernation_steps import HibernationSteps
from dumont_core.instances.power_steps import PowerSteps
from dumont_core.instances.provisioning_steps import ProvisioningSteps


class InstanceWorkflowSteps(ProvisioningSteps, PowerSteps, HibernationSteps):
    """Provisioning and destroying, power actions, and the instance's side of hibernation."""
