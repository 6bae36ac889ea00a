"""Greedy batch selection: each pick removes the most error the picks before it left, so a batch covers the space."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from gearsplan.design.untested_error import UntestedError


def unit_profiles(profiles: np.ndarray, kinds: Sequence[str]) -> np.ndarray:
    """Predicted change profiles centred on their kind's median and scaled to unit length (float32; all-zero when nothing is left).

    Centring removes what the model predicts for any gene (most unmeasured genes get the same
    prediction), so two candidates' cosine is high only when the model expects the same specific change.
    """
    kinds = np.asarray(kinds)
    centred = np.asarray(profiles, dtype=np.float32).copy()
    for kind in np.unique(kinds):
        centred[kinds == kind] -= np.median(centred[kinds == kind], axis=0)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    return np.divide(centred, norms, out=np.zeros_like(centred), where=norms > 1e-6)


def greedy_select(
    error: UntestedError,
    profiles: np.ndarray,
    kinds: Sequence[str],
    budget: int,
    quotas: dict[str, int] | None = None,
    seed: int = 0,
) -> list[int]:
    """Pick ``budget`` candidates (``error``'s singles, then its pairs) one by one.

    Each pick maximises the error it removes given the picks before it (:meth:`UntestedError.after`:
    GO neighbourhoods already covered count no more), times ``prod over picked j of (1 - cosine(i, j))``
    over their :func:`unit_profiles` (negative cosines as 0), which keeps out candidates whose predicted
    change repeats a pick's. ``quotas`` caps the picks per
    kind (the kinds' quotas sum to ``budget``); without it the gains decide the mix. Exact ties are
    broken by a seeded random order.
    """
    kinds = np.asarray(kinds)
    discount = np.ones(len(kinds))
    tiebreak = np.random.default_rng(seed).permutation(len(kinds))
    left = dict(quotas) if quotas else None
    available = np.ones(len(kinds), dtype=bool)
    picked: list[int] = []
    while len(picked) < budget and available.any():
        open_kind = available if left is None else available & np.isin(kinds, [k for k, n in left.items() if n > 0])
        if not open_kind.any():
            break
        best = int(np.lexsort((tiebreak, -np.where(open_kind, error.gains() * discount, -np.inf)))[0])
        picked.append(best)
        available[best] = False
        error = error.after(best)
        discount *= 1.0 - np.clip(profiles @ profiles[best], 0.0, 1.0)
        if left is not None:
            left[str(kinds[best])] -= 1
    return picked
