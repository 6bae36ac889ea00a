"""Does a model's uncertainty rank its errors? Its held-out perturbations' uncertainty against their real top-20-DE error."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from gearsplan.analysis.metrics import perturbation_metrics
from gearsplan.analysis.model_screen import ModelScreen
from gearsplan.data.splits import Split
from gearsplan.model.bundle import Bundle
from gearsplan.model.ensemble import TOP_GENES, ensemble_uncertainty, on_top_genes


@dataclass(frozen=True)
class UncertaintyCheck:
    """Uncertainty (:func:`~gearsplan.model.ensemble.ensemble_uncertainty`) against real top-20-DE error on the bundle's held-out perturbations;
    ``disagreement``, the members' part, is what ``suggest`` shows."""

    keys: tuple[str, ...]
    strata: tuple[str, ...]
    uncertainty: np.ndarray
    disagreement: np.ndarray
    mse_top20: np.ndarray
    spearman: float


def uncertainty_check(bundle: Bundle, data: ModelScreen) -> UncertaintyCheck | None:
    """Uncertainty and top-20-DE MSE of each of the bundle's held-out perturbations found in ``data``, and their Spearman (None with fewer than 3)."""
    split = bundle.metadata.get("split") or {}
    keys = tuple(k for k in split.get("test", ()) if k in data.de.top)
    if len(keys) < 3:
        return None
    prediction = bundle.model.predict(list(keys))
    mse = perturbation_metrics(prediction.mean, data.bulk.delta[data.bulk.rows(keys)], data.de.matrix(keys))[
        "mse_top20"
    ]
    uncertainty = ensemble_uncertainty(prediction)
    held_out = Split("bundle", tuple(split.get("train", ())), tuple(split.get("val", ())), keys)
    return UncertaintyCheck(
        keys,
        tuple(held_out.stratum(k) for k in keys),
        uncertainty,
        on_top_genes(prediction.sd, prediction.mean, TOP_GENES),
        mse,
        float(spearmanr(uncertainty, mse).statistic),
    )
