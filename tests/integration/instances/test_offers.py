"""Choosing the offers that fit what the user asked for, and renting a machine from one of them."""

from __future__ import annotations

import pytest

from dumont_core.instances.models import InstanceStatus
from dumont_core.instances.step_support import NoOfferAvailable
from dumont_core.providers.models import (
    MachineRequest,
    OfferPriceChanged,
    ProviderThrottled,
    ProviderUnavailable,
)
from tests.fakes.workflows import step_failure
from tests.integration.instances.conftest import SSH_KEY, Cloud, ref_of

# Choosing offers ---------------------------------------------------------------------------------


def test_choose_offers_keeps_the_requested_region_and_gpu_count_cheapest_first(cloud: Cloud) -> None:
    instance = cloud.create(region="us-east", num_gpus=2, disk_gb=200)

    candidates = cloud.candidates(instance)

    assert [candidate["offer_id"] for candidate in candidates] == [3, 4, 6]
    assert {candidate["region"] for candidate in candidates} == {"us-east"}
    first = candidates[0]
    assert first["bid_per_hour"] is None, "an offer without spot bids is rented on demand"
    assert candidates[1]["bid_per_hour"] == pytest.approx(0.44), "the host's minimum bid plus the margin"
    search = cloud.provider.searches[-1]
    assert search.gpu_names == ("RTX 4090",)
    assert search.min_disk_gb == 200
    # The provider is asked for the GPU count, the region and open ports itself, so the offers that fit
    # are among those it answers however many cheaper ones do not.
    assert (search.num_gpus, search.region, search.min_direct_ports) == (2, "us-east", 2)


def test_choose_offers_takes_any_region_when_none_was_asked_for_and_at_most_offers_to_try(
    cloud: Cloud,
) -> None:
    instance = cloud.create()

    candidates = cloud.candidates(instance)

    assert [candidate["offer_id"] for candidate in candidates] == [1, 2, 3], "3 offers to try, cheapest first"
    assert candidates[0]["region"] == "us-west"


def test_no_matching_offer_fails_provisioning_with_a_readable_reason(cloud: Cloud) -> None:
    instance = cloud.create(gpu_type="A100", region="us-east", disk_gb=300)

    with pytest.raises(NoOfferAvailable) as caught:
        cloud.candidates(instance)

    message = str(caught.value)
    assert "A100" in message and "us-east" in message and "300 GB" in message
    assert cloud.stored(instance).status == InstanceStatus.STARTING, "the workflow decides what follows"

    assert cloud.steps.fail_provisioning(ref_of(instance), step_failure(caught.value)) == {"destroyed": None}

    failed = cloud.stored(instance)
    assert failed.status == InstanceStatus.FAILED
    assert failed.status_reason == f"NoOfferAvailable: {message}"
    assert cloud.timeline(instance) == ["instance.created", "instance.failed"]
    assert cloud.published(instance)[-1].details == {"reason": failed.status_reason}


# Renting -----------------------------------------------------------------------------------------


def test_rent_machine_moves_past_gone_offers_and_records_what_it_rented(cloud: Cloud) -> None:
    instance = cloud.create(region="us-east", ssh_key=SSH_KEY)
    candidates = cloud.candidates(instance)
    assert candidates[0]["offer_id"] == 2
    cloud.provider.gone_offers.add(2)

    result = cloud.steps.rent_machine(ref_of(instance), candidates)

    machine = cloud.provider.machines[result["provider_instance_id"]]
    assert list(cloud.provider.machines) == [machine.machine_id], "exactly one machine rented"
    assert machine.offer.offer_id == 3
    assert machine.label == cloud.label(instance)
    assert machine.onstart_script is not None and SSH_KEY in machine.onstart_script
    rented = cloud.stored(instance)
    assert rented.status == InstanceStatus.STARTING
    assert rented.provider_instance_id == machine.machine_id
    assert rented.offer_id == 3
    assert rented.region == "us-east"
    assert rented.cost_per_hour == pytest.approx(0.60), "offer 3 has no spot price: on-demand"
    assert rented.gpu_name == "RTX 4090"


