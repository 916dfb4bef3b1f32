"""Lists that walk every page as you iterate them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

from dumont._calls import PageData

T = TypeVar("T")
DEFAULT_PER_PAGE = 100


class PageIterator(Generic[T]):
    """`for item in client.instances.list()` fetches page after page until the last.

    Pages are fetched lazily; each iteration starts again from the first page. `first_page()` is one
    request; `to_list()` fetches them all."""

    def __init__(self, fetch: Callable[[int], PageData], wrap: Callable[[dict[str, Any]], T], start: int = 1):
        self._fetch = fetch
        self._wrap = wrap
        self._start = start

    def __iter__(self) -> Iterator[T]:
        number = self._start
        while True:
            page = self._fetch(number)
            yield from (self._wrap(item) for item in page.items)
            if page.last:
                return
            number = page.page + 1

    def first_page(self) -> list[T]:
        return [self._wrap(item) for item in self._fetch(self._start).items]

    def to_list(self) -> list[T]:
        return list(self)

    def __len__(self) -> int:
        """How many items the API counts over all pages (one request)."""
        page = self._fetch(self._start)
        return page.total if page.total is not None else len(self.to_list())


class AsyncPageIterator(Generic[T]):
    """`async for item in client.instances.list()` walks every page."""

    def __init__(
        self,
        fetch: Callable[[int], Awaitable[PageData]],
        wrap: Callable[[dict[str, Any]], T],
        start: int = 1,
    ):
        self._fetch = fetch
        self._wrap = wrap
        self._start = start

    async def __aiter__(self) -> AsyncIterator[T]:
        number = self._start
        while True:
            page = await self._fetch(number)
            for item in page.items:
                yield self._wrap(item)
            if page.last:
                return
            number = page.page + 1

    async def to_list(self) -> list[T]:
        return [item async for item in self]
