"""Differentially expressed genes of each perturbation against control (the Welch t-test of scanpy's ``rank_genes_groups``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gearsplan.data.pseudobulk import Pseudobulk


@dataclass(frozen=True)
class DEGenes:
    """Top differentially expressed genes (column indices) per perturbation key.

    Attributes
    ----------
    top
        Key -> indices of the ``n_top`` genes with the largest absolute t-score.
    non_dropout
        The same ranking restricted to GEARS's non-dropout genes: a gene with a non-zero
        mean in the condition, or zero in both the condition and control.
    """

    top: dict[str, np.ndarray]
    non_dropout: dict[str, np.ndarray]

    def matrix(self, keys, non_dropout: bool = False) -> np.ndarray:
        """Stack the indices of ``keys`` into one ``len(keys) x n_top`` array."""
        source = self.non_dropout if non_dropout else self.top
        return np.stack([source[k] for k in keys])


def t_scores(bulk: Pseudobulk) -> np.ndarray:
    """Welch t-score of every gene of every perturbation against control, as scanpy's ``rank_genes_groups``
    (``method="t-test"``, ``reference="ctrl"``) computes it, from the pseudobulk alone.

    Its denominator, the square root of each group's sample variance over its cells plus control's
    likewise, is :attr:`Pseudobulk.noise <gearsplan.data.pseudobulk.Pseudobulk.noise>`; a gene that
    varies in neither scores 0, as in scanpy. So a screen streamed through memory ranks its genes
    without its cells, as one read whole does.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nan_to_num(bulk.delta / np.sqrt(bulk.noise), nan=0.0, posinf=0.0, neginf=0.0)


def rank_genes(bulk: Pseudobulk) -> np.ndarray:
    """Every gene of every perturbation (rows of ``bulk``), ranked by absolute t-score (:func:`t_scores`);
    ties in the gene's column order (scanpy's order among ties is its sort's)."""
    return np.argsort(-np.abs(t_scores(bulk)), axis=1, kind="stable")


def de_genes(bulk: Pseudobulk, n_top: int = 20) -> DEGenes:
    """The top ``n_top`` DE genes of every perturbation, plain and non-dropout."""
    ranked = rank_genes(bulk)
    non_dropout = (bulk.means != 0) | (bulk.control == 0)
    top = {key: order[:n_top] for key, order in zip(bulk.keys, ranked)}
    kept = {key: order[non_dropout[i, order]][:n_top] for i, (key, order) in enumerate(zip(bulk.keys, ranked))}
    return DEGenes(top, kept)
