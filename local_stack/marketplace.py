"""A local GPU marketplace that speaks the Vast.ai REST API.

The real `VastAiProvider` talks to this server on the local stack and in tests, so the adapter we ship
is the code under test. Everything is simulated in memory: hosts in several countries offering the
GPU types we rent, prices that drift, machines that take a few seconds to boot, and failures that can
be injected on purpose (from Python or with curl against `/_sim/...`).

Time is read from the `clock` given at construction and state moves forward lazily whenever someone
looks, so tests can drive it with a fake clock and nothing runs in the background except the server.

Control endpoints (no API key needed, JSON bodies optional):

    GET  /_sim/machines                   every current machine, as `show instance` renders it
    GET  /_sim/offers                     every offer, rented and withdrawn ones included
    GET  /_sim/requests                   API requests seen (method, path, content type, status...)
    POST /_sim/fail_next_creates          {"count": 2, "status": 429, "body": {...}, "retry_after": 1}
    POST /_sim/fail_next_calls            same, plus "operation": search|create|show|list|manage|...
    POST /_sim/fail_next_boots            {"count": 1, "message": "..."}
    POST /_sim/clear_failures             forget injected failures not yet delivered
    POST /_sim/offers/<id>/withdraw       the offer disappears; renting it answers 404 no_such_ask
    POST /_sim/machines/<id>/fail         {"offline": false, "message": "..."}
    POST /_sim/reset                      back to the freshly seeded market
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import operator
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from local_stack.serving import ServerThreads

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

Json = dict[str, Any]

OPERATIONS = ("search", "create", "list", "show", "manage", "reboot", "destroy")


@dataclass(frozen=True)
class _GpuModel:
    gpu_name: str
    """Vast's spelling, as in `dumont_core.catalog`."""
    gpu_ram_mb: int
    price_per_gpu: tuple[float, float]
    gpu_counts: tuple[int, ...]
    hosts_per_location: tuple[int, int]
    cuda: float


_GPU_MODELS = (
    _GpuModel("RTX 4090", 24564, (0.30, 0.60), (1, 1, 2, 4, 8), (2, 4), 12.4),
    _GpuModel("RTX 4080", 16376, (0.18, 0.32), (1, 1, 2), (1, 2), 12.4),
    _GpuModel("RTX 3090", 24576, (0.15, 0.30), (1, 1, 2, 4), (2, 3), 12.2),
    _GpuModel("RTX A6000", 49140, (0.40, 0.80), (1, 2, 4), (1, 2), 12.2),
    _GpuModel("A100 SXM4", 81920, (1.10, 2.00), (1, 2, 4, 8), (2, 3), 12.2),
    _GpuModel("A100 PCIE", 40960, (0.90, 1.50), (1, 2), (1, 2), 12.2),
    _GpuModel("H100 SXM", 81559, (2.20, 3.50), (1, 2, 8), (1, 3), 12.4),
    _GpuModel("H100 PCIE", 81559, (2.00, 3.00), (1, 2), (1, 2), 12.4),
    _GpuModel("L40S", 46068, (0.60, 1.00), (1, 2, 4), (1, 2), 12.4),
    _GpuModel("A10", 23028, (0.15, 0.30), (1,), (1, 1), 12.2),
    _GpuModel("Tesla T4", 15360, (0.08, 0.15), (1,), (1, 1), 12.0),
    _GpuModel("Tesla V100", 16384, (0.15, 0.35), (1, 2, 8), (1, 1), 12.0),
)

_GEOLOCATIONS = (
    "Virginia, US",
    "New York, US",
    "Texas, US",
    "California, US",
    "Oregon, US",
    "Quebec, CA",
    "Germany, DE",
    "Netherlands, NL",
    "Sweden, SE",
    "Finland, FI",
    "Japan, JP",
)

_BOOT_FAILURE_MESSAGE = (
    "Error response from daemon: failed to create task for container: nvidia-container-cli: "
    "initialization error: nvml error: driver/library version mismatch"
)
_DEFAULT_SEARCH_LIMIT = 64
_MAX_BID = 128.0
_PRICE_BAND = 0.25
"""Prices wander at most this far (as a fraction) from where they started."""
_MAX_WALK_STEPS = 1000
_MAX_RECORDED_REQUESTS = 1000


