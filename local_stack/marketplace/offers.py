"""The simulated market's offers: hosts of every GPU type we rent across several countries, with
prices that drift on a random walk around where they started."""

from __future__ import annotations

import functools
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

DEFAULT_STORAGE_GB = 8.0
"""The disk Vast prices an offer with when a search names none (`allocated_storage`)."""
HOURS_PER_MONTH = 720.0
"""Vast prices storage per GB and month (`storage_cost`), and charges it by the hour."""

_CPU_NAMES = ("AMD EPYC 7543 32-Core Processor", "Xeon® Gold 6338", "AMD Ryzen 9 7950X 16-Core Processor")
_MOBO_NAMES = ("ROMED8-2T", "X13DEG-OAD", "PRO WS WRX80E-SAGE SE WIFI")
_DISK_NAMES = ("Samsung SSD 990 PRO 2TB", "Micron_7450_MTFDKCC3T8TFR", "WD_BLACK SN850X 4000GB")
_DRIVERS = ("535.183.01", "550.127.05", "560.35.03")


@dataclass(frozen=True)
class HostTraits:
    """An offer's host beyond what the seed draws: hardware, how it is connected and vetted."""

    cpu_name: str
    cpu_ghz: float
    mobo_name: str
    disk_name: str
    disk_bw: float
    driver_version: str
    compute_cap: int
    gpu_mem_bw: float
    gpu_max_power: float
    flops_per_gpu: float
    dlperf_per_gpu: float
    inet_cost: float
    storage_cost: float
    """$ per GB and month."""
    direct_port_count: int
    """Ports open on the host's router; 0 means SSH only through Vast's proxy."""
    datacenter: bool
    verification: str
    geolocode: int
    listed_since: float
    duration_seconds: float
    """How long the host offers the machine for, from now."""

    @classmethod
    def of(cls, offer: Offer) -> HostTraits:
        return _traits(offer.id, offer.established, offer.reliability, offer.gpu_ram_mb, offer.cuda)

    @classmethod
    def drawn(
        cls, offer_id: int, established: bool, reliability: float, gpu_ram_mb: int, cuda: float
    ) -> HostTraits:
        rng = random.Random(offer_id)
        vram_gb = gpu_ram_mb / 1024
        flops = round(vram_gb * rng.uniform(1.5, 3.5), 1)
        # Established hosts are vetted and reachable; a share of the others are neither.
        vetted = established or reliability >= 0.9 or rng.random() < 0.5
        return cls(
            cpu_name=rng.choice(_CPU_NAMES),
            cpu_ghz=round(rng.uniform(2.4, 4.5), 1),
            mobo_name=rng.choice(_MOBO_NAMES),
            disk_name=rng.choice(_DISK_NAMES),
            disk_bw=round(rng.uniform(1500, 7000), 1),
            driver_version=rng.choice(_DRIVERS),
            compute_cap=890 if cuda >= 12.4 else 860,
            gpu_mem_bw=round(vram_gb * rng.uniform(25, 45), 1),
            gpu_max_power=float(rng.choice((300, 350, 450, 700))),
            flops_per_gpu=flops,
            dlperf_per_gpu=round(flops * rng.uniform(0.8, 1.2), 2),
            inet_cost=round(rng.uniform(0.001, 0.01), 4),
            storage_cost=round(rng.uniform(0.1, 0.3), 3),
            direct_port_count=rng.choice((100, 500, 1000)) if established or rng.random() < 0.85 else 0,
            datacenter=reliability > 0.97 and rng.random() < 0.4,
            verification="verified" if vetted else "unverified",
            geolocode=rng.randrange(1, 2**31),
            listed_since=1_700_000_000.0 + rng.randrange(30_000_000),
            duration_seconds=round(rng.uniform(7, 180) * 86_400, 1),
        )


@functools.lru_cache(maxsize=4096)
def _traits(offer_id: int, established: bool, reliability: float, gpu_ram_mb: int, cuda: float) -> HostTraits:
    return HostTraits.drawn(offer_id, established, reliability, gpu_ram_mb, cuda)


def _cost_breakdown(gpu_per_hour: float, storage_per_hour: float) -> Json:
    total = round(gpu_per_hour + storage_per_hour, 6)
    return {
        "gpuCostPerHour": round(gpu_per_hour, 6),
        "diskHour": round(storage_per_hour, 6),
        "totalHour": total,
        "discountTotalHour": 0,
        "discountedTotalPerHour": total,
    }


