"""Demo mode's machines: the seeds' fleet, always the same, and created instances that boot as real ones
do, worked out from their id alone."""

from __future__ import annotations

import pytest

from dumont_core.demo.service import DemoService
from dumont_core.instances.models import InstanceSpec, InstanceStatus
from dumont_core.platform.errors import InstanceNotFound
from tests.fakes.clock import Clock

READY_SECONDS = 12


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def demo(clock: Clock) -> DemoService:
    return DemoService(ready_seconds=READY_SECONDS, clock=clock)


def test_the_fleet_is_the_seeds_three_gpus_running_and_hibernating(demo: DemoService, clock: Clock) -> None:
    fleet = demo.fleet()

    assert [(each.gpu_type, each.status) for each in fleet] == [
        ("RTX_4090", InstanceStatus.RUNNING),
        ("A100", InstanceStatus.HIBERNATING),
        ("RTX_3090", InstanceStatus.RUNNING),
    ]
    assert all(each.team_id == "demo" and each.instance_id.startswith("demo_") for each in fleet)
    cost_before = round(fleet[0].cost_at(clock.now), 4)
    clock.advance(minutes=5)
    later = demo.fleet()
    assert [each.instance_id for each in later] == [each.instance_id for each in fleet]
    assert [each.created_at for each in later] == [each.created_at for each in fleet], "the same each time"
    assert round(later[0].cost_at(clock.now), 4) > cost_before, "a running machine costs as it runs"


def test_a_fleet_machine_reads_back_as_listed_and_the_list_filters_and_pages(demo: DemoService) -> None:
    first = demo.fleet()[0]

    assert demo.get(first.instance_id) == first
    running = demo.list_page(status=InstanceStatus.RUNNING, gpu_type=None, page=1, per_page=1)
    assert (running.total, [each.gpu_type for each in running.items]) == (2, ["RTX_4090"])
    a100 = demo.list_page(status=None, gpu_type="A100", page=1, per_page=20)
    assert [each.status for each in a100.items] == [InstanceStatus.HIBERNATING]


def test_a_created_instance_starts_then_runs_after_the_time_a_real_one_takes(
    demo: DemoService, clock: Clock
) -> None:
    created = demo.create(InstanceSpec(gpu_type="A100", image="any", disk_gb=100, region="eu-west"))
    assert (created.status, created.gpu_type, created.region) == (InstanceStatus.STARTING, "A100", "eu-west")
    assert created.ip_address is None

    clock.advance(seconds=READY_SECONDS - 1)
    assert demo.get(created.instance_id).status == InstanceStatus.STARTING
    clock.advance(seconds=1)
    running = demo.get(created.instance_id)
    assert (running.status, running.gpu_type, running.region) == (InstanceStatus.RUNNING, "A100", "eu-west")
    assert running.ip_address is not None and running.ip_address.startswith("203.0.113.")
    assert demo.get(created.instance_id).ip_address == running.ip_address, "the same machine each time"


def test_a_created_instance_without_a_region_is_in_us_east(demo: DemoService) -> None:
    created = demo.create(InstanceSpec(gpu_type="RTX_4090", image="any", disk_gb=100))

    assert demo.get(created.instance_id).region == "us-east"


@pytest.mark.parametrize(
    "instance_id",
    [
        "inst_0123456789abcdef",
        "demo_",
        "demo_zz_us-east_RTX_4090",
        "demo_lzq8k2ab12_mars_RTX_4090",
        "demo_lzq8k2ab12_us-east_GTX_280",
        "demo_!!!!!!ab12_us-east_RTX_4090",
    ],
)
def test_an_id_no_demo_create_made_is_not_found(demo: DemoService, instance_id: str) -> None:
    with pytest.raises(InstanceNotFound):
        demo.get(instance_id)
