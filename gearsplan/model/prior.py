"""What a set with genes never measured is built on: a base pulled toward the alike measured perturbations, and its spread."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from gearsplan.data.conditions import genes_of
from gearsplan.knowledge.go_profiles import go_profiles
from gearsplan.model.model_config import ModelConfig


@dataclass(frozen=True)
class KnowledgePrior:
    """The base of each set with a gene never measured, pulled toward the measured perturbations like its unmeasured
    genes, and how far a set may lie from what it is built on (:meth:`base_variance`).

    ``measured``: the measured perturbations' changes; ``singles``: the measured single genes; ``set_singles``: each
    single as part of a larger set, by the pair law; the three bases as :class:`~gearsplan.model.ensemble.GearsModel`
    holds them.
    """

    measured: dict[str, np.ndarray]
    singles: frozenset[str]
    set_singles: dict[str, np.ndarray]
    mean_change: np.ndarray
    consensus_change: np.ndarray
    median_change: np.ndarray
    config: ModelConfig

    @cached_property
    def measured_profiles(self) -> sp.csr_matrix:
        """GO profile of each measured perturbation, in the order of :attr:`measured`."""
        return go_profiles().of([genes_of(k) for k in self.measured])

    def prior_shifts(self, keys: Sequence[str]) -> np.ndarray:
        """What each set, with one or more genes never measured, adds to the composition: its base minus the mean change, once per set.

        The base (the consensus change for a single gene, the median change for a larger set),
        pulled toward the measured perturbations like its unmeasured genes: each change weighted
        by its :meth:`pull_shares`, the base by the rest. A set whose genes share no GO term with a
        measured one keeps its base.
        """
        return self.pulled_bases(keys)[2] - self.mean_change

    def pulled_bases(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per set: its :meth:`base`, the :meth:`pull_shares`, and the base pulled by them (sets x genes, sets x measured, sets x genes)."""
        bases = np.stack([self.base(k)[1] for k in keys])
        shares = self.pull_shares(keys)
        return bases, shares, bases + shares @ self.measured_changes - shares.sum(axis=1, keepdims=True) * bases

    def base_variance(self, keys: Sequence[str]) -> np.ndarray:
        """How far, gene by gene, a set's change may lie from what it is built on (sets x genes).

        A single measured gene: 0. A larger set of measured genes: how far the measured pairs lie
        from the sum of their singles (:attr:`pair_departure`), since it is built on that sum.
        A set with a gene never measured: the variance of the mixture its pulled base is the mean
        of: the base, at the share the pull leaves it, spread as the measured perturbations of the
        set's size (single genes, or larger sets) spread about it; and each measured perturbation at
        its pull share. The members all build on the same base, so their disagreement alone leaves
        this out.
        """
        variance = np.zeros((len(keys), len(self.mean_change)))
        variance[[i for i, k in enumerate(keys) if len(genes_of(k)) > 1 and not self.unmeasured(k)]] = (
            self.pair_departure
        )
        rows = [i for i, k in enumerate(keys) if self.unmeasured(k)]
        if not rows:
            return variance
        unmeasured = [keys[i] for i in rows]
        bases, shares, pulled = self.pulled_bases(unmeasured)
        spread = np.stack([self.size_spreads[len(genes_of(k)) == 1] for k in unmeasured])
        changes = self.measured_changes
        # sum_j share_j (change_j - pulled)^2, expanded so that no sets x measured x genes array is built
        toward = shares @ changes**2 - 2 * pulled * (shares @ changes) + shares.sum(axis=1, keepdims=True) * pulled**2
        variance[rows] = (1 - shares.sum(axis=1, keepdims=True)) * (spread + (bases - pulled) ** 2) + toward
        return np.maximum(variance, 0.0)

    @cached_property
    def pair_departure(self) -> np.ndarray:
        """Gene by gene, the mean squared departure of the measured pairs whose two singles were measured
        from what their singles predict (:attr:`set_singles`, summed; 0 where the screen measured no such pair)."""
        pairs = [k for k in self.measured if len(genes_of(k)) == 2 and not self.unmeasured(k)]
        if not pairs:
            return np.zeros(len(self.mean_change))
        departures = np.stack([self.measured[k] - sum(self.set_singles[g] for g in genes_of(k)) for k in pairs])
        return (departures**2).mean(axis=0)

    @cached_property
    def measured_changes(self) -> np.ndarray:
        """The measured changes (measured perturbations x genes, in the order of :attr:`measured`)."""
        return np.stack(list(self.measured.values()))

    @cached_property
    def size_spreads(self) -> dict[bool, np.ndarray]:
        """Keyed by "a single gene?": gene by gene, the mean squared distance of the measured perturbations
        of that size (all of them if none) from the base of a set of that size."""
        single = np.array([len(genes_of(k)) == 1 for k in self.measured])
        spreads = {}
        for size in (True, False):
            same = single == size
            if not same.any():
                same[:] = True
            spreads[size] = ((self.measured_changes[same] - self.base_of(size)[1]) ** 2).mean(axis=0)
        return spreads

    def base(self, key: str) -> tuple[str, np.ndarray]:
        """What a set with genes never measured is built on, and its name (:meth:`base_of` its size)."""
        return self.base_of(len(genes_of(key)) == 1)

    def base_of(self, single: bool) -> tuple[str, np.ndarray]:
        """The base of a single gene never measured (the consensus change) or of a larger set (the median change), and its name."""
        return ("consensus change", self.consensus_change) if single else ("median change", self.median_change)

    def pull_shares(self, keys: Sequence[str]) -> np.ndarray:
        """Each measured perturbation's share (columns, in the order of :attr:`measured`) of each set's base:
        its :meth:`likeness` over the sum of them all and :attr:`ModelConfig.base_weight <gearsplan.model.model_config.ModelConfig.base_weight>`."""
        likeness = self.likeness(keys)
        return likeness / (likeness.sum(axis=1, keepdims=True) + self.config.base_weight)

    def likeness(self, keys: Sequence[str]) -> np.ndarray:
        """Weight of each measured perturbation (columns, in the order of :attr:`measured`) in each set's pull:
        over the set's unmeasured genes, the sum of its GO-profile cosine to each, to the power ``config.likeness_power``
        (:meth:`GoProfiles.summed_cosine <gearsplan.knowledge.go_profiles.GoProfiles.summed_cosine>`)."""
        return go_profiles().summed_cosine(
            [self.unmeasured(k) for k in keys], self.measured_profiles, self.config.likeness_power
        )

    def unmeasured(self, key: str) -> list[str]:
        """The genes of a set never measured alone."""
        return [g for g in genes_of(key) if g not in self.singles]