@dataclass
class _Offer:
    id: int
    machine_id: int
    host_id: int
    gpu_name: str
    num_gpus: int
    gpu_ram_mb: int
    start_price: float
    price: float
    bid_ratio: float
    reliability: float
    geolocation: str
    disk_space: float
    cpu_cores: int
    cpu_ram_mb: int
    inet_up: float
    inet_down: float
    cuda: float
    public_ip: str
    rented: bool = False
    withdrawn: bool = False

    @property
    def min_bid(self) -> float:
        return self.price * self.bid_ratio

    def as_json(self, pricing: str = "on-demand") -> Json:
        # With `type: bid` Vast shows interruptible prices: the cheapest bid is what it costs.
        shown_price = self.min_bid if pricing == "bid" else self.price
        return {
            "id": self.id,
            "ask_contract_id": self.id,
            "machine_id": self.machine_id,
            "host_id": self.host_id,
            "gpu_name": self.gpu_name,
            "num_gpus": self.num_gpus,
            "gpu_ram": self.gpu_ram_mb,
            "gpu_total_ram": self.gpu_ram_mb * self.num_gpus,
            "cpu_cores": self.cpu_cores,
            "cpu_ram": self.cpu_ram_mb,
            "disk_space": self.disk_space,
            "dph_total": round(shown_price, 4),
            "dph_base": round(shown_price * 0.95, 4),
            "min_bid": round(self.min_bid, 4),
            "is_bid": pricing == "bid",
            "reliability2": self.reliability,
            "reliability": self.reliability,
            "geolocation": self.geolocation,
            "rentable": not self.withdrawn,
            "rented": self.rented,
            "verified": True,
            "external": False,
            "cuda_max_good": self.cuda,
            "inet_up": self.inet_up,
            "inet_down": self.inet_down,
            "public_ipaddr": self.public_ip,
            "direct_port_count": 100,
        }


@dataclass
class _Machine:
    id: int
    offer: _Offer
    image: str
    disk: float
    label: str | None
    onstart: str | None
    runtype: str | None
    is_bid: bool
    dph_total: float
    start_date: float
    host_ports: dict[str, int]
    intended_status: str = "running"
    cur_state: str = "running"
    actual_status: str | None = None
    status_msg: str = "Pulling image"
    transitions: list[tuple[float, Json]] = field(default_factory=list)

    def apply_due(self, now: float) -> None:
        while self.transitions and self.transitions[0][0] <= now:
            _, changes = self.transitions.pop(0)
            for name, value in changes.items():
                setattr(self, name, value)

    def schedule(self, now: float, *steps: tuple[float, Json]) -> None:
        """Replace whatever was in progress: the latest request wins, as on a real host."""
        self.transitions = sorted(((now + delay, changes) for delay, changes in steps), key=lambda s: s[0])

    def as_json(self) -> Json:
        running = self.actual_status == "running"
        offer = self.offer
        return {
            "id": self.id,
            "machine_id": offer.machine_id,
            "host_id": offer.host_id,
            "actual_status": self.actual_status,
            "intended_status": self.intended_status,
            "cur_state": self.cur_state,
            "next_state": self.intended_status,
            "status_msg": self.status_msg,
            "label": self.label,
            "image_uuid": self.image,
            "image_runtype": self.runtype,
            "onstart": self.onstart,
            "disk_space": self.disk,
            "gpu_name": offer.gpu_name,
            "num_gpus": offer.num_gpus,
            "gpu_ram": offer.gpu_ram_mb,
            "gpu_totalram": offer.gpu_ram_mb * offer.num_gpus,
            "cpu_cores": offer.cpu_cores,
            "cpu_ram": offer.cpu_ram_mb,
            "dph_total": round(self.dph_total, 4),
            "is_bid": self.is_bid,
            "min_bid": round(offer.min_bid, 4),
            "reliability2": offer.reliability,
            "geolocation": offer.geolocation,
            "public_ipaddr": offer.public_ip,
            # Docker publishes ports only while the container runs.
            "ports": (
                {
                    container_port: [{"HostIp": "0.0.0.0", "HostPort": str(host_port)}]
                    for container_port, host_port in self.host_ports.items()
                }
                if running
                else {}
            ),
            "start_date": self.start_date,
        }


@dataclass
class _InjectedFailure:
    operation: str
    remaining: int
    status: int
    body: Json | str | None
    retry_after: float | None


