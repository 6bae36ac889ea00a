"""GEARS's evaluation metrics, per held-out perturbation, on mean profiles."""

from __future__ import annotations

import numpy as np

#: Metric names, as in ``evaluate --json``.
METRICS = ("pearson_delta", "pearson_delta_top20", "mse_top20", "frac_opposite_top20", "mse_top20_vs_no_change")


def pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b``; NaN where a row is constant."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=1) / denominator, np.nan)


def perturbation_metrics(predicted: np.ndarray, true: np.ndarray, top_de: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS` for each row.

    Parameters
    ----------
    predicted, true
        Change over control, perturbations x genes.
    top_de
        Column indices of each perturbation's top DE genes, perturbations x 20.
    """
    predicted_top = np.take_along_axis(predicted, top_de, axis=1)
    true_top = np.take_along_axis(true, top_de, axis=1)
    mse = ((predicted_top - true_top) ** 2).mean(axis=1)
    return {
        "pearson_delta": pearson_rows(predicted, true),
        "pearson_delta_top20": pearson_rows(predicted_top, true_top),
        "mse_top20": mse,
        "frac_opposite_top20": (np.sign(predicted_top) != np.sign(true_top)).mean(axis=1),
        "mse_top20_vs_no_change": mse / (true_top**2).mean(axis=1),
    }
