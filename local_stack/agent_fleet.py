"""Agents run in threads for machines that exist only as records (the local marketplace's GPUs, moto's
EC2 machines): a watcher starts and stops them as the machines start and stop, and stopping the fleet
waits for every agent so none reports after."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Generic, Protocol, TypeVar

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.25
STOP_SECONDS = 10


class RunningAgent(Protocol):
    stop: threading.Event
    thread: threading.Thread | None


MachineId = TypeVar("MachineId")
Agent = TypeVar("Agent", bound=RunningAgent)
Fleet = TypeVar("Fleet", bound="AgentFleet")


class AgentFleet(Generic[MachineId, Agent]):
    """What the fleets share; each says how it finds its machines (`_reconcile`)."""

    watcher_name = "agents"

    def __init__(self, root_prefix: str) -> None:
        self._root = Path(tempfile.mkdtemp(prefix=root_prefix))
        self._agents: dict[MachineId, Agent] = {}
        self._stopping: list[Agent] = []
        """Agents of machines that stopped running, told to stop and perhaps still finishing."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self: Fleet) -> Fleet:
        self._thread = threading.Thread(target=self._watch, name=self.watcher_name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Stop watching and stop every agent, waiting for each (up to `timeout` s in all) so none reports
        after."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        with self._lock:
            agents = [*self._agents.values(), *self._stopping]
            for running in agents:
                running.stop.set()
        for running in agents:
            if running.thread is not None:
                running.thread.join(timeout=max(0.0, deadline - time.monotonic()))
        shutil.rmtree(self._root, ignore_errors=True)

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self._reconcile()
            except Exception:
                logger.exception("Could not reconcile the %s", self.watcher_name)

    def _reconcile(self) -> None:
        raise NotImplementedError
