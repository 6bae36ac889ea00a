"""Evaluate predictors on held-out perturbations, per stratum, over seeds (GEARS's protocol)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from gearsplan.analysis.baselines import BASELINES, Predictor
from gearsplan.analysis.metrics import METRICS, discrimination, perturbation_metrics
from gearsplan.data.prepared import PreparedScreen, prepare
from gearsplan.data.screen import Screen
from gearsplan.data.splits import STRATA, Split, resolve_splits
from gearsplan.errors import GearsplanError
from gearsplan.knowledge.go_graph import build_go_graph
from gearsplan.model.train_config import TrainConfig, TrainingProgress

Progress = Callable[[int, int], None]
#: The name of gearsplan's own model in tables and ``--json``.
GEARSPLAN = "gearsplan"


@dataclass(frozen=True)
class Evaluation:
    """Metrics of every model on every held-out perturbation, with per-stratum summaries.

    Attributes
    ----------
    split
        The ``--split`` it was run with.
    seeds
        The seeds it was run with.
    per_perturbation
        One row per (seed, split, perturbation, model): ``stratum``, every metric, and the
        model's ``uncertainty`` where it reports one.
    """

    split: str
    seeds: tuple[int, ...]
    per_perturbation: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """Per stratum (and ``all``) and model: ``n``, the held-out perturbations per seed on average over every seed
        (so the strata add up to ``all``); ``n_seeds``, the seeds that hold the stratum; each metric's mean and sd over those."""
        rows = pd.concat([self.per_perturbation, self.per_perturbation.assign(stratum="all")])
        per_seed = rows.groupby(["stratum", "model", "seed"])[list(METRICS)].mean()
        per_seed["n"] = rows.groupby(["stratum", "model", "seed"]).size()
        grouped = per_seed.groupby(["stratum", "model"])
        table = grouped[list(METRICS)].mean().join(grouped[list(METRICS)].std(ddof=1).add_suffix("_sd"))
        table["n"] = grouped["n"].sum() / len(self.seeds)
        table["n_seeds"] = grouped.size()
        table = table.reset_index()
        order = {s: i for i, s in enumerate((*STRATA, "all"))}
        models = {m: i for i, m in enumerate(dict.fromkeys(self.per_perturbation["model"]))}
        return table.sort_values(
            ["stratum", "model"], key=lambda c: c.map(order if c.name == "stratum" else models)
        ).reset_index(drop=True)

    def uncertainty_spearman(self) -> float | None:
        """Spearman of reported uncertainty against top-20-DE MSE over held-out perturbations, mean over seeds."""
        from scipy import stats  # here, not at the top: a model's commands import this module, and scipy.stats is slow

        if "uncertainty" not in self.per_perturbation:
            return None
        rated = self.per_perturbation.dropna(subset=["uncertainty"])
        values = [
            stats.spearmanr(group["uncertainty"], group["mse_top20"]).statistic
            for _, group in rated.groupby("seed")
            if len(group) > 2
        ]
        return float(np.mean(values)) if values else None

    def to_json(self) -> dict:
        """The ``evaluate --json`` document (DESIGN.md "Machine-readable output")."""
        summary = self.summary()
        rows = summary.astype(object).where(summary.notna(), None).to_dict(orient="records")
        return {
            "split": self.split,
            "seeds": list(self.seeds),
            "rows": rows,
            "uncertainty_spearman": self.uncertainty_spearman(),
        }


def make_predictors(
    names: Sequence[str], progress: TrainingProgress | None = None, *, device: str = "auto"
) -> list[Predictor]:
    """Predictors by name: ``baselines`` (every baseline), a baseline, ``gearsplan``, or a bundle directory.

    A bundle stands for its hyperparameters: it is retrained on each split, so held-out
    perturbations stay held out. GEARS models train on ``device`` (``auto``, ``cpu``, ``cuda``).
    """
    expanded = list(dict.fromkeys(n for name in names for n in (BASELINES if name == "baselines" else [name])))
    if not expanded:
        raise GearsplanError(
            "no model named",
            f"choose from: baselines, {', '.join(BASELINES)}, {GEARSPLAN}, or a model bundle directory",
        )
    gears = [n for n in expanded if n == GEARSPLAN or Path(n).is_dir()]
    if len(gears) > 1:  # every GEARS model's rows are labelled gearsplan, and the uncertainty check scores one
        raise GearsplanError(
            f"{len(gears)} GEARS models named ({', '.join(gears)})", "evaluate one at a time, each beside the baselines"
        )
    needs_go = bool(gears)
    go = build_go_graph() if needs_go else None
    if needs_go:  # here, not at the top, so that evaluating the baselines never loads torch
        from gearsplan.model.bundle import load_bundle
        from gearsplan.model.device import resolve_device
        from gearsplan.model.predictor import GearsPredictor

        device = resolve_device(device)  # an unavailable GPU fails before the first split, not at it
    predictors: list[Predictor] = []
    for name in expanded:
        if name in BASELINES:
            predictors.append(BASELINES[name]())
        elif name == GEARSPLAN:
            predictors.append(GearsPredictor(TrainConfig(device=device), go, progress))
        elif Path(name).is_dir():
            predictors.append(GearsPredictor(replace(load_bundle(name, go).training, device=device), go, progress))
        else:
            raise GearsplanError(
                f"unknown model {name!r}",
                f"choose from: baselines, {', '.join(BASELINES)}, {GEARSPLAN}, or a model bundle directory",
            )
    return predictors


