"""Vast.ai's official CLI (`vastai`, in the dev dependencies) against the local marketplace: every command
we rely on succeeds, and its `--raw` output parses. Where the CLI and our adapter ask differently, the
test says which one Vast's API document backs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local_stack.marketplace import LocalMarketplace
from tests.integration.providers.conftest import CLOCK

VASTAI = Path(sys.executable).with_name("vastai")


@pytest.fixture
def cli(marketplace: LocalMarketplace, tmp_path: Path) -> Any:
    """Runs `vastai --url <marketplace> --api-key <key> ... --raw`: what it prints, parsed when it prints
    JSON (`label`, `start`, `stop` and `reboot` print a sentence, `--raw` or not)."""
    environment = {
        **os.environ,
        # Its key file, role cache and update check stay in the test's own directory, offline.
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "VASTAI_NO_UPDATE_CHECK": "1",
        "CI": "true",
    }
    environment.pop("VAST_API_KEY", None)

    def run(*arguments: str) -> Any:
        command = [
            str(VASTAI),
            *arguments,
            "--url",
            marketplace.url,
            "--api-key",
            marketplace.api_key,
            "--raw",
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, env=environment, timeout=60, check=False
        )
        assert done.returncode == 0, f"{' '.join(arguments)} failed: {done.stdout}\n{done.stderr}"
        try:
            return json.loads(done.stdout)
        except ValueError:
            return done.stdout.strip()

    return run


def test_search_offers_with_the_clis_default_order_and_filters(cli: Any) -> None:
    offers = cli("search", "offers")
    assert offers, "the seeded market has offers the CLI's defaults select"
    scores = [offer["score"] for offer in offers]
    assert scores == sorted(scores, reverse=True), "the CLI orders by score, best first, by default"
    assert all(offer["verified"] and offer["rentable"] and not offer["external"] for offer in offers)


def test_numeric_filters_sent_as_strings_are_compared_as_numbers(cli: Any) -> None:
    offers = cli("search", "offers", "num_gpus=1 reliability>0.9 gpu_name=RTX_4090", "--limit", "200")
    assert offers
    assert all(offer["num_gpus"] == 1 and offer["reliability"] > 0.9 for offer in offers)
    assert {offer["gpu_name"] for offer in offers} == {"RTX 4090"}


def test_boolean_and_verification_filters(cli: Any) -> None:
    offers = cli("search", "offers", "datacenter=true verification=verified", "--limit", "500")
    assert offers
    assert all(offer["datacenter"] is True and offer["verification"] == "verified" for offer in offers)
    unverified = cli("search", "offers", "-n", "verified=False", "--limit", "500")
    assert unverified and all(offer["verification"] == "unverified" for offer in unverified)


def test_geolocation_takes_country_codes(cli: Any) -> None:
    offers = cli("search", "offers", "geolocation in [US,CA]", "--limit", "500")
    countries = {offer["geolocation"].rsplit(",", 1)[-1].strip() for offer in offers}
    assert countries == {"US", "CA"}


def test_an_order_a_limit_reserved_pricing_and_the_new_search(cli: Any) -> None:
    cheapest = cli("search", "offers", "gpu_name=RTX_3090", "-o", "dph_total", "--limit", "5")
    prices = [offer["dph_total"] for offer in cheapest]
    assert len(prices) == 5 and prices == sorted(prices)
    assert cli("search", "offers", "gpu_name=RTX_3090", "-r", "--limit", "5")
    newer = cli("search", "offers", "gpu_name=RTX_3090", "-o", "dph_total", "--limit", "5", "--new")
    assert [offer["id"] for offer in newer] == [offer["id"] for offer in cheapest]


def test_an_instances_life_through_the_cli(cli: Any, marketplace: LocalMarketplace) -> None:
    [offer] = cli(
        "search", "offers", "gpu_name=RTX_4090 direct_port_count>=2", "-o", "dph_total", "--limit", "1"
    )
    created = cli(
        "create", "instance", str(offer["id"]), "--image", "pytorch/pytorch", "--disk", "40",
        "--ssh", "--direct", "--env", "-e TZ=UTC -p 8081:8081", "--onstart-cmd", "echo hello",
        "--label", "from-the-cli",
    )  # fmt: skip
    assert created["success"] is True
    instance_id = created["new_contract"]

    [listed] = cli("show", "instances")
    assert listed["id"] == instance_id and listed["label"] == "from-the-cli"
    CLOCK.now += 1  # the machine boots
    shown = cli("show", "instance", str(instance_id))
    assert shown["actual_status"] == "running"
    assert shown["extra_env"] == {"TZ": "UTC", "-p 8081:8081": "1"}
    assert set(shown["ports"]) == {"22/tcp", "8081/tcp"}
    assert shown["ssh_host"] and shown["ssh_port"]

    assert cli("label", "instance", str(instance_id), "renamed") == f"label for {instance_id} set to renamed."
    assert cli("stop", "instance", str(instance_id)) == f"stopping instance {instance_id}."
    CLOCK.now += 1
    assert cli("show", "instance", str(instance_id))["actual_status"] == "stopped"
    assert cli("start", "instance", str(instance_id)) == f"starting instance {instance_id}."
    CLOCK.now += 1
    assert cli("reboot", "instance", str(instance_id)) == f"Rebooting instance {instance_id}."
    CLOCK.now += 1
    shown = cli("show", "instance", str(instance_id))
    assert (shown["actual_status"], shown["label"]) == ("running", "renamed")

    # `destroy instance` prints nothing with --raw (the CLI drops the answer); it exits 0.
    assert cli("destroy", "instance", str(instance_id), "-y") == ""
    assert cli("show", "instance", str(instance_id)) == {"instances": None}
    assert marketplace.machines() == []


def test_an_interruptible_instance_at_a_bid(cli: Any, marketplace: LocalMarketplace) -> None:
    [offer] = cli("search", "offers", "gpu_name=RTX_4090", "-b", "-o", "dph_total", "--limit", "1")
    bid = round(offer["min_bid"] + 0.01, 4)
    created = cli("create", "instance", str(offer["id"]), "--image", "ubuntu", "--bid_price", str(bid))
    shown = cli("show", "instance", str(created["new_contract"]))
    assert shown["is_bid"] is True
    assert shown["dph_base"] == pytest.approx(bid, abs=1e-4)
    cli("destroy", "instance", str(created["new_contract"]), "-y")


def test_show_user(cli: Any) -> None:
    user = cli("show", "user")
    assert user["id"] and user["email"]
    assert "api_key" not in user


def test_where_the_cli_and_our_adapter_ask_differently(cli: Any, marketplace: LocalMarketplace) -> None:
    """Both are served, and Vast's OpenAPI document backs both:
    - runtype: the CLI's `--ssh --direct` asks `ssh_direc ssh_proxy`; we ask `jupyter_direc ssh_direc
      ssh_proxy`, the runtype Vast's document recommends (`jupyter_direct`): SSH replaces the image's
      entrypoint, so only a Jupyter runtype has Vast start Jupyter (on container port 8080);
    - env: the CLI sends a dict of Docker flags, the document a string of them; we send the dict;
    - the pricing type: the CLI says `on-demand`, the document's enum `ondemand`.
    """
    [offer] = cli(
        "search", "offers", "gpu_name=RTX_4090 direct_port_count>=2", "-o", "dph_total", "--limit", "1"
    )
    created = cli("create", "instance", str(offer["id"]), "--image", "ubuntu", "--jupyter", "--direct")
    CLOCK.now += 1
    shown = cli("show", "instance", str(created["new_contract"]))
    assert shown["image_runtype"] == "jupyter_direc ssh_direc ssh_proxy"
    assert set(shown["ports"]) == {"22/tcp", "8080/tcp"} and shown["jupyter_token"]
    cli("destroy", "instance", str(created["new_contract"]), "-y")
