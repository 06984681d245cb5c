"""Helpers shared by the benchmarks."""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

T = TypeVar("T")


def lower_median(items: Sequence[T], key: Callable[[T], float]) -> T:
    """The item of median key (the lower middle one of an even count)."""
    ordered = sorted(items, key=key)
    return ordered[(len(ordered) - 1) // 2]