def evaluate_split(
    predictors: Sequence[Predictor], data: PreparedScreen, split: Split, seed: int
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Fit each predictor on ``split`` and score it on the split's test perturbations.

    Returns the scores (``discrimination`` left out: it compares held-out perturbations, :func:`with_discrimination`)
    and each predictor's predictions (test perturbations x genes) by name.
    """
    test = list(split.test)
    true = data.bulk.delta[data.bulk.rows(test)]
    top = data.de.matrix(test)
    centroid = data.bulk.mean_change(split.train)
    strata = [split.stratum(k) for k in test]
    frames, predictions = [], {}
    for predictor in predictors:
        predicted = predictions[predictor.name] = predictor.fit(data, split, seed).predict(test)
        spread = predictor.spread(test) if hasattr(predictor, "spread") else None
        scores = perturbation_metrics(predicted, true, top, centroid, spread)
        uncertainty = predictor.uncertainty(test) if hasattr(predictor, "uncertainty") else np.full(len(test), np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "seed": seed,
                    "split": split.name,
                    "perturbation": test,
                    "stratum": strata,
                    "model": predictor.name,
                    **scores,
                    "uncertainty": uncertainty,
                }
            )
        )
    return pd.concat(frames, ignore_index=True), predictions


def with_discrimination(
    parts: Sequence[tuple[pd.DataFrame, dict[str, np.ndarray]]], data: PreparedScreen
) -> pd.DataFrame:
    """The scores of every split of one seed (:func:`evaluate_split`'s results, in order), each row with its
    ``discrimination`` among all the perturbations that seed held out: with leave-one-out, every perturbation,
    each predicted by its own fit."""
    frame = pd.concat([scores for scores, _ in parts], ignore_index=True)
    for name in parts[0][1]:
        rows = np.flatnonzero(frame["model"].to_numpy() == name)  # in split order, as the predictions are stacked
        true = data.bulk.delta[data.bulk.rows(frame["perturbation"].to_numpy()[rows])]
        frame.loc[rows, "discrimination"] = discrimination(
            np.concatenate([predictions[name] for _, predictions in parts]), true
        )
    return frame


def evaluate(
    screen: Screen | PreparedScreen,
    models: Sequence[str] = ("baselines",),
    split: str = "loo",
    seeds: Sequence[int] = (1,),
    progress: Progress | None = None,
    training_progress: TrainingProgress | None = None,
    *,
    device: str = "auto",
) -> Evaluation:
    """Evaluate ``models`` on the held-out perturbations of ``split``, once per seed.

    Parameters
    ----------
    screen
        The screen, e.g. from :func:`gearsplan.data.screen.read_screen` (or already prepared).
    models
        Model names: ``baselines`` stands for ``no_change``, ``mean``, ``additive``, ``scaled_additive`` and ``linear``;
        ``gearsplan`` trains gearsplan's GEARS ensemble on each split; a bundle directory
        trains one with that bundle's hyperparameters. Baselines are always worth including.
    split
        ``loo``, ``simulation``, ``reference`` or a split JSON file (see :func:`resolve_splits`).
    seeds
        One evaluation per seed; summaries give the mean and sd over seeds.
    progress
        Called with (splits done, splits in all) as work proceeds.
    training_progress
        Passed on to model training (member, epoch, epochs, loss, validation score).
    device
        Where GEARS models train: ``auto`` (CUDA where torch sees a GPU), ``cpu`` or ``cuda``.
    """
    predictors = make_predictors(models, training_progress, device=device)
    data = screen if isinstance(screen, PreparedScreen) else prepare(screen)
    jobs = {seed: resolve_splits(split, data.screen.perturbations, seed) for seed in seeds}
    total, done, frames = sum(map(len, jobs.values())), 0, []
    for seed, splits in jobs.items():
        parts = []
        for one in splits:
            parts.append(evaluate_split(predictors, data, one, seed))
            done += 1
            if progress:
                progress(done, total)
        frames.append(with_discrimination(parts, data))
    return Evaluation(split, tuple(seeds), pd.concat(frames, ignore_index=True))
