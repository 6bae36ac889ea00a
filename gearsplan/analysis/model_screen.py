"""The model a command uses and the screen it composes with: the bundle at ``--model`` or the default (trained on the
embedded data when there is none), the measurements it carries or a screen read from ``--data``, and what a bundle
says of its calibration.

Nothing here reads a screen's cells or imports the training code unless it must (``--data``, no default model yet),
so that ``predict`` from a bundle starts fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from gearsplan.data.de_genes import DEGenes, de_genes
from gearsplan.data.pseudobulk import Pseudobulk, pseudobulk
from gearsplan.errors import GearsplanError
from gearsplan.model.bundle import Bundle, OutdatedBundle, data_sha256, load_bundle, save_bundle
from gearsplan.model.train_config import TrainConfig, TrainingProgress, hyperparameters
from gearsplan.paths import default_model_dir

if TYPE_CHECKING:
    from anndata import AnnData

    from gearsplan.data.screen import Screen


#: What the default model, and ``train`` unless told otherwise, holds out: nothing.
DEFAULT_HOLDOUT = "none"


def members_trained(config: TrainConfig, holdout: str) -> int:
    """The networks a training run trains: the ensemble, and with ``holdout`` ``none`` its calibration's as many again."""
    return config.ensemble * (2 if holdout == DEFAULT_HOLDOUT else 1)


def screen_sha256(screen: Screen) -> str | None:
    """The SHA-256 of the screen's file (:func:`~gearsplan.model.bundle.data_sha256`); None for an AnnData in memory."""
    return None if screen.in_memory else data_sha256(Path(screen.source))


