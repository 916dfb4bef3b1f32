"""Lists that walk every page as you iterate them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

from dumont._calls import PageData

T = TypeVar("T")
DEFAULT_PER_PAGE = 100


class PageIterator(Generic[T]):
    """What `client.instances.list()` answers: the first page is asked for at once (so the list is what
    the API held then, and an error is raised at the call); iterating goes on through every later page,
    each asked for when reached and kept, so iterating again asks for nothing."""

    def __init__(self, fetch: Callable[[int], PageData], wrap: Callable[[dict[str, Any]], T], start: int = 1):
        self._fetch = fetch
        self._wrap = wrap
        self._pages = [fetch(start)]

    def __iter__(self) -> Iterator[T]:
        index = 0
        while True:
            page = self._pages[index]
            yield from (self._wrap(item) for item in page.items)
            if page.last:
                return
            index += 1
            if index == len(self._pages):
                self._pages.append(self._fetch(page.page + 1))

    def first_page(self) -> list[T]:
        return [self._wrap(item) for item in self._pages[0].items]

    def to_list(self) -> list[T]:
        return list(self)

    def __len__(self) -> int:
        """How many items the API counted over all pages when the list was asked for."""
        total = self._pages[0].total
        return total if total is not None else len(self.to_list())


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
