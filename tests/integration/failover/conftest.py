"""Failover works over the instance service: the instances' fixtures serve here too, with the CPU
standbys' test bed."""

from tests.integration.failover.standbys import ec2, machines, standbys
from tests.integration.instances.conftest import cloud, provider

__all__ = ["cloud", "ec2", "machines", "provider", "standbys"]
