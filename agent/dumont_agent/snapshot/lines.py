"""A manifest's entries and chunks as lines of JSON, one an item, read one line at a time: a workspace of
hundreds of thousands of files would otherwise be one JSON document, parsed into an object for every
value at once (some 250 MiB for 10 GiB of files) before its tables were made.

An entry is `["d", path, mode, mtime_ns]`, `["l", path, mode, mtime_ns, target]` or
`["f", path, mode, mtime_ns, size, spans]`; how a span names its chunk is the caller's (`pieces` by
digest, the agent's own copy by number after `["c", digest, size, stored_size]` lines).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from dumont_agent.snapshot.items import DIRECTORY, FILE, SYMLINK, Entry
from dumont_agent.snapshot.tables import EntryTable

SpanItem = Callable[[Any], Sequence[int]]
"""A span as a line holds it, to the chunk number, offset and length it names; TypeError or ValueError
when it is not one."""


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)
"""One encoder for every line: `json.dumps` with options makes a new one each call."""


def json_bytes(value: object) -> bytes:
    # ASCII escapes keep names that are not valid UTF-8 (surrogate escapes) exact and the JSON valid.
    return _ENCODER.encode(value).encode("ascii")


def entry_line(entry: Entry, spans: list[Any]) -> list[Any]:
    """The line of `entry`, its spans already as the caller writes them."""
    if entry.kind == FILE:
        return ["f", entry.path, entry.mode, entry.mtime_ns, entry.size, spans]
    if entry.kind == SYMLINK:
        return ["l", entry.path, entry.mode, entry.mtime_ns, entry.target]
    return ["d", entry.path, entry.mode, entry.mtime_ns]


def add_entry(entries: EntryTable, line: Any, span_of: SpanItem) -> None:
    """Add the entry `line` says; TypeError or ValueError when it is not one."""
    if type(line) is not list or len(line) < 4:
        raise ValueError(f"not an entry: {line!r:.200}")
    kind, path, mode, mtime_ns = line[:4]
    if type(path) is not str or type(mode) is not int or type(mtime_ns) is not int:
        raise TypeError(f"an entry needs a string path and integer mode and mtime_ns: {line!r:.200}")
    if kind == "d" and len(line) == 4:
        entries.add(path, DIRECTORY, mode, mtime_ns)
    elif kind == "l" and len(line) == 5 and type(line[4]) is str:
        entries.add(path, SYMLINK, mode, mtime_ns, target=line[4])
    elif kind == "f" and len(line) == 6 and type(line[4]) is int and type(line[5]) is list:
        entries.add(path, FILE, mode, mtime_ns, size=line[4], spans=[span_of(item) for item in line[5]])
    else:
        raise ValueError(f"not an entry: {line!r:.200}")


def split_lines(parts: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of the text `parts` make one after the other, without their newlines; the last line
    need not end with one."""
    rest = b""
    for part in parts:
        text = rest + part if rest else part
        start = 0
        while (end := text.find(b"\n", start)) >= 0:
            yield text[start:end]
            start = end + 1
        rest = text[start:]
    if rest:
        yield rest


def parsed(lines: Iterable[bytes]) -> Iterator[Any]:
    """Each line's JSON value; ValueError for a line that is not JSON."""
    for line in lines:
        yield json.loads(line)
