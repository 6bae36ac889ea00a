"""The baselines every model must beat: no change, mean change, additive."""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from gearsplan.data.conditions import genes_of
from gearsplan.data.pseudobulk import Pseudobulk
from gearsplan.data.screen import Screen
from gearsplan.data.splits import Split


class Predictor(Protocol):
    """Anything that learns from a split of a screen and predicts mean changes over control."""

    name: str

    def fit(self, screen: Screen, bulk: Pseudobulk, split: Split, seed: int) -> "Predictor": ...

    def predict(self, perturbations: Sequence[str]) -> np.ndarray:
        """Predicted change over control, one row per perturbation key, one column per gene."""
        ...


def mean_change(bulk: Pseudobulk, train: Sequence[str]) -> np.ndarray:
    """Mean change over control of all training cells (each perturbation weighted by its cells)."""
    rows = bulk.rows(train)
    weights = bulk.n_cells[rows].astype(np.float64)
    return weights @ bulk.delta[rows] / weights.sum()


class NoChange:
    """Predicts the control profile: zero change."""

    name = "no_change"

    def fit(self, screen: Screen, bulk: Pseudobulk, split: Split, seed: int) -> "NoChange":
        self.n_genes = len(bulk.genes)
        return self

    def predict(self, perturbations: Sequence[str]) -> np.ndarray:
        return np.zeros((len(perturbations), self.n_genes))


class MeanChange:
    """Predicts the mean change of the training perturbations, whatever the perturbation."""

    name = "mean"

    def fit(self, screen: Screen, bulk: Pseudobulk, split: Split, seed: int) -> "MeanChange":
        self.change = mean_change(bulk, split.train)
        return self

    def predict(self, perturbations: Sequence[str]) -> np.ndarray:
        return np.tile(self.change, (len(perturbations), 1))


class Additive:
    """Sum of the measured single-gene changes; a gene without a training single adds the mean change."""

    name = "additive"

    def fit(self, screen: Screen, bulk: Pseudobulk, split: Split, seed: int) -> "Additive":
        singles = sorted(split.train_singles())
        self.mean = mean_change(bulk, split.train)
        self.singles = dict(zip(singles, bulk.delta[bulk.rows(singles)]))
        return self

    def predict(self, perturbations: Sequence[str]) -> np.ndarray:
        return np.stack([sum(self.singles.get(g, self.mean) for g in genes_of(k)) for k in perturbations])


BASELINES: dict[str, type] = {cls.name: cls for cls in (NoChange, MeanChange, Additive)}
