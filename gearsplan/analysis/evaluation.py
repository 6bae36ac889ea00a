"""Evaluate predictors on held-out perturbations, per stratum, over seeds (GEARS's protocol)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from gearsplan.analysis.baselines import BASELINES, Predictor
from gearsplan.analysis.metrics import METRICS, perturbation_metrics
from gearsplan.data.prepared import PreparedScreen, prepare
from gearsplan.data.screen import Screen
from gearsplan.data.splits import STRATA, Split, resolve_splits
from gearsplan.errors import GearsplanError

Progress = Callable[[int, int], None]


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
        One row per (seed, split, perturbation, model): ``stratum`` and every metric.
    """

    split: str
    seeds: tuple[int, ...]
    per_perturbation: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """Per stratum (and ``all``) and model: the count and each metric's mean and sd over seeds."""
        rows = pd.concat([self.per_perturbation, self.per_perturbation.assign(stratum="all")])
        per_seed = rows.groupby(["stratum", "model", "seed"])[list(METRICS)].mean()
        per_seed["n"] = rows.groupby(["stratum", "model", "seed"]).size()
        grouped = per_seed.groupby(["stratum", "model"])
        table = grouped.mean().join(grouped[list(METRICS)].std(ddof=1).add_suffix("_sd")).reset_index()
        order = {s: i for i, s in enumerate((*STRATA, "all"))}
        models = {m: i for i, m in enumerate(dict.fromkeys(self.per_perturbation["model"]))}
        return table.sort_values(["stratum", "model"], key=lambda c: c.map(order if c.name == "stratum" else models)).reset_index(drop=True)

    def to_json(self) -> dict:
        """The ``evaluate --json`` document (DESIGN.md "Machine-readable output")."""
        rows = self.summary().astype(object).where(self.summary().notna(), None).to_dict(orient="records")
        return {"split": self.split, "seeds": list(self.seeds), "rows": rows, "uncertainty_spearman": None}


def make_predictors(names: Sequence[str]) -> list[Predictor]:
    """Predictors by name: ``baselines`` expands to every baseline."""
    expanded = [n for name in names for n in (BASELINES if name == "baselines" else [name])]
    unknown = [n for n in expanded if n not in BASELINES]
    if unknown:
        raise GearsplanError(f"unknown model {unknown[0]!r}", f"choose from: baselines, {', '.join(BASELINES)}")
    return [BASELINES[n]() for n in dict.fromkeys(expanded)]


def evaluate_split(predictors: Sequence[Predictor], data: PreparedScreen, split: Split, seed: int) -> pd.DataFrame:
    """Fit each predictor on ``split`` and score it on the split's test perturbations."""
    test = list(split.test)
    true = data.bulk.delta[data.bulk.rows(test)]
    top = data.de.matrix(test)
    strata = [split.stratum(k) for k in test]
    frames = []
    for predictor in predictors:
        predicted = predictor.fit(data, split, seed).predict(test)
        scores = perturbation_metrics(predicted, true, top)
        frames.append(pd.DataFrame({"seed": seed, "split": split.name, "perturbation": test, "stratum": strata, "model": predictor.name, **scores}))
    return pd.concat(frames, ignore_index=True)


def evaluate(
    screen: Screen,
    models: Sequence[str] = ("baselines",),
    split: str = "loo",
    seeds: Sequence[int] = (1,),
    progress: Progress | None = None,
) -> Evaluation:
    """Evaluate ``models`` on the held-out perturbations of ``split``, once per seed.

    Parameters
    ----------
    screen
        The screen, e.g. from :func:`gearsplan.data.screen.read_screen`.
    models
        Model names; ``baselines`` stands for ``no_change``, ``mean`` and ``additive``.
    split
        ``loo``, ``simulation``, ``reference`` or a split JSON file (see :func:`resolve_splits`).
    seeds
        One evaluation per seed; summaries give the mean and sd over seeds.
    progress
        Called with (splits done, splits in all) as work proceeds.
    """
    predictors = make_predictors(models)
    data = prepare(screen)
    jobs = [(seed, s) for seed in seeds for s in resolve_splits(split, screen.perturbations, seed)]
    frames = []
    for done, (seed, one) in enumerate(jobs, start=1):
        frames.append(evaluate_split(predictors, data, one, seed))
        if progress:
            progress(done, len(jobs))
    return Evaluation(split, tuple(seeds), pd.concat(frames, ignore_index=True))
