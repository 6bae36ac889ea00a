"""Parse perturbation labels (``ctrl``, ``A+ctrl``, ``A_B``, ``A+B+C``) into canonical gene sets."""

from __future__ import annotations

import re
from typing import Iterable

from gearsplan.errors import GearsplanError

#: Labels that mean "no perturbation", compared case-insensitively.
CONTROL_LABELS: frozenset[str] = frozenset(
    {
        "ctrl",
        "control",
        "non-targeting",
        "nontargeting",
        "non_targeting",
        "non-target",
        "nt",
        "safe-targeting",
        "negative_control",
        "neg_ctrl",
    }
)

#: The canonical key of control cells.
CONTROL_KEY = "ctrl"

Perturbation = tuple[str, ...]
"""A perturbation: the sorted, de-duplicated gene symbols it targets (empty for control)."""

_SEPARATORS = re.compile(r"[+_,;|\s]+")


def parse_condition(label: str, control_labels: Iterable[str] = ()) -> Perturbation:
    """The order-free gene set a condition label names; ``()`` for control.

    ``A``, ``A+ctrl``, ``ctrl+A`` -> ``("A",)``; ``A+B``, ``B_A`` -> ``("A", "B")``.
    Extra ``control_labels`` (e.g. the value given with ``--control``) also count as control.

    Raises
    ------
    GearsplanError
        If the label is empty.
    """
    controls = CONTROL_LABELS | {c.lower() for c in control_labels}
    text = str(label).strip()
    if text.lower() in controls:
        return ()
    tokens = [t for t in _SEPARATORS.split(text) if t]
    if not tokens:
        raise GearsplanError(
            f"empty perturbation label {label!r}",
            "label control cells 'ctrl' and perturbed cells by gene, e.g. 'KLF1' or 'KLF1+MAP2K6'",
        )
    return tuple(sorted({t for t in tokens if t.lower() not in controls}))


def perturbation_key(genes: Iterable[str]) -> str:
    """The canonical string of a gene set: sorted symbols joined by ``+``; ``ctrl`` for none."""
    genes = sorted(set(genes))
    return "+".join(genes) if genes else CONTROL_KEY


def genes_of(key: str) -> Perturbation:
    """Inverse of :func:`perturbation_key`."""
    return () if key == CONTROL_KEY else tuple(key.split("+"))


def is_control_label(label: str, control_labels: Iterable[str] = ()) -> bool:
    """Whether a raw label names control cells."""
    return str(label).strip().lower() in CONTROL_LABELS | {c.lower() for c in control_labels}
