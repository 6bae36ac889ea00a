"""Choose the genes a full-transcriptome screen is modelled on: scanpy's highly variable genes, plus every measured perturbed gene."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gearsplan.wording import counted

#: Genes kept by default: about what GEARS models on Norman 2019 (5,045 highly variable genes).
DEFAULT_GENES = 5_000


@dataclass(frozen=True)
class GeneSelection:
    """The columns kept of a screen with more genes than asked for.

    Attributes
    ----------
    columns
        Sorted indices of the kept columns.
    n_genes
        How many genes the file measures.
    n_variable
        Genes asked for (``--genes``): scanpy's highly variable genes.
    flavour
        scanpy's ``highly_variable_genes`` flavour: ``seurat_v3`` on raw counts, ``seurat`` on log data.
    n_cells
        The cells they were chosen on (all, or a seeded sample of a streamed screen).
    perturbed_added
        Measured perturbed genes that were not highly variable, kept all the same.
    """

    columns: np.ndarray
    n_genes: int
    n_variable: int
    flavour: str
    n_cells: int
    perturbed_added: int

    @property
    def note(self) -> str:
        return (
            f"{self.n_genes:,} genes measured: kept {len(self.columns):,}, the {self.n_variable:,} most variable "
            f"(scanpy highly_variable_genes, flavour {self.flavour}, on {self.n_cells:,} control and perturbed cells) "
            f"and {counted(self.perturbed_added, 'more perturbed gene')}"
        )

    def to_json(self) -> dict:
        """What ``data info --json`` and a bundle record of it."""
        return {
            "n_genes_measured": self.n_genes,
            "n_genes_kept": len(self.columns),
            "n_top_genes": self.n_variable,
            "flavour": self.flavour,
            "n_cells": self.n_cells,
            "perturbed_genes_added": self.perturbed_added,
        }


def select_genes(X, genes: pd.Index, perturbed: set[str], n_top: int, counts: bool) -> GeneSelection | None:
    """The ``n_top`` highly variable genes of the cells ``X``, and every measured gene of ``perturbed``.

    Parameters
    ----------
    X
        Cells x genes: raw counts if ``counts``, else log-expression (control and perturbed cells).
    genes
        The gene symbols of the columns.
    perturbed
        Genes some condition perturbs: their own change is what a user asks about first.
    n_top
        Highly variable genes to keep.
    counts
        Whether ``X`` holds raw counts (flavour ``seurat_v3``, which models counts) or log data (``seurat``).

    Returns
    -------
    None where ``X`` has no more than ``n_top`` genes.
    """
    if len(genes) <= n_top:
        return None
    import scanpy as sc  # imported here (as anndata): they cost seconds, and only this step needs them
    from anndata import AnnData

    flavour = "seurat_v3" if counts else "seurat"
    cells = AnnData(X=X, var=pd.DataFrame(index=genes.astype(str)))
    with warnings.catch_warnings():  # scanpy's notes on its own defaults would precede the summary
        warnings.simplefilter("ignore")
        variable = sc.pp.highly_variable_genes(cells, flavor=flavour, n_top_genes=n_top, inplace=False)
    chosen = variable["highly_variable"].to_numpy()
    added = genes.isin(list(perturbed)) & ~chosen
    return GeneSelection(
        np.flatnonzero(chosen | added), len(genes), int(chosen.sum()), flavour, X.shape[0], int(added.sum())
    )
