"""Greedy batch selection: each pick removes the most error the picks before it left, so a batch covers the space."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from gearsplan.design.signals import RESOLUTION


class Gains(Protocol):
    """What each candidate would gain now, and the gains once one is picked."""

    def gains(self) -> np.ndarray: ...

    def after(self, candidate: int) -> "Gains": ...


@dataclass(frozen=True)
class FixedGains:
    """Gains that no pick changes (``discover``'s scores): only the profile discount spreads the batch."""

    values: np.ndarray

    def gains(self) -> np.ndarray:
        """The scores, as they are."""
        return self.values

    def after(self, candidate: int) -> "FixedGains":
        """The same scores: the picked candidate is no longer available anyway."""
        return self


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
    error: Gains,
    profiles: np.ndarray,
    kinds: Sequence[str],
    budget: int,
    quotas: dict[str, int] | None = None,
) -> list[int]:
    """Pick ``budget`` candidates (``error``'s singles, then its pairs; an
    :class:`~gearsplan.design.untested_error.UntestedError` or :class:`FixedGains`) one by one.

    Each pick maximises the error it removes given the picks before it (:meth:`UntestedError.after`:
    GO neighbourhoods already covered count no more), times ``prod over picked j of (1 - cosine(i, j))``
    over their :func:`unit_profiles` (negative cosines as 0), which keeps out candidates whose predicted
    change repeats a pick's. ``quotas`` caps the picks per
    kind (the kinds' quotas sum to ``budget``); without it the gains decide the mix. Scores are compared on
    a grid of :data:`~gearsplan.design.signals.RESOLUTION` times the best one, and ties go to the first
    candidate in order (a fixed rule, not a seed): gains the predictions cannot tell apart are equal.
    """
    kinds = np.asarray(kinds)
    discount = np.ones(len(kinds))
    left = dict(quotas) if quotas else None
    available = np.ones(len(kinds), dtype=bool)
    picked: list[int] = []
    while len(picked) < budget and available.any():
        open_kind = available if left is None else available & np.isin(kinds, [k for k, n in left.items() if n > 0])
        if not open_kind.any():
            break
        best = int(np.argmax(on_grid(np.where(open_kind, error.gains() * discount, -np.inf))))
        picked.append(best)
        available[best] = False
        error = error.after(best)
        discount *= 1.0 - np.clip(profiles @ profiles[best], 0.0, 1.0)
        if left is not None:
            left[str(kinds[best])] -= 1
    return picked


def on_grid(scores: np.ndarray) -> np.ndarray:
    """``scores`` rounded to :data:`~gearsplan.design.signals.RESOLUTION` times the largest finite magnitude (-inf kept)."""
    finite = np.isfinite(scores)
    scale = RESOLUTION * np.abs(scores[finite]).max(initial=0.0)
    return np.where(finite, np.round(scores / scale) if scale > 0 else 0.0, -np.inf)
