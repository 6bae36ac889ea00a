"""Genetic-interaction scores and subtype calls of two-gene perturbations (Norman et al. 2019, as in GEARS).

With ΔA, ΔB, ΔAB the mean changes over control of the two singles and the pair, restricted to the
genes scored on (by default the well-expressed genes, :func:`~gearsplan.model.pair_fit.well_expressed`), ΔAB ≈ c1·ΔA + c2·ΔB
is fitted without intercept by Theil–Sen (:func:`~gearsplan.model.pair_fit.theil_sen`), and

==========================  =========================================================  =======================
score                       definition                                                 call (default threshold)
==========================  =========================================================  =======================
magnitude                   √(c1² + c2²)                                               synergy > 1.15,
                                                                                       suppression < 1.0
model_fit                   Pearson(c1·ΔA + c2·ΔB, ΔAB)                                neomorphism < 0.88
similarity                  distance correlation([ΔA, ΔB], ΔAB)                        redundancy > 0.85
equality_of_contribution    min(dcor(ΔA, ΔAB), dcor(ΔB, ΔAB)) / max(…)                 epistasis < 0.28
==========================  =========================================================  =======================

Calls: each score is compared with its own threshold, so a pair can carry several calls.
``additive`` is called when |magnitude − 1| < 0.25 **and no other call fires**: a magnitude of 0.9
is suppression only, and since [1.0, 1.15] lies inside the additive band every pair with finite
scores gets at least one call under the default thresholds. Epistasis is called below its
threshold (one gene dominates), as in the reference code (the paper's table prints ">").
A pair whose fit is undefined (every 2×2 system singular, e.g. ΔA ≡ 0) has NaN scores and no call.

When ΔA and ΔB are nearly collinear (|Pearson| > :data:`~gearsplan.model.pair_fit.COLLINEAR_SINGLES`; typical of two genes
the model has never seen, whose predictions both sit near the mean change), only c1 + c2 is
identifiable and the 2×2 solutions scatter along that line (magnitudes in the hundreds). Such a
pair is fitted with equal contributions, ΔAB ≈ c·(ΔA + ΔB) (c the median of the per-gene slopes,
the one-dimensional Theil–Sen through the origin), and flagged ``singles_collinear``.

Distance correlations are the biased (V-statistic) ones of ``dcor.distance_correlation``, computed
here batched over pairs (:func:`distance_correlations`): ``dcor`` compiles its fast kernels at
import (several seconds) and its row-wise 1-D routine costs about 1 ms a pair at 500 genes, while
the three correlations of a pair share one distance matrix of ΔAB. The tests check equality with
``dcor`` on real profiles.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from gearsplan.data.conditions import genes_of, perturbation_key
from gearsplan.data.pseudobulk import Pseudobulk
from gearsplan.errors import GearsplanError
from gearsplan.json_numbers import finite_or_none
from gearsplan.model.pair_fit import (
    N_SUBSAMPLES,
    interaction_coefficients,
    pearson_rows,
    well_expressed,
)

#: GI subtype names, in the column order of :meth:`GIScores.call_matrix`.
GI_CALLS = ("synergy", "suppression", "additive", "neomorphism", "redundancy", "epistasis")

#: The magnitude of an exactly additive pair (ΔAB = ΔA + ΔB, so c1 = c2 = 1); the calls' thresholds, as
#: Norman et al. set them, are about 1 instead, so an additive pair is called synergy.
ADDITIVE_MAGNITUDE = float(np.sqrt(2.0))

# Elements per chunk of the batched distance matrices: keeps a chunk near the L2 cache, which measured fastest.
_DCOR_CHUNK = 1 << 18


@dataclass(frozen=True)
class GIThresholds:
    """Thresholds of the GI calls (DESIGN.md / Norman et al. 2019)."""

    synergy: float = 1.15  # magnitude >
    suppression: float = 1.0  # magnitude <
    additive: float = 0.25  # |magnitude - 1| <, and no other call
    neomorphism: float = 0.88  # model_fit <
    redundancy: float = 0.85  # similarity >
    epistasis: float = 0.28  # equality_of_contribution <

    def edges(self, call: str) -> tuple[float, ...]:
        """The values of its score (:data:`CALL_SCORES`) at which a call switches: one threshold, or the additive band's two ends."""
        return (1.0 - self.additive, 1.0 + self.additive) if call == "additive" else (getattr(self, call),)


