"""The hyperscalers' on-demand GPU prices we compare against, and which of their GPUs each one we rent is
compared with.

Every row names the instance type, its GPU and how many, the region, the on-demand Linux price of the
whole instance an hour, the public price list it was read from, and the date it was written here. A
comparison is made per GPU: the instance's price divided by its GPUs, times the GPUs an instance of ours
holds. Prices change: rows are replaced, with their new date, when the source pages change (see the
decision log on savings).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Cloud(StrEnum):
    AWS = "aws"
    GCP = "gcp"
    AZURE = "azure"


AWS_SOURCE = "https://aws.amazon.com/ec2/pricing/on-demand/"
GCP_SOURCE = "https://cloud.google.com/compute/gpus-pricing"
AZURE_SOURCE = "https://azure.microsoft.com/en-us/pricing/details/virtual-machines/linux/"
CATALOG_DATE = "2026-12-02"

OBJECT_STORAGE_PER_GB_MONTH = 0.023
"""What a GB-month of snapshots would cost kept at a hyperscaler: S3 Standard's first 50 TB in us-east-1
(https://aws.amazon.com/s3/pricing/), which is also our default storage price. It is used for every
cloud: the comparison is of GPUs, and storage counts the same on every side at the default price."""


@dataclass(frozen=True)
class HyperscalerPrice:
    cloud: Cloud
    instance_type: str
    gpu: str
    gpus: int
    region: str
    price_per_hour: float
    """The whole instance, on demand, Linux, in USD."""
    source: str
    as_of: str

    @property
    def per_gpu_hour(self) -> float:
        return self.price_per_hour / self.gpus


def _row(
    cloud: Cloud, instance_type: str, gpu: str, gpus: int, region: str, price: float
) -> HyperscalerPrice:
    source = {Cloud.AWS: AWS_SOURCE, Cloud.GCP: GCP_SOURCE, Cloud.AZURE: AZURE_SOURCE}[cloud]
    return HyperscalerPrice(cloud, instance_type, gpu, gpus, region, price, source, CATALOG_DATE)


PRICES: tuple[HyperscalerPrice, ...] = (
    _row(Cloud.AWS, "g4dn.xlarge", "T4", 1, "us-east-1", 0.526),
    _row(Cloud.AWS, "g5.xlarge", "A10G", 1, "us-east-1", 1.006),
    _row(Cloud.AWS, "g6e.xlarge", "L40S", 1, "us-east-1", 1.861),
    _row(Cloud.AWS, "p3.2xlarge", "V100", 1, "us-east-1", 3.06),
    _row(Cloud.AWS, "p4d.24xlarge", "A100 40GB", 8, "us-east-1", 32.7726),
    _row(Cloud.AWS, "p5.48xlarge", "H100", 8, "us-east-1", 98.32),
    # GCP prices the GPU apart from the machine: the machine type named is the smallest one offered
    # with that GPU, and the price is the two together.
    _row(Cloud.GCP, "n1-standard-4 + 1 x nvidia-tesla-t4", "T4", 1, "us-central1", 0.54),
    _row(Cloud.GCP, "g2-standard-4", "L4", 1, "us-central1", 0.7068),
    _row(Cloud.GCP, "n1-standard-8 + 1 x nvidia-tesla-v100", "V100", 1, "us-central1", 2.86),
    _row(Cloud.GCP, "a2-highgpu-1g", "A100 40GB", 1, "us-central1", 3.6734),
    _row(Cloud.GCP, "a3-highgpu-8g", "H100", 8, "us-central1", 88.49),
    _row(Cloud.AZURE, "Standard_NC4as_T4_v3", "T4", 1, "eastus", 0.526),
    _row(Cloud.AZURE, "Standard_NV36ads_A10_v5", "A10", 1, "eastus", 3.20),
    _row(Cloud.AZURE, "Standard_NC6s_v3", "V100", 1, "eastus", 3.06),
    _row(Cloud.AZURE, "Standard_NC24ads_A100_v4", "A100 80GB", 1, "eastus", 3.673),
    _row(Cloud.AZURE, "Standard_NC40ads_H100_v5", "H100 NVL", 1, "eastus", 6.98),
)


@dataclass(frozen=True)
class Equivalent:
    """What one of our GPU types is compared with at each hyperscaler, and why."""

    aws: str | None
    gcp: str | None
    azure: str | None
    why: str


_DATACENTER_24GB = (
    "No hyperscaler rents consumer or workstation GPUs; the nearest is the datacenter GPU of the same "
    "generation and memory class: "
)
EQUIVALENTS: dict[str, Equivalent] = {
    "RTX_4090": Equivalent(
        "g6e.xlarge",
        "g2-standard-4",
        "Standard_NV36ads_A10_v5",
        _DATACENTER_24GB + "the L40S shares the RTX 4090's AD102 chip (AWS); GCP's nearest Ada GPU is the "
        "L4; Azure's nearest is the A10 (24 GB).",
    ),
    "RTX_4080": Equivalent(
        "g5.xlarge",
        "g2-standard-4",
        "Standard_NV36ads_A10_v5",
        _DATACENTER_24GB + "A10G/A10 (24 GB, Ampere) and L4 (24 GB, Ada), slower than the L40S as the "
        "4080 is slower than the 4090.",
    ),
    "RTX_3090": Equivalent(
        "g5.xlarge",
        "g2-standard-4",
        "Standard_NV36ads_A10_v5",
        _DATACENTER_24GB
        + "the A10G/A10 are Ampere GA102 GPUs with 24 GB, as the RTX 3090; GCP offers the L4.",
    ),
    "RTX_A6000": Equivalent(
        "g6e.xlarge",
        "g2-standard-4",
        "Standard_NV36ads_A10_v5",
        _DATACENTER_24GB + "48 GB like the L40S (AWS); GCP and Azure offer no 48 GB GPU short of an A100.",
    ),
    "L40S": Equivalent(
        "g6e.xlarge",
        "g2-standard-4",
        "Standard_NV36ads_A10_v5",
        "The same GPU on AWS; the nearest Ada GPU on GCP (L4) and the nearest on Azure (A10).",
    ),
    "A10": Equivalent(
        "g5.xlarge",
        "g2-standard-4",
        "Standard_NV36ads_A10_v5",
        "The same GPU (AWS's A10G variant); GCP's nearest is the L4.",
    ),
    "A100": Equivalent(
        "p4d.24xlarge",
        "a2-highgpu-1g",
        "Standard_NC24ads_A100_v4",
        "The same GPU; AWS rents A100s only eight at a time, compared per GPU.",
    ),
    "H100": Equivalent(
        "p5.48xlarge",
        "a3-highgpu-8g",
        "Standard_NC40ads_H100_v5",
        "The same GPU; AWS and GCP "
        "rent H100s eight at a time, compared per GPU; Azure's single-GPU H100 is the NVL.",
    ),
    "T4": Equivalent(
        "g4dn.xlarge", "n1-standard-4 + 1 x nvidia-tesla-t4", "Standard_NC4as_T4_v3", "The same GPU."
    ),
    "V100": Equivalent(
        "p3.2xlarge", "n1-standard-8 + 1 x nvidia-tesla-v100", "Standard_NC6s_v3", "The same GPU."
    ),
}
"""Every GPU type we rent (`providers.catalog.GPU_TYPES`) and what it is compared with."""

_BY_TYPE = {price.instance_type: price for price in PRICES}


def price_of(instance_type: str | None) -> HyperscalerPrice | None:
    return None if instance_type is None else _BY_TYPE[instance_type]


def hourly(gpu_type: str, cloud: Cloud, gpus: int = 1) -> float | None:
    """What `gpus` of the hyperscaler's equivalent of `gpu_type` cost an hour on demand; None when it has
    none (or the GPU type is not one we rent)."""
    equivalent = EQUIVALENTS.get(gpu_type)
    if equivalent is None:
        return None
    price = price_of(getattr(equivalent, cloud.value))
    return None if price is None else price.per_gpu_hour * gpus
