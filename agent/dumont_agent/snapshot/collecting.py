"""The cyclic garbage collector held off while a manifest is read or applied.

Reading and restoring a manifest makes several objects per file (entries, spans, the writes planned for
each chunk), none of them in a cycle. Each few hundred new objects wake the collector, and its full
passes walk every object made so far: measured on the bench's restore, a tenth of its CPU went to
collections that found nothing.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Switch:
    """One for the process, as the collector is: how many blocks hold it off, and whether it was on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders = 0
        self.was_enabled = False


_switch = _Switch()


@contextmanager
def collection_paused() -> Iterator[None]:
    """No automatic collection inside the block (nested or from several threads alike); the collector is
    enabled again once the last block ends, if it was enabled before the first began."""
    with _switch.lock:
        if _switch.holders == 0:
            _switch.was_enabled = gc.isenabled()
            gc.disable()
        _switch.holders += 1
    try:
        yield
    finally:
        with _switch.lock:
            _switch.holders -= 1
            if _switch.holders == 0 and _switch.was_enabled:
                gc.enable()
