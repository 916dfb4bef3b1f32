"""How the composition root makes its services: each once per process, on first use, replaceable in
tests, and all forgotten at once when the environment changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

from dumont_core.platform.settings import forget_settings

ServiceT = TypeVar("ServiceT")

_overrides: dict[str, Any] = {}
_made: dict[str, Callable[[], Any]] = {}


def provided(factory: Callable[[], ServiceT]) -> Callable[[], ServiceT]:
    """`factory`, made once per process, unless a test put something in its place."""
    made = cache(factory)
    _made[factory.__name__] = made

    def provide() -> ServiceT:
        replacement: ServiceT | None = _overrides.get(factory.__name__)
        return replacement if replacement is not None else made()

    provide.__name__ = provide.__qualname__ = factory.__name__
    provide.__doc__ = factory.__doc__
    return provide


@contextmanager
def overridden(**replacements: Any) -> Iterator[None]:
    """Serve `replacements` (by factory name) instead of what the factories make, for a while."""
    unknown = set(replacements) - set(_made)
    if unknown:
        raise KeyError(f"no such service: {', '.join(sorted(unknown))}")
    saved = dict(_overrides)
    _overrides.update(replacements)
    try:
        yield
    finally:
        _overrides.clear()
        _overrides.update(saved)


def reset() -> None:
    """Forget everything made so far, and the settings read: what comes next reads the environment again."""
    for made in _made.values():
        made.cache_clear()  # type: ignore[attr-defined]
    forget_settings()
