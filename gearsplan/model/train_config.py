"""Training hyperparameters and the progress callback type, free of torch so that the CLI starts fast."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

#: Called after every epoch with (member, epoch, epochs, training loss, validation top-20 MSE or None).
TrainingProgress = Callable[[int, int, int, float, "float | None"], None]


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of training; docs/model.md gives the measurements behind each default.

    GEARS's paper defaults are kept for the architecture (hidden 64, top 5 co-expression
    neighbours above 0.4, lr 1e-3). Where a measured alternative won on the reference
    splits, it is the default: plain squared error (``gamma=0``; GEARS's autofocus uses 2),
    no direction term (``direction_weight=0``), and a strong additivity prior
    (``interaction_weight=0.1``; GEARS's composition is 1).

    ``modality`` (``activation``, ``interference``, ``knockout``) is how the screen perturbs its
    targets; None reads it from the screen (:func:`gearsplan.data.modality.resolve_modality`).

    ``device`` is where the networks train: ``auto``, ``cpu`` or ``cuda``
    (:func:`gearsplan.model.device.resolve_device`). It is no hyperparameter: a bundle does not
    save it, and a trained model predicts on the CPU.
    """

    ensemble: int = 5
    epochs: int = 100
    patience: int = 20
    sets_per_batch: int = 4
    cells_per_set: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 5e-4
    gamma: float = 0.0
    direction_weight: float = 0.0
    uncertainty_weight: float = 0.1
    interaction_weight: float = 0.1
    baseline_weight: float = 0.0
    hidden: int = 64
    coexpression_k: int = 5
    coexpression_threshold: float = 0.4
    modality: str | None = None
    device: str = "auto"


def hyperparameters(config: TrainConfig) -> dict:
    """What a bundle saves of ``config`` and ``model info`` shows: every field but the device, which says
    where a model trained, not how."""
    return {name: value for name, value in asdict(config).items() if name != "device"}
