"""The perturbation modality of a screen (CRISPRa, CRISPRi, knockout): named, or read from its measured targets.

A perturbed gene that is also a measured gene shows the modality directly: activation raises its
own expression, interference and knockout lower it (a knockout's transcript may persist, but is
usually degraded by nonsense-mediated decay). The sign of those own changes can tell activation
from the other two, not interference from knockout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from gearsplan.data.conditions import genes_of
from gearsplan.data.pseudobulk import Pseudobulk
from gearsplan.errors import GearsplanError

#: Each modality and the sign of its target's own change.
MODALITY_SIGNS = {"activation": 1, "interference": -1, "knockout": -1}


@dataclass(frozen=True)
class Modality:
    """How a screen perturbs its targets.

    Attributes
    ----------
    name
        ``activation``, ``interference``, ``knockout``, or None where neither named nor told by the data.
    sign
        The sign of a target's own change: 1, -1, or 0 where unknown.
    self_change
        The typical size of a target's own change in that direction: the median of the measured
        targets' own changes times ``sign`` (0 without measured targets, or where that is not positive).
    warning
        Why the modality is incomplete (None when it is named or told by the data).
    """

    name: str | None
    sign: int
    self_change: float
    warning: str | None = None


def target_changes(bulk: Pseudobulk, keys: Iterable[str]) -> np.ndarray:
    """The own change of every gene of ``keys`` that is a measured gene, one value per (perturbation, gene)."""
    keys = list(keys)
    column = {g: i for i, g in enumerate(bulk.genes)}
    pairs = np.array(
        [(row, column[g]) for row, k in zip(bulk.rows(keys), keys) for g in genes_of(k) if g in column], dtype=np.int64
    ).reshape(-1, 2)
    # one value a pair, not bulk.delta: that builds the whole sets x genes matrix (400 MB at 10,000 sets) per value
    return bulk.means[pairs[:, 0], pairs[:, 1]] - bulk.control[pairs[:, 1]]


def resolve_modality(bulk: Pseudobulk, train: Iterable[str], named: str | None, known: str | None = None) -> Modality:
    """The modality of a screen: ``named`` (``--modality``), else ``known`` (an embedded screen's), else what the
    measured targets show; the typical own change from the measured targets among ``train``.

    Raises
    ------
    GearsplanError
        If ``named`` is no modality, or the screen's measured targets change the other way.
    """
    observed = target_changes(bulk, bulk.keys)
    direction = int(np.sign(np.median(observed))) if observed.size else 0
    warning = None
    if named is not None:
        if named not in MODALITY_SIGNS:
            raise GearsplanError(f"unknown modality {named!r}", f"choose from: {', '.join(MODALITY_SIGNS)}")
        if direction and direction != MODALITY_SIGNS[named]:
            raise GearsplanError(
                f"--modality {named} contradicts the screen: its {observed.size} measured target(s) {'rise' if direction > 0 else 'fall'} "
                f"(median own change {np.median(observed):+.3f})",
                "activation raises a target's expression, interference and knockout lower it: check --modality",
            )
        name = named
    elif known is not None:
        name = known
    elif direction > 0:
        name = "activation"
    else:
        name = None
        warning = (
            "the perturbation modality is unknown: "
            + (
                "the measured targets fall, as under interference or knockout"
                if direction
                else "no perturbed gene is measured"
            )
            + "; name it with --modality activation|interference|knockout"
        )
    sign = MODALITY_SIGNS[name] if name else direction
    trained = target_changes(bulk, list(train))
    typical = float(max(np.median(sign * trained), 0.0)) if trained.size and sign else 0.0
    return Modality(name, sign, typical, warning)
