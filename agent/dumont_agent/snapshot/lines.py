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
from dumont_agent.snapshot.tables import EntryTable, entry_rows

LINES_AT_ONCE = 1000
"""Lines written together: a workspace of hundreds of thousands of files never has all its lines in
memory at once."""
BATCH_BYTES = 256 * 1024
"""About this many bytes of lines are parsed together."""

SpanItem = Callable[[Any], Sequence[int]]
"""A span as a line holds it, to the chunk number, offset and length it names; TypeError or ValueError
when it is not one."""


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)
"""One encoder for every line: `json.dumps` with options makes a new one each call."""


_string: Callable[[str], str] = json.encoder.encode_basestring_ascii
"""A string as `_ENCODER` writes it: the function it uses."""


def json_bytes(value: object) -> bytes:
    # ASCII escapes keep names that are not valid UTF-8 (surrogate escapes) exact and the JSON valid.
    return _ENCODER.encode(value).encode("ascii")


def entry_lines(entries: Sequence[Entry], span_text: Callable[[int, int, int], str]) -> Iterator[bytes]:
    """The entries' lines, each span as `span_text(chunk, offset, length)` writes it, `LINES_AT_ONCE`
    lines at a time.

    Written by hand, byte for byte what `json_bytes` would write (strings escaped by the json module's
    own function, integers as Python writes them): read from a table's columns, without an `Entry` made
    for each or the encoder's checks of every value, this takes a third of the time, and writing the
    manifest is part of every snapshot's time."""
    batch: list[str] = []
    for kind, path, mode, mtime_ns, size, target, spans in entry_rows(entries):
        if kind == FILE:
            written = ",".join([span_text(chunk, offset, length) for chunk, offset, length in spans])
            batch.append(f'["f",{_string(path)},{mode},{mtime_ns},{size},[{written}]]')
        elif kind == SYMLINK:
            batch.append(f'["l",{_string(path)},{mode},{mtime_ns},{_string(target)}]')
        else:
            batch.append(f'["d",{_string(path)},{mode},{mtime_ns}]')
        if len(batch) == LINES_AT_ONCE:
            yield _joined_lines(batch)
            batch = []
    if batch:
        yield _joined_lines(batch)


def _joined_lines(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("ascii")


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


def values(parts: Iterable[bytes]) -> Iterator[Any]:
    """The JSON value of each line of the text `parts` make one after the other (the last line need not
    end with a newline). ValueError for a line that is not one JSON value.

    Lines are parsed `BATCH_BYTES` at a time, as one JSON array: a call into the parser a line cost more
    than the parsing, some 20,000 calls for the bench's 1 GiB workspace."""
    rest = b""
    for part in parts:
        text = rest + part if rest else part
        last = text.rfind(b"\n")
        if last < 0:
            rest = text
            continue
        start = 0
        while start <= last:
            stop = text.find(b"\n", start + BATCH_BYTES, last)
            stop = last if stop < 0 else stop
            yield from _batch_values(text[start:stop])
            start = stop + 1
        rest = text[last + 1 :]
    if rest:
        yield from _batch_values(rest)


def _batch_values(lines: bytes) -> list[Any]:
    # A newline cannot be inside a JSON string (it is escaped there), so it only ever separates lines.
    parsed = json.loads(b"[" + lines.replace(b"\n", b",") + b"]")
    if len(parsed) != lines.count(b"\n") + 1:
        raise ValueError("a line that is not one JSON value")
    return parsed