@dataclass(frozen=True)
class GIScores:
    """Scores of n pairs; every field is an array of shape (n,) (coefficients (n, 2))."""

    coefficients: np.ndarray
    magnitude: np.ndarray
    model_fit: np.ndarray
    similarity: np.ndarray
    equality_of_contribution: np.ndarray
    singles_collinear: np.ndarray

    def __len__(self) -> int:
        return len(self.magnitude)

    def call_matrix(self, thresholds: GIThresholds = GIThresholds()) -> np.ndarray:
        """Boolean (n, 6) matrix of calls, columns in :data:`GI_CALLS` order."""
        t = thresholds
        with np.errstate(invalid="ignore"):
            others = {
                "synergy": self.magnitude > t.synergy,
                "suppression": self.magnitude < t.suppression,
                "neomorphism": self.model_fit < t.neomorphism,
                "redundancy": self.similarity > t.redundancy,
                "epistasis": self.equality_of_contribution < t.epistasis,
            }
            near_one = np.abs(self.magnitude - 1.0) < t.additive
        additive = near_one & ~np.logical_or.reduce(list(others.values()))
        return np.column_stack([additive if name == "additive" else others[name] for name in GI_CALLS])

    def calls(self, thresholds: GIThresholds = GIThresholds()) -> list[tuple[str, ...]]:
        """The calls of each pair, in :data:`GI_CALLS` order."""
        return [tuple(name for name, fired in zip(GI_CALLS, row) if fired) for row in self.call_matrix(thresholds)]

    def row(self, i: int, thresholds: GIThresholds = GIThresholds()) -> dict:
        """Pair ``i`` as plain Python values for ``--json``; a NaN score is ``None``."""
        scores = {
            name: finite_or_none(getattr(self, name)[i])
            for name in ("magnitude", "model_fit", "similarity", "equality_of_contribution")
        }
        fired = self.call_matrix(thresholds)[i]
        return {
            **scores,
            "calls": [name for name, on in zip(GI_CALLS, fired) if on],
            "singles_collinear": bool(self.singles_collinear[i]),
        }


