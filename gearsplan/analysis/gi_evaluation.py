"""How well predicted GI calls match measured ones: each measured pair held out in turn (``evaluate --gi``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from gearsplan.analysis.baselines import ScaledAdditive
from gearsplan.analysis.gi_scores import GI_CALLS, ensemble_calls, measured_gi, score_pairs, well_expressed
from gearsplan.data.conditions import genes_of
from gearsplan.data.prepared import PreparedScreen
from gearsplan.data.splits import Split
from gearsplan.errors import GearsplanError
from gearsplan.knowledge.gene_graph import GeneGraph
from gearsplan.model.training import TrainConfig, TrainingProgress, fit_gears

#: GI scores in ``--json`` order.
SCORES = ("magnitude", "model_fit", "similarity", "equality_of_contribution")


@dataclass(frozen=True)
class GIEvaluation:
    """Held-out pairs: predicted and measured calls (bool, pairs x calls in :data:`GI_CALLS` order), member agreement,
    and the scores (one dict per pair) of gearsplan, of the measurement, and of the scaled additive baseline."""

    pairs: tuple[str, ...]
    predicted: np.ndarray
    measured: np.ndarray
    agreement: np.ndarray
    seed: int
    predicted_scores: tuple[dict, ...]
    measured_scores: tuple[dict, ...]
    scaled_additive_scores: tuple[dict, ...]

    def magnitude_error(self) -> dict[str, float | None]:
        """Mean |predicted − measured| GI magnitude over the held-out pairs, for gearsplan and for ``scaled_additive``
        (None where no pair has both magnitudes)."""
        measured = np.array([s["magnitude"] for s in self.measured_scores], dtype=float)
        errors = {}
        for name, scores in (("gearsplan", self.predicted_scores), ("scaled_additive", self.scaled_additive_scores)):
            gap = np.abs(np.array([s["magnitude"] for s in scores], dtype=float) - measured)
            errors[name] = float(np.nanmean(gap)) if np.isfinite(gap).any() else None
        return errors

    def per_call(self, k: int = 3) -> pd.DataFrame:
        """Per call: counts, precision and recall of the ensemble's call, and precision@k over the (at most) k pairs
        the most members call so; None where no member makes the call (a ranking by zero agreement is no pick).

        ``base_rate`` is the precision of calling every pair so (the call's share among measured pairs);
        ``--json`` also gives it as ``random``, its earlier name.
        """
        rows = []
        for c, call in enumerate(GI_CALLS):
            hit = self.predicted[:, c] & self.measured[:, c]
            supported = np.flatnonzero(self.agreement[:, c] > 0)
            ranked = supported[np.argsort(-self.agreement[supported, c], kind="stable")][:k]
            rows.append(
                {
                    "call": call,
                    "n_measured": int(self.measured[:, c].sum()),
                    "n_predicted": int(self.predicted[:, c].sum()),
                    "precision": _ratio(hit.sum(), self.predicted[:, c].sum()),
                    "recall": _ratio(hit.sum(), self.measured[:, c].sum()),
                    f"precision_at_{k}": float(self.measured[ranked, c].mean()) if len(ranked) else None,
                    "base_rate": float(self.measured[:, c].mean()) if len(self.pairs) else None,
                }
            )
        return pd.DataFrame(rows)

    def confusion(self) -> pd.DataFrame:
        """Pairs with each (predicted call, measured call) combination; a pair may count in several cells."""
        counts = self.predicted.T.astype(int) @ self.measured.astype(int)
        return pd.DataFrame(
            counts, index=pd.Index(GI_CALLS, name="predicted"), columns=pd.Index(GI_CALLS, name="measured")
        )

    def to_json(self, k: int = 3) -> dict:
        names = lambda row: [c for c, on in zip(GI_CALLS, row) if on]  # noqa: E731
        return {
            "seed": self.seed,
            "pairs": [
                {
                    "pair": list(genes_of(p)),
                    "predicted": names(pr),
                    "measured": names(me),
                    "agreement": dict(zip(GI_CALLS, map(float, ag))),
                    "predicted_scores": _scores(ps),
                    "measured_scores": _scores(ms),
                    "scaled_additive_scores": _scores(ss),
                }
                for p, pr, me, ag, ps, ms, ss in zip(
                    self.pairs,
                    self.predicted,
                    self.measured,
                    self.agreement,
                    self.predicted_scores,
                    self.measured_scores,
                    self.scaled_additive_scores,
                )
            ],
            "per_call": [
                {**row, "random": row["base_rate"]}
                for row in self.per_call(k).replace({np.nan: None}).to_dict("records")
            ],
            "magnitude_error": self.magnitude_error(),
            "confusion": {p: {m: int(v) for m, v in row.items()} for p, row in self.confusion().iterrows()},
        }


def _scores(row: dict) -> dict:
    return {name: row[name] for name in SCORES}


def _ratio(numerator: int, denominator: int) -> float | None:
    return float(numerator / denominator) if denominator else None


def scorable_pairs(data: PreparedScreen) -> tuple[str, ...]:
    """Measured pairs whose two singles were measured too."""
    keys = set(data.bulk.keys)
    return tuple(k for k in data.bulk.keys if len(genes_of(k)) == 2 and set(genes_of(k)) <= keys)


def evaluate_gi(
    data: PreparedScreen,
    config: TrainConfig = TrainConfig(),
    seed: int = 1,
    go: GeneGraph | None = None,
    progress: Callable[[int, int], None] | None = None,
    training: TrainingProgress | None = None,
) -> GIEvaluation:
    """Hold out each scorable measured pair in turn, train on everything else, and compare its predicted GI calls with the measured ones."""
    pairs = scorable_pairs(data)
    if not any(len(genes_of(k)) == 2 for k in data.bulk.keys):
        raise GearsplanError(
            "the screen measures no pairs, only single genes: --gi checks predicted GI calls against measured pairs",
            "run it on a screen with pairs whose two singles were measured too, e.g. --data norman",
        )
    if not pairs:
        raise GearsplanError(
            "the screen has no measured pair whose two singles were measured",
            "GI calls can only be checked on such pairs",
        )
    scored = well_expressed(data.bulk.control)
    predicted, agreement, predicted_scores, scaled = [], [], [], []
    for done, pair in enumerate(pairs):
        split = Split(f"gi:{pair}", tuple(k for k in data.bulk.keys if k != pair), (), (pair,))
        model = fit_gears(data, split, seed, config, go, training)
        members, _ = model.member_predictions([*genes_of(pair), pair], priors=False)
        profiles = members[:, :, scored]
        called = ensemble_calls(profiles[:, :1], profiles[:, 1:2], profiles[:, 2:], seed)
        predicted.append(called.scores.call_matrix()[0])
        agreement.append(called.share[0])
        predicted_scores.append(called.scores.row(0))
        singles = data.bulk.delta[data.bulk.rows(genes_of(pair))][:, scored]
        baseline = ScaledAdditive().fit(data, split, seed).predict([pair])[:, scored]
        scaled.append(score_pairs(singles[:1], singles[1:], baseline, seed=seed).row(0))
        if progress:
            progress(done + 1, len(pairs))
    measured = measured_gi(data.bulk, pairs, scored, seed)
    return GIEvaluation(
        pairs,
        np.array(predicted),
        measured.call_matrix(),
        np.array(agreement),
        seed,
        tuple(predicted_scores),
        tuple(measured.row(i) for i in range(len(pairs))),
        tuple(scaled),
    )
