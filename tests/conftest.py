"""Every thread a test starts is stopped by the test: a thread left running acts on what runs after it.

Threads are told apart by who started them. A test left running the threads that its own thread
started, directly or through threads started meanwhile. Threads started by threads that were running
before the test (a server of the e2e stack answering a request, the stack's watcher starting a
machine's agent) belong to the fixture that started those; when the session ends, nothing started
during it may still run.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator

import pytest

_starters: weakref.WeakKeyDictionary[threading.Thread, threading.Thread] = weakref.WeakKeyDictionary()
_start = threading.Thread.start


def _start_recording_starter(thread: threading.Thread) -> None:
    _starters[thread] = threading.current_thread()
    _start(thread)


def pytest_configure(config: pytest.Config) -> None:
    setattr(threading.Thread, "start", _start_recording_starter)  # noqa: B010


def pytest_unconfigure(config: pytest.Config) -> None:
    setattr(threading.Thread, "start", _start)  # noqa: B010


def _describe(thread: threading.Thread) -> str:
    starter = _starters.get(thread)
    return f"{thread.name!r} (started by {starter.name!r})" if starter else repr(thread.name)


def left_running(before: set[threading.Thread], owner: threading.Thread) -> list[threading.Thread]:
    """Threads running now that `owner` started, itself or through threads started since `before`."""
    left = []
    for thread in threading.enumerate():
        if thread in before:
            continue
        starter = _starters.get(thread)
        while starter is not None and starter is not owner and starter not in before:
            starter = _starters.get(starter)
        if starter is owner:
            left.append(thread)
    return left


def check_no_thread_left(before: set[threading.Thread], what: str) -> None:
    left = left_running(before, threading.current_thread())
    if left:
        pytest.fail(
            f"{what} left {len(left)} thread(s) running; stop what you start: "
            + ", ".join(_describe(thread) for thread in left),
            pytrace=False,
        )


@pytest.fixture(autouse=True, scope="session")
def _no_thread_left_by_the_session() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    check_no_thread_left(before, "the session")


@pytest.fixture(autouse=True)
def _no_thread_left_by_the_test() -> Iterator[None]:
    # Set up after the fixtures of wider scope this test is the first to use (the e2e stack, say), so
    # their threads are in `before`, and before the test's own fixtures, so theirs are checked.
    before = set(threading.enumerate())
    yield
    check_no_thread_left(before, "the test")
