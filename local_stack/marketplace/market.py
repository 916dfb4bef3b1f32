"""The simulated market: offers priced as a market moves (`prices`), machines rented from them that
boot, stop, start, break and are interrupted (at random too, at a rate per machine-hour), and the
checks Vast makes before it does any of that.

Time is read from the `clock` given at construction and state moves forward lazily whenever someone
looks, so tests can drive it with a fake clock and nothing runs in the background.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from local_stack.marketplace.json_bodies import ApiError, Json, is_number
from local_stack.marketplace.machines import Interruption, Machine, environment, published_ports
from local_stack.marketplace.offers import Offer, seeded_offers
from local_stack.marketplace.prices import PriceModel
from local_stack.marketplace.search import matching_offers

BOOT_FAILURE_MESSAGE = (
    "Error response from daemon: failed to create task for container: nvidia-container-cli: "
    "initialization error: nvml error: driver/library version mismatch"
)
_MAX_BID = 128.0
_MAX_LABEL_LENGTH = 1024


class _RentalTerms(NamedTuple):
    image: str
    disk: float
    label: str | None
    bid: float | None
    """The price offered for an interruptible machine; None rents it on demand."""

    @classmethod
    def asked_of(cls, offer: Offer, body: Json) -> _RentalTerms:
        """What a create-instance body asks of `offer`, refused the way Vast refuses it."""
        image = body.get("image")
        if not isinstance(image, str) or not image:
            raise ApiError(400, "invalid_args", "image is required", ask_id=offer.id)
        disk = body.get("disk", 10.0)
        if not is_number(disk) or not 0 < disk <= offer.disk_space:
            raise ApiError(
                400, "invalid_args", f"disk must be between 0 and {offer.disk_space:g} GB", ask_id=offer.id
            )
        label = _checked_label(body.get("label"))
        price = body.get("price")
        if price is not None:
            if not is_number(price) or not 0.001 <= price <= _MAX_BID:
                raise ApiError(400, "invalid_price", f"price must be between 0.001 and {_MAX_BID:g}")
            if price < offer.min_bid:
                raise ApiError(
                    400,
                    "invalid_price",
                    f"Bid {price:g} $/hr is below the minimum bid of {offer.min_bid:.4f} $/hr",
                    ask_id=offer.id,
                )
        return cls(image, float(disk), label, float(price) if price is not None else None)


def _checked_label(label: object) -> str | None:
    if label is None or (isinstance(label, str) and len(label) <= _MAX_LABEL_LENGTH):
        return label
    raise ApiError(400, "invalid_args", f"label must be a string of at most {_MAX_LABEL_LENGTH} characters")


class SimulatedMarket:
    """Vast's operations on offers and machines held in memory, safe to call from many threads."""

    price_step_seconds = 10.0
    """How often (in the price model's time) offers are priced again."""

    def __init__(
        self,
        *,
        seed: int,
        boot_seconds: tuple[float, float],
        action_seconds: tuple[float, float],
        clock: Callable[[], float],
        interruptions_per_hour: float = 0.0,
        prices: PriceModel | None = None,
    ) -> None:
        self._seed = seed
        self.prices = prices or PriceModel(seed, clock=clock)
        """What every offer costs at any moment."""
        self._seeded_interruptions_per_hour = interruptions_per_hour
        self._boot_seconds = boot_seconds
        self._action_seconds = action_seconds
        self._clock = clock
        self._lock = threading.RLock()
        self._offers: dict[int, Offer] = {}
        self._machines: dict[int, Machine] = {}
        self._failing_boots: list[str] = []
        self._failing_starts: list[str] = []
        self._timing_rng = random.Random()
        self._interruption_rng = random.Random()
        self.interruptions_per_hour = interruptions_per_hour
        """How often, on average, a running machine is interrupted (each kind alike); 0 for never."""
        self._priced_at: float | None = None
        self._last_interruption_draw = 0.0
        self._next_contract = 0
        self.reset()

    def reset(self) -> None:
        """Back to the market as seeded: no machines, no failing boots, the first prices and interruption
        rate."""
        with self._lock:
            self.interruptions_per_hour = self._seeded_interruptions_per_hour
            rng = random.Random(self._seed)
            self._offers = seeded_offers(rng)
            self._timing_rng = random.Random(self._seed + 2)
            self._interruption_rng = random.Random(self._seed + 3)
            self._last_interruption_draw = self._clock()
            self._priced_at = None
            self._next_contract = 21_000_000 + rng.randrange(1_000_000)
            self._machines.clear()
            self._failing_boots.clear()
            self._failing_starts.clear()

    # --- inspection and failure injection -----------------------------------------------------

    def machines(self) -> list[Json]:
        """Every machine rented, as `show instance` renders it, oldest first."""
        with self._up_to_date():
            now = self._clock()
            return [machine.as_json(now) for machine in self._machines.values()]

    def offers(self) -> list[Json]:
        """Every offer, rented and withdrawn ones included, at today's on-demand prices."""
        with self._up_to_date():
            return [offer.as_json() for offer in self._offers.values()]

    def fail_next_boots(self, count: int, message: str) -> None:
        """The next `count` machines created exit during boot with `message` as their status."""
        with self._lock:
            self._failing_boots.extend([message] * count)

    def fail_next_starts(self, count: int, message: str) -> None:
        """The next `count` stopped machines started exit while starting, with `message` as their
        status: a machine that dies as it is brought back (a standby taking over)."""
        with self._lock:
            self._failing_starts.extend([message] * count)

    def clear_failing_boots(self) -> None:
        with self._lock:
            self._failing_boots.clear()
            self._failing_starts.clear()

    def withdraw_offer(self, offer_id: int) -> None:
        """The host takes the offer off the market: it leaves search results and renting it fails."""
        with self._lock:
            if offer_id not in self._offers:
                raise KeyError(f"no offer {offer_id}")
            self._offers[offer_id].withdrawn = True

    def fail_machine(self, instance_id: int, *, offline: bool, message: str | None) -> None:
        """Break a machine now: its host goes offline, or its container exits (as when outbid)."""
        with self._up_to_date():
            machine = self._machines.get(instance_id)
            if machine is None:
                raise KeyError(f"no machine {instance_id}")
            machine.break_down(offline=offline, message=message)

    def interrupt(self, instance_id: int, kind: Interruption, message: str | None = None) -> None:
        """Lose a machine now the way `kind` says; only an interruptible (bid) rental can be outbid."""
        with self._up_to_date():
            machine = self._machines.get(instance_id)
            if machine is None:
                raise KeyError(f"no machine {instance_id}")
            if kind == Interruption.OUTBID and not machine.is_bid:
                raise ValueError(f"machine {instance_id} is rented on demand: only a bid can be outbid")
            machine.interrupt(kind, message)

    def bid(self, offer_id: int, price: float) -> int | None:
        """Someone else bids `price` for the offer's GPUs: an interruptible machine rented from it for less
        is outbid. The machine's id, or None when nothing was taken."""
        with self._up_to_date():
            if offer_id not in self._offers:
                raise KeyError(f"no offer {offer_id}")
            for machine in self._machines.values():
                if (
                    machine.offer.id == offer_id
                    and machine.is_bid
                    and machine.interruptible_now
                    and machine.dph_total < price
                ):
                    machine.interrupt(Interruption.OUTBID)
                    return machine.id
            return None

    def partitioned_machines(self) -> set[int]:
        """The machines cut off from the network: running as far as Vast knows, unreachable."""
        with self._up_to_date():
            return {machine.id for machine in self._machines.values() if machine.partitioned}

    # --- Vast's operations, refused with the errors Vast answers ------------------------------

    def search(self, query: Json) -> list[Json]:
        with self._up_to_date():
            return matching_offers(list(self._offers.values()), query)

    def rent(self, offer_id: int, body: Json) -> int:
        """Create a machine from an offer as Vast's create-instance body asks; its contract id."""
        with self._up_to_date():
            offer = self._offers.get(offer_id)
            if offer is None or offer.rented or offer.withdrawn:
                raise ApiError(
                    404, "no_such_ask", f"Instance type by id {offer_id} is not available.", ask_id=offer_id
                )
            terms = _RentalTerms.asked_of(offer, body)
            onstart = body.get("onstart")
            runtype = body.get("runtype") if isinstance(body.get("runtype"), str) else "ssh_proxy"
            env = environment(body.get("env"))
            now = self._clock()
            self._next_contract += 1 + self._timing_rng.randrange(50)
            container_ports = published_ports(env, runtype, offer.host.direct_port_count)
            host_ports = self._timing_rng.sample(range(20_000, 65_000), k=len(container_ports))
            gpu_price = terms.bid if terms.bid is not None else offer.price
            machine = Machine(
                id=self._next_contract,
                offer=offer,
                image=terms.image,
                disk=terms.disk,
                label=terms.label,
                onstart=onstart if isinstance(onstart, str) else None,
                runtype=runtype,
                is_bid=terms.bid is not None,
                dph_total=gpu_price + offer.storage_per_hour(terms.disk),
                start_date=time.time(),
                host_ports={
                    f"{port}/tcp": host for port, host in zip(container_ports, host_ports, strict=True)
                },
                env=env,
                jupyter_token=f"{self._timing_rng.getrandbits(256):064x}",
                ssh_idx=1 + self._next_contract % 9,
                proxy_ssh_port=10_000 + self._next_contract % 50_000,
            )
            boot_seconds = self._delay(self._boot_seconds)
            failure = self._failing_boots.pop(0) if self._failing_boots else None
            machine.boot(now, boot_seconds, failure=failure)
            offer.rented = True
            self._machines[machine.id] = machine
            return machine.id

    def show(self, instance_id: int) -> Json | None:
        """The machine as `show instance` renders it; None, as Vast answers, when there is none."""
        with self._up_to_date():
            machine = self._machines.get(instance_id)
            return machine.as_json(self._clock()) if machine is not None else None

    def show_status(self, instance_id: int, actual_status: str, message: str | None) -> None:
        """Vast shows the machine in `actual_status` from now on (`unknown`, `frozen`, ...)."""
        with self._up_to_date():
            machine = self._machines.get(instance_id)
            if machine is None:
                raise KeyError(f"no machine {instance_id}")
            machine.show_status(actual_status, message)

    def manage(self, instance_id: int, body: Json) -> None:
        """Relabel a machine, or stop or start it, as Vast's manage-instance body asks."""
        with self._up_to_date():
            machine = self._machine(instance_id)
            state, label = body.get("state"), body.get("label")
            if state is None and label is None:
                raise ApiError(400, "invalid_args", "state or label is required")
            if label is not None:
                machine.label = _checked_label(label)
            if state is None:
                return
            if state not in ("running", "stopped"):
                raise ApiError(400, "invalid_args", f"state must be running or stopped, not {state!r}")
            now = self._clock()
            if not machine.ask_for(state):
                return
            seconds = self._delay(self._action_seconds)
            if state == "stopped":
                machine.stop(now, seconds)
            else:
                failure = self._failing_starts.pop(0) if self._failing_starts else None
                machine.start(now, seconds, failure=failure)

    def reboot(self, instance_id: int) -> None:
        with self._up_to_date():
            machine = self._machine(instance_id)
            if not machine.can_reboot:
                raise ApiError(
                    400,
                    "invalid_state",
                    f"Instance {machine.id} is not running; start it instead of rebooting.",
                )
            seconds = self._delay(self._action_seconds)
            machine.start(self._clock(), seconds, rebooting=True)

    def destroy(self, instance_id: int) -> None:
        with self._up_to_date():
            machine = self._machines.get(instance_id)
            if machine is None:
                raise ApiError(404, "not_found", "Instance not found")
            del self._machines[machine.id]
            machine.offer.rented = False

    # --- the passing of time ------------------------------------------------------------------

    @contextmanager
    def _up_to_date(self) -> Iterator[None]:
        """Hold the lock, with prices and machines brought up to the clock's present."""
        with self._lock:
            now = self._clock()
            self._price_offers()
            for machine in self._machines.values():
                machine.apply_due(now)
            self._interrupt_at_random(now)
            yield

    def _price_offers(self) -> None:
        """Every offer at the price model's price now, once its time moved on a step since the last."""
        at = self.prices.now()
        if self._priced_at is not None and abs(at - self._priced_at) < self.price_step_seconds:
            return
        self._priced_at = at
        for offer in self._offers.values():
            offer.price = self.prices.price_of(
                start_price=offer.start_price,
                offer_id=offer.id,
                gpu_name=offer.gpu_name,
                geolocation=offer.geolocation,
                at=at,
            )

    def _interrupt_at_random(self, now: float) -> None:
        """Each running machine is interrupted with the chance its share of the elapsed time gives it."""
        elapsed, self._last_interruption_draw = now - self._last_interruption_draw, now
        if self.interruptions_per_hour <= 0 or elapsed <= 0:
            return
        chance = 1 - math.exp(-self.interruptions_per_hour * elapsed / 3600)
        for machine in self._machines.values():
            if machine.interruptible_now and self._interruption_rng.random() < chance:
                kinds = [kind for kind in Interruption if machine.is_bid or kind != Interruption.OUTBID]
                machine.interrupt(self._interruption_rng.choice(kinds))

    def _machine(self, instance_id: int) -> Machine:
        machine = self._machines.get(instance_id)
        if machine is None:
            raise ApiError(404, "no_such_instance", f"Instance {instance_id} not found.")
        return machine

    def _delay(self, bounds: tuple[float, float]) -> float:
        return self._timing_rng.uniform(*bounds)
