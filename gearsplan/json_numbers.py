"""Numbers for ``--json`` documents: JSON has no NaN or infinity, so they are written as null."""

from __future__ import annotations

import math


def finite_or_none(value: float) -> float | None:
    """``value`` as a plain float, or None where it is NaN or infinite."""
    value = float(value)
    return value if math.isfinite(value) else None


def finite_record(record: dict) -> dict:
    """``record`` with its NaN and infinite float values as None."""
    return {k: finite_or_none(v) if isinstance(v, float) else v for k, v in record.items()}
