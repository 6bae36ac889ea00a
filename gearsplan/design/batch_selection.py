"""Greedy batch selection with a diversity kernel, so a batch covers the space instead of repeating one idea."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from gearsplan.data.conditions import genes_of
from gearsplan.design.graph_reach import GraphReach


def profile_similarity(profiles: np.ndarray, kinds: Sequence[str]) -> np.ndarray:
    """Cosine similarity (negatives as 0) of predicted change profiles, each centred on its kind's median.

    Centring removes what the model predicts for any gene (most unmeasured genes get the same
    prediction), so two candidates look alike only when the model expects the same specific change.
    """
    kinds = np.asarray(kinds)
    centred = np.asarray(profiles, dtype=np.float64).copy()
    for kind in np.unique(kinds):
        centred[kinds == kind] -= np.median(centred[kinds == kind], axis=0)
    norms = np.linalg.norm(centred, axis=1)
    unit = np.divide(centred, norms[:, None], out=np.zeros_like(centred), where=norms[:, None] > 1e-9)
    return np.clip(unit @ unit.T, 0.0, 1.0)


def set_similarity(keys: Sequence[str], reach: GraphReach, measured: frozenset[str]) -> np.ndarray:
    """GO similarity of perturbation sets: for each gene of one set, its best match in the other, averaged both ways.

    A set is represented by its unmeasured genes when it has any (what it teaches is mostly about
    them), so a single gene X and pairs X+A, X+B are near-duplicates; two sets of unrelated genes score 0.
    """
    sets = [tuple(g for g in genes_of(k) if g not in measured) or genes_of(k) for k in keys]
    genes = sorted({g for s in sets for g in s})
    gene_similarity = reach.similarity_among(genes)
    column = {g: i for i, g in enumerate(genes)}
    members = np.array([[column[s[0]], column[s[-1]]] for s in sets], dtype=np.int64)
    block = gene_similarity[members[:, None, :, None], members[None, :, None, :]]  # sets x sets x 2 x 2
    return 0.5 * (block.max(axis=3).mean(axis=2) + block.max(axis=2).mean(axis=2))


def diversity_kernel(keys: Sequence[str], kinds: Sequence[str], profiles: np.ndarray, reach: GraphReach, measured: frozenset[str]) -> np.ndarray:
    """How redundant two candidates are (0 to 1): alike in GO neighbourhood or in predicted change, whichever is higher."""
    return np.maximum(set_similarity(keys, reach, measured), profile_similarity(profiles, kinds))


def greedy_select(gain: np.ndarray, kernel: np.ndarray, kinds: Sequence[str], budget: int, quotas: dict[str, int] | None = None, seed: int = 0) -> list[int]:
    """Pick ``budget`` candidates one by one, each maximising its gain discounted by its redundancy with those already picked.

    A candidate's value is ``gain x prod over picked j of (1 - kernel[i, j])``. ``quotas`` caps the
    picks per kind (the kinds' quotas sum to ``budget``); without it the gains decide the mix.
    Exact ties are broken by a seeded random order.
    """
    kinds = np.asarray(kinds)
    value = np.asarray(gain, dtype=np.float64).copy()
    tiebreak = np.random.default_rng(seed).permutation(len(value))
    left = dict(quotas) if quotas else None
    available = np.ones(len(value), dtype=bool)
    picked: list[int] = []
    while len(picked) < budget and available.any():
        open_kind = available if left is None else available & np.isin(kinds, [k for k, n in left.items() if n > 0])
        if not open_kind.any():
            break
        order = np.lexsort((tiebreak, -np.where(open_kind, value, -np.inf)))
        best = int(order[0])
        picked.append(best)
        available[best] = False
        value *= 1.0 - kernel[best]
        if left is not None:
            left[str(kinds[best])] -= 1
    return picked