def ensure_model(
    path: str | Path | None = None,
    notify: Callable[[str], None] = lambda _: None,
    progress: TrainingProgress | None = None,
    *,
    device: str = "auto",
) -> Bundle:
    """The bundle at ``path``, else the default model; with neither, or a default another version
    of gearsplan wrote, train the default on the embedded data, learning from every perturbation.

    ``notify`` is told, in words, when a model is being trained and why; ``progress`` and ``device``
    (where the default trains) as :func:`train_bundle` takes them.
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
    from gearsplan.analysis.training_run import (  # here: training imports the baselines' and screens' modules
        CALIBRATION_SPLIT,
        train_bundle,
    )
    from gearsplan.data.screen import read_screen

    notify(
        f"{why}: training one on the embedded Norman 2019 data (every perturbation, seed 1; its calibration on the {CALIBRATION_SPLIT} split) first"
    )
    run = train_bundle(read_screen(), progress=progress, device=device)
    save_bundle(run.bundle, target)
    return replace(run.bundle, source=target)


@dataclass
class ModelScreen:
    """The measurements a model's commands compose with: a screen read from ``--data``, or the one the bundle carries.

    Attributes
    ----------
    source
        The screen's file (for a carried screen, where it was when the model was trained).
    mudata_mod
        The MuData modality it was read from, if any.
    bulk
        The control mean, and every measured perturbation's mean, cell count and sampling noise.
    warnings
        What the user should know about it.
    carried
        Whether the bundle carries it (no file was read).
    screen
        The screen read, where one was (it gives :attr:`de` and :attr:`summary` when asked).
    """

    source: str
    mudata_mod: str | None
    bulk: Pseudobulk
    warnings: list[str]
    carried: bool
    screen: Screen | None = field(default=None, repr=False)
    carried_de: DEGenes | None = field(default=None, repr=False)
    carried_summary: dict | None = field(default=None, repr=False)

    @classmethod
    def read(cls, screen: Screen) -> "ModelScreen":
        """The measurements of a screen read from its file."""
        return cls(screen.source, screen.mudata_mod, pseudobulk(screen), screen.warnings, False, screen)

    @classmethod
    def of_bundle(cls, bundle: Bundle) -> "ModelScreen":
        """The screen ``bundle`` carries.

        Raises
        ------
        GearsplanError
            If it carries none (a bundle built in memory without its screen).
        """
        facts = bundle.metadata.get("data") or {}
        if bundle.bulk is None or "screen" not in bundle.metadata:
            raise GearsplanError("this model bundle carries no screen to compose with", "name one with --data")
        return cls(
            facts.get("source", ""),
            facts.get("mudata_mod"),
            bundle.bulk,
            [],
            True,
            None,
            bundle.de,
            bundle.metadata["screen"],
        )

    @cached_property
    def de(self) -> DEGenes:
        """The top-20 DE genes of every measured perturbation."""
        return self.carried_de if self.screen is None else de_genes(self.bulk)

    @cached_property
    def summary(self) -> dict:
        """The ``data info --json`` document (:func:`~gearsplan.analysis.screen_summary.describe`)."""
        from gearsplan.analysis.screen_summary import describe

        return self.carried_summary if self.screen is None else describe(self.screen)


def bundle_screen(
    bundle: Bundle,
    data: str | Path | AnnData | None = None,
    condition_col: str | None = None,
    control: str | None = None,
    mudata_mod: str | None = None,
) -> ModelScreen:
    """``data`` if given, else the screen the bundle carries (its file, moved or deleted since, is not read).

    ``data`` that is not the file the bundle was trained on (by SHA-256) is read with a warning: its
    measurements are composed with, but the network never learned from them.

    Parameters
    ----------
    bundle
        The model.
    data
        A screen for :func:`read_screen` (a path, an embedded screen's name, an AnnData), or ``None`` for the one the bundle carries.
    condition_col, control, mudata_mod
        As :func:`read_screen` takes them, for ``data``.
    """
    if data is None:
        return ModelScreen.of_bundle(bundle)
    from gearsplan.data.screen import read_screen  # here: a bundle's own screen needs no reader (nor pandas)

    facts = bundle.metadata.get("data") or {}
    screen = read_screen(data, condition_col, control, mudata_mod)
    sha256 = screen_sha256(screen)  # an AnnData in memory cannot be told from the model's screen: no warning
    if sha256 is not None and facts.get("sha256") not in (None, sha256):
        named = "" if screen.mudata_mod is None else f" --mudata-mod {screen.mudata_mod}"
        screen.warnings.append(
            f"{data} is not the screen this model was trained on ({Path(facts['source']).name}): its measured perturbations "
            f"are used as measurements, but the network never learned from them (retrain with: gearsplan train --data {data}{named})"
        )
    return ModelScreen.read(screen)


def screen_cells(bundle: Bundle, screen: ModelScreen) -> Screen:
    """The cells of ``screen``: the screen read from ``--data``, or, for the measurements a bundle carries, its file
    read again where it still is (read as the bundle was trained on it).

    Raises
    ------
    GearsplanError
        If the bundle carries its measurements and the file they came from is gone.
    """
    if screen.screen is not None:
        return screen.screen
    if not Path(screen.source).exists():
        raise GearsplanError(
            f"this needs the screen's cells, and the model carries its measurements only: {screen.source} is not there",
            "name the screen with --data",
        )
    from gearsplan.data.screen import read_screen

    facts = bundle.metadata.get("data") or {}
    return read_screen(screen.source, facts.get("condition_col"), None, screen.mudata_mod)


def calibrating_evaluation(metadata: dict) -> tuple[str, dict] | tuple[None, None]:
    """The held-out evaluation a bundle's spread is calibrated on, and its metadata key: ``evaluation`` (its own
    held-out perturbations), else ``calibration`` (those of an ensemble trained the same way on
    :data:`CALIBRATION_SPLIT`, for a model that learned from every perturbation); (None, None) without either."""
    return next(((name, metadata[name]) for name in ("evaluation", "calibration") if metadata.get(name)), (None, None))


def calibration_source(metadata: dict) -> dict:
    """Where a bundle's spread is calibrated from (:func:`calibrating_evaluation`): ``from`` ``evaluation``,
    ``calibration`` or None (uncalibrated); the split, seeds and held-out perturbations counted."""
    name, document = calibrating_evaluation(metadata)
    if document is None:
        return {"from": None, "split": None, "seeds": [], "n_held_out": 0}
    held = next((float(r["n"]) for r in document["rows"] if r["model"] == "gearsplan" and r["stratum"] == "all"), 0.0)
    return {
        "from": name,
        "split": document["split"],
        "seeds": document["seeds"],
        "n_held_out": int(held) if held.is_integer() else held,
    }


def describe_bundle(bundle: Bundle) -> dict:
    """The ``model info --json`` document: where the model is, what it learned from, how it scored, where its calibration comes from."""
    meta = bundle.metadata
    split = meta.get("split", {})
    return {
        "path": str(bundle.source) if bundle.source else None,
        "members": len(bundle.model.members),
        "n_genes": len(bundle.model.genes),
        "n_perturbable_genes": bundle.model.go.n_genes,
        "n_measured_singles": len(bundle.model.singles),
        "perturbations_learned": len(bundle.model.measured),
        "training": hyperparameters(bundle.training),
        "data": meta.get("data"),
        "carries_screen": bundle.bulk is not None,
        "split": {
            "spec": split.get("spec"),
            "name": split.get("name"),
            **{f"n_{part}": len(split.get(part, [])) for part in ("train", "val", "test", "early_stopping")},
        },
        "seed": meta.get("seed"),
        "train_seconds": meta.get("train_seconds"),
        "evaluation": meta.get("evaluation"),
        "calibration": calibration_source(meta),
    }
