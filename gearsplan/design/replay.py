"""``replay``: prove a selection strategy on a real screen by hiding it and revealing it round by round.

Every perturbation but a seeded initial set is hidden, and a seeded quarter of them is held out: no
strategy may pick it. Each round a strategy picks a batch from the rest of the hidden pool, those are
revealed, the model is retrained on everything revealed, and its error is measured on the held-out
quarter (the figure strategies are judged by) and on everything still hidden (a second figure: it
rewards picking the largest errors, which leave the still-hidden set with them). The area under each
error curve, over many seeds, compares strategies; intervals are percentile bootstraps over seeds.

Strategies: ``random``; ``uncertainty`` (the largest ensemble spread); ``diversity`` (greedy k-centre on
the knowledge embeddings, :meth:`~gearsplan.knowledge.go_profiles.GoProfiles.embedding`: each pick the
hidden perturbation farthest from everything revealed or picked, IterPert's core-set idea); ``gearsplan``
(:func:`~gearsplan.design.suggestion.plan_batch`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from gearsplan.analysis.metrics import perturbation_metrics
from gearsplan.data.conditions import genes_of
from gearsplan.data.prepared import PreparedScreen
from gearsplan.data.splits import Split
from gearsplan.design.candidates import Measured
from gearsplan.design.suggestion import plan_batch, score_candidates
from gearsplan.errors import GearsplanError
from gearsplan.json_numbers import finite_or_none
from gearsplan.knowledge.gene_graph import GeneGraph
from gearsplan.knowledge.go_graph import build_go_graph
from gearsplan.knowledge.go_profiles import go_profiles
from gearsplan.model.ensemble import GearsModel
from gearsplan.model.threads import fast_cpu
from gearsplan.model.training import TrainConfig, fit_gears
from gearsplan.paths import atomic_path
from gearsplan.wording import counted

#: Selection strategies replay knows.
STRATEGIES = ("random", "uncertainty", "diversity", "gearsplan")
#: Error metrics of the curves (lower is better): on every still-hidden perturbation (the first is the one
#: ``auc_mean`` reports), and on the fixed held-out ones no strategy may pick. Picking the perturbations
#: the model gets most wrong also removes them from "still hidden", so only the held-out errors are free
#: of that selection effect.
ERRORS = ("mse_top20", "one_minus_pearson", "heldout_mse_top20", "heldout_one_minus_pearson")
#: The error strategies are judged by: top-20-DE MSE on the held-out quarter.
JUDGED = "heldout_mse_top20"
#: Columns of :attr:`ReplayResult.picks`.
PICK_COLUMNS = ("strategy", "seed", "round", "key")
#: Bootstrap resamples of the seeds behind each interval, and the seed of their draw (fixed: the same replay, the same intervals).
BOOTSTRAP, BOOTSTRAP_SEED = 10_000, 0
#: A small, fast ensemble: enough members to disagree, few epochs, large batches (measured: README "replay").
REPLAY_TRAINING = TrainConfig(ensemble=2, epochs=12, patience=4, sets_per_batch=8, cells_per_set=32)


@dataclass(frozen=True)
class ReplayConfig:
    """What to replay: strategies, initial set size, rounds, batch per round, seeds, training settings.

    ``holdout`` is the share of perturbations set aside per seed, never picked, to measure errors
    free of the selection effect (see :data:`ERRORS`).
    """

    strategies: tuple[str, ...] = STRATEGIES
    initial: int = 8
    rounds: int = 4
    batch: int = 4
    seeds: tuple[int, ...] = tuple(range(1, 11))
    holdout: float = 0.25
    training: TrainConfig = field(default=REPLAY_TRAINING)


@dataclass(frozen=True)
class ReplayResult:
    """Error on the hidden perturbations after each round, per strategy and seed (``curves``), and what each
    strategy picked (``picks``: strategy, seed, round, key)."""

    data: str
    config: ReplayConfig
    curves: pd.DataFrame
    picks: pd.DataFrame

    def areas(self, metric: str = ERRORS[0]) -> pd.DataFrame:
        """Area under each error curve (trapezoid over perturbations measured, divided by their range): strategies x seeds."""

        def area(rows: pd.DataFrame) -> float:
            x, y = rows["n_measured"].to_numpy(float), rows[metric].to_numpy(float)
            return float(np.trapezoid(y, x) / (x[-1] - x[0])) if len(x) > 1 else float(y[0])

        return self.curves.groupby(["strategy", "seed"]).apply(area, include_groups=False).unstack("seed")

    def summary(self) -> pd.DataFrame:
        """Per strategy and error metric: AUC mean and its 95% bootstrap interval over seeds."""
        rows = []
        for metric in ERRORS:
            for strategy, values in self.areas(metric).iterrows():
                low, high = mean_interval(values.to_numpy())
                rows.append(
                    {
                        "strategy": strategy,
                        "metric": metric,
                        "auc_mean": float(values.mean()),
                        "auc_low": low,
                        "auc_high": high,
                        "n_seeds": int(values.size),
                    }
                )
        return pd.DataFrame(rows)

    def comparison(self, strategy: str, baseline: str = "random", metric: str = JUDGED) -> dict | None:
        """Paired AUC difference (baseline - strategy, per seed) with its 95% bootstrap interval and Cohen's d_z, how
        many perturbations the baseline needs, on its mean curve, to reach the strategy's error after its last round,
        and how many the strategy needs to reach the baseline's (``strategy_needs``; None if it never does)."""
        areas = self.areas(metric)
        if strategy not in areas.index or baseline not in areas.index:
            return None
        difference = (areas.loc[baseline] - areas.loc[strategy]).to_numpy()
        low, high = mean_interval(difference)
        sd = difference.std(ddof=1) if difference.size > 1 else float("nan")
        mean_curves = self.curves.groupby(["strategy", "n_measured"])[metric].mean()
        return {
            "baseline": baseline,
            "metric": metric,
            "auc_difference_mean": float(difference.mean()),
            "auc_difference_ci": [finite_or_none(low), finite_or_none(high)],
            "cohens_d": float(difference.mean() / sd) if sd > 0 else None,
            "final_error": float(mean_curves.loc[strategy].iloc[-1]),
            "baseline_needs": perturbations_to_reach(
                mean_curves.loc[baseline], float(mean_curves.loc[strategy].iloc[-1])
            ),
            "strategy_uses": int(mean_curves.loc[strategy].index[-1]),
            "strategy_needs": perturbations_to_reach(
                mean_curves.loc[strategy], float(mean_curves.loc[baseline].iloc[-1])
            ),
        }

    def write(self, directory: str | Path) -> None:
        """Write ``replay.json`` (the ``--json`` document) and ``curves.csv`` into ``directory``, each atomically."""
        directory = Path(directory)
        with atomic_path(directory / "replay.json") as temporary:
            temporary.write_text(json.dumps(self.to_json(), indent=2, allow_nan=False))
        with atomic_path(directory / "curves.csv") as temporary:
            self.curves.to_csv(temporary, index=False)

    def to_json(self) -> dict:
        """The ``replay --json`` document (DESIGN.md), with the Pearson-based AUC and the comparisons with random."""
        summary = self.summary().set_index(["metric", "strategy"])
        mean_curves = self.curves.groupby(["strategy", "n_measured"])[list(ERRORS)].mean()
        prefixes = dict(zip(ERRORS, ("", "pearson_", "heldout_", "heldout_pearson_")))
        strategies = {}
        for strategy in self.config.strategies:
            curve = mean_curves.loc[strategy].reset_index()
            row = {
                "curve": [
                    {"n_measured": int(r["n_measured"]), **{m: float(r[m]) for m in ERRORS}}
                    for _, r in curve.iterrows()
                ],
                "auc_metric": ERRORS[0],
            }
            for metric, prefix in prefixes.items():
                area = summary.loc[(metric, strategy)]
                row[f"{prefix}auc_mean"] = float(area["auc_mean"])
                row[f"{prefix}auc_ci"] = [finite_or_none(area["auc_low"]), finite_or_none(area["auc_high"])]
            row["heldout"] = {
                "auc_mean": row["heldout_auc_mean"],
                "auc_ci": row["heldout_auc_ci"],
                "curve": [{"n_measured": p["n_measured"], "mse_top20": p[JUDGED]} for p in row["curve"]],
            }
            row["versus_random"] = None if strategy == "random" else self.comparison(strategy)
            row["versus_random_by_metric"] = (
                None if strategy == "random" else {m: self.comparison(strategy, metric=m) for m in ERRORS}
            )
            strategies[strategy] = row
        config = self.config
        return {
            "data": self.data,
            "seeds": list(config.seeds),
            "strategies": strategies,
            "initial": config.initial,
            "rounds": config.rounds,
            "batch": config.batch,
            "holdout": config.holdout,
            "training": {"ensemble": config.training.ensemble, "epochs": config.training.epochs},
        }


