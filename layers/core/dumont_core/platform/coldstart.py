"""Loading code without the garbage collector in the way.

Importing creates a great many objects that live as long as the process. The collector would walk them
again and again while they are made, and at every collection after; within `long_lived()` it waits,
and the objects made are then moved out of its sight for good (`gc.freeze`). Functions wrap their
imports in it, and load the rest of a domain the same way on the first request that needs it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


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