def driver_number(version: str) -> int:
    """How Vast orders driver versions: `535.86.05` is 535086005."""
    return int("".join(part.zfill(3) for part in version.split(".")))


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
    established: bool = False
    """The first host of its GPU type in its location, always vetted and reachable."""
    rented: bool = False
    withdrawn: bool = False

    @property
    def min_bid(self) -> float:
        return self.price * self.bid_ratio

    @property
    def storage_cost(self) -> float:
        return self.host.storage_cost

    def storage_per_hour(self, disk_gb: float) -> float:
        return self.storage_cost * disk_gb / HOURS_PER_MONTH

    def as_json(self, pricing: str = "on-demand", storage_gb: float = DEFAULT_STORAGE_GB) -> Json:
        """The offer as Vast lists it, its prices for `storage_gb` of disk; with `pricing` "bid" Vast
        shows interruptible prices, the cheapest bid being what it costs."""
        gpu_price = self.min_bid if pricing == "bid" else self.price
        storage_per_hour = self.storage_cost * storage_gb / HOURS_PER_MONTH
        total = gpu_price + storage_per_hour
        host = self.host
        return {
            "id": self.id,
            "ask_contract_id": self.id,
            "bundle_id": self.id + 700_000_000,
            "bundled_results": None,
            "machine_id": self.machine_id,
            "host_id": self.host_id,
            "hostname": None,
            "hosting_type": 1 if host.datacenter else 0,
            "cluster_id": None,
            "resource_type": "gpu",
            "gpu_name": self.gpu_name,
            "gpu_arch": "nvidia",
            "gpu_ids": [self.machine_id * 10 + index for index in range(self.num_gpus)],
            "num_gpus": self.num_gpus,
            "gpu_frac": 1.0,
            "gpu_ram": self.gpu_ram_mb,
            "gpu_total_ram": self.gpu_ram_mb * self.num_gpus,
            "gpu_mem_bw": host.gpu_mem_bw,
            "gpu_max_power": host.gpu_max_power,
            "gpu_max_temp": 83.0,
            "gpu_lanes": 16,
            "gpu_display_active": False,
            "bw_nvlink": 0.0,
            "compute_cap": host.compute_cap,
            "total_flops": round(host.flops_per_gpu * self.num_gpus, 2),
            "dlperf": round(host.dlperf_per_gpu * self.num_gpus, 2),
            "dlperf_per_dphtotal": round(host.dlperf_per_gpu * self.num_gpus / total, 2),
            "flops_per_dphtotal": round(host.flops_per_gpu * self.num_gpus / total, 2),
            "cpu_name": host.cpu_name,
            "cpu_arch": "amd64",
            "cpu_cores": self.cpu_cores,
            "cpu_cores_effective": float(self.cpu_cores),
            "cpu_ghz": host.cpu_ghz,
            "cpu_ram": self.cpu_ram_mb,
            "has_avx": 1,
            "mobo_name": host.mobo_name,
            "pci_gen": 4.0,
            "pcie_bw": 25.2,
            "disk_name": host.disk_name,
            "disk_bw": host.disk_bw,
            "disk_space": self.disk_space,
            "cuda_max_good": self.cuda,
            "driver_version": host.driver_version,
            "driver_vers": driver_number(host.driver_version),
            "os_version": "22.04",
            "ubuntu_version": "22.04",
            "vms_enabled": False,
            "is_vm_deverified": False,
            "inet_up": self.inet_up,
            "inet_down": self.inet_down,
            "inet_up_cost": host.inet_cost,
            "inet_down_cost": host.inet_cost,
            "internet_up_cost_per_tb": round(host.inet_cost * 1000, 2),
            "internet_down_cost_per_tb": round(host.inet_cost * 1000, 2),
            "public_ipaddr": self.public_ip,
            "static_ip": host.datacenter,
            "direct_port_count": host.direct_port_count,
            "geolocation": self.geolocation,
            "geolocode": host.geolocode,
            "datacenter": host.datacenter,
            "external": False,
            "verified": host.verification == "verified",
            "verification": host.verification,
            "vericode": 1 if host.verification == "verified" else 0,
            "reliability": self.reliability,
            "reliability2": self.reliability,
            "reliability_mult": round(self.reliability**2, 4),
            "expected_reliability": self.reliability,
            "score": round(host.dlperf_per_gpu * self.num_gpus / total * self.reliability**3, 4),
            "rentable": not self.withdrawn and not self.rented,
            "rented": self.rented,
            "is_bid": pricing == "bid",
            "min_bid": round(self.min_bid, 4),
            "dph_base": round(gpu_price, 4),
            "dph_total": round(total, 4),
            "dph_total_adj": round(total, 4),
            "storage_cost": self.storage_cost,
            "storage_total_cost": round(storage_per_hour, 6),
            "vram_costperhour": round(gpu_price / (self.gpu_ram_mb * self.num_gpus / 1024), 6),
            "credit_discount_max": 0.2,
            "discount_rate": 0.0,
            "discounted_hourly": 0.0,
            "discounted_dph_total": round(total, 4),
            "search": _cost_breakdown(gpu_price, storage_per_hour),
            "instance": _cost_breakdown(gpu_price, storage_per_hour),
            "start_date": host.listed_since,
            "end_date": host.listed_since + host.duration_seconds,
            "duration": host.duration_seconds,
            "time_remaining": "",
            "time_remaining_isbid": "",
            "webpage": None,
            "logo": "/static/logos/vastai_small2.png",
            "avail_vol_ask_id": None,
            "avail_vol_dph": None,
            "avail_vol_size": None,
            "nw_disk_min_bw": None,
            "nw_disk_max_bw": None,
            "nw_disk_avg_bw": None,
            "rn": 1,
        }

    @property
    def host(self) -> HostTraits:
        """What the host is besides the fields the seed draws, the same for the same offer whatever the
        seed (so adding one changes no offer a test was written against)."""
        return HostTraits.of(self)

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
            established=established,
        )
    return offers