class _ApiError(Exception):
    """An answer shaped the way Vast shapes its errors."""

    def __init__(self, status: int, error: str, msg: str, **extra: Any) -> None:
        super().__init__(msg)
        self.status = status
        self.body: Json = {"success": False, "error": error, "msg": msg, **extra}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s -> %s", self.command, self.path, code)


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "in": lambda value, options: value in options,
    "notin": lambda value, options: value not in options,
}
_QUERY_KEYWORDS = {"order", "limit", "type", "allocated_storage"}


def _offer_matches(offer: Json, query: Json) -> bool:
    for name, condition in query.items():
        if name in _QUERY_KEYWORDS:
            continue
        value = offer[name]
        for op_name, operand in condition.items():
            if value is None and op_name not in ("eq", "neq"):
                return False
            try:
                if not _COMPARISONS[op_name](value, operand):
                    return False
            except TypeError as exc:
                raise _ApiError(
                    400, "invalid_args", f"Cannot compare {name}={value!r} with {op_name} {operand!r}"
                ) from exc
    return True


def _validate_query(query: Json, fields: Iterable[str]) -> None:
    known = set(fields)
    for name, condition in query.items():
        if name in _QUERY_KEYWORDS:
            continue
        if name not in known:
            raise _ApiError(400, "invalid_args", f"Unknown search field {name!r}")
        if not isinstance(condition, dict) or not condition:
            raise _ApiError(400, "invalid_args", f"Filter on {name!r} must be an object like {{'eq': ...}}")
        for op_name, operand in condition.items():
            if op_name not in _COMPARISONS:
                raise _ApiError(400, "invalid_args", f"Unknown operator {op_name!r} on {name!r}")
            if op_name in ("in", "notin") and not isinstance(operand, list):
                raise _ApiError(400, "invalid_args", f"Operator {op_name!r} on {name!r} takes a list")
    order = query.get("order", [])
    if not isinstance(order, list) or not all(
        isinstance(item, list) and len(item) == 2 and item[0] in known and item[1] in ("asc", "desc")
        for item in order
    ):
        raise _ApiError(400, "invalid_args", f"Invalid order {order!r}: use [[field, 'asc'|'desc'], ...]")
    limit = query.get("limit", _DEFAULT_SEARCH_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise _ApiError(400, "invalid_args", f"Invalid limit {limit!r}")
    if query.get("type", "on-demand") not in ("on-demand", "ask", "bid"):
        raise _ApiError(400, "invalid_args", f"Invalid type {query.get('type')!r}")


def _sorted_offers(offers: list[Json], order: list[list[str]]) -> list[Json]:
    # Python's sort is stable, so sorting by the least significant key first gives a multi-key order.
    for name, direction in reversed(order):
        present = [offer for offer in offers if offer[name] is not None]
        missing = [offer for offer in offers if offer[name] is None]
        present.sort(key=lambda offer: offer[name], reverse=direction == "desc")
        offers = present + missing
    return offers


def _ports_from_env(env: object) -> list[int]:
    """Container ports asked for with Docker `-p` flags, whether `env` is Vast's dict or a string."""
    text = " ".join(env.keys()) if isinstance(env, dict) else env if isinstance(env, str) else ""
    return [int(match) for match in re.findall(r"-p\s+(?:\d+:)?(\d+)(?:/tcp)?", text)]


class MachineRuntime(Protocol):
    """What runs on the simulated machines: their agents, GPU load and disks."""

    def set_gpu_utilization(self, machine_id: int | None, utilization: float) -> None: ...

    def workspace(self, machine_id: int) -> Path: ...


class LocalMarketplace:
    """A Vast.ai-compatible GPU marketplace served over HTTP from a daemon thread."""

    price_step_seconds = 10.0
    """How often prices take one step of their random walk."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = "local-marketplace-key",
        *,
        seed: int | None = None,
        boot_seconds: tuple[float, float] = (3.0, 8.0),
        action_seconds: tuple[float, float] = (1.0, 3.0),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.api_key = api_key
        self._requested_port = port
        self._seed = seed if seed is not None else random.randrange(2**32)
        self._boot_seconds = boot_seconds
        self._action_seconds = action_seconds
        self._clock = clock
        self._lock = threading.RLock()
        self._server: BaseWSGIServer | None = None
        self._threads: ServerThreads | None = None
        self._url_map = Map(
            [
                Rule("/api/v0/bundles/", endpoint="search", methods=["POST", "GET"]),
                Rule("/api/v0/asks/<int:offer_id>/", endpoint="create", methods=["PUT"]),
                Rule("/api/v0/instances/", endpoint="list", methods=["GET"]),
                Rule("/api/v0/instances/<int:instance_id>/", endpoint="show", methods=["GET"]),
                Rule("/api/v0/instances/<int:instance_id>/", endpoint="manage", methods=["PUT"]),
                Rule("/api/v0/instances/<int:instance_id>/", endpoint="destroy", methods=["DELETE"]),
                Rule("/api/v0/instances/reboot/<int:instance_id>/", endpoint="reboot", methods=["PUT"]),
                Rule("/_sim/machines", endpoint="sim_machines", methods=["GET"]),
                Rule("/_sim/offers", endpoint="sim_offers", methods=["GET"]),
                Rule("/_sim/requests", endpoint="sim_requests", methods=["GET"]),
                Rule("/_sim/fail_next_creates", endpoint="sim_fail_creates", methods=["POST"]),
                Rule("/_sim/fail_next_calls", endpoint="sim_fail_calls", methods=["POST"]),
                Rule("/_sim/fail_next_boots", endpoint="sim_fail_boots", methods=["POST"]),
                Rule("/_sim/clear_failures", endpoint="sim_clear_failures", methods=["POST"]),
                Rule("/_sim/offers/<int:offer_id>/withdraw", endpoint="sim_withdraw", methods=["POST"]),
                Rule("/_sim/machines/<int:instance_id>/fail", endpoint="sim_fail_machine", methods=["POST"]),
                Rule("/_sim/reset", endpoint="sim_reset", methods=["POST"]),
                Rule("/_sim/machines/<int:instance_id>/gpu", endpoint="sim_gpu", methods=["POST"]),
                Rule("/_sim/gpu", endpoint="sim_gpu_all", methods=["POST"]),
                Rule("/_sim/machines/<int:instance_id>/workspace", endpoint="sim_workspace", methods=["GET"]),
            ]
        )
        self._offers: dict[int, _Offer] = {}
        self._machines: dict[int, _Machine] = {}
        self._injected: list[_InjectedFailure] = []
        self._failing_boots: list[str] = []
        self._requests: list[Json] = []
        self._walk_rng = random.Random()
        self._timing_rng = random.Random()
        self._last_walk_at = 0.0
        self._next_contract = 0
        self.machine_runtime: MachineRuntime | None = None
        """Set by the local stack: the agents, GPU load and disks of the simulated machines."""
        self.reset()

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> LocalMarketplace:
        """Serve in a daemon thread; the socket is listening when this returns."""
        if self._server is not None:
            return self
        self._server = make_server(
            self.host, self._requested_port, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        # A short poll interval keeps stop() quick; it is how often shutdown requests are noticed.
        self._threads = ServerThreads(self._server, "local-marketplace", poll_interval=0.05)
        self._threads.start()
        logger.info("Local GPU marketplace listening on %s", self.url)
        return self

    def stop(self) -> None:
        threads = self._threads
        self._server, self._threads = None, None
        if threads is not None:
            threads.stop()

    def __enter__(self) -> LocalMarketplace:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the marketplace is not running; call start() first")
        return self._server.port

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    # --- inspection and failure injection -----------------------------------------------------

    def reset(self) -> None:
        """Back to the freshly seeded market: no machines, no injected failures, initial prices."""
        with self._lock:
            rng = random.Random(self._seed)
            self._offers = self._generate_offers(rng)
            self._walk_rng = random.Random(self._seed + 1)
            self._timing_rng = random.Random(self._seed + 2)
            self._last_walk_at = self._clock()
            self._next_contract = 21_000_000 + rng.randrange(1_000_000)
            self._machines.clear()
            self._injected.clear()
            self._failing_boots.clear()
            self._requests.clear()

    def machines(self) -> list[Json]:
        with self._lock:
            self._advance()
            return [machine.as_json() for machine in self._machines.values()]

    def offers(self) -> list[Json]:
        """Every offer, rented and withdrawn ones included, at today's on-demand prices."""
        with self._lock:
            self._advance()
            return [offer.as_json() for offer in self._offers.values()]

    def requests_seen(self) -> list[Json]:
        """API requests received so far, oldest first (the API key itself is never recorded)."""
        with self._lock:
            return [dict(entry) for entry in self._requests]

    def fail_next_creates(
        self, count: int, status: int, body: Json | str | None = None, *, retry_after: float | None = None
    ) -> None:
        """The next `count` rent attempts answer `status` with `body` (a str is sent as HTML)."""
        self.fail_next_calls("create", count, status, body, retry_after=retry_after)

    def fail_next_calls(
        self,
        operation: str,
        count: int,
        status: int,
        body: Json | str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        """The next `count` calls of `operation` (one of OPERATIONS, or "any") answer `status`."""
        if operation not in (*OPERATIONS, "any"):
            raise ValueError(f"operation must be one of {[*OPERATIONS, 'any']}, not {operation!r}")
        if count < 1 or not 100 <= status <= 599:
            raise ValueError("count must be positive and status a valid HTTP status")
        with self._lock:
            self._injected.append(_InjectedFailure(operation, count, status, body, retry_after))

    def fail_next_boots(self, count: int = 1, message: str = _BOOT_FAILURE_MESSAGE) -> None:
        """The next `count` machines created exit during boot with `message` as their status."""
        with self._lock:
            self._failing_boots.extend([message] * count)

    def clear_injected_failures(self) -> None:
        """Forget failures injected but not yet delivered (answers and boots alike)."""
        with self._lock:
            self._injected.clear()
            self._failing_boots.clear()

    def withdraw_offer(self, offer_id: int) -> None:
        """The host takes the offer off the market: it leaves search results and renting it fails."""
        with self._lock:
            if offer_id not in self._offers:
                raise KeyError(f"no offer {offer_id}")
            self._offers[offer_id].withdrawn = True

    def fail_machine(self, instance_id: int, *, offline: bool = False, message: str | None = None) -> None:
        """Break a machine now: its host goes offline, or its container exits (as when outbid)."""
        with self._lock:
            self._advance()
            machine = self._machines.get(instance_id)
            if machine is None:
                raise KeyError(f"no machine {instance_id}")
            machine.transitions.clear()
            if offline:
                machine.actual_status = "offline"
                machine.status_msg = message or "Host is offline: lost contact with the machine"
            else:
                machine.actual_status = "exited"
                machine.status_msg = message or "Instance stopped: outbid by a higher priority contract"

    # --- the simulated market -----------------------------------------------------------------

    def _generate_offers(self, rng: random.Random) -> dict[int, _Offer]:
        offers: dict[int, _Offer] = {}
        ip_suffixes = rng.sample(range(1, 255), k=254)
        offer_id = 9_000_000 + rng.randrange(1_000_000)
        machine_id = 10_000 + rng.randrange(20_000)
        # Every GPU type in every location, the first host there an established one, so a request
        # for any type in any region can be served however the seed falls (the real market is deep).
        hosts = [
            (model, geolocation, index == 0)
            for model in _GPU_MODELS
            for geolocation in _GEOLOCATIONS
            for index in range(rng.randint(*model.hosts_per_location))
        ]
        for model, geolocation, established in hosts:
            offer_id += rng.randrange(1, 5_000)
            machine_id += rng.randrange(1, 50)
            num_gpus = rng.choice(model.gpu_counts)
            price = round(rng.uniform(*model.price_per_gpu) * num_gpus, 4)
            if established:
                reliability = rng.uniform(0.95, 0.999)
                disk_space = rng.choice((256, 500, 1000, 2000))
            else:
                # Most hosts score well and a tail of flaky ones does not, as on the real market.
                reliability = 0.999 - 0.199 * rng.random() ** 3
                disk_space = rng.choice((64, 128, 256, 500, 1000, 2000))
            offers[offer_id] = _Offer(
                id=offer_id,
                machine_id=machine_id,
                host_id=100_000 + rng.randrange(200_000),
                gpu_name=model.gpu_name,
                num_gpus=num_gpus,
                gpu_ram_mb=model.gpu_ram_mb,
                start_price=price,
                price=price,
                bid_ratio=rng.uniform(0.4, 0.75),
                reliability=round(reliability, 4),
                geolocation=geolocation,
                disk_space=float(disk_space),
                cpu_cores=8 * num_gpus * rng.choice((1, 2, 4)),
                cpu_ram_mb=32_768 * num_gpus * rng.choice((1, 2)),
                inet_up=round(rng.uniform(100, 2000), 1),
                inet_down=round(rng.uniform(200, 5000), 1),
                cuda=model.cuda,
                # The documentation range has 254 addresses; past that, hosts share them.
                public_ip=f"203.0.113.{ip_suffixes[len(offers) % len(ip_suffixes)]}",
            )
        return offers

    def _advance(self) -> None:
        """Bring prices and machines up to the clock's present. Call with the lock held."""
        now = self._clock()
        steps = math.floor((now - self._last_walk_at) / self.price_step_seconds)
        if steps > 0:
            self._last_walk_at += steps * self.price_step_seconds
            for _ in range(min(steps, _MAX_WALK_STEPS)):
                for offer in self._offers.values():
                    low, high = offer.start_price * (1 - _PRICE_BAND), offer.start_price * (1 + _PRICE_BAND)
                    moved = offer.price * math.exp(self._walk_rng.gauss(0.0, 0.02))
                    # Reflect at the edges so prices stay plausible however long the stack runs.
                    if moved > high:
                        moved = 2 * high - moved
                    elif moved < low:
                        moved = 2 * low - moved
                    offer.price = min(max(moved, low), high)
        for machine in self._machines.values():
            machine.apply_due(now)

    def _delay(self, bounds: tuple[float, float]) -> float:
        return self._timing_rng.uniform(*bounds)

    # --- HTTP ---------------------------------------------------------------------------------

    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self._dispatch(Request(environ))(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        try:
            endpoint, args = self._url_map.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            if exc.code in (404, 405):
                error = "not_found" if exc.code == 404 else "method_not_allowed"
                message = f"{request.method} {request.path} is not part of this API"
                return _json_response(exc.code, {"success": False, "error": error, "msg": message})
            return exc.get_response(request.environ)
        if endpoint.startswith("sim_"):
            try:
                return self._control(endpoint, args, request)
            except (KeyError, ValueError, TypeError) as exc:
                return _json_response(400, {"success": False, "error": "invalid_args", "msg": str(exc)})
        response = self._api(endpoint, args, request)
        with self._lock:
            self._requests.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "operation": endpoint,
                    "content_type": request.headers.get("Content-Type"),
                    "authorized": self._authorized(request),
                    "body": _parsed_or_raw(request.get_data()),
                    "status": response.status_code,
                }
            )
            del self._requests[:-_MAX_RECORDED_REQUESTS]
        return response

    def _authorized(self, request: Request) -> bool:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.api_key}".encode())

    def _api(self, operation: str, args: Mapping[str, Any], request: Request) -> Response:
        if not self._authorized(request):
            return _json_response(
                401, {"success": False, "error": "invalid_user_key", "msg": "Invalid or missing API key."}
            )
        raw = request.get_data()
        if raw and request.headers.get("Content-Type") != "application/json":
            return _json_response(
                415,
                {
                    "success": False,
                    "error": "unsupported_media_type",
                    "msg": "Content-Type must be exactly application/json, "
                    f"got {request.headers.get('Content-Type')!r}",
                },
            )
        injected = self._take_injected_failure(operation)
        if injected is not None:
            return injected
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return _json_response(400, {"success": False, "error": "invalid_json", "msg": "Body is not JSON"})
        if not isinstance(body, dict):
            return _json_response(
                400, {"success": False, "error": "invalid_json", "msg": "Body must be a JSON object"}
            )
        try:
            if operation == "search" and request.method == "GET":
                body = self._query_from_url(request)
            with self._lock:
                self._advance()
                answer = self._handle(operation, args, body)
        except _ApiError as exc:
            return _json_response(exc.status, exc.body)
        return _json_response(200, answer)

    def _take_injected_failure(self, operation: str) -> Response | None:
        with self._lock:
            for failure in self._injected:
                if failure.operation in (operation, "any"):
                    failure.remaining -= 1
                    if failure.remaining == 0:
                        self._injected.remove(failure)
                    break
            else:
                return None
        headers = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after is not None else {}
        if isinstance(failure.body, str):
            return Response(failure.body, status=failure.status, mimetype="text/html", headers=headers)
        body = failure.body if failure.body is not None else _default_failure_body(failure.status)
        return _json_response(failure.status, body, headers=headers)

    @staticmethod
    def _query_from_url(request: Request) -> Json:
        # Older clients send the query as `?q=<json>` on a GET.
        try:
            query = json.loads(request.args.get("q", "{}"))
        except ValueError as exc:
            raise _ApiError(400, "invalid_args", "q is not JSON") from exc
        return query if isinstance(query, dict) else {}

    def _handle(self, operation: str, args: Mapping[str, Any], body: Json) -> Json:
        if operation == "search":
            return self._search(body)
        if operation == "create":
            return self._create(args["offer_id"], body)
        if operation == "list":
            return {"instances": [machine.as_json() for machine in self._machines.values()]}
        machine = self._machines.get(args["instance_id"])
        if machine is None:
            instance_id = args["instance_id"]
            raise _ApiError(404, "no_such_instance", f"Instance {instance_id} not found.")
        if operation == "show":
            return {"instances": machine.as_json()}
        if operation == "manage":
            return self._manage(machine, body)
        if operation == "reboot":
            return self._reboot(machine)
        if operation == "destroy":
            del self._machines[machine.id]
            machine.offer.rented = False
            return {"success": True}
        raise AssertionError(f"unrouted operation {operation}")

    def _search(self, query: Json) -> Json:
        pricing = query.get("type", "on-demand")
        _validate_query(query, next(iter(self._offers.values())).as_json().keys())
        listed = [offer.as_json(pricing) for offer in self._offers.values() if not offer.withdrawn]
        matching = [offer for offer in listed if _offer_matches(offer, query)]
        ordered = _sorted_offers(matching, query.get("order", []))
        return {"offers": ordered[: query.get("limit", _DEFAULT_SEARCH_LIMIT)]}

    def _create(self, offer_id: int, body: Json) -> Json:
        offer = self._offers.get(offer_id)
        if offer is None or offer.rented or offer.withdrawn:
            raise _ApiError(
                404, "no_such_ask", f"Instance type by id {offer_id} is not available.", ask_id=offer_id
            )
        image = body.get("image")
        if not isinstance(image, str) or not image:
            raise _ApiError(400, "invalid_args", "image is required", ask_id=offer_id)
        disk = body.get("disk", 10.0)
        if isinstance(disk, bool) or not isinstance(disk, int | float) or not 0 < disk <= offer.disk_space:
            raise _ApiError(
                400, "invalid_args", f"disk must be between 0 and {offer.disk_space:g} GB", ask_id=offer_id
            )
        label = body.get("label")
        if label is not None and (not isinstance(label, str) or len(label) > 1024):
            raise _ApiError(400, "invalid_args", "label must be a string of at most 1024 characters")
        price = body.get("price")
        if price is not None:
            if (
                isinstance(price, bool)
                or not isinstance(price, int | float)
                or not 0.001 <= price <= _MAX_BID
            ):
                raise _ApiError(400, "invalid_price", f"price must be between 0.001 and {_MAX_BID:g}")
            if price < offer.min_bid:
                raise _ApiError(
                    400,
                    "invalid_price",
                    f"Bid {price:g} $/hr is below the minimum bid of {offer.min_bid:.4f} $/hr",
                    ask_id=offer_id,
                )
        onstart = body.get("onstart")
        runtype = body.get("runtype")
        now = self._clock()
        self._next_contract += 1 + self._timing_rng.randrange(50)
        container_ports = sorted({22, 8888, *_ports_from_env(body.get("env"))})
        host_ports = self._timing_rng.sample(range(20_000, 65_000), k=len(container_ports))
        machine = _Machine(
            id=self._next_contract,
            offer=offer,
            image=image,
            disk=float(disk),
            label=label,
            onstart=onstart if isinstance(onstart, str) else None,
            runtype=runtype if isinstance(runtype, str) else None,
            is_bid=price is not None,
            dph_total=float(price) if price is not None else offer.price,
            start_date=time.time(),
            host_ports={f"{port}/tcp": host for port, host in zip(container_ports, host_ports, strict=True)},
        )
        boot = self._delay(self._boot_seconds)
        if self._failing_boots:
            ending: Json = {"actual_status": "exited", "status_msg": self._failing_boots.pop(0)}
        else:
            ending = {"actual_status": "running", "status_msg": "success, running " + image}
        machine.schedule(
            now, (boot * 0.25, {"actual_status": "loading", "status_msg": "Loading image"}), (boot, ending)
        )
        offer.rented = True
        self._machines[machine.id] = machine
        return {"success": True, "new_contract": machine.id}

    def _manage(self, machine: _Machine, body: Json) -> Json:
        state, label = body.get("state"), body.get("label")
        if state is None and label is None:
            raise _ApiError(400, "invalid_args", "state or label is required")
        if label is not None:
            if not isinstance(label, str) or len(label) > 1024:
                raise _ApiError(400, "invalid_args", "label must be a string of at most 1024 characters")
            machine.label = label
        if state is None:
            return {"success": True}
        if state not in ("running", "stopped"):
            raise _ApiError(400, "invalid_args", f"state must be running or stopped, not {state!r}")
        now = self._clock()
        already_there = (
            machine.intended_status == "stopped"
            if state == "stopped"
            else machine.intended_status == "running"
            and machine.actual_status in (None, "loading", "running")
        )
        machine.intended_status = machine.cur_state = state
        # Nothing moves on a host that is offline, and asking twice changes nothing.
        if machine.actual_status == "offline" or already_there:
            return {"success": True}
        delay = self._delay(self._action_seconds)
        if state == "stopped":
            machine.status_msg = "Stopping container"
            machine.schedule(now, (delay, {"actual_status": "exited", "status_msg": "Exited (0)"}))
        else:
            machine.actual_status, machine.status_msg = "loading", "Starting container"
            machine.schedule(now, (delay, {"actual_status": "running", "status_msg": "success, running"}))
        return {"success": True}

    def _reboot(self, machine: _Machine) -> Json:
        if machine.intended_status == "stopped" or machine.actual_status == "offline":
            raise _ApiError(
                400, "invalid_state", f"Instance {machine.id} is not running; start it instead of rebooting."
            )
        delay = self._delay(self._action_seconds)
        machine.actual_status, machine.status_msg = "loading", "Rebooting"
        machine.schedule(
            self._clock(), (delay, {"actual_status": "running", "status_msg": "success, running"})
        )
        return {"success": True}

    def _machine_control(self, endpoint: str, machine_id: int | None, body: Json) -> Response:
        """What runs on the machines (their agents, GPU load and disks), when the local stack attaches it."""
        machines = self.machine_runtime
        if machines is None:
            return _json_response(404, {"success": False, "error": "no machine runtime is attached"})
        if endpoint == "sim_workspace" and machine_id is not None:
            return _json_response(200, {"path": str(machines.workspace(machine_id))})
        utilization = body.get("utilization")
        if (
            isinstance(utilization, bool)
            or not isinstance(utilization, int | float)
            or not 0 <= utilization <= 100
        ):
            return _json_response(
                400, {"success": False, "error": "utilization must be a number from 0 to 100"}
            )
        machines.set_gpu_utilization(machine_id, float(utilization))
        return _json_response(200, {"success": True})

    def _control(self, endpoint: str, args: Mapping[str, Any], request: Request) -> Response:
        raw = request.get_data()
        # Lenient on purpose: `curl -d '{...}'` sends a form content type, and this is a demo aid.
        body: Json = json.loads(raw) if raw.strip() else {}
        if endpoint == "sim_machines":
            return _json_response(200, {"machines": self.machines()})
        if endpoint == "sim_offers":
            return _json_response(200, {"offers": self.offers()})
        if endpoint == "sim_requests":
            return _json_response(200, {"requests": self.requests_seen()})
        if endpoint in ("sim_fail_creates", "sim_fail_calls"):
            self.fail_next_calls(
                "create" if endpoint == "sim_fail_creates" else str(body.get("operation", "any")),
                int(body.get("count", 1)),
                int(body["status"]),
                body.get("body"),
                retry_after=float(body["retry_after"]) if body.get("retry_after") is not None else None,
            )
        elif endpoint == "sim_fail_boots":
            self.fail_next_boots(int(body.get("count", 1)), str(body.get("message", _BOOT_FAILURE_MESSAGE)))
        elif endpoint == "sim_clear_failures":
            self.clear_injected_failures()
        elif endpoint == "sim_withdraw":
            self.withdraw_offer(args["offer_id"])
        elif endpoint == "sim_fail_machine":
            self.fail_machine(
                args["instance_id"], offline=bool(body.get("offline", False)), message=body.get("message")
            )
        elif endpoint in ("sim_gpu", "sim_gpu_all", "sim_workspace"):
            return self._machine_control(endpoint, args.get("instance_id"), body)
        elif endpoint == "sim_reset":
            self.reset()
        return _json_response(200, {"success": True})


def _default_failure_body(status: int) -> Json:
    if status == 429:
        return {"detail": "API requests too frequent endpoint threshold=4.0"}
    if status == 410:
        return {"success": False, "error": "no_such_ask", "msg": "Instance type is no longer available."}
    return {"success": False, "error": "server_error", "msg": f"Simulated failure ({status})"}


def _parsed_or_raw(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _json_response(status: int, body: Json, *, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)
