"""Reading Vast.ai's answers: offers and instances in our vocabulary, ids checked, numbers that may
arrive as strings or not at all, and the refusals that mean an offer is gone."""

from __future__ import annotations

import email.utils
import json
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from dumont_core.providers.catalog import region_for_geolocation
from dumont_core.providers.models import (
    Offer,
    ProviderMachine,
    ProviderMachineStatus,
    ProviderRequestRejected,
)
from dumont_core.providers.vastai_requests import JUPYTER_CONTAINER_PORT, SSH_CONTAINER_PORT

logger = logging.getLogger(__name__)

_STARTING_STATES = {None, "", "created", "loading", "scheduling", "creating", "starting", "rebooting"}
_STOPPED_STATES = {"exited", "stopped", "inactive", "frozen"}
_PAUSED_ON_PURPOSE = {"stopped", "frozen"}


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        parsed = json.loads(response.content)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def is_offer_gone(response: httpx.Response) -> bool:
    """Whether a rent attempt failed because the offer is taken or withdrawn."""
    if response.status_code in (404, 410):
        return True
    # Older answers say it with a 400, or a 200 carrying `"success": false`.
    answer = json_object(response) or {}
    said = f"{answer.get('error', '')} {answer.get('msg', '')}"
    return answer.get("success") is False and "no_such_ask" in said


def is_bid_refused(response: httpx.Response) -> bool:
    """Whether a rent attempt failed because the bid is under the offer's minimum now."""
    answer = json_object(response) or {}
    return response.status_code == 400 and answer.get("error") == "invalid_price"


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def checked_id(provider_instance_id: str) -> int:
    # Vast ids are integers; anything else would be spliced into the URL path.
    text = str(provider_instance_id).strip()
    if not text.isdigit():
        raise ProviderRequestRejected(f"{provider_instance_id!r} is not a Vast.ai instance id")
    return int(text)


def matches_id(item: object, instance_id: int) -> bool:
    return isinstance(item, dict) and as_int(item.get("id")) == instance_id


def as_float(value: object) -> float | None:
    # bool is an int subclass, but `true` is never a number Vast meant to send.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def as_int(value: object) -> int | None:
    number = as_float(value)
    return int(number) if number is not None and math.isfinite(number) else None


def time_from_epoch(value: object) -> datetime | None:
    """Vast's times are Unix epoch seconds (`start_date`), sometimes as strings."""
    seconds = as_float(value)
    if seconds is None or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def as_str(value: object) -> str | None:
    # `public_ipaddr` can arrive with a trailing newline.
    return value.strip() if isinstance(value, str) and value.strip() else None


def gb_from_mb(megabytes: object) -> float | None:
    mb = as_float(megabytes)
    # Vast reports usable memory (an RTX 4090 shows 24564 MB); one decimal makes that the 24 GB
    # users ask for rather than 23.99.
    return round(mb / 1024, 1) if mb is not None else None


def offer_from(raw: object) -> Offer | None:
    if not isinstance(raw, dict):
        return None
    offer_id = as_int(raw.get("id"))
    price = as_float(raw.get("dph_total"))
    gpu_name = as_str(raw.get("gpu_name"))
    if offer_id is None or price is None or gpu_name is None:
        logger.warning("Skipping a Vast.ai offer without id, price or GPU name: %r", raw.get("id"))
        return None
    geolocation = as_str(raw.get("geolocation"))
    return Offer(
        offer_id=offer_id,
        gpu_name=gpu_name,
        num_gpus=as_int(raw.get("num_gpus")) or 1,
        gpu_memory_gb=gb_from_mb(raw.get("gpu_ram")) or 0.0,
        price_per_hour=price,
        min_bid_per_hour=as_float(raw.get("min_bid")),
        reliability=as_float(raw.get("reliability2", raw.get("reliability"))) or 0.0,
        geolocation=geolocation,
        region=region_for_geolocation(geolocation),
        disk_space_gb=as_float(raw.get("disk_space")) or 0.0,
    )


