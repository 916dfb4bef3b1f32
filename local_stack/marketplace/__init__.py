"""A local GPU marketplace that speaks the Vast.ai REST API.

The real `VastAiProvider` talks to this server on the local stack and in tests, so the adapter we ship
is the code under test. Everything is simulated in memory: hosts in several countries offering the
GPU types we rent, prices that drift, machines that take a few seconds to boot, and failures that can
be injected on purpose (from Python or with curl against `/_sim/...`, see `control`).

`market` is the simulation, `api` the Vast.ai API in front of it, `control` the `/_sim/` endpoints,
and `server` the `LocalMarketplace` that serves both on one port.
"""

from local_stack.marketplace.api import OPERATIONS
from local_stack.marketplace.control import MachineRuntime
from local_stack.marketplace.server import LocalMarketplace

__all__ = ["OPERATIONS", "LocalMarketplace", "MachineRuntime"]
