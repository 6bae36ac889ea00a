"""How large a gene's effect is, from what is known about it: a ridge map learned on the measured singles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from gearsplan.knowledge.gene_knowledge import knowledge_summary
from gearsplan.model.model_config import SizeConfig


@dataclass(frozen=True)
class EffectSizeMap:
    """log ‖change‖ = a + knowledge summary · ``weights`` (a, the level, is left to the model's base)."""

    weights: np.ndarray

    def shrinkage(self, genes: Sequence[str]) -> np.ndarray:
        """Each gene's predicted size against that of a gene every column of knowledge holds at its fullest:
        exp(x · weights − Σ max(weights, 0)), in (0, 1].

        The base an unmeasured single is built on is the expected change of a measured one; a gene with
        less knowledge is expected to move less, and one about which nothing is known is shrunk most.
        """
        return np.exp(knowledge_summary(genes) @ self.weights - np.maximum(self.weights, 0.0).sum())


def signal_size(change: np.ndarray, noise: np.ndarray | None) -> float:
    """The norm of a measured change less its sampling noise: sqrt(‖Δ‖² − Σ noise), at least the noise's own
    norm (a change the noise explains is as large as the noise, not 0); ‖Δ‖ without a noise estimate."""
    squared = float(change @ change)
    if noise is None:
        return float(np.sqrt(squared))
    spent = float(noise.sum())
    return float(np.sqrt(max(squared - spent, spent)))


def fit_effect_sizes(
    singles: Mapping[str, np.ndarray], noise: Mapping[str, np.ndarray], config: SizeConfig = SizeConfig()
) -> EffectSizeMap:
    """The map from a gene's knowledge to the log size of its effect, fitted to the measured ``singles``.

    Ridge regression toward the prior: the weights minimise Σ (y − a − x·w)² + strength · ‖w − prior‖²
    over the singles (y their log :func:`signal_size`, x their knowledge summary), the intercept free;
    without singles, the prior.
    """
    prior = np.asarray(config.prior, dtype=float)
    genes = sorted(singles)
    if not genes:
        return EffectSizeMap(prior)
    x = knowledge_summary(genes)
    y = np.log([signal_size(singles[g], noise.get(g)) for g in genes])
    centred = x - x.mean(axis=0)
    weights = np.linalg.solve(
        centred.T @ centred + config.strength * np.eye(len(prior)),
        centred.T @ (y - y.mean()) + config.strength * prior,
    )
    return EffectSizeMap(weights)
