"""Train a bundle: on every perturbation (its confidence calibrated by a twin on a split), or on a split, scored on its
held-out perturbations beside the baselines. :mod:`~gearsplan.analysis.model_screen` finds the model a command uses."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from gearsplan.analysis.baselines import BASELINES
from gearsplan.analysis.evaluation import Evaluation, evaluate_split, with_discrimination
from gearsplan.analysis.model_screen import DEFAULT_HOLDOUT, screen_sha256
from gearsplan.analysis.screen_summary import describe
from gearsplan.data.prepared import PreparedScreen, prepare
from gearsplan.data.screen import Screen
from gearsplan.data.splits import Split, check_holdout, resolve_split, simulation_split, with_validation
from gearsplan.knowledge.gene_graph import GeneGraph
from gearsplan.knowledge.go_graph import build_go_graph
from gearsplan.model.bundle import Bundle
from gearsplan.model.device import resolve_device
from gearsplan.model.predictor import GearsPredictor
from gearsplan.model.train_config import TrainConfig, TrainingProgress
from gearsplan.model.training import law_pairs
from gearsplan.wording import counted

#: The split whose held-out perturbations calibrate the spread of a model that learned from every perturbation.
CALIBRATION_SPLIT = "simulation"


@dataclass(frozen=True)
class TrainingRun:
    """A trained bundle, its evaluation beside the baselines on the held-out perturbations (None when
    nothing was held out), and what the user should know about the training."""

    bundle: Bundle
    evaluation: Evaluation | None
    warnings: tuple[str, ...] = ()


def train_bundle(
    screen: Screen,
    holdout: str = DEFAULT_HOLDOUT,
    seed: int = 1,
    config: TrainConfig = TrainConfig(),
    progress: TrainingProgress | None = None,
    *,
    device: str = "auto",
) -> TrainingRun:
    """Train a GEARS ensemble on ``screen``: on every perturbation, or on a split, scored on its held-out perturbations.

    With ``holdout`` ``none`` the model learns from every perturbation: early stopping watches a seeded
    tenth of them, which join the measured ones afterwards (:func:`~gearsplan.model.training.fit_gears`),
    and there is no held-out evaluation. Its spread is calibrated instead by an ensemble trained the same
    way on the :data:`CALIBRATION_SPLIT` split (same seed) and scored on that split's held-out
    perturbations: the bundle's metadata ``calibration``, which ``predict`` reads per stratum.

    Parameters
    ----------
    screen
        The screen to learn from; the bundle carries its means, cell counts, sampling noise, DE genes and summary.
    holdout
        ``none``, ``simulation``, ``reference`` or a split file (:func:`~gearsplan.data.splits.check_holdout`).
    seed
        Seeds the split and the members.
    config
        Hyperparameters.
    progress
        Called after each epoch of each member (the calibration's members numbered after the model's).
    device
        Where the networks train: ``auto`` (CUDA where torch sees a GPU), ``cpu`` or ``cuda``; it
        replaces ``config.device``. The trained model predicts on the CPU.

    Raises
    ------
    GearsplanError
        If ``holdout`` is none of these, its split does not fit the screen, or ``device`` is unknown or unavailable.
    """
    check_holdout(holdout)
    config = replace(config, device=resolve_device(device))
    data = prepare(screen)
    go = build_go_graph()
    start = time.perf_counter()
    if holdout == DEFAULT_HOLDOUT:
        chosen = Split("all", tuple(data.screen.perturbations), (), ())
        gears = GearsPredictor(config, go, progress).fit(data, chosen, seed)
        evaluation = None
        calibration, uncalibrated = _calibration(data, seed, config, go, progress)
    else:
        chosen = resolve_split(holdout, data.screen.perturbations, seed)
        gears = GearsPredictor(config, go, progress)
        scored = evaluate_split([gears, *(cls() for cls in BASELINES.values())], data, chosen, seed)
        evaluation, calibration, uncalibrated = (
            Evaluation(holdout, (seed,), with_discrimination([scored], data)),
            None,
            (),
        )
    stopping = with_validation(chosen, seed)
    metadata = {
        "data": {
            "source": screen.source,
            "sha256": screen_sha256(screen),
            "condition_col": screen.condition_col,
            "control_labels": list(screen.control_labels),
            "mudata_mod": screen.mudata_mod,
        },
        "screen": describe(screen),
        "split": {
            "spec": holdout,
            "name": chosen.name,
            "train": list(chosen.train),
            "val": list(chosen.val),
            "test": list(chosen.test),
            "early_stopping": list(stopping.val),
        },
        "seed": seed,
        "train_seconds": round(time.perf_counter() - start, 2),
        "evaluation": None if evaluation is None else evaluation.to_json(),
        "calibration": calibration,
        "spread_reference": dict(zip(("sd", "head"), (v.tolist() for v in gears.model.spread_reference(chosen.train)))),
    }
    unwatched = (
        ()
        if stopping.val
        else (
            f"only {counted(len(chosen.train), 'perturbation')} to train on, too few to lend some to early stopping: each member trained all "
            f"{config.epochs} epochs without it"
            + ("" if holdout == DEFAULT_HOLDOUT else " (a split file can name a 'val' part)"),
        )
    )
    modality = gears.model.modality.warning
    additive = (
        ()
        if law_pairs(gears.model, chosen.train)
        else (
            "the screen measures no pair whose two singles it measured too: pairs are predicted by the plain sum of their "
            "singles (additive), with no law learned of how its pairs combine",
        )
    )
    bundle = Bundle(gears.model, config, metadata, bulk=data.bulk, de=data.de)
    return TrainingRun(bundle, evaluation, unwatched + uncalibrated + additive + ((modality,) if modality else ()))


def _calibration(
    data: PreparedScreen, seed: int, config: TrainConfig, go: GeneGraph, progress: TrainingProgress | None
) -> tuple[dict | None, tuple[str, ...]]:
    """The ``evaluate --json`` document of an ensemble trained as the model is on the :data:`CALIBRATION_SPLIT` split
    of ``data`` and scored on its held-out perturbations, or None with a warning where that split holds none out or trains on none."""
    split = simulation_split(data.screen.perturbations, seed)
    if not split.train or not split.test:
        return None, (
            f"the {CALIBRATION_SPLIT} split of {counted(len(data.screen.perturbations), 'perturbation')} leaves none to "
            f"{'hold out' if split.train else 'train on'}: the model's confidence is uncalibrated",
        )
    offset = (lambda member, *rest: progress(config.ensemble + member, *rest)) if progress else None
    scored = evaluate_split([GearsPredictor(config, go, offset)], data, split, seed)
    return Evaluation(CALIBRATION_SPLIT, (seed,), with_discrimination([scored], data)).to_json(), ()
