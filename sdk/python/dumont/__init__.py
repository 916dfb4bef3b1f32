"""Dumont Cloud's Python SDK.

from dumont import Client
client = Client(api_key="dumont_sk_...")   # or DUMONT_API_KEY; DUMONT_API_URL for another address
instance = client.instances.create(gpu_type="RTX 4090", region="US-East")
instance.wait_until_ready(timeout=600)
"""

__version__ = "0.1.0"

from dumont.aio import AsyncClient, AsyncDumontClient
from dumont.client import Client, DumontClient
from dumont.errors import (
    APIConnectionError,
    AuthenticationError,
    ConflictError,
    DumontError,
    InstanceNotFoundError,
    InsufficientBalanceError,
    InvalidStateError,
    NotFoundError,
    NotReadyError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    SnapshotNotFoundError,
    TooManyAttemptsError,
    ValidationError,
    WaitTimeoutError,
)
from dumont.models import AsyncInstance, AsyncSnapshot, Instance, SavingsDashboard, Snapshot
from dumont.pagination import AsyncPageIterator, PageIterator

__all__ = [
    "APIConnectionError",
    "AsyncClient",
    "AsyncDumontClient",
    "AsyncInstance",
    "AsyncPageIterator",
    "AsyncSnapshot",
    "AuthenticationError",
    "Client",
    "ConflictError",
    "DumontClient",
    "DumontError",
    "Instance",
    "InstanceNotFoundError",
    "InsufficientBalanceError",
    "InvalidStateError",
    "NotFoundError",
    "NotReadyError",
    "PageIterator",
    "PermissionDeniedError",
    "RateLimitError",
    "SavingsDashboard",
    "ServiceUnavailableError",
    "Snapshot",
    "SnapshotNotFoundError",
    "TooManyAttemptsError",
    "ValidationError",
    "WaitTimeoutError",
]
