"""The contract every GPU marketplace adapter fulfils, in our vocabulary rather than the provider's:
what is offered, the machines we rent, what can go wrong, and the operations (`GpuProvider`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from dumont_core.platform.models import DomainModel


class ProviderMachineStatus(StrEnum):
    PROVISIONING = "provisioning"
    """Accepted by the provider; image loading or host booting."""
    RUNNING = "running"
    STOPPED = "stopped"
    FAILED = "failed"
    """The provider gave up on the machine (exited with an error, host offline)."""


class Offer(DomainModel):
    offer_id: int
    gpu_name: str
    """The provider's spelling, e.g. `RTX 4090`."""
    num_gpus: int
    gpu_memory_gb: float
    price_per_hour: float
    """What renting it costs per hour in USD, all GPUs, storage and bandwidth estimates included."""
    min_bid_per_hour: float | None
    """Lowest interruptible (spot) bid the host accepts; None when only on-demand is offered."""
    reliability: float
    """Host reliability as the provider scores it, 0..1."""
    geolocation: str | None
    region: str | None
    """Our region id for the host's location, None when we cannot place it."""
    disk_space_gb: float


class OfferQuery(DomainModel):
    gpu_names: tuple[str, ...]
    """Any of these, in the provider's spelling."""
    min_reliability: float
    min_disk_gb: float
    limit: int
    num_gpus: int = 1
    """At least this many GPUs in one machine."""
    region: str | None = None
    """Only hosts in this region of ours; None for anywhere."""
    min_direct_ports: int = 0
    """At least this many ports open on the host (so SSH and Jupyter need no proxy)."""
    verified_only: bool = True
    """Only hosts the provider has vetted."""
    max_price_per_hour: float | None = None
    """Nothing dearer (USD an hour, as `Offer.price_per_hour` counts it); None for no cap."""


class MachineRequest(DomainModel):
    """What renting an offer takes."""

    offer_id: int
    image: str
    disk_gb: float
    label: str
    """Who the machine is for (`instances.machine_labels`): how a machine whose creation answer was
    lost is found again, and how the reconciler tells our machines from the account's others."""
    onstart_script: str | None = None
    bid_per_hour: float | None = None
    """Rents it as interruptible (spot) at this price; None rents on-demand."""


class ProviderMachine(DomainModel):
    provider_instance_id: str
    status: ProviderMachineStatus
    status_message: str | None
    gpu_name: str | None
    num_gpus: int | None
    gpu_memory_gb: float | None
    price_per_hour: float | None
    reliability: float | None
    geolocation: str | None
    ip_address: str | None
    ssh_port: int | None
    jupyter_port: int | None
    ssh_host: str | None = None
    """Where SSH answers when it is not `ip_address` (the provider's proxy), with `ssh_port`."""
    jupyter_url: str | None = None
    """Jupyter on the machine, its access token included, when the provider started it."""
    label: str | None = None
    """The label it was rented with."""
    started_at: datetime | None = None
    """When it was rented, as the provider reports it."""


class ProviderError(Exception):
    """Something the provider refused or failed; `code` is stable and becomes the ASL error name."""

    code = "ProviderError"
    transient = False

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class OfferUnavailable(ProviderError):
    """The offer was taken or withdrawn (Vast.ai: 404 `no_such_ask`, or 410)."""

    code = "OfferUnavailable"


class OfferPriceChanged(OfferUnavailable):
    """The bid is under the offer's minimum now (Vast.ai: 400 `invalid_price`): the price moved since the
    search, so the next offer is tried as for one that was taken."""

    code = "OfferPriceChanged"


class ProviderThrottled(ProviderError):
    code = "ProviderThrottled"
    transient = True

    def __init__(
        self, message: str, *, status_code: int | None = 429, retry_after_seconds: float | None = None
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after_seconds = retry_after_seconds


class ProviderUnavailable(ProviderError):
    """5xx answers, timeouts and connection failures: worth trying again later."""

    code = "ProviderUnavailable"
    transient = True


class ProviderMachineNotFound(ProviderError):
    code = "ProviderMachineNotFound"


class ProviderAuthenticationFailed(ProviderError):
    code = "ProviderAuthenticationFailed"


class ProviderRequestRejected(ProviderError):
    """Any other 4xx: our request was wrong and repeating it will not help."""

    code = "ProviderRequestRejected"


class GpuProvider(Protocol):
    name: str

    def search_offers(self, query: OfferQuery) -> list[Offer]:
        """Rentable offers matching the query, cheapest first."""
        ...

    def create_machine(self, request: MachineRequest) -> str:
        """Rent the offer; returns the provider's id for the new machine."""
        ...

    def get_machine(self, provider_instance_id: str) -> ProviderMachine: ...

    def list_machines(self) -> list[ProviderMachine]:
        """Every machine the account rents, ours or not, with its label."""
        ...

    def machine_ids_labelled(self, label: str) -> list[str]:
        """Ids of our machines carrying `label`: how a machine whose creation answer was lost
        (a timeout, a crash before it was recorded) is found again."""
        ...

    def start_machine(self, provider_instance_id: str) -> None: ...

    def stop_machine(self, provider_instance_id: str) -> None: ...

    def reboot_machine(self, provider_instance_id: str) -> None: ...

    def destroy_machine(self, provider_instance_id: str) -> None:
        """Destroy the machine; a machine that is already gone is not an error."""
        ...
