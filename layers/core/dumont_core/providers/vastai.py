"""Vast.ai, spoken over its REST API (`/api/v0/...`, `/api/v1/instances/`), translated into the provider
contract, with the requests and parameters Vast's own CLI sends.

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
    OfferPriceChanged,
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
    as_int,
    checked_id,
    is_bid_refused,
    is_offer_gone,
    json_object,
    machine_from,
    matches_id,
    offer_from,
    retry_after_seconds,
)
from dumont_core.providers.vastai_requests import in_region, rent_body, search_body

logger = logging.getLogger(__name__)


_PAGE = 25
"""Instances a page of `GET /api/v1/instances/`, the most Vast gives."""
_MAX_PAGES = 400
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
        root = base_url.rstrip("/").removesuffix("/api/v0").removesuffix("/api/v1")
        self._api_key = api_key
        self._timeout_seconds = timeout_seconds
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=root,
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
        what = "searching offers"
        response = self._send("POST", "/api/v0/bundles/", search_body(query), what=what)
        answer = self._read_success(response, what=what)
        raw_offers = answer.get("offers")
        if not isinstance(raw_offers, list):
            raise ProviderError(f"Vast.ai answered {what} without an offer list", status_code=200)
        offers = [
            offer
            for raw in raw_offers
            if (offer := offer_from(raw)) is not None
            and offer.num_gpus >= query.num_gpus
            and in_region(offer, query.region)
            and (query.max_price_per_hour is None or offer.price_per_hour <= query.max_price_per_hour)
        ]
        offers.sort(key=lambda offer: offer.price_per_hour)
        return offers[: query.limit]

    def create_machine(self, request: MachineRequest) -> str:
        what = f"renting offer {request.offer_id}"
        response = self._send("PUT", f"/api/v0/asks/{request.offer_id}/", rent_body(request), what=what)
        if is_offer_gone(response):
            raise OfferUnavailable(self._describe(response, what), status_code=response.status_code)
        if request.bid_per_hour is not None and is_bid_refused(response):
            raise OfferPriceChanged(self._describe(response, what), status_code=response.status_code)
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
        response = self._send("GET", f"/api/v0/instances/{instance_id}/?owner=me", None, what=what)
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
        return [
            machine_from(machine_id, item)
            for item in self._instances({})
            if (machine_id := as_int(item.get("id"))) is not None
        ]

    def machine_ids_labelled(self, label: str) -> list[str]:
        # Vast filters by label itself, so a rent or a teardown reads only the instance's own machines.
        return [
            str(machine_id)
            for item in self._instances({"label": {"eq": label}})
            if (machine_id := as_int(item.get("id"))) is not None and item.get("label") == label
        ]

    def start_machine(self, provider_instance_id: str) -> None:
        self._manage(provider_instance_id, "running")

    def stop_machine(self, provider_instance_id: str) -> None:
        self._manage(provider_instance_id, "stopped")

    def reboot_machine(self, provider_instance_id: str) -> None:
        instance_id = checked_id(provider_instance_id)
        what = f"rebooting instance {instance_id}"
        response = self._send("PUT", f"/api/v0/instances/reboot/{instance_id}/", {}, what=what)
        if response.status_code in (404, 410):
            raise ProviderMachineNotFound(self._describe(response, what), status_code=response.status_code)
        self._read_success(response, what=what)

    def destroy_machine(self, provider_instance_id: str) -> None:
        instance_id = checked_id(provider_instance_id)
        what = f"destroying instance {instance_id}"
        response = self._send("DELETE", f"/api/v0/instances/{instance_id}/", {}, what=what)
        if response.status_code in (404, 410):
            logger.info("Vast.ai instance %s was already gone", instance_id)
            return
        self._read_success(response, what=what)

    # --- plumbing -----------------------------------------------------------------------------

    def _instances(self, select_filters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every instance `select_filters` selects, page after page of `GET /api/v1/instances/`."""
        params = {
            "select_filters": json.dumps(select_filters),
            "order_by": json.dumps([{"col": "id", "dir": "asc"}]),
            "limit": str(_PAGE),
        }
        found: list[dict[str, Any]] = []
        for page in range(1, _MAX_PAGES + 1):
            what = f"listing instances (page {page})"
            answer = self._read_success(
                self._send("GET", "/api/v1/instances/", None, what=what, params=params), what=what
            )
            items = answer.get("instances")
            found.extend(item for item in items or [] if isinstance(item, dict))
            token = answer.get("next_token")
            if not isinstance(token, str) or not token or not items:
                return found
            params["after_token"] = token
        raise ProviderError(f"Vast.ai listed more than {_MAX_PAGES * _PAGE} instances; giving up")

    def _manage(self, provider_instance_id: str, state: str) -> None:
        instance_id = checked_id(provider_instance_id)
        what = f"setting instance {instance_id} to {state}"
        response = self._send("PUT", f"/api/v0/instances/{instance_id}/", {"state": state}, what=what)
        if response.status_code in (404, 410):
            raise ProviderMachineNotFound(self._describe(response, what), status_code=response.status_code)
        self._read_success(response, what=what)

    def _send(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
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
                response = self._client.request(method, path, content=content, headers=headers, params=params)
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
