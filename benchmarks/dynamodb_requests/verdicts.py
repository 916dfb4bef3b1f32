"""The targets for DynamoDB requests per API request, and which of them one measured request breaks.

The authorizer's requests are held apart from the route's: it runs before every non-public route, and
checking the caller plus counting the request against their plan must cost at most one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from benchmarks.dynamodb_requests.counting import AwsCalls
from infra.topology import Route

READ_LIMIT = 2
WRITE_LIMIT = 3
AUTHORIZER_LIMIT = 1
TARGETS = (
    f"reads ≤ {READ_LIMIT} requests, writes ≤ {WRITE_LIMIT}, the authorizer ≤ {AUTHORIZER_LIMIT}, "
    "never a Scan"
)


@dataclass(frozen=True)
class Measurement:
    route: Route
    case: str
    status: int
    expected_status: int
    calls: AwsCalls
    authorizer_calls: AwsCalls | None

    @property
    def dynamodb(self) -> Counter[str]:
        return _dynamodb(self.calls)

    @property
    def authorizer_dynamodb(self) -> Counter[str] | None:
        return None if self.authorizer_calls is None else _dynamodb(self.authorizer_calls)

    @property
    def others(self) -> Counter[str]:
        return Counter({op: n for (service, op), n in self.calls.items() if service != "dynamodb"})

    @property
    def total(self) -> int:
        return sum(self.dynamodb.values())

    @property
    def is_read(self) -> bool:
        return self.route.method == "GET"

    @property
    def limit(self) -> int:
        return READ_LIMIT if self.is_read else WRITE_LIMIT

    @property
    def problems(self) -> list[str]:
        found = []
        if self.status != self.expected_status:
            found.append(f"answered {self.status}, expected {self.expected_status}")
        if self.total > self.limit:
            found.append(f"{self.total} requests > {self.limit} per {'read' if self.is_read else 'write'}")
        authorizer = self.authorizer_dynamodb
        if not self.route.public and authorizer is None:
            found.append("the authorizer did not run")
        if authorizer is not None and sum(authorizer.values()) > AUTHORIZER_LIMIT:
            found.append(f"authorizer made {sum(authorizer.values())} requests > {AUTHORIZER_LIMIT}")
        if self.dynamodb["Scan"] or (authorizer is not None and authorizer["Scan"]):
            found.append("Scan")
        return found


def _dynamodb(calls: AwsCalls) -> Counter[str]:
    return Counter({op: n for (service, op), n in calls.items() if service == "dynamodb"})
