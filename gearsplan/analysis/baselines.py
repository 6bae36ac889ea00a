"""The baselines every model must beat: no change, mean change, additive, scaled additive and linear."""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from gearsplan.data.conditions import genes_of
from gearsplan.data.prepared import PreparedScreen
from gearsplan.data.splits import Split
from gearsplan.knowledge.go_profiles import go_profiles


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


class ScaledAdditive(Additive):
    """A set of two or more genes is s times the sum of its genes' changes, as :class:`Additive` sums them.

    s is fitted by least squares, over all genes, on the training pairs whose two singles are in
    training: sum ⟨ΔAB, ΔA + ΔB⟩ / sum |ΔA + ΔB|². 1 when training holds no such pair. In Norman
    2019 most pairs are sub-additive (s < 1), and this is the additive model a referee would run.
    """

    name = "scaled_additive"

    def fit(self, data: PreparedScreen, split: Split, seed: int) -> "ScaledAdditive":
        super().fit(data, split, seed)
        pairs = [k for k in split.train if len(genes_of(k)) == 2 and all(g in self.singles for g in genes_of(k))]
        self.scale = 1.0
        if pairs:
            summed = super().predict(pairs)
            measured = data.bulk.delta[data.bulk.rows(pairs)]
            self.scale = float((measured * summed).sum() / (summed * summed).sum())
        return self

    def predict(self, perturbations: Sequence[str]) -> np.ndarray:
        scale = np.array([self.scale if len(genes_of(k)) > 1 else 1.0 for k in perturbations])
        return scale[:, None] * super().predict(perturbations)


class Linear:
    """Ahlmann-Eltze, Huber & Anders's (Nature Methods 2025) linear model: Y ≈ G·W·Pᵀ + b, fitted by ridge regression.

    G (genes x k) holds the top k = 10 principal components of the training perturbations' changes
    (fewer when there are fewer perturbations); P (perturbations x 10) their knowledge embeddings,
    a set's the sum of its genes' (:meth:`GoProfiles.embedding <gearsplan.knowledge.go_profiles.GoProfiles.embedding>`);
    b the mean training change. W = (GᵀG + λI)⁻¹ Gᵀ (Y − b) P (PᵀP + λI)⁻¹ with λ = :attr:`ridge`.
    """

    name = "linear"
    ridge = 0.1
    components = 10

    def fit(self, data: PreparedScreen, split: Split, seed: int) -> "Linear":
        train = list(split.train)
        self.mean = data.bulk.mean_change(train)
        centred = (data.bulk.delta[data.bulk.rows(train)] - self.mean).T
        left, _, _ = np.linalg.svd(centred, full_matrices=False)
        self.gene_axes = left[:, : self.components]
        embedded = go_profiles().embedding([genes_of(k) for k in train])
        gram = lambda m: m.T @ m + self.ridge * np.eye(m.shape[1])  # noqa: E731
        self.weights = np.linalg.solve(gram(self.gene_axes), self.gene_axes.T @ centred @ embedded) @ np.linalg.inv(
            gram(embedded)
        )
        return self

    def predict(self, perturbations: Sequence[str]) -> np.ndarray:
        embedded = go_profiles().embedding([genes_of(k) for k in perturbations])
        return (self.gene_axes @ self.weights @ embedded.T).T + self.mean


BASELINES: dict[str, type] = {cls.name: cls for cls in (NoChange, MeanChange, Additive, ScaledAdditive, Linear)}
