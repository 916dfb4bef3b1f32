"""Loading code without the garbage collector in the way.

Importing creates a great many objects that live as long as the process. The collector would walk them
again and again while they are made, and at every collection after; within `long_lived()` it waits,
and the objects made are then moved out of its sight for good (`gc.freeze`). Functions wrap their
imports in it, and load the rest of a domain the same way on the first request that needs it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


@contextmanager
def long_lived() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.freeze()


def first_call_long_lived(handler: HandlerT) -> HandlerT:
    """`handler`, its first call run within `long_lived()`: the first call makes what lives as long as
    the process too (AWS clients, validators, caches)."""
    called = False

    @wraps(handler)
    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal called
        if called:
            return handler(*args, **kwargs)
        called = True
        with long_lived():
            return handler(*args, **kwargs)

    return call  # type: ignore[return-value]
