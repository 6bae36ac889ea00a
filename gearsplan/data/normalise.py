"""Detect raw counts versus log-normalised expression, and normalise raw counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from gearsplan.errors import GearsplanError

if TYPE_CHECKING:
    from anndata import AnnData

_SAMPLE = 1_000_000


def stored_values(X) -> np.ndarray:
    """The stored values of an expression matrix (the non-zeros of a sparse one)."""
    return X.data if sp.issparse(X) else np.asarray(X).ravel()


def looks_like_counts(X, seed: int = 0) -> bool:
    """Whether ``X`` holds raw counts: every sampled stored value is a whole number."""
    values = stored_values(X)
    if values.size > _SAMPLE:
        values = values[np.random.default_rng(seed).integers(0, values.size, _SAMPLE)]
    return bool(values.size) and bool(np.all(values == np.round(values)))


def check_log_expression(X) -> None:
    """Refuse values that log-normalised expression cannot hold.

    Raises
    ------
    GearsplanError
        On NaN, infinite or negative values.
    """
    values = stored_values(X)
    if not np.all(np.isfinite(values)):
        raise GearsplanError(
            "the expression matrix holds NaN or infinite values", "remove or impute them before loading"
        )
    if values.size and values.min() < 0:
        raise GearsplanError(
            "the expression matrix holds negative values, which log-normalised expression cannot",
            "pass log1p of normalised counts (not scaled or centred data), or raw counts",
        )


def ensure_log_normalised(adata: AnnData) -> str:
    """Normalise raw counts in place (total count, then log1p) and say which rule applied."""
    check_log_expression(adata.X)
    if not looks_like_counts(adata.X):
        return LOG_NOTE
    adata.X = normalise_counts(adata.X, median_total(np.asarray(adata.X.sum(axis=1), dtype=np.float64).ravel()))
    adata.uns.pop("log1p", None)  # scanpy's marker, left by an earlier transform, would mislead a reader
    return COUNTS_NOTE


#: What :func:`ensure_log_normalised` says of log-normalised data and of raw counts (a streamed screen says the same).
LOG_NOTE = "expression is log-normalised already (non-integer values): used as is"
COUNTS_NOTE = "expression looked like raw counts (all integers): normalised to the median total count and log1p-transformed with scanpy"


def median_total(totals: np.ndarray) -> float:
    """The total count raw counts are scaled to: the median of the cells' totals (scanpy's rule for sparse counts)."""
    return float(np.median(totals))


def normalise_counts(X, target_sum: float):
    """Raw counts (cells x genes) as float32 log1p of counts scaled to ``target_sum`` per cell (scanpy).

    Parameters
    ----------
    X
        Raw counts, sparse or dense.
    target_sum
        The total each cell is scaled to: :func:`median_total` of all the screen's cells, so that a
        screen normalised block by block is normalised as it would be whole.
    """
    import scanpy as sc  # imported here: it costs seconds, and only this step needs it
    from anndata import AnnData

    cells = AnnData(X=X.astype(np.float32))
    sc.pp.normalize_total(cells, target_sum=target_sum)
    sc.pp.log1p(cells)
    return cells.X
