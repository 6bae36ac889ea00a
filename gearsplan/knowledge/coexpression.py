"""The GEARS gene co-expression graph: absolute Pearson correlation, top-k neighbours above a threshold."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from gearsplan.knowledge.gene_graph import GeneGraph, name_rank, top_k_indices


def coexpression_graph(X: np.ndarray | sp.spmatrix, genes: Sequence[str], k: int = 5,
                       threshold: float = 0.4) -> GeneGraph:
    """Each gene's ``k`` most co-expressed genes whose absolute Pearson correlation exceeds ``threshold``.

    Parameters
    ----------
    X
        Cells x genes log-normalised expression (sparse or dense) of the training cells only,
        so that no held-out perturbation leaks into the graph.
    genes
        Names of the columns of ``X``.
    k
        Neighbours kept per gene (self excluded).
    threshold
        Edges need an absolute correlation strictly above this.
    """
    genes = tuple(genes)
    if X.shape[1] != len(genes):
        raise ValueError(f"X has {X.shape[1]} columns but {len(genes)} gene names were given")
    weights = np.abs(pearson_matrix(X))
    np.fill_diagonal(weights, 0.0)
    targets, neighbours = np.nonzero(weights > threshold)
    weights = weights[targets, neighbours]
    best = top_k_indices(targets, neighbours, weights, k, name_rank(genes))
    return GeneGraph(genes, targets[best], neighbours[best], weights[best])


def pearson_matrix(X: np.ndarray | sp.spmatrix) -> np.ndarray:
    """Genes x genes Pearson correlation of the columns of ``X`` (0 for constant genes), without densifying ``X``."""
    n_cells = X.shape[0]
    if n_cells < 2:
        raise ValueError("a correlation needs at least 2 cells")
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float64)
        second_moment = (X.T @ X).toarray() / n_cells
        constant = (X.max(axis=0).toarray() == X.min(axis=0).toarray()).ravel()
    else:
        X = np.asarray(X, dtype=np.float64)
        second_moment = X.T @ X / n_cells
        constant = X.max(axis=0) == X.min(axis=0)
    mean = np.asarray(X.mean(axis=0)).ravel()
    covariance = second_moment - np.outer(mean, mean)
    # Constant genes are detected exactly: their variance is only zero up to rounding.
    std = np.where(constant, np.inf, np.sqrt(np.clip(np.diag(covariance), 0.0, None)))
    return np.clip(covariance / np.outer(std, std), -1.0, 1.0)
