"""Money as every domain counts it: whole micro-dollars (`int`), so sums are exact and a figure read to
the cent is the sum of the figures it is made of."""

from __future__ import annotations

MICROS_PER_USD = 1_000_000


def to_micros(usd: float) -> int:
    return round(usd * MICROS_PER_USD)


def to_usd(micros: int) -> float:
    """Micro-dollars as dollars, to the micro-dollar."""
    return round(micros / MICROS_PER_USD, 6)
