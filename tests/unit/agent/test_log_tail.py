"""The machine's log lines reach the API once each, also when the agent or the machine restarts."""

from __future__ import annotations

from pathlib import Path

from dumont_agent.logs import LogTail


def messages(tail: LogTail) -> list[str]:
    return [line["message"] for line in tail.read()]


def test_a_restarted_agent_goes_on_from_what_its_predecessor_shipped(tmp_path: Path) -> None:
    log, positions = tmp_path / "machine.log", tmp_path / "state" / "log-positions"
    log.write_text("booted\nstarting agent\n")
    first = LogTail([log], positions)
    assert messages(first) == ["machine.log: booted", "machine.log: starting agent"]
    first.shipped()

    with log.open("a") as more:
        more.write("booted\nstarting agent\n")  # the machine was stopped and started again
    after_restart = LogTail([log], positions)

    assert messages(after_restart) == ["machine.log: booted", "machine.log: starting agent"]
    after_restart.shipped()
    assert messages(LogTail([log], positions)) == [], "nothing new"


def test_lines_read_but_never_shipped_are_read_again_after_a_restart(tmp_path: Path) -> None:
    log, positions = tmp_path / "machine.log", tmp_path / "log-positions"
    log.write_text("one\n")
    LogTail([log], positions).read()  # the agent died before shipping them

    assert messages(LogTail([log], positions)) == ["machine.log: one"]


def test_a_replaced_log_is_read_from_its_start_and_unreadable_positions_are_ignored(tmp_path: Path) -> None:
    log, positions = tmp_path / "machine.log", tmp_path / "log-positions"
    log.write_text("an old line, longer than the new one\n")
    tail = LogTail([log], positions)
    tail.read()
    tail.shipped()
    log.unlink()
    log.write_text("new line\n")

    assert messages(LogTail([log], positions)) == ["machine.log: new line"]
    positions.write_text("{not json")
    assert messages(LogTail([log], positions)) == ["machine.log: new line"]
