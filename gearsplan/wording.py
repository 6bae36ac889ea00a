"""Words for numbers in what gearsplan prints."""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """``1 pair``, ``2 pairs``, ``1,024 pairs``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")
