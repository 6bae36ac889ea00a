"""Evaluation metrics, per held-out perturbation, on mean profiles: GEARS's, and those that look past the shared shift."""

from __future__ import annotations

import numpy as np

from gearsplan.model.calibration import coverage_2sd
from gearsplan.model.pair_fit import pearson_rows

#: GEARS's metric names, as in ``evaluate --json``.
GEARS_METRICS = ("pearson_delta", "pearson_delta_top20", "mse_top20", "frac_opposite_top20")
#: Metrics that do not reward what every perturbation shares (Systema, cell-eval), and the spread's calibration.
SPECIFIC_METRICS = ("pearson_delta_centroid", "discrimination", "coverage_2sd", "mse_top20_vs_no_change")
#: Every metric name, as in ``evaluate --json``.
METRICS = GEARS_METRICS + SPECIFIC_METRICS
# Elements of one chunk of row differences in :func:`l1_distances` (32 MB of doubles).
_L1_CHUNK = 1 << 22
#: Metrics where a larger value is better.
HIGHER_IS_BETTER = frozenset({"pearson_delta", "pearson_delta_top20", "pearson_delta_centroid", "discrimination"})


def perturbation_metrics(
    predicted: np.ndarray,
    true: np.ndarray,
    top_de: np.ndarray,
    centroid: np.ndarray | None = None,
    sd: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS` but ``discrimination`` (which compares perturbations: :func:`discrimination`) for each row.

    Parameters
    ----------
    predicted, true
        Change over control, perturbations x genes.
    top_de
        Column indices of each perturbation's top DE genes, perturbations x 20.
    centroid
        The mean change of the training perturbations. ``pearson_delta_centroid`` is the Pearson
        of predicted and true change after subtracting it from both (Systema's point: what every
        perturbation shares is not predicted knowledge); NaN for a prediction equal to it, and without a centroid.
    sd
        The predicted spread, perturbations x genes; ``coverage_2sd`` is the share of top-DE values
        within prediction ± 2 sd (an sd of 0 covers exact hits only); NaN without a spread.
    """
    predicted_top = np.take_along_axis(predicted, top_de, axis=1)
    true_top = np.take_along_axis(true, top_de, axis=1)
    mse = ((predicted_top - true_top) ** 2).mean(axis=1)
    missing = np.full(len(predicted), np.nan)
    coverage = missing if sd is None else coverage_2sd(predicted_top, true_top, np.take_along_axis(sd, top_de, axis=1))
    return {
        "pearson_delta": pearson_rows(predicted, true),
        "pearson_delta_top20": pearson_rows(predicted_top, true_top),
        "mse_top20": mse,
        "frac_opposite_top20": (np.sign(predicted_top) != np.sign(true_top)).mean(axis=1),
        "pearson_delta_centroid": missing if centroid is None else pearson_rows(predicted - centroid, true - centroid),
        "coverage_2sd": coverage,
        "mse_top20_vs_no_change": mse / (true_top**2).mean(axis=1),
    }


def discrimination(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """cell-eval's discrimination score of each row: the share of the other rows' true changes that lie
    farther (L1 over genes) from this row's prediction than its own true change does.

    1 when every other perturbation is farther, 0.5 by chance (a tie counts half); NaN with one row.
    """
    n = len(predicted)
    if n < 2:
        return np.full(n, np.nan)
    distance = l1_distances(predicted, true)
    own = np.diag(distance)[:, None]
    farther = (distance > own).sum(axis=1) + 0.5 * ((distance == own).sum(axis=1) - 1)
    return farther / (n - 1)


def l1_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L1 distance of every row of ``a`` to every row of ``b`` (rows of ``a`` x rows of ``b``), in chunks of
    rows of ``a`` so that no chunk's differences exceed :data:`_L1_CHUNK` elements. (NumPy alone: SciPy's
    ``cdist`` would cost ``predict`` half a second of imports.)"""
    step = max(1, _L1_CHUNK // max(b.size, 1))
    return np.concatenate(
        [np.abs(a[s : s + step, None, :] - b[None, :, :]).sum(axis=2) for s in range(0, len(a), step)]
        or [np.zeros((0, len(b)))]
    )
