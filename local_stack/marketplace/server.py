"""The local marketplace as one server: the Vast.ai API and the simulation's control endpoints on one
port, served from a daemon thread, with the same controls for Python callers."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from local_stack.marketplace.api import VastApi, api_rules
from local_stack.marketplace.control import MachineRuntime, control_response, control_rules
from local_stack.marketplace.json_bodies import Json, error_body, json_response
from local_stack.marketplace.machines import Interruption
from local_stack.marketplace.market import BOOT_FAILURE_MESSAGE, SimulatedMarket
from local_stack.marketplace.prices import PriceModel
from local_stack.serving import ServerThreads

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

LOCAL_API_KEY = "local-marketplace-key"
"""The key the local marketplace takes unless given another: fixed, so any client (the official
`vastai` CLI among them) can be pointed at it."""


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s -> %s", self.command, self.path, code)


class LocalMarketplace:
    """A Vast.ai-compatible GPU marketplace served over HTTP from a daemon thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = LOCAL_API_KEY,
        *,
        seed: int | None = None,
        boot_seconds: tuple[float, float] = (3.0, 8.0),
        action_seconds: tuple[float, float] = (1.0, 3.0),
        clock: Callable[[], float] = time.monotonic,
        interruptions_per_hour: float = 0.0,
        prices: PriceModel | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._market = SimulatedMarket(
            seed=seed if seed is not None else random.randrange(2**32),
            boot_seconds=boot_seconds,
            action_seconds=action_seconds,
            clock=clock,
            interruptions_per_hour=interruptions_per_hour,
            prices=prices,
        )
        self.prices = self._market.prices
        """How offers are priced: pin it to a past moment to price the market as it was then."""
        self._api = VastApi(self._market, api_key)
        self._url_map = Map([*api_rules(), *control_rules()])
        self._server: BaseWSGIServer | None = None
        self._threads: ServerThreads | None = None
        self.machine_runtime: MachineRuntime | None = None
        """Set by the local stack: the agents, GPU load and disks of the simulated machines."""

    @property
    def app(self) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
        """The marketplace as a WSGI application, to be called in process without a socket."""
        return self._wsgi

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

    def stop(self, timeout: float = 10) -> None:
        threads = self._threads
        self._server, self._threads = None, None
        if threads is not None:
            threads.stop(timeout)

    def __enter__(self) -> LocalMarketplace:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def api_key(self) -> str:
        return self._api.api_key

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
        self._market.reset()
        self._api.reset()

    def machines(self) -> list[Json]:
        return self._market.machines()

    def offers(self) -> list[Json]:
        """Every offer, rented and withdrawn ones included, at today's on-demand prices."""
        return self._market.offers()

    def requests_seen(self) -> list[Json]:
        """API requests received so far, oldest first (the API key itself is never recorded)."""
        return self._api.requests_seen()

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
        label_ending: str | None = None,
    ) -> None:
        """The next `count` calls of `operation` (one of OPERATIONS, or "any") answer `status`; with
        `label_ending`, only the calls about a machine whose label ends so count."""
        self._api.fail_next_calls(operation, count, status, body, retry_after, label_ending)

    def fail_next_boots(self, count: int = 1, message: str = BOOT_FAILURE_MESSAGE) -> None:
        """The next `count` machines created exit during boot with `message` as their status."""
        self._market.fail_next_boots(count, message)

    def fail_next_starts(self, count: int = 1, message: str = BOOT_FAILURE_MESSAGE) -> None:
        """The next `count` stopped machines started exit while starting, with `message` as their status."""
        self._market.fail_next_starts(count, message)

    def clear_injected_failures(self) -> None:
        """Forget failures injected but not yet delivered (answers and boots alike)."""
        self._api.clear_injected_failures()
        self._market.clear_failing_boots()

    def withdraw_offer(self, offer_id: int) -> None:
        """The host takes the offer off the market: it leaves search results and renting it fails."""
        self._market.withdraw_offer(offer_id)

    def fail_machine(self, instance_id: int, *, offline: bool = False, message: str | None = None) -> None:
        """Break a machine now: its host goes offline, or its container exits (as when outbid)."""
        self._market.fail_machine(instance_id, offline=offline, message=message)

    def interrupt(self, instance_id: int, kind: Interruption | str, message: str | None = None) -> None:
        """Lose a machine now: outbid, its host offline, cut off from the network, or host maintenance."""
        self._market.interrupt(instance_id, Interruption(kind), message)

    def show_status(self, instance_id: int, actual_status: str, message: str | None = None) -> None:
        """Vast shows the machine in `actual_status` from now on: `unknown` when its host has not reported
        lately, `frozen`, `stopped`, ..."""
        self._market.show_status(instance_id, actual_status, message)

    def bid(self, offer_id: int, price: float) -> int | None:
        """Someone else bids `price` on the offer: an interruptible machine of ours on it for less is outbid
        (its id is returned)."""
        return self._market.bid(offer_id, price)

    def set_interruption_rate(self, per_machine_hour: float) -> None:
        """Interrupt running machines at random, this often per machine and hour on average (0: never)."""
        if per_machine_hour < 0:
            raise ValueError("per_machine_hour must be 0 or more")
        self._market.interruptions_per_hour = per_machine_hour

    def set_provider_error_rate(self, fraction: float, seed: int | None = None) -> None:
        """Answer 5xx (500, 502 or 503) to this fraction of the API's calls, at random; the draws are the
        same every run for one `seed`."""
        self._api.random_errors.set(fraction, seed)

    @property
    def provider_error_rate(self) -> float:
        return self._api.random_errors.fraction

    def partitioned_machines(self) -> set[int]:
        """The machines cut off from the network, whose agents must reach nobody."""
        return self._market.partitioned_machines()

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
                return json_response(exc.code, error_body(error, message))
            return exc.get_response(request.environ)
        if endpoint.startswith("sim_"):
            try:
                return control_response(self, endpoint, args, request)
            except (KeyError, ValueError, TypeError) as exc:
                return json_response(400, error_body("invalid_args", str(exc)))
        return self._api.respond(endpoint, args, request)
