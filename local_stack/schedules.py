"""EventBridge schedules, ticked locally: moto keeps schedule rules but never fires them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


class Schedule:
    """Invokes a function every `seconds`, with the event an EventBridge schedule would send."""

    def __init__(self, invoke: Callable[[str, Any], Any], function_name: str, seconds: float) -> None:
        self._invoke = invoke
        self._function_name = function_name
        self._seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"schedule-{function_name}", daemon=True)

    def start(self) -> Schedule:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._seconds):
            try:
                self._invoke(
                    self._function_name,
                    {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}},
                )
            except Exception:
                logger.exception("Scheduled run of %s failed", self._function_name)
