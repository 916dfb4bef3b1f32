"""Every thread a test starts is stopped by the test: a thread left running acts on what runs after it.

Threads are told apart by who started them. A test left running the threads that its own thread
started, directly or through threads started meanwhile. Threads started by threads that were running
before the test (a server of the e2e stack answering a request, the stack's watcher starting a
machine's agent) belong to the fixture that started those, and may run only during the tests that can
use that fixture: the e2e stack's scheduled sweep, still running while the integration tests ran, took
the lease on their table. When the session ends, nothing started during it may still run.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

_starters: weakref.WeakKeyDictionary[threading.Thread, threading.Thread] = weakref.WeakKeyDictionary()
_fixtures: weakref.WeakKeyDictionary[threading.Thread, tuple[str, str]] = weakref.WeakKeyDictionary()
"""Threads a fixture's setup left running: the fixture's name, and the node id its tests are under."""
_start = threading.Thread.start


def _start_recording_starter(thread: threading.Thread) -> None:
    _starters[thread] = threading.current_thread()
    _start(thread)


class _FixtureThreads:
    """Notes which fixture's setup started a thread. A plugin rather than a hook of this file: the hooks
    of a conftest are not called for a session-scoped fixture, whose node is the session."""

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[object]) -> Generator[None, None, None]:
        before = set(threading.enumerate())
        yield
        for thread in left_running(before, threading.current_thread()):
            # A fixture set up inside another's setup notes its threads first.
            _fixtures.setdefault(thread, (fixturedef.argname, fixturedef.baseid))


_plugin = _FixtureThreads()


# `make test` runs the suite in two processes (pytest-xdist, `--dist loadgroup`). The end-to-end tests
# share one local stack per process, made once. The groups below are meant to keep each half in one
# process, but pytest-xdist 3.8 tells pytest 9 of a test's group through a field pytest 9 no longer reads
# (`_nodeid`), so for now every test goes to whichever process is free, as with `--dist load`; the suite
# passes either way.
E2E_HALVES = {
    "api": "e2e-1",
    "failover": "e2e-1",
    "access": "e2e-1",
    "billing": "e2e-1",
    "demo": "e2e-1",
    "live": "e2e-1",
    "local_stack": "e2e-1",
    "market": "e2e-1",
    "agents": "e2e-1",
}
"""Subpackages of tests/e2e and their half; any other is in `e2e-2`."""
TESTS = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the groups into the test ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.relative_to(TESTS).parts
        if parts[0] == "e2e" and len(parts) > 2:
            item.add_marker(pytest.mark.xdist_group(E2E_HALVES.get(parts[1], "e2e-2")))
        else:  # a file to one process, as its module fixtures are made once
            item.add_marker(pytest.mark.xdist_group("/".join(parts)))


def pytest_configure(config: pytest.Config) -> None:
    setattr(threading.Thread, "start", _start_recording_starter)  # noqa: B010
    config.pluginmanager.register(_plugin)


def pytest_unconfigure(config: pytest.Config) -> None:
    config.pluginmanager.unregister(_plugin)
    setattr(threading.Thread, "start", _start)  # noqa: B010


def _fixture_of(thread: threading.Thread) -> tuple[str, str] | None:
    """The fixture that started `thread`, itself or through the threads that started it."""
    starter: threading.Thread | None = thread
    while starter is not None:
        if starter in _fixtures:
            return _fixtures[starter]
        starter = _starters.get(starter)
    return None


def _can_use(nodeid: str, baseid: str) -> bool:
    return not baseid or nodeid == baseid or nodeid.startswith((f"{baseid}/", f"{baseid}::"))


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
def _no_thread_left_by_the_test(request: pytest.FixtureRequest) -> Iterator[None]:
    strays: dict[tuple[str, str], list[str]] = {}
    for thread in threading.enumerate():
        fixture = _fixture_of(thread)
        if fixture is not None and not _can_use(request.node.nodeid, fixture[1]):
            strays.setdefault(fixture, []).append(repr(thread.name))
    if strays:
        pytest.fail(
            "threads of fixtures this test cannot use still run; a fixture's threads must stop once the "
            "tests that can use it are done: "
            + "; ".join(
                f"fixture {name!r} of {where}: {', '.join(names)}" for (name, where), names in strays.items()
            ),
            pytrace=False,
        )
    # Set up after the fixtures of wider scope this test is the first to use (the e2e stack, say), so
    # their threads are in `before`, and before the test's own fixtures, so theirs are checked.
    before = set(threading.enumerate())
    yield
    check_no_thread_left(before, "the test")
