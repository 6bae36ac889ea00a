"""The model's expected error over the untested space, and how much of it measuring each candidate removes.

The untested space is a set of targets: the candidate single genes and the pairs of interest (a
library's pairs; in a replay, every hidden pair). The model composes a pair from its genes, so a
target's expected squared error is additive over its genes: gene g contributes its ensemble variance
``v_g`` (uncertainty²) times the share the measured genes leave open, ``1 - coverage_g`` (coverage is
1 for a gene measured alone, else its GO similarity to the closest such gene, 1 in its annotation family); a pair adds its own
interaction variance.

Measuring a single gene a covers a fully and each of its GO neighbours n up to
``specificity_a x jaccard(a, n)`` (:func:`~gearsplan.design.graph_reach.annotation_specificity`; every
gene of a's annotation family counts as a neighbour with Jaccard 1, :func:`~gearsplan.design.graph_reach.annotation_families`), so
its gain is the error that leaves every target holding a or a neighbour. Measuring a pair removes
that pair's own error, and that of the pairs the model cannot tell from it (each unmeasured gene
swapped for one of its annotation family), and informs the pairs that share a gene with it: their
gains no longer count that gene's single-gene part, which the measured pair already reads (once a
pair of a new gene is measured, measuring the gene alone, which covers it in every pair, is the next
step, not a second pair of it). It teaches the genes themselves nothing: in replays, revealing pairs
taught the model little it carried to their genes (``docs/experiment_design.md``), so a single's gain
is unchanged. The gains are submodular: what one measurement covers, the next cannot remove again,
which is what makes a greedy batch spread out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from gearsplan.data.conditions import genes_of
from gearsplan.design.graph_reach import GraphReach, annotation_families, annotation_family_ids, annotation_specificity


@dataclass(frozen=True)
class UntestedError:
    """Per gene of the space (the GO graph's genes, then any others): variance, targets holding it (``demand``), coverage;
    per candidate: what it removes.

    ``teaches`` (singles x genes) is the coverage a single's measurement gives each gene; ``pair_genes``
    (pairs x 2) index each pair's genes, ``interaction`` is its interaction variance and
    ``pair_is_target`` says whether it is one of the targets (then measuring it lowers its genes' demand).
    ``pair_class`` is shared by pairs the model cannot tell apart (same measured genes, unmeasured
    genes of the same annotation family); ``pair_open`` is 0 once one of a class is measured;
    ``in_pairs_open`` (per gene) is 0 once a pair holding the gene is measured: the other pairs' gains
    leave out its single-gene part.
    """

    variance: np.ndarray
    demand: np.ndarray
    coverage: np.ndarray
    teaches: sp.csr_matrix
    pair_genes: np.ndarray
    interaction: np.ndarray
    pair_is_target: np.ndarray
    pair_class: np.ndarray
    pair_open: np.ndarray
    in_pairs_open: np.ndarray

    @classmethod
    def build(
        cls,
        reach: GraphReach,
        measured_singles: Sequence[str],
        variance: Mapping[str, float],
        singles: Sequence[str],
        pairs: Sequence[str],
        interaction: np.ndarray,
        target_pairs: Sequence[str],
    ) -> "UntestedError":
        """The error model of candidate ``singles`` (each also a target) and ``pairs`` (keys ``A+B``) over ``target_pairs``.

        ``variance``: per unmeasured gene of the candidates, its single's ensemble variance.
        """
        graph = reach.graph
        extra = sorted({g for k in (*singles, *pairs, *target_pairs) for g in genes_of(k)} - set(graph.index))
        index = {**graph.index, **{g: graph.n_genes + i for i, g in enumerate(extra)}}
        n = graph.n_genes + len(extra)
        positions = lambda names: np.array([index[g] for g in names], dtype=np.int64)  # noqa: E731
        values = np.zeros(n)
        values[positions(variance)] = list(variance.values())
        demand = np.zeros(n)
        np.add.at(demand, positions(singles), 1.0)
        np.add.at(demand, positions([g for k in target_pairs for g in genes_of(k)]), 1.0)
        families = annotation_families(graph)
        measured = np.array([graph.index[g] for g in measured_singles if g in graph.index], dtype=np.int64)
        covered = np.maximum(
            GraphReach.build(graph, measured_singles).coverage,
            families[:, measured].max(axis=1).toarray().ravel() if measured.size else 0.0,
        )
        coverage = np.concatenate([covered, np.isin(extra, list(measured_singles)).astype(float)])
        own = positions(singles)
        # Each single's GO neighbours (its own list and its annotation family, weighted by its annotation specificity); a gene outside GO has none.
        similar = graph.to_csr().maximum(families)
        neighbours = sp.vstack(
            [sp.diags(annotation_specificity(graph)) @ similar, sp.csr_matrix((1, graph.n_genes))]
        ).tocsr()
        rows = sp.hstack([neighbours[np.minimum(own, graph.n_genes)], sp.csr_matrix((len(own), len(extra)))]).tocsr()
        teaches = rows.maximum(
            sp.csr_matrix((np.ones(len(own)), (np.arange(len(own)), own)), shape=(len(own), n))
        ).tocsr()
        pair_genes = np.array([[index[g] for g in genes_of(k)] for k in pairs], dtype=np.int64).reshape(-1, 2)
        is_target = (
            np.isin(np.array(pairs, dtype=str), np.array(list(target_pairs), dtype=str))
            if len(pairs)
            else np.zeros(0, dtype=bool)
        )
        # The model tells a measured gene (and one outside GO) by itself, an unmeasured GO gene only by its annotation family.
        alone = np.concatenate([measured, np.arange(graph.n_genes, n)])
        kind = np.concatenate([annotation_family_ids(graph), np.zeros(len(extra), dtype=np.int64)])
        kind[alone] = -1 - alone
        return cls(
            values,
            demand,
            coverage,
            teaches,
            pair_genes,
            np.asarray(interaction, dtype=float),
            is_target,
            pair_classes(kind[pair_genes]),
            np.ones(len(pair_genes)),
            np.ones(n),
        )

    def take(self, singles: np.ndarray, pairs: np.ndarray) -> "UntestedError":
        """The same space with only the candidates at rows ``singles`` and ``pairs``."""
        return replace(
            self,
            teaches=self.teaches[singles],
            pair_genes=self.pair_genes[pairs],
            interaction=self.interaction[pairs],
            pair_is_target=self.pair_is_target[pairs],
            pair_class=self.pair_class[pairs],
            pair_open=self.pair_open[pairs],
        )

    def single_gains(self) -> np.ndarray:
        """Error each single's measurement removes: over its own gene and GO neighbours, the coverage it adds x variance x demand."""
        teaches = self.teaches
        rows = np.repeat(np.arange(teaches.shape[0]), np.diff(teaches.indptr))
        lift = (
            np.maximum(teaches.data - self.coverage[teaches.indices], 0.0)
            * (self.demand * self.variance)[teaches.indices]
        )
        return np.bincount(rows, lift, minlength=teaches.shape[0])

    def pair_gains(self) -> np.ndarray:
        """Each pair's own error: its genes' open variance (but a gene's that a measured pair holds) plus its
        interaction variance; none once its class is measured."""
        open_part = self.variance * (1.0 - self.coverage) * self.in_pairs_open
        return (open_part[self.pair_genes].sum(axis=1) + self.interaction) * self.pair_open

    def gains(self) -> np.ndarray:
        """Gains of every candidate, singles first."""
        return np.concatenate([self.single_gains(), self.pair_gains()])

    def after(self, candidate: int) -> "UntestedError":
        """The space once candidate ``candidate`` (singles first, then pairs) is measured."""
        n_singles = self.teaches.shape[0]
        if candidate < n_singles:
            row = slice(self.teaches.indptr[candidate], self.teaches.indptr[candidate + 1])
            coverage = self.coverage.copy()
            touched = self.teaches.indices[row]
            coverage[touched] = np.maximum(coverage[touched], self.teaches.data[row])
            return replace(self, coverage=coverage)
        pair = candidate - n_singles
        demand = self.demand.copy()
        if self.pair_is_target[pair]:
            np.subtract.at(demand, self.pair_genes[pair], 1.0)
        in_pairs_open = self.in_pairs_open.copy()
        in_pairs_open[self.pair_genes[pair]] = 0.0
        return replace(
            self,
            demand=demand,
            pair_open=np.where(self.pair_class == self.pair_class[pair], 0.0, self.pair_open),
            in_pairs_open=in_pairs_open,
        )


def pair_classes(kinds: np.ndarray) -> np.ndarray:
    """Per pair (rows of its two genes' kinds), an id shared by the pairs of the same two kinds, in either order."""
    if not len(kinds):
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.sort(kinds, axis=1), axis=0, return_inverse=True)[1].ravel()