def test_rent_machine_moves_past_an_offer_whose_minimum_bid_moved(cloud: Cloud) -> None:
    instance = cloud.create(region="us-east")
    candidates = cloud.candidates(instance)
    cloud.provider.fail_next("create_machine", OfferPriceChanged("invalid_price: below the minimum bid"))

    result = cloud.steps.rent_machine(ref_of(instance), candidates)

    assert cloud.provider.machines[result["provider_instance_id"]].offer.offer_id == candidates[1]["offer_id"]
    assert cloud.stored(instance).offer_id == candidates[1]["offer_id"]


def test_rent_machine_records_the_spot_bid_as_the_price(cloud: Cloud) -> None:
    instance = cloud.create(region="us-east")
    cloud.rent(instance)

    assert cloud.stored(instance).cost_per_hour == pytest.approx(0.33)


def test_rent_machine_when_every_offer_is_gone_rents_nothing(cloud: Cloud) -> None:
    instance = cloud.create(region="us-east")
    candidates = cloud.candidates(instance)
    cloud.provider.gone_offers.update(candidate["offer_id"] for candidate in candidates)

    with pytest.raises(NoOfferAvailable, match="All 3 matching offers were taken"):
        cloud.steps.rent_machine(ref_of(instance), candidates)
    assert cloud.provider.machines == {}
    assert cloud.stored(instance).provider_instance_id is None


def test_a_throttled_rent_is_left_to_the_workflow_retry_and_records_nothing(cloud: Cloud) -> None:
    instance = cloud.create()
    candidates = cloud.candidates(instance)
    cloud.provider.fail_next("create_machine", ProviderThrottled("slow down"))

    with pytest.raises(ProviderThrottled):
        cloud.steps.rent_machine(ref_of(instance), candidates)
    assert cloud.provider.machines == {}
    assert cloud.stored(instance).provider_instance_id is None

    machine_id = cloud.steps.rent_machine(ref_of(instance), candidates)["provider_instance_id"]
    assert cloud.stored(instance).provider_instance_id == machine_id


# Known problems ----------------------------------------------------------------------------------


def test_machines_rented_under_our_label_but_never_recorded_are_destroyed(cloud: Cloud) -> None:
    instance = cloud.create()
    ref = ref_of(instance)
    candidates = cloud.candidates(instance)
    # A first create whose answer was lost (a timeout after the provider rented the machine).
    lost = cloud.provider.create_machine(
        MachineRequest(
            offer_id=candidates[0]["offer_id"],
            image=instance.image,
            disk_gb=instance.disk_gb,
            label=cloud.label(instance),
        )
    )

    rented = cloud.steps.rent_machine(ref, candidates[1:])["provider_instance_id"]

    assert lost in cloud.provider.destroyed, "the machine nobody recorded is given back"
    assert list(cloud.provider.machines) == [rented]

    cloud.steps.fail_provisioning(ref, {"Error": "BootTimedOut", "Cause": "{}"})
    assert cloud.provider.machines == {}


def test_a_retried_rent_keeps_the_machine_it_recorded(cloud: Cloud) -> None:
    instance = cloud.create()
    ref = ref_of(instance)
    candidates = cloud.candidates(instance)
    # The machine was recorded, then the label sweep failed: the workflow retries the step.
    cloud.provider.fail_next("machine_ids_labelled", ProviderUnavailable("listing timed out"))
    with pytest.raises(ProviderUnavailable):
        cloud.steps.rent_machine(ref, candidates)
    recorded = list(cloud.provider.machines)

    again = cloud.steps.rent_machine(ref, candidates)["provider_instance_id"]

    assert [again] == recorded == list(cloud.provider.machines), "no second machine is rented"
