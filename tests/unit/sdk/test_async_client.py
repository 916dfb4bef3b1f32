"""The async client is the sync client awaited: the same resources and methods, pages, retries, errors."""

from __future__ import annotations

import asyncio
import inspect

import httpx
import pytest

from dumont import AsyncClient, Client, InstanceNotFoundError
from tests.fakes.api_answers import ScriptedApi, envelope, error

KEY = "dumont_sk_0123456789abcdefghij"


def client_for(api: ScriptedApi, **options: object) -> AsyncClient:
    http = httpx.AsyncClient(base_url="http://api.test", transport=api.transport())
    return AsyncClient(api_key=KEY, base_url="http://api.test", http_client=http, **options)  # type: ignore[arg-type]


def public_methods(resource: object) -> set[str]:
    return {name for name, _ in inspect.getmembers(resource, callable) if not name.startswith("_")}


def test_every_resource_and_method_of_the_sync_client_is_in_the_async_one() -> None:
    sync, asynchronous = Client(api_key=KEY), AsyncClient(api_key=KEY)
    resources = {name for name, value in vars(sync).items() if not name.startswith("_")}
    assert len(resources) == 14
    for name in resources:
        assert public_methods(getattr(sync, name)) == public_methods(getattr(asynchronous, name)), name


def test_async_iteration_walks_every_page_and_errors_keep_their_class() -> None:
    def page(number: int, ids: list[int]) -> httpx.Response:
        items = [{"id": f"inst_{i}", "status": "running"} for i in ids]
        return envelope(items, meta={"page": number, "per_page": 2, "total": 3})

    api = ScriptedApi(page(1, [1, 2]), page(2, [3]), error(404, "INSTANCE_NOT_FOUND", "no inst_9"))

    async def scenario() -> list[str]:
        async with client_for(api) as client:
            ids = [instance.id async for instance in client.instances.list(per_page=2)]
            with pytest.raises(InstanceNotFoundError):
                await client.instances.get("inst_9")
            return ids

    assert asyncio.run(scenario()) == ["inst_1", "inst_2", "inst_3"]


def test_async_retries_honour_retry_after_with_one_idempotency_key() -> None:
    limited = error(429, "RATE_LIMITED", "slow down", headers={"Retry-After": "4"})
    created = {"id": "inst_1", "status": "starting"}
    api = ScriptedApi(limited, envelope(created, 201), envelope(created))
    slept: list[float] = []

    async def scenario() -> str:
        async with client_for(api, max_retries=2) as client:
            client._settings.sleep = slept.append
            instance = await client.instances.create(gpu_type="A100", wait=False)
            return instance.id

    assert asyncio.run(scenario()) == "inst_1"
    assert slept == [4.0]
    assert api.requests[0].headers["Idempotency-Key"] == api.requests[1].headers["Idempotency-Key"]


def test_async_objects_have_the_actions_of_the_sync_ones() -> None:
    from dumont.models import AsyncInstance, AsyncSnapshot, Instance, Snapshot

    def actions(cls: type) -> set[str]:
        return {name for name, value in vars(cls).items() if callable(value) and not name.startswith("_")}

    assert actions(Instance) == actions(AsyncInstance)
    assert actions(Snapshot) == actions(AsyncSnapshot)
