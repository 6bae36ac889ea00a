"""GEARS as a predictor of the evaluation protocol: trained afresh on each split."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from gearsplan.data.prepared import PreparedScreen
from gearsplan.data.splits import Split
from gearsplan.knowledge.gene_graph import GeneGraph
from gearsplan.model.ensemble import GearsModel, Prediction, ensemble_uncertainty
from gearsplan.model.training import TrainConfig, TrainingProgress, fit_gears


class GearsPredictor:
    """Fits a GEARS ensemble on a split's training perturbations; reports its uncertainty too."""

    name = "gearsplan"  # analysis.evaluation.GEARSPLAN

    def __init__(
        self, config: TrainConfig = TrainConfig(), go: GeneGraph | None = None, progress: TrainingProgress | None = None
    ) -> None:
        self.config = config
        self.go = go
        self.progress = progress
        self.model: GearsModel | None = None
        self._last: tuple[tuple[str, ...], Prediction] | None = None

    def fit(self, data: PreparedScreen, split: Split, seed: int) -> "GearsPredictor":
        self.model = fit_gears(data, split, seed, self.config, self.go, self.progress)
        self._last = None
        return self

    def prediction(self, perturbations: Sequence[str]) -> Prediction:
        """The ensemble's prediction, kept for the next call with the same perturbations (evaluation asks three times)."""
        if self._last is None or self._last[0] != tuple(perturbations):
            self._last = (tuple(perturbations), self.model.predict(perturbations))
        return self._last[1]

    def predict(self, perturbations: Sequence[str]) -> np.ndarray:
        return self.prediction(perturbations).mean

    def spread(self, perturbations: Sequence[str]) -> np.ndarray:
        """What the prediction does not know, gene by gene (:attr:`Prediction.total_sd`)."""
        return self.prediction(perturbations).total_sd

    def uncertainty(self, perturbations: Sequence[str]) -> np.ndarray:
        """What the prediction of each perturbation does not know (see :func:`ensemble_uncertainty`)."""
        return ensemble_uncertainty(self.prediction(perturbations))
