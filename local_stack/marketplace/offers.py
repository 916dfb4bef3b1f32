"""The simulated market's offers: hosts of every GPU type we rent across several countries, with
prices that drift on a random walk around where they started."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from local_stack.marketplace.json_bodies import Json


@dataclass(frozen=True)
class _GpuModel:
    gpu_name: str
    """Vast's spelling, as in `dumont_core.providers.catalog`."""
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

_PRICE_BAND = 0.25
"""Prices wander at most this far (as a fraction) from where they started."""


@dataclass
class Offer:
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

    def take_price_step(self, rng: random.Random) -> None:
        low, high = self.start_price * (1 - _PRICE_BAND), self.start_price * (1 + _PRICE_BAND)
        moved = self.price * math.exp(rng.gauss(0.0, 0.02))
        # Reflect at the edges so prices stay plausible however long the stack runs.
        if moved > high:
            moved = 2 * high - moved
        elif moved < low:
            moved = 2 * low - moved
        self.price = min(max(moved, low), high)


def seeded_offers(rng: random.Random) -> dict[int, Offer]:
    """The market as it opens, the same for the same random generator state; offers by id."""
    offers: dict[int, Offer] = {}
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
        offers[offer_id] = Offer(
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
