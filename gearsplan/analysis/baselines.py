"""The baselines every model must beat: no change, mean change, additive."""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from gearsplan.data.conditions import genes_of
from gearsplan.data.prepared import PreparedScreen
from gearsplan.data.splits import Split


class Predictor(Protocol):
    """Anything that learns from a split of a screen and predicts mean changes over control."""

    name: str

    def fit(self, data: PreparedScreen, split: Split, seed: int) -> "Predictor": ...

    def predict(self, perturbations: Sequence[str]) -> np.ndarray:
        """Predicted change over control, one row per perturbation key, one column per gene."""
        ...


class NoChange:
    """Predicts the control profile: zero change."""

    name = "no_change"

    def fit(self, data: PreparedScreen, split: Split, seed: int) -> "NoChange":
        self.n_genes = len(data.bulk.genes)
        return self

    def predict(self, perturbations: Sequence[str]) -> np.ndarray:
        return np.zeros((len(perturbations), self.n_genes))


class MeanChange:
    """Predicts the mean change of the training perturbations, whatever the perturbation."""

    name = "mean"

    def fit(self, data: PreparedScreen, split: Split, seed: int) -> "MeanChange":
        self.change = data.bulk.mean_change(split.train)
        return self

    def predict(self, perturbations: Sequence[str]) -> np.ndarray:
        return np.tile(self.change, (len(perturbations), 1))


class Additive:
    """Sum of the measured single-gene changes; a gene without a training single adds the mean change."""

    name = "additive"

    def fit(self, data: PreparedScreen, split: Split, seed: int) -> "Additive":
        self.mean = data.bulk.mean_change(split.train)
        self.singles = data.bulk.singles(split.train)
        return self

    def predict(self, perturbations: Sequence[str]) -> np.ndarray:
        return np.stack([sum(self.singles.get(g, self.mean) for g in genes_of(k)) for k in perturbations])


BASELINES: dict[str, type] = {cls.name: cls for cls in (NoChange, MeanChange, Additive)}
