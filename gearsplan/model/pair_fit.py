"""How a pair's change is fitted on its two singles' (Norman et al. 2019's GI model, as in GEARS): ΔAB ≈ c1·ΔA + c2·ΔB.

The model chooses its pair law by these coefficients (:func:`gearsplan.model.training.pair_law`), and
:mod:`gearsplan.analysis.gi_scores` builds the GI scores and calls on them, so both read a pair the same way.
"""

from __future__ import annotations

import warnings

import numpy as np

#: Default minimum mean log-normalised control expression of a gene scored on (see :func:`well_expressed`).
WELL_EXPRESSED_MIN_MEAN = 0.01


#: |Pearson(ΔA, ΔB)| above which the two singles cannot be told apart and the fit assumes equal contributions.
COLLINEAR_SINGLES = 0.95


#: Default number of gene pairs (2×2 systems) sampled per Theil–Sen fit; all pairs when there are fewer.
N_SUBSAMPLES = 4000


# Elements per chunk of the batched Theil–Sen arrays: bounds memory (a few such arrays, 8 bytes each).
_THEIL_SEN_CHUNK = 1 << 22
# |det| below this fraction of the product of the two rows' norms: the rows are parallel to
# within 1e-9 rad, the 2×2 system is singular for practical purposes and is skipped.
_SINGULAR = 1e-9
_WEISZFELD_TOL = 1e-6
# An iterate closer than this to a solution counts as sitting on it (Vardi–Zhang case).
_AT_POINT = 1e-9
_WEISZFELD_MAX_ITER = 300


def well_expressed(control_mean: np.ndarray, min_mean: float = WELL_EXPRESSED_MIN_MEAN) -> np.ndarray:
    """Genes scored on: mean log-normalised expression in control cells above ``min_mean``.

    Norman et al. fit the GI model on well-expressed genes only, because the change of a gene that
    is barely detected in control is mostly sampling noise. The default 0.01 is about one
    detected count in a few percent of control cells; on the embedded data it keeps 72 of the 500
    measured genes (only 103 are detected in any control cell at all).
    """
    return np.asarray(control_mean) > min_mean