def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean over seeds (NaN with fewer than two values).

    A bootstrap mean lies between the smallest and largest value, so the interval never leaves the
    metric's range (a t-interval over two seeds put an MSE at -0.9).
    """
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return float("nan"), float("nan")
    draws = np.random.default_rng(BOOTSTRAP_SEED).integers(0, values.size, (BOOTSTRAP, values.size))
    low, high = np.quantile(values[draws].mean(axis=1), [0.5 - level / 2, 0.5 + level / 2])
    return float(low), float(high)


def perturbations_to_reach(curve: pd.Series, target: float) -> float | None:
    """Perturbations measured at which a mean error curve (indexed by that number) first reaches ``target``, interpolated; None if never."""
    x, y = curve.index.to_numpy(float), curve.to_numpy(float)
    below = np.flatnonzero(y <= target)
    if below.size == 0:
        return None
    i = below[0]
    if i == 0:
        return float(x[0])
    return float(x[i - 1] + (x[i] - x[i - 1]) * (y[i - 1] - target) / (y[i - 1] - y[i]))


def hidden_error(
    model: GearsModel, data: PreparedScreen, hidden: Sequence[str], heldout: Sequence[str]
) -> dict[str, float]:
    """Mean top-20-DE MSE and 1 - Pearson of change over control on the still-hidden perturbations, and on the held-out ones among them."""
    keys = list(hidden)
    metrics = perturbation_metrics(
        model.predict(keys).mean, data.bulk.delta[data.bulk.rows(keys)], data.de.matrix(keys)
    )
    kept = np.isin(keys, list(heldout))
    errors = {}
    for prefix, rows in (("", np.ones(len(keys), dtype=bool)), ("heldout_", kept)):
        errors[f"{prefix}mse_top20"] = float(np.mean(metrics["mse_top20"][rows]))
        errors[f"{prefix}one_minus_pearson"] = float(1.0 - np.nanmean(metrics["pearson_delta"][rows]))
    return errors


def pool_uncertainty(
    model: GearsModel, revealed: Sequence[str], hidden: Sequence[str], data: PreparedScreen, seed: int
) -> tuple[tuple[str, ...], np.ndarray]:
    """Keys and ensemble uncertainty of every hidden perturbation (pairs predicted exactly)."""
    singles = [k for k in hidden if "+" not in k]
    pairs = [k for k in hidden if "+" in k]
    _, single, pair = score_candidates(
        model, Measured(frozenset(revealed)), singles, pairs, data.bulk.control, seed=seed
    )
    return single.keys + pair.keys, np.concatenate([single.uncertainty, pair.uncertainty])


def k_centre(revealed: Sequence[str], hidden: Sequence[str], batch: int) -> list[str]:
    """Greedy k-centre on the knowledge embeddings: ``batch`` times, the hidden perturbation farthest (Euclidean)
    from every revealed or already picked one; ties go to the first in sorted order."""
    keys = sorted(hidden)
    embedding = go_profiles().embedding([genes_of(k) for k in [*keys, *revealed]])
    points, centres = embedding[: len(keys)], embedding[len(keys) :]
    nearest = (
        np.min(((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
        if len(centres)
        else np.full(len(keys), np.inf)
    )
    picked: list[int] = []
    for _ in range(min(batch, len(keys))):
        best = int(np.argmax(np.where(np.isin(np.arange(len(keys)), picked), -np.inf, nearest)))
        picked.append(best)
        nearest = np.minimum(nearest, ((points - points[best]) ** 2).sum(axis=1))
    return [keys[i] for i in picked]


def pick(
    strategy: str,
    model: GearsModel,
    revealed: Sequence[str],
    hidden: Sequence[str],
    batch: int,
    data: PreparedScreen,
    seed: int,
) -> list[str]:
    """The ``batch`` hidden perturbations a strategy reveals next."""
    if strategy == "random":
        return list(np.random.default_rng(seed).choice(sorted(hidden), batch, replace=False))
    if strategy == "diversity":
        return k_centre(revealed, hidden, batch)
    if strategy == "gearsplan":
        singles, pairs = [k for k in hidden if "+" not in k], [k for k in hidden if "+" in k]
        plan = plan_batch(model, Measured(frozenset(revealed)), singles, pairs, data.bulk.control, batch, seed=seed)
        return ["+".join(s.genes) for s in plan.suggestions]
    keys, uncertainty = pool_uncertainty(model, revealed, hidden, data, seed)
    return [keys[i] for i in np.argsort(-uncertainty, kind="stable")[:batch]]


def check_config(config: ReplayConfig, n_perturbations: int) -> None:
    """Refuse strategies, sizes or seeds that cannot be replayed on ``n_perturbations``."""
    unknown = [s for s in config.strategies if s not in STRATEGIES]
    if unknown or not config.strategies:
        raise GearsplanError(
            f"unknown strategy {', '.join(unknown) or '(none given)'}", f"choose from {', '.join(STRATEGIES)}"
        )
    if min(config.initial, config.rounds, config.batch, len(config.seeds)) < 1:
        raise GearsplanError(
            "--initial, --rounds, --batch and --seeds must all be at least 1",
            "e.g. --initial 8 --rounds 4 --batch 4 --seeds 10",
        )
    needed = config.initial + config.rounds * config.batch
    held = n_heldout(config, n_perturbations)
    if held < 1 or needed + held > n_perturbations:
        raise GearsplanError(
            f"{config.initial} initial + {counted(config.rounds, 'round')} x {config.batch} = {needed} perturbations, but the screen has {n_perturbations} "
            f"and {max(held, 1)} must stay hidden as the held-out set",
            "lower --initial, --rounds or --batch",
        )


def n_heldout(config: ReplayConfig, n_perturbations: int) -> int:
    """Perturbations held out from picking per seed."""
    return int(round(config.holdout * n_perturbations))


def draw(keys: Sequence[str], config: ReplayConfig, seed: int) -> tuple[list[str], list[str]]:
    """The held-out perturbations (never picked) and the initial ones of a seed, each sorted."""
    drawn = np.random.default_rng(seed).permutation(sorted(keys))
    held = n_heldout(config, len(keys))
    return sorted(drawn[:held]), sorted(drawn[held : held + config.initial])


def replay(
    data: PreparedScreen,
    config: ReplayConfig = ReplayConfig(),
    go: GeneGraph | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Replay ``config.strategies`` on ``data`` over ``config.seeds``; training runs on ``config.training.device``, on
    one CPU thread unless :func:`~gearsplan.model.threads.use_threads` chose more (:func:`~gearsplan.model.threads.fast_cpu`).

    Parameters
    ----------
    progress
        ``(models trained, models to train)``.
    """
    keys = sorted(data.screen.perturbations)
    check_config(config, len(keys))
    go = go if go is not None else build_go_graph()
    total, done, rows, picks = len(config.seeds) * (1 + len(config.strategies) * config.rounds), 0, [], []
    with (
        fast_cpu()
    ):  # a replay trains hundreds of small models, and scores candidates between them: on fast_cpu's threads
        for seed in config.seeds:
            heldout, initial = draw(keys, config, seed)
            start = fit_gears(data, Split("replay", tuple(initial), (), ()), seed, config.training, go)
            done += 1
            first = {
                "seed": seed,
                "round": 0,
                "n_measured": len(initial),
                **hidden_error(start, data, [k for k in keys if k not in initial], heldout),
            }
            for strategy in config.strategies:
                rows.append({"strategy": strategy, **first})
                revealed, model = list(initial), start
                for round_ in range(1, config.rounds + 1):
                    pool = [k for k in keys if k not in revealed and k not in heldout]
                    chosen = pick(strategy, model, revealed, pool, config.batch, data, seed * 1000 + round_)
                    picks += [{"strategy": strategy, "seed": seed, "round": round_, "key": k} for k in chosen]
                    revealed += chosen
                    model = fit_gears(data, Split("replay", tuple(sorted(revealed)), (), ()), seed, config.training, go)
                    rows.append(
                        {
                            "strategy": strategy,
                            "seed": seed,
                            "round": round_,
                            "n_measured": len(revealed),
                            **hidden_error(model, data, [k for k in keys if k not in revealed], heldout),
                        }
                    )
                    done += 1
                    if progress:
                        progress(done, total)
    return ReplayResult(data.screen.source, config, pd.DataFrame(rows), pd.DataFrame(picks, columns=list(PICK_COLUMNS)))
