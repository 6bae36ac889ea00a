"""How wide a predicted spread must be to hold the truth: from the share its ± 2 sd held (torch-free)."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

#: The share of values a calibrated ± 2 sd holds (of a normal distribution).
NOMINAL_COVERAGE = 0.95


def coverage_2sd(predicted: np.ndarray, true: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Per row, the share of values with |true − predicted| ≤ 2 sd (an sd of 0 holds exact hits only)."""
    return (np.abs(true - predicted) <= 2 * sd).mean(axis=1)


def calibration_factor(coverage: float | None) -> float:
    """How many times wider a spread must be for ± 2 sd to hold :data:`NOMINAL_COVERAGE` of the truth, from the
    share it held, were the errors normal: 2 / Φ⁻¹((1 + coverage) / 2).

    The share is clipped to [0.01, 0.99] (a factor of 0.78 to 159); NaN without one.
    """
    if coverage is None or not np.isfinite(coverage):
        return float("nan")
    return float(2.0 / NormalDist().inv_cdf((1.0 + float(np.clip(coverage, 0.01, 0.99))) / 2.0))
