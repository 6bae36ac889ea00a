"""The GEARS gene co-expression graph: absolute Pearson correlation, top-k neighbours above a threshold."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from gearsplan.knowledge.gene_graph import GeneGraph, name_rank, top_k_indices


def coexpression_graph(
    X: np.ndarray | sp.spmatrix, genes: Sequence[str], k: int = 5, threshold: float = 0.4
) -> GeneGraph:
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


def pearson_matrix(X: np.ndarray | sp.spmatrix, chunk: int = 4096) -> np.ndarray:
    """Genes x genes Pearson correlation of the columns of ``X`` (0 for constant genes).

    ``X`` is densified ``chunk`` cells at a time, centred on the column means and multiplied in
    float32 (BLAS), with the products summed in float64. Centring first keeps float32 exact to
    ~1e-5; the sparse product it replaced took 44 s on 60,000 cells x 5,000 genes, this 9 s.
    """
    n_cells = X.shape[0]
    if n_cells < 2:
        raise ValueError("a correlation needs at least 2 cells")
    sparse = sp.issparse(X)
    X = sp.csr_matrix(X) if sparse else np.asarray(X)
    mean = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
    centre = mean.astype(np.float32)
    covariance = np.zeros((X.shape[1], X.shape[1]))
    for start in range(0, n_cells, chunk):
        part = X[start : start + chunk]
        part = (part.toarray() if sparse else part).astype(np.float32) - centre
        covariance += part.T @ part
    covariance /= n_cells
    highest, lowest = X.max(axis=0), X.min(axis=0)
    # Constant genes are detected exactly: their variance is only zero up to rounding.
    constant = np.ravel(highest.toarray() == lowest.toarray()) if sparse else highest == lowest
    std = np.where(constant, np.inf, np.sqrt(np.clip(np.diag(covariance), 0.0, None)))
    return np.clip(covariance / np.outer(std, std), -1.0, 1.0)
