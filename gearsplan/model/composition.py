"""How a set's prediction is composed from the networks' outputs and the measured perturbations: measured singles
as they were measured, unmeasured genes on their knowledge prior and effect size, the blend with the additive
baseline, and the modality's sign on a perturbed gene that is measured."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np

from gearsplan.data.conditions import genes_of
from gearsplan.data.modality import Modality
from gearsplan.model.effect_size import EffectSizeMap, fit_effect_sizes
from gearsplan.model.model_config import ModelConfig
from gearsplan.model.prior import KnowledgePrior


def signal_parts(
    singles: dict[str, np.ndarray], noise: dict[str, np.ndarray], strength: float
) -> dict[str, np.ndarray]:
    """Each single's change as part of a larger set: gene by gene, shrunk toward 0 by its sampling noise,
    ``Δ · max(1 − strength · noise / Δ², 0)`` (the plain change without a noise estimate or at ``strength`` 0).

    A measured single's change carries its cells' sampling noise, which a pair does not inherit:
    the pair's own cells are sampled afresh. Shrinking each single's changes as far as the noise
    explains them predicts the pair from its singles' signal, so pairs come out sub-additive where
    the singles' changes are small against their noise, and additive where they stand out.
    """
    shrunk = {}
    for gene, change in singles.items():
        spread = noise.get(gene)
        if spread is None or not strength:
            shrunk[gene] = change
            continue
        squared = change * change
        shrunk[gene] = change * np.maximum(1.0 - strength * spread / np.where(squared > 0, squared, 1.0), 0.0)
    return shrunk


@dataclass
class Composition:
    """The measured side of a :class:`~gearsplan.model.ensemble.GearsModel` (its fields of the same names):
    what it knows of the screen's perturbations, and how it turns the networks' outputs into predictions
    (:meth:`compose`)."""

    genes: tuple[str, ...]
    mean_change: np.ndarray
    consensus_change: np.ndarray
    median_change: np.ndarray
    measured: dict[str, np.ndarray]
    single_noise: dict[str, np.ndarray]
    pair_law: float
    baseline_weight: float
    modality: Modality
    config: ModelConfig

    @cached_property
    def singles(self) -> dict[str, np.ndarray]:
        """The measured change of each single gene."""
        return {k: change for k, change in self.measured.items() if "+" not in k}

    @cached_property
    def set_singles(self) -> dict[str, np.ndarray]:
        """Each measured single's change as part of a larger set, by the pair law (:func:`signal_parts`)."""
        return signal_parts(self.singles, self.single_noise, self.pair_law)

    @cached_property
    def prior(self) -> KnowledgePrior:
        """What its sets with genes never measured are built on, and their spread."""
        return KnowledgePrior(
            self.measured,
            frozenset(self.singles),
            self.set_singles,
            self.mean_change,
            self.consensus_change,
            self.median_change,
            self.config,
        )

    @cached_property
    def effect_sizes(self) -> EffectSizeMap:
        """The map from a gene's knowledge to the size of its effect, fitted to the measured singles."""
        return fit_effect_sizes(self.singles, self.single_noise, self.config.sizes)

    def network_sets(self, keys: Sequence[str]) -> list[str]:
        """The sets the networks run on to compose ``keys``: the keys, then their measured single genes."""
        return list(dict.fromkeys([*keys, *(g for k in keys for g in genes_of(k) if g in self.singles)]))

    def compose(self, keys: Sequence[str], run: Sequence[str], changes: np.ndarray, priors: bool) -> np.ndarray:
        """Each member's change for ``keys`` (members x keys x genes) from its changes on :meth:`network_sets` ``run``.

        Each member's known error on a set's measured single genes is taken out (a measured single is its
        measurement; in a larger set its genes count as :attr:`set_singles`), the result blended with the
        :meth:`additive` baseline by ``baseline_weight``, and moved to the modality's sign (:meth:`with_modality`).
        ``priors``: a set with an unmeasured gene is built on its best base (:meth:`KnowledgePrior.prior_shifts
        <gearsplan.model.prior.KnowledgePrior.prior_shifts>`) and a single one :meth:`sized`; False builds every set
        on the mean change, so that ΔAB − ΔA − ΔB is the learned interaction and not the difference of two priors.
        """
        position = {k: i for i, k in enumerate(run)}
        correct = np.zeros((len(keys), len(run)))
        known = np.zeros((len(keys), len(self.genes)))
        for row, key in enumerate(keys):
            correct[row, position[key]] += 1.0
            parts = self.singles if len(genes_of(key)) == 1 else self.set_singles
            for gene in (g for g in genes_of(key) if g in self.singles):
                correct[row, position[gene]] -= 1.0
                known[row] += parts[gene]
        rows = [row for row, key in enumerate(keys) if self.prior.unmeasured(key)]
        if priors and rows:
            known[rows] += self.prior.prior_shifts([keys[row] for row in rows])
        corrected = np.einsum("kr,mrg->mkg", correct, changes) + known
        blended = (1 - self.baseline_weight) * corrected + self.baseline_weight * self.additive(keys)
        if priors:
            blended = self.sized(keys, blended)
        return self.with_modality(keys, blended)

    def additive(self, keys: Sequence[str]) -> np.ndarray:
        """The additive baseline: measured single changes, the mean change for unmeasured genes."""
        return np.stack([sum(self.singles.get(g, self.mean_change) for g in genes_of(k)) for k in keys])

    def sized(self, keys: Sequence[str], changes: np.ndarray) -> np.ndarray:
        """``changes`` (members x keys x genes) with each single gene never measured shrunk as far as its knowledge
        says it moves less than the best-known gene would (:meth:`EffectSizeMap.shrinkage
        <gearsplan.model.effect_size.EffectSizeMap.shrinkage>`)."""
        rows = [row for row, key in enumerate(keys) if len(genes_of(key)) == 1 and key not in self.singles]
        if not rows:
            return changes
        changes = changes.copy()
        changes[:, rows] *= self.effect_sizes.shrinkage([keys[row] for row in rows])[:, None]
        return changes

    def with_modality(self, keys: Sequence[str], changes: np.ndarray) -> np.ndarray:
        """``changes`` (members x keys x genes) with each perturbed gene that is a measured gene moved in the
        modality's direction by at least the typical own change of the measured targets; a measured single
        keeps its measurement, and an unknown modality changes nothing."""
        sign = self.modality.sign
        column = {g: i for i, g in enumerate(self.genes)}
        targets = [
            (row, column[g])
            for row, key in enumerate(keys)
            if key not in self.singles
            for g in genes_of(key)
            if g in column
        ]
        if not sign or not targets:
            return changes
        rows, columns = map(list, zip(*targets))
        changes = changes.copy()
        changes[:, rows, columns] = sign * np.maximum(sign * changes[:, rows, columns], self.modality.self_change)
        return changes
