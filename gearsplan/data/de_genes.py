"""Differentially expressed genes of each perturbation against control (scanpy t-test)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gearsplan.data.conditions import CONTROL_KEY
from gearsplan.data.pseudobulk import Pseudobulk
from gearsplan.data.screen import KEY_COLUMN, Screen


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


def rank_genes(screen: Screen) -> dict[str, np.ndarray]:
    """Every gene ranked by absolute t-score (scanpy ``rank_genes_groups``, Welch t-test) per key."""
    import anndata as ad  # here, not at the top: a bundle's commands, which never test DE genes, start without it

    cells = ad.AnnData(X=screen.adata.X, obs=screen.adata.obs[[KEY_COLUMN]], var=pd.DataFrame(index=list(screen.genes)))
    with warnings.catch_warnings():  # scanpy fills its result frame column by column
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        import scanpy as sc  # imported here: it costs seconds, and only this step needs it

        sc.tl.rank_genes_groups(
            cells,
            groupby=KEY_COLUMN,
            reference=CONTROL_KEY,
            method="t-test",
            rankby_abs=True,
            n_genes=cells.n_vars,
            use_raw=False,
        )
    names = cells.uns["rank_genes_groups"]["names"]
    index = pd.Index(screen.genes)
    return {key: index.get_indexer(names[key]) for key in names.dtype.names}


def de_genes(screen: Screen, bulk: Pseudobulk, n_top: int = 20) -> DEGenes:
    """The top ``n_top`` DE genes of every perturbation, plain and non-dropout."""
    ranked = rank_genes(screen)
    rows = bulk.rows(ranked.keys())
    non_dropout = (bulk.means[rows] != 0) | (bulk.control == 0)
    top = {key: order[:n_top] for key, order in ranked.items()}
    kept = {key: order[non_dropout[i, order]][:n_top] for i, (key, order) in enumerate(ranked.items())}
    return DEGenes(top, kept)
