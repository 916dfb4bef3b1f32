"""Plain-text tables for the benchmark report."""

from __future__ import annotations

from collections.abc import Sequence


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[int] = (),
    indent: str = "  ",
) -> str:
    """An aligned table; the columns whose indexes are in `right` are aligned right (numbers)."""
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(widths[index]) if index in right else cell.ljust(widths[index])
            for index, cell in enumerate(cells)
        ]
        return (indent + "  ".join(padded)).rstrip()

    rule = indent + "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def legend(explanations: Sequence[tuple[str, str]], indent: str = "  ") -> str:
    """One line per column: its name, then what it means."""
    width = max(len(name) for name, _ in explanations)
    return "\n".join(f"{indent}{name.ljust(width)}  {meaning}" for name, meaning in explanations)


def heading(title: str) -> str:
    return f"{title}\n{'=' * len(title)}"


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"
