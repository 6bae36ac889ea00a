"""Train a bundle on a split, score it on the split's held-out perturbations, and find the model to use."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

from gearsplan.analysis.baselines import BASELINES
from gearsplan.analysis.evaluation import Evaluation, evaluate_split, with_discrimination
from gearsplan.data.prepared import prepare
from gearsplan.data.screen import Screen, read_screen
from gearsplan.data.splits import resolve_split, with_validation
from gearsplan.errors import GearsplanError
from gearsplan.knowledge.go_graph import build_go_graph
from gearsplan.model.bundle import Bundle, OutdatedBundle, data_sha256, load_bundle, save_bundle
from gearsplan.model.predictor import GearsPredictor
from gearsplan.model.train_config import TrainConfig, TrainingProgress
from gearsplan.paths import default_model_dir

#: The split the default model is trained on.
DEFAULT_SPLIT = "simulation"


@dataclass(frozen=True)
class TrainingRun:
    """A trained bundle and its evaluation, beside the baselines, on the split's test perturbations."""

    bundle: Bundle
    evaluation: Evaluation
    warnings: tuple[str, ...] = ()


def train_bundle(screen: Screen, split: str = DEFAULT_SPLIT, seed: int = 1, config: TrainConfig = TrainConfig(), progress: TrainingProgress | None = None) -> TrainingRun:
    """Train a GEARS ensemble on one split of ``screen`` and evaluate it on that split's test set.

    Parameters
    ----------
    screen
        The screen to learn from.
    split
        ``simulation``, ``reference`` or a split file: one split (``loo`` has one per perturbation).
    seed
        Seeds the split and the members.
    config
        Hyperparameters.
    progress
        Called after each epoch of each member.
    """
    data = prepare(screen)
    chosen = resolve_split(split, data.screen.perturbations, seed)
    gears = GearsPredictor(config, build_go_graph(), progress)
    start = time.perf_counter()
    scored = evaluate_split([gears, *(cls() for cls in BASELINES.values())], data, chosen, seed)
    evaluation = Evaluation(split, (seed,), with_discrimination([scored], data))
    metadata = {
        "data": {"source": screen.source, "sha256": data_sha256(Path(screen.source)), "condition_col": screen.condition_col, "control_labels": list(screen.control_labels),
                 "mudata_mod": screen.mudata_mod},
        "split": {"spec": split, "name": chosen.name, "train": list(chosen.train), "val": list(chosen.val), "test": list(chosen.test)},
        "seed": seed,
        "train_seconds": round(time.perf_counter() - start, 2),
        "evaluation": evaluation.to_json(),
    }
    unwatched = () if with_validation(chosen, seed).val else (
        f"the split has no validation perturbations and only {len(chosen.train)} training ones, too few to lend some: "
        f"each member trained all {config.epochs} epochs without early stopping (a split file can name a 'val' part)",)
    modality = gears.model.modality.warning
    return TrainingRun(Bundle(gears.model, config, metadata), evaluation, unwatched + ((modality,) if modality else ()))


def ensure_model(path: str | Path | None = None, notify: Callable[[str], None] = lambda _: None, progress: TrainingProgress | None = None) -> Bundle:
    """The bundle at ``path``, else the default model; with neither, or a default another version
    of gearsplan wrote, train the default on the embedded data.

    ``notify`` is told, in words, when a model is being trained and why.
    """
    if path is not None:
        return load_bundle(path)
    target = default_model_dir()
    why = f"no model found at {target}"
    if target.exists():
        try:
            return load_bundle(target)
        except OutdatedBundle as error:
            why = error.message
    notify(f"{why}: training one on the embedded Norman 2019 data (split {DEFAULT_SPLIT}, seed 1) first")
    run = train_bundle(read_screen(), progress=progress)
    save_bundle(run.bundle, target)
    return replace(run.bundle, source=target)


def bundle_screen(bundle: Bundle, data: str | Path | None = None, condition_col: str | None = None, control: str | None = None, mudata_mod: str | None = None) -> Screen:
    """``data`` if given, else the screen the bundle was trained on, read with the perturbation column (and MuData modality) it was trained with.

    ``data`` that is not the file the bundle was trained on (by SHA-256) is read with a warning: its
    measurements are composed with, but the network never learned from them.

    Parameters
    ----------
    bundle
        The model.
    data
        A screen for :func:`read_screen`, or ``None`` for the one the bundle was trained on.
    condition_col, control, mudata_mod
        As :func:`read_screen` takes them; for the bundle's own screen, ``None`` reads the column and MuData modality it was trained with.
    """
    facts = bundle.metadata.get("data") or {}
    if data is not None:
        screen = read_screen(data, condition_col, control, mudata_mod)
        if facts.get("sha256") not in (None, data_sha256(Path(screen.source))):
            named = "" if screen.mudata_mod is None else f" --mudata-mod {screen.mudata_mod}"
            screen.warnings.append(f"{data} is not the screen this model was trained on ({Path(facts['source']).name}): its measured perturbations "
                                   f"are used as measurements, but the network never learned from them (retrain with: gearsplan train --data {data}{named})")
        return screen
    source = facts.get("source")
    if source is None or not Path(source).exists():
        raise GearsplanError(f"the screen this model was trained on ({source}) is not there", "name it with --data")
    return read_screen(source, condition_col or facts.get("condition_col"), control, mudata_mod or facts.get("mudata_mod"))


def describe_bundle(bundle: Bundle) -> dict:
    """The ``model info --json`` document: where the model is, how it was trained, how it scored."""
    meta = bundle.metadata
    split = meta.get("split", {})
    return {
        "path": str(bundle.source) if bundle.source else None,
        "members": len(bundle.model.members),
        "n_genes": len(bundle.model.genes),
        "n_perturbable_genes": bundle.model.go.n_genes,
        "n_measured_singles": len(bundle.model.singles),
        "training": asdict(bundle.training),
        "data": meta.get("data"),
        "split": {"spec": split.get("spec"), "name": split.get("name"), **{f"n_{part}": len(split.get(part, [])) for part in ("train", "val", "test")}},
        "seed": meta.get("seed"),
        "train_seconds": meta.get("train_seconds"),
        "evaluation": meta.get("evaluation"),
    }