def distance_correlations(
    delta_a: np.ndarray, delta_b: np.ndarray, delta_ab: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dcor(ΔA, ΔAB), dcor(ΔB, ΔAB) and dcor([ΔA, ΔB], ΔAB) of each row, batched.

    Equal to ``dcor.distance_correlation`` (biased V-statistics, exponent 1); 0 where a profile is
    constant, as there. Each row costs O(n_genes²); rows go in chunks through four reused
    distance-matrix buffers, so memory stays bounded and no pass pays for a fresh allocation.
    """
    n_genes = delta_a.shape[1]
    step = max(1, _DCOR_CHUNK // (n_genes * n_genes))
    buffers = np.empty((4, min(step, len(delta_a)), n_genes, n_genes))
    parts = [
        _dcor_chunk(delta_a[s : s + step], delta_b[s : s + step], delta_ab[s : s + step], buffers)
        for s in range(0, max(len(delta_a), 1), step)
    ]
    return tuple(np.concatenate(p) for p in zip(*parts))


def _dcor_chunk(
    a: np.ndarray, b: np.ndarray, y: np.ndarray, buffers: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, n = a.shape
    dy, da, db, d2 = buffers[:, :rows]
    np.abs(np.subtract(y[:, :, None], y[:, None, :], out=dy), out=dy)
    np.subtract(a[:, :, None], a[:, None, :], out=da)
    np.subtract(b[:, :, None], b[:, None, :], out=db)
    np.multiply(da, da, out=d2)
    np.abs(da, out=da)
    d2 += np.square(db, out=db)
    np.sqrt(d2, out=d2)
    np.abs(np.subtract(b[:, :, None], b[:, None, :], out=db), out=db)
    y_terms = _centring_terms(dy, 2.0 * y.var(axis=1))
    second_moments = (2.0 * a.var(axis=1), 2.0 * b.var(axis=1), 2.0 * (a.var(axis=1) + b.var(axis=1)))
    flat_dy = dy.reshape(rows, -1, 1)
    result = []
    for d, moment in zip((da, db, d2), second_moments):
        cross = np.matmul(d.reshape(rows, 1, -1), flat_dy)[:, 0, 0] / (n * n)
        result.append(_correlation(cross, _centring_terms(d, moment), y_terms))
    return tuple(result)


def _centring_terms(d: np.ndarray, mean_square: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row means, grand mean and distance variance of stacked distance matrices.

    ``mean_square`` is the mean of the squared distances, known in closed form (twice the total
    variance of the points), which saves a pass over the matrices.
    """
    row_means = d.mean(axis=2)
    grand = row_means.mean(axis=1)
    variance = mean_square - 2.0 * (row_means * row_means).mean(axis=1) + grand * grand
    return row_means, grand, variance


def _correlation(cross: np.ndarray, x_terms, y_terms) -> np.ndarray:
    x_rows, x_grand, x_var = x_terms
    y_rows, y_grand, y_var = y_terms
    covariance = cross - 2.0 * (x_rows * y_rows).mean(axis=1) + x_grand * y_grand
    denominator = np.sqrt(np.maximum(x_var, 0.0) * np.maximum(y_var, 0.0))
    squared = np.divide(covariance, denominator, out=np.zeros_like(covariance), where=denominator > 0)
    return np.sqrt(np.clip(squared, 0.0, None))


def score_pairs(
    delta_a: np.ndarray, delta_b: np.ndarray, delta_ab: np.ndarray, seed: int = 0, n_subsamples: int = N_SUBSAMPLES
) -> GIScores:
    """GI scores of pairs from their single and double changes over control.

    Parameters
    ----------
    delta_a, delta_b, delta_ab
        (n_pairs, n_genes) changes over control, already restricted to the genes to score on.
    seed, n_subsamples
        Of the Theil–Sen gene-pair sample (:func:`~gearsplan.model.pair_fit.theil_sen`).

    Raises
    ------
    GearsplanError
        If fewer than 3 genes are scored on.
    """
    delta_a, delta_b, delta_ab = (np.asarray(d, dtype=np.float64) for d in (delta_a, delta_b, delta_ab))
    if delta_a.shape[1] < 3:
        raise GearsplanError(
            f"only {delta_a.shape[1]} genes to score genetic interactions on",
            "score on more genes (lower the well-expressed threshold)",
        )
    coefficients, collinear = interaction_coefficients(delta_a, delta_b, delta_ab, seed, n_subsamples)
    fitted = coefficients[:, :1] * delta_a + coefficients[:, 1:] * delta_b
    dcor_a, dcor_b, similarity = distance_correlations(delta_a, delta_b, delta_ab)
    larger = np.maximum(dcor_a, dcor_b)
    equality = np.divide(np.minimum(dcor_a, dcor_b), larger, out=np.full_like(larger, np.nan), where=larger > 0)
    return GIScores(
        coefficients=coefficients,
        magnitude=np.hypot(coefficients[:, 0], coefficients[:, 1]),
        model_fit=pearson_rows(fitted, delta_ab),
        similarity=similarity,
        equality_of_contribution=equality,
        singles_collinear=collinear,
    )


#: Share of members that must make a call for it to be shown as certain (besides its score's spread).
CERTAIN_SHARE = 0.8
#: The score each call reads.
CALL_SCORES = {
    "synergy": "magnitude",
    "suppression": "magnitude",
    "additive": "magnitude",
    "neomorphism": "model_fit",
    "redundancy": "similarity",
    "epistasis": "equality_of_contribution",
}


@dataclass(frozen=True)
class EnsembleCalls:
    """GI scores of an ensemble's mean profiles with how far its members agree.

    Attributes
    ----------
    scores
        Of the ensemble's mean profiles.
    share
        (pairs, 6), in :data:`GI_CALLS` order: the share of members making each call.
    certain
        (pairs, 6): the call is made by at least :data:`CERTAIN_SHARE` of the members and its score's
        spread over the members (mean ± sd) does not straddle its threshold; a call that is made but
        is not certain is shown as uncertain.
    """

    scores: GIScores
    share: np.ndarray
    certain: np.ndarray


def ensemble_calls(
    delta_a: np.ndarray,
    delta_b: np.ndarray,
    delta_ab: np.ndarray,
    seed: int = 0,
    thresholds: GIThresholds = GIThresholds(),
) -> EnsembleCalls:
    """Scores of the ensemble's mean profiles, the share of members making each call, and which calls are certain.

    Each input is (members, pairs, genes). Every row is fitted on the same gene-pair sample, so
    scoring mean and members apart gives what scoring them together would.
    """
    mean = score_pairs(delta_a.mean(axis=0), delta_b.mean(axis=0), delta_ab.mean(axis=0), seed=seed)
    n_members, n_pairs, n_genes = delta_ab.shape
    members = score_pairs(*(d.reshape(-1, n_genes) for d in (delta_a, delta_b, delta_ab)), seed=seed)
    share = members.call_matrix(thresholds).reshape(n_members, n_pairs, len(GI_CALLS)).mean(axis=0)
    steady = np.column_stack(
        [_steady(getattr(members, CALL_SCORES[c]).reshape(n_members, n_pairs), thresholds.edges(c)) for c in GI_CALLS]
    )
    return EnsembleCalls(mean, share, (share >= CERTAIN_SHARE) & steady)


def _steady(values: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Per pair (columns), whether the members' mean ± sd of a score (members x pairs) stays on one side of every threshold."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a pair whose every member score is NaN is not steady
        centre, spread = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
    return np.logical_and.reduce([(centre - spread > t) | (centre + spread < t) for t in thresholds])


def measured_gi(
    bulk: Pseudobulk, pairs: Sequence[str], genes_mask: np.ndarray | None = None, seed: int = 0
) -> GIScores:
    """GI scores of measured pairs from the measured mean changes of the pairs and their singles.

    Parameters
    ----------
    pairs
        Two-gene keys ("A+B", any order).
    genes_mask
        Genes scored on; by default :func:`~gearsplan.model.pair_fit.well_expressed` of the control mean.

    Raises
    ------
    GearsplanError
        If a key is not a two-gene set, or the pair or one of its singles was not measured.
    """
    keys = [_measured_pair(bulk, key) for key in pairs]
    mask = well_expressed(bulk.control) if genes_mask is None else np.asarray(genes_mask, dtype=bool)
    delta = bulk.delta[:, mask]
    pair_rows, a_rows, b_rows = (delta[bulk.rows(column)] for column in zip(*keys)) if keys else (delta[:0],) * 3
    return score_pairs(a_rows, b_rows, pair_rows, seed=seed)


def _measured_pair(bulk: Pseudobulk, key: str) -> tuple[str, str, str]:
    """(pair key, single A, single B) of a measured pair whose singles were measured."""
    genes = genes_of(perturbation_key(genes_of(key)))
    if len(genes) != 2:
        raise GearsplanError(f"{key!r} is not a two-gene perturbation", "name pairs as 'A+B'")
    measured = set(bulk.keys)
    wanted = (perturbation_key(genes), *genes)
    missing = [k for k in wanted if k not in measured]
    if missing:
        scorable = [k for k in bulk.keys if len(genes_of(k)) == 2 and set(genes_of(k)) <= measured]
        raise GearsplanError(
            f"cannot score {wanted[0]} from measurements: {', '.join(missing)} not measured",
            f"pairs measured with both singles: {', '.join(scorable) or 'none'}",
        )
    return wanted
