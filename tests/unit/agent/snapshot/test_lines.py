"""A manifest's lines read back as one JSON value each, however its text is split into parts and into the
batches they are parsed in, and a line that is not one value is refused."""

from __future__ import annotations

import json
import random

import pytest

from dumont_agent.snapshot import lines

VALUES = [["d", ".", 493, 1], ["f", 'a\nb \u00e9 \\ "q"', 420, 2, 3, [[0, 0, 3]]], {"version": 3}, 7, "x"]


def text_of(values: list[object]) -> bytes:
    return b"".join(json.dumps(value, ensure_ascii=True).encode("ascii") + b"\n" for value in values)


@pytest.mark.parametrize("batch_bytes", [1, 40, 1024 * 1024])
def test_lines_split_anywhere_read_back_as_their_values(
    batch_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lines, "BATCH_BYTES", batch_bytes)
    values = VALUES * 30
    text = text_of(values)
    cuts = sorted(random.Random(batch_bytes).sample(range(1, len(text)), 25))
    parts = [text[start:end] for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True)]

    assert list(lines.values(parts)) == values
    assert list(lines.values([text])) == values
    assert list(lines.values([text.rstrip(b"\n")])) == values, "the last line need not end with a newline"
    assert list(lines.values([])) == []


@pytest.mark.parametrize(
    "text",
    [b"[1]\n\n[2]\n", b"[1]\n1,2\n", b"[1]\n[1],[2]\n", b"[1]\n[1\n]\n", b"[1]\nnot json\n", b"\n"],
    ids=["empty-line", "two-values", "two-arrays", "value-over-two-lines", "not-json", "only-a-newline"],
)
def test_a_line_that_is_not_one_json_value_is_refused(text: bytes) -> None:
    with pytest.raises(ValueError):
        list(lines.values([text]))