def sampled_gene_pairs(n_genes: int, n_subsamples: int = N_SUBSAMPLES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gene pairs (i < j) of the Theil–Sen fit: all when C(n_genes, 2) <= n_subsamples, else a seeded sample without repeats."""
    total = n_genes * (n_genes - 1) // 2
    if total <= n_subsamples:
        return np.triu_indices(n_genes, 1)
    k = np.sort(np.random.default_rng(seed).choice(total, size=n_subsamples, replace=False))
    # Unrank k in the row-major order of the strict upper triangle.
    i = n_genes - 2 - np.floor(np.sqrt(-8.0 * k + 4.0 * n_genes * (n_genes - 1) - 7.0) / 2.0 - 0.5).astype(np.int64)
    j = k + i + 1 - total + (n_genes - i) * (n_genes - i - 1) // 2
    return i, j


def theil_sen(x: np.ndarray, y: np.ndarray, n_subsamples: int = N_SUBSAMPLES, seed: int = 0) -> np.ndarray:
    """Theil–Sen fit without intercept of y ≈ c1·x[..., 0] + c2·x[..., 1], batched over pairs.

    Each sampled gene pair (i, j) gives the exact solution of a 2×2 system; the estimate is the
    spatial median of those solutions (modified Weiszfeld iterations, all pairs at once), as in
    ``sklearn.linear_model.TheilSenRegressor(fit_intercept=False)``. The same gene pairs are
    used for every row, so a row's result does not depend on the others.

    Parameters
    ----------
    x
        (n_pairs, n_genes, 2): [ΔA, ΔB] per gene.
    y
        (n_pairs, n_genes): ΔAB.

    Returns
    -------
    (n_pairs, 2) coefficients; NaN for a row where every 2×2 system is singular.
    """
    i, j = sampled_gene_pairs(x.shape[1], n_subsamples, seed)
    step = max(1, _THEIL_SEN_CHUNK // max(len(i), 1))
    return np.concatenate(
        [_theil_sen_chunk(x[s : s + step], y[s : s + step], i, j) for s in range(0, max(len(x), 1), step)]
    )


def _theil_sen_chunk(x: np.ndarray, y: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    a_i, b_i, a_j, b_j = x[:, i, 0], x[:, i, 1], x[:, j, 0], x[:, j, 1]
    y_i, y_j = y[:, i], y[:, j]
    det = a_i * b_j - a_j * b_i
    valid = np.abs(det) > _SINGULAR * np.hypot(a_i, b_i) * np.hypot(a_j, b_j)
    safe = np.where(valid, det, 1.0)
    c1 = np.where(valid, (y_i * b_j - y_j * b_i) / safe, 0.0)
    c2 = np.where(valid, (a_i * y_j - a_j * y_i) / safe, 0.0)
    return spatial_median(c1, c2, valid)


def spatial_median(px: np.ndarray, py: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Spatial (geometric) median of the valid 2-D points of each row, by modified Weiszfeld iterations.

    ``px``, ``py``, ``valid`` are (rows, points). Starts at the coordinate-wise median, which is
    already close, and iterates only the rows that have not converged yet. Returns (rows, 2);
    NaN for a row without valid points.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": such a row is NaN on purpose
        z = np.column_stack([np.nanmedian(np.where(valid, p, np.nan), axis=1) for p in (px, py)])
    rows = np.flatnonzero(~np.isnan(z[:, 0]))
    px, py, valid = px[rows], py[rows], valid[rows]
    for _ in range(_WEISZFELD_MAX_ITER):
        if rows.size == 0:
            break
        current = z[rows]
        z[rows] = moved = _weiszfeld_step(px, py, valid, current)
        going = np.linalg.norm(moved - current, axis=1) >= _WEISZFELD_TOL
        if not going.all():
            rows, px, py, valid = rows[going], px[going], py[going], valid[going]
    return z


def _weiszfeld_step(px: np.ndarray, py: np.ndarray, valid: np.ndarray, z: np.ndarray) -> np.ndarray:
    """One Weiszfeld step with the Vardi–Zhang modification, so an iterate on a data point does not stick there."""
    dx, dy = px - z[:, :1], py - z[:, 1:]
    dist = np.sqrt(dx * dx + dy * dy)
    near = dist < _AT_POINT
    inverse = np.divide(valid, dist, out=np.zeros_like(dist), where=~near)
    total = inverse.sum(axis=1)
    pull = np.column_stack([np.einsum("rp,rp->r", inverse, dx), np.einsum("rp,rp->r", inverse, dy)])
    # z + pull / total is the plain Weiszfeld step; |pull| decides how far to leave a data point.
    pull_norm = np.linalg.norm(pull, axis=1)
    at_point = (near & valid).sum(axis=1)
    stay = np.divide(at_point, pull_norm, out=np.ones_like(pull_norm), where=pull_norm > 0).clip(max=1.0)
    shift = np.divide(pull, total[:, None], out=np.zeros_like(pull), where=total[:, None] > 0)
    return z + (1.0 - stay)[:, None] * shift


def equal_contribution_slope(summed: np.ndarray, delta_ab: np.ndarray) -> np.ndarray:
    """Per row, the median over genes of ΔAB / (ΔA + ΔB): Theil–Sen through the origin in one dimension."""
    usable = np.abs(summed) > _SINGULAR * np.abs(summed).max(axis=1, keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row without usable genes is NaN on purpose
        return np.nanmedian(np.where(usable, delta_ab / np.where(usable, summed, 1.0), np.nan), axis=1)


def pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b``; NaN where a row is constant."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=1) / denominator, np.nan)


def interaction_coefficients(
    delta_a: np.ndarray, delta_b: np.ndarray, delta_ab: np.ndarray, seed: int = 0, n_subsamples: int = N_SUBSAMPLES
) -> tuple[np.ndarray, np.ndarray]:
    """(c1, c2) of each pair (n_pairs x 2) and whether its singles are collinear (n_pairs): Theil–Sen where both
    coefficients are identifiable, else equal contributions (:func:`equal_contribution_slope`).

    ``delta_a``, ``delta_b``, ``delta_ab``: (n_pairs, n_genes) changes over control on the genes scored on.
    """
    collinear = np.abs(pearson_rows(delta_a, delta_b)) > COLLINEAR_SINGLES
    coefficients = np.empty((len(delta_a), 2))
    # Theil–Sen only where both coefficients are identifiable: on near-collinear singles its 2x2 solutions
    # spread along a line, and the spatial median then takes its most iterations for a fit that is thrown away.
    coefficients[~collinear] = theil_sen(
        np.stack([delta_a[~collinear], delta_b[~collinear]], axis=2),
        delta_ab[~collinear],
        n_subsamples=n_subsamples,
        seed=seed,
    )
    coefficients[collinear] = equal_contribution_slope(delta_a[collinear] + delta_b[collinear], delta_ab[collinear])[
        :, None
    ]
    return coefficients, collinear
