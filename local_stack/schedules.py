"""What runs on a clock locally: EventBridge schedules, which moto keeps but never fires, and what AWS
does by itself that moto does not (expiring items by their TTL)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


SCHEDULED_EVENT = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
"""What an EventBridge schedule sends the function it invokes."""


class Schedule:
    """Runs `task` every `seconds`, one run at a time."""

    def __init__(self, name: str, task: Callable[[], Any], seconds: float) -> None:
        self._name = name
        self._task = task
        self._seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"schedule-{name}", daemon=True)
        self._ran = threading.Condition()
        self._started = 0
        self._finished = 0

    def start(self) -> Schedule:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)

    def wait_for_next_run(self, timeout: float) -> bool:
        """Wait until a run that starts after this call has finished; False if none did within `timeout` s.

        What a scheduled run decides is seen once it ran, however slowly the machine goes."""
        with self._ran:
            wanted = self._started + 1
            return self._ran.wait_for(lambda: self._finished >= wanted, timeout=timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._seconds):
            with self._ran:
                self._started += 1
            try:
                self._task()
            except Exception:
                logger.exception("Scheduled run of %s failed", self._name)
            with self._ran:
                self._finished += 1
                self._ran.notify_all()


def invoking(invoke: Callable[[str, Any], Any], function_name: str, seconds: float) -> Schedule:
    """Invokes a function every `seconds`, with the event an EventBridge schedule would send."""
    return Schedule(function_name, lambda: invoke(function_name, SCHEDULED_EVENT), seconds)
