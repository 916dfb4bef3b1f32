"""A local GPU marketplace that speaks the Vast.ai REST API."""

from local_stack.marketplace.server import OPERATIONS, LocalMarketplace, MachineRuntime

__all__ = ["OPERATIONS", "LocalMarketplace", "MachineRuntime"]