def status_of(instance: Mapping[str, Any]) -> ProviderMachineStatus:
    actual = instance.get("actual_status")
    intended = instance.get("intended_status")
    if actual == "running":
        return ProviderMachineStatus.RUNNING
    if actual in ("offline", "unknown"):
        # `unknown`: Vast has not heard from the host lately. Callers confirm over several looks
        # before they act, so a host that comes back costs nothing; one that does not is not
        # mistaken for a machine still starting, forever.
        return ProviderMachineStatus.FAILED
    if actual in _STOPPED_STATES:
        # An exited container nobody asked to stop has crashed, been outbid or lost its host.
        return (
            ProviderMachineStatus.STOPPED if intended in _PAUSED_ON_PURPOSE else ProviderMachineStatus.FAILED
        )
    if actual in _STARTING_STATES:
        if intended == "stopped" and actual in (None, "", "created"):
            return ProviderMachineStatus.STOPPED
        return ProviderMachineStatus.PROVISIONING
    # A state Vast added after this was written: report it as in progress rather than as broken, so
    # callers keep watching instead of tearing a healthy machine down.
    return ProviderMachineStatus.PROVISIONING


def host_port(ports: object, container_port: int) -> int | None:
    if not isinstance(ports, dict):
        return None
    bindings = ports.get(f"{container_port}/tcp")
    if not isinstance(bindings, list):
        return None
    for binding in bindings:
        if isinstance(binding, dict) and (port := as_int(binding.get("HostPort"))) is not None:
            return port
    return None


def machine_from(instance_id: int, instance: Mapping[str, Any]) -> ProviderMachine:
    status = status_of(instance)
    status_message = as_str(instance.get("status_msg"))
    if status is ProviderMachineStatus.FAILED and status_message is None:
        status_message = f"actual_status={instance.get('actual_status')!r}"
    if instance.get("actual_status") == "unknown":
        status_message = f"Vast.ai has not heard from the host lately (unknown): {status_message or ''}"
    ip_address = as_str(instance.get("public_ipaddr"))
    ssh_host, ssh_port = ssh_address(instance)
    jupyter_port = host_port(instance.get("ports"), JUPYTER_CONTAINER_PORT)
    token = as_str(instance.get("jupyter_token"))
    return ProviderMachine(
        provider_instance_id=str(instance_id),
        status=status,
        status_message=status_message,
        gpu_name=as_str(instance.get("gpu_name")),
        num_gpus=as_int(instance.get("num_gpus")),
        gpu_memory_gb=gb_from_mb(instance.get("gpu_ram")),
        price_per_hour=as_float(instance.get("dph_total")),
        reliability=as_float(instance.get("reliability2", instance.get("reliability"))),
        geolocation=as_str(instance.get("geolocation")),
        ip_address=ip_address,
        ssh_port=ssh_port,
        ssh_host=ssh_host,
        jupyter_port=jupyter_port,
        jupyter_url=(
            f"https://{ip_address}:{jupyter_port}/?token={token}"
            if ip_address and jupyter_port and token
            else None
        ),
        label=as_str(instance.get("label")),
        started_at=time_from_epoch(instance.get("start_date")),
    )


def ssh_address(instance: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """Where SSH answers, as the CLI's `ssh-url` works it out: the host port mapped to 22 on the
    machine's public IP (None for the host: it is `public_ipaddr`), else Vast's proxy (`ssh_host`,
    `ssh_port`, one more on a Jupyter runtype), only while the machine runs."""
    direct = host_port(instance.get("ports"), SSH_CONTAINER_PORT)
    if direct is not None:
        return None, direct
    proxy_host, proxy_port = as_str(instance.get("ssh_host")), as_int(instance.get("ssh_port"))
    if instance.get("actual_status") != "running" or proxy_host is None or proxy_port is None:
        return None, None
    runtype = instance.get("image_runtype")
    return proxy_host, proxy_port + 1 if isinstance(runtype, str) and "jupyter" in runtype else proxy_port
