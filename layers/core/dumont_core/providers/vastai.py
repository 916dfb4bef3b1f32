"""Vast.ai, spoken over its REST API (`/api/v0/...`), translated into the provider contract.

The same code path runs against the real marketplace and against `local_stack.marketplace`, which
speaks the same API; nothing here knows which one it is talking to.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from dumont_core.providers.models import (
    MachineRequest,
    Offer,
    OfferQuery,
    OfferUnavailable,
    ProviderAuthenticationFailed,
    ProviderError,
    ProviderMachine,
    ProviderMachineNotFound,
    ProviderRequestRejected,
    ProviderThrottled,
    ProviderUnavailable,
)
from dumont_core.providers.vastai_answers import (
    JUPYTER_CONTAINER_PORT,
    as_int,
    checked_id,
    is_offer_gone,
    json_object,
    machine_from,
    matches_id,
    offer_from,
    retry_after_seconds,
)

logger = logging.getLogger(__name__)


# Vast's own CLI asks for this runtype when a user wants direct SSH (its spelling, "direc", is real).
# Direct connections give us the host's public IP and a mapped port instead of Vast's shared proxy.
_RUNTYPE = "ssh_direc ssh_proxy"
# Ports are requested through `env` as Docker `-p` flags, the same way the CLI does it.
_PORT_ENV = {f"-p {JUPYTER_CONTAINER_PORT}:{JUPYTER_CONTAINER_PORT}": "1"}

# A Lambda cannot afford to sleep for as long as a provider may ask; beyond this we hand the wait
# back to the caller (Step Functions waits for free) by raising ProviderThrottled right away.
_MAX_RETRY_AFTER_SECONDS = 30.0
_MAX_QUOTED_CHARS = 300


class VastAiProvider:
    """A GpuProvider renting from Vast.ai (or anything speaking its API)."""

    name = "vastai"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_seconds: float = 20.0,
        max_attempts: int = 4,
        backoff_seconds: float = 1.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        root = base_url.rstrip("/").removesuffix("/api/v0")
        self._api_key = api_key
        self._timeout_seconds = timeout_seconds
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=f"{root}/api/v0",
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout_seconds,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"VastAiProvider(base_url={str(self._client.base_url)!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> VastAiProvider:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the GpuProvider contract -------------------------------------------------------------

    def search_offers(self, query: OfferQuery) -> list[Offer]:
        if not query.gpu_names or query.limit <= 0:
            return []
        search = {
            "gpu_name": {"in": list(query.gpu_names)},
            "reliability2": {"gte": query.min_reliability},
            "disk_space": {"gte": query.min_disk_gb},
            "rentable": {"eq": True},
            "rented": {"eq": False},
            # "bid" would make Vast show interruptible prices in `dph_total`; we want the on-demand
            # price there and read the spot floor from `min_bid`, which every offer carries.
            "type": "on-demand",
            "order": [["dph_total", "asc"]],
            "limit": query.limit,
        }
        what = "searching offers"
        response = self._send("POST", "/bundles/", search, what=what)
        answer = self._read_success(response, what=what)
        raw_offers = answer.get("offers")
        if not isinstance(raw_offers, list):
            raise ProviderError(f"Vast.ai answered {what} without an offer list", status_code=200)
        offers = [offer for raw in raw_offers if (offer := offer_from(raw)) is not None]
        offers.sort(key=lambda offer: offer.price_per_hour)
        return offers[: query.limit]

    def create_machine(self, request: MachineRequest) -> str:
        body: dict[str, Any] = {
            "client_id": "me",
            "image": request.image,
            "disk": request.disk_gb,
            "label": request.label,
            "runtype": _RUNTYPE,
            "env": dict(_PORT_ENV),
            # Fail fast with 410 instead of leaving a paid-for contract waiting for GPUs that someone
            # else holds; the caller then simply tries the next offer.
            "cancel_unavail": True,
        }
        if request.onstart_script is not None:
            body["onstart"] = request.onstart_script
        if request.bid_per_hour is not None:
            # Vast treats any `price` as a bid, so it must be absent for on-demand rentals.
            body["price"] = request.bid_per_hour
        what = f"renting offer {request.offer_id}"
        response = self._send("PUT", f"/asks/{request.offer_id}/", body, what=what)
        if is_offer_gone(response):
            raise OfferUnavailable(self._describe(response, what), status_code=response.status_code)
        answer = self._read_success(response, what=what)
        contract = answer.get("new_contract")
        if isinstance(contract, bool) or not isinstance(contract, int | str) or not str(contract).isdigit():
            raise ProviderError(
                f"Vast.ai answered {what} without a new contract id: {self._quote(response)}",
                status_code=response.status_code,
            )
        return str(contract)

    def get_machine(self, provider_instance_id: str) -> ProviderMachine:
        instance_id = checked_id(provider_instance_id)
        what = f"reading instance {instance_id}"
        response = self._send("GET", f"/instances/{instance_id}/", None, what=what)
        if response.status_code in (404, 410):
            raise ProviderMachineNotFound(self._describe(response, what), status_code=response.status_code)
        answer = self._read_success(response, what=what)
        instance = answer.get("instances")
        # A destroyed instance can also come back as 200 with `"instances": null`.
        if isinstance(instance, list):
            instance = next((item for item in instance if matches_id(item, instance_id)), None)
        if not isinstance(instance, dict) or not instance:
            raise ProviderMachineNotFound(
                f"Vast.ai has no instance {instance_id} (it answered {what} with no instance)",
                status_code=response.status_code,
            )
        return machine_from(instance_id, instance)

    def list_machines(self) -> list[ProviderMachine]:
        what = "listing instances"
        answer = self._read_success(self._send("GET", "/instances/", None, what=what), what=what)
        instances = answer.get("instances")
        if not isinstance(instances, list):
            return []
        return [
            machine_from(machine_id, item)
            for item in instances
            if isinstance(item, dict) and (machine_id := as_int(item.get("id"))) is not None
        ]

    def machine_ids_labelled(self, label: str) -> list[str]:
        return [machine.provider_instance_id for machine in self.list_machines() if machine.label == label]

    def start_machine(self, provider_instance_id: str) -> None:
        self._manage(provider_instance_id, "running")

    def stop_machine(self, provider_instance_id: str) -> None:
        self._manage(provider_instance_id, "stopped")

    def reboot_machine(self, provider_instance_id: str) -> None:
        instance_id = checked_id(provider_instance_id)
        what = f"rebooting instance {instance_id}"
        response = self._send("PUT", f"/instances/reboot/{instance_id}/", {}, what=what)
        if response.status_code in (404, 410):
            raise ProviderMachineNotFound(self._describe(response, what), status_code=response.status_code)
        self._read_success(response, what=what)

    def destroy_machine(self, provider_instance_id: str) -> None:
        instance_id = checked_id(provider_instance_id)
        what = f"destroying instance {instance_id}"
        response = self._send("DELETE", f"/instances/{instance_id}/", None, what=what)
        if response.status_code in (404, 410):
            logger.info("Vast.ai instance %s was already gone", instance_id)
            return
        self._read_success(response, what=what)

    # --- plumbing -----------------------------------------------------------------------------

    def _manage(self, provider_instance_id: str, state: str) -> None:
        instance_id = checked_id(provider_instance_id)
        what = f"setting instance {instance_id} to {state}"
        response = self._send("PUT", f"/instances/{instance_id}/", {"state": state}, what=what)
        if response.status_code in (404, 410):
            raise ProviderMachineNotFound(self._describe(response, what), status_code=response.status_code)
        self._read_success(response, what=what)

    def _send(self, method: str, path: str, body: Mapping[str, Any] | None, *, what: str) -> httpx.Response:
        """The first answer that is not worth retrying; transient failures are retried, then raised."""
        headers: dict[str, str] = {}
        content: bytes | None = None
        if body is not None:
            # Serialised by hand so the Content-Type is exactly `application/json`, nothing appended.
            content = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(1, self._max_attempts + 1):
            failure: ProviderError
            try:
                response = self._client.request(method, path, content=content, headers=headers)
            except httpx.TimeoutException as exc:
                failure = ProviderUnavailable(
                    f"Vast.ai did not answer {what} within {self._timeout_seconds:g}s"
                )
                failure.__cause__ = exc
            except httpx.TransportError as exc:
                failure = ProviderUnavailable(
                    f"Could not reach Vast.ai while {what}: {self._redact(str(exc))}"
                )
                failure.__cause__ = exc
            else:
                if response.status_code == 429:
                    failure = ProviderThrottled(
                        self._describe(response, what),
                        retry_after_seconds=retry_after_seconds(response),
                    )
                elif response.status_code >= 500:
                    failure = ProviderUnavailable(
                        self._describe(response, what), status_code=response.status_code
                    )
                else:
                    return response
            delay = self._delay_before_retry(attempt, failure)
            if delay is None:
                raise failure
            logger.warning(
                "Vast.ai %s %s failed (attempt %d of %d), retrying in %.2fs: %s",
                method,
                path,
                attempt,
                self._max_attempts,
                delay,
                failure.message,
            )
            self._sleep(delay)
        raise AssertionError("unreachable: the last attempt either returns or raises")

    def _delay_before_retry(self, attempt: int, failure: ProviderError) -> float | None:
        if attempt >= self._max_attempts:
            return None
        if isinstance(failure, ProviderThrottled) and failure.retry_after_seconds is not None:
            if failure.retry_after_seconds > _MAX_RETRY_AFTER_SECONDS:
                return None
            return failure.retry_after_seconds
        return float(self._backoff_seconds * 2 ** (attempt - 1))

    def _read_success(self, response: httpx.Response, *, what: str) -> dict[str, Any]:
        """The JSON object of a successful answer, or the error the answer amounts to."""
        status = response.status_code
        if status in (401, 403):
            raise ProviderAuthenticationFailed(self._describe(response, what), status_code=status)
        if 400 <= status < 500:
            raise ProviderRequestRejected(self._describe(response, what), status_code=status)
        if not 200 <= status < 300:
            raise ProviderError(self._describe(response, what), status_code=status)
        answer = json_object(response)
        if answer is None:
            raise ProviderError(
                f"Vast.ai answered {what} with something that is not a JSON object: {self._quote(response)}",
                status_code=status,
            )
        # Some refusals arrive as 200 with `"success": false`.
        if answer.get("success") is False:
            raise ProviderRequestRejected(self._describe(response, what), status_code=status)
        return answer

    def _describe(self, response: httpx.Response, what: str) -> str:
        return f"Vast.ai answered {response.status_code} to {what}: {self._quote(response)}"

    def _quote(self, response: httpx.Response) -> str:
        """What the provider said, in its own words, short and with our key never echoed back."""
        answer = json_object(response)
        if answer is not None:
            parts: list[str] = []
            for field in ("error", "msg", "detail", "message"):
                value = answer.get(field)
                if isinstance(value, str) and value.strip() and value.strip() not in parts:
                    parts.append(value.strip())
            text = ": ".join(parts) if parts else json.dumps(answer)
        else:
            # Load balancers answer with HTML pages; keep their words, drop the markup.
            text = re.sub(r"<[^>]*>", " ", response.text)
            text = re.sub(r"\s+", " ", text).strip() or "(empty body)"
        if len(text) > _MAX_QUOTED_CHARS:
            text = text[:_MAX_QUOTED_CHARS] + "..."
        return self._redact(text)

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text
