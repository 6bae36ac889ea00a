"""Train/validation/test splits of a screen's perturbations, and the strata of held-out ones."""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Iterable

import numpy as np

from gearsplan.data.conditions import genes_of, parse_condition, perturbation_key
from gearsplan.data.embedded import reference_split
from gearsplan.errors import GearsplanError

#: What ``train --holdout`` takes besides a split file: nothing held out, or a split by name.
HOLDOUTS = ("none", "simulation", "reference")
#: Stratum names of held-out perturbations (DESIGN.md "Machine-readable output").
STRATA = ("unseen_single", "pair_0_unseen", "pair_1_unseen", "pair_2_unseen", "higher_order")


@dataclass(frozen=True)
class Split:
    """Perturbation keys for training, validation and test (control is always in training)."""

    name: str
    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]

    def train_singles(self) -> frozenset[str]:
        """Genes measured on their own in training."""
        return frozenset(k for k in self.train if "+" not in k)

    def stratum(self, key: str) -> str:
        """The stratum of a held-out perturbation: how many of its genes training saw alone."""
        return stratum(genes_of(key), self.train_singles())


def stratum(genes: Iterable[str], train_singles: frozenset[str]) -> str:
    """``unseen_single``, ``pair_K_unseen`` (K genes without a training single) or ``higher_order``."""
    genes = tuple(genes)
    unseen = sum(g not in train_singles for g in genes)
    if len(genes) == 1:
        return "unseen_single" if unseen else "seen_single"
    if len(genes) == 2:
        return f"pair_{unseen}_unseen"
    return "higher_order"


def with_validation(split: Split, seed: int, fraction: float = 0.1) -> Split:
    """``split`` with a seeded ``fraction`` of its training perturbations (at least 2) moved to validation.

    Used for early stopping when a split has no validation set (leave-one-out, most split
    files); a split that already has one, or fewer than 10 training perturbations, is returned as is.
    """
    if split.val or len(split.train) < 10:
        return split
    rng = np.random.default_rng(seed)
    val = set(rng.choice(sorted(split.train), max(2, round(fraction * len(split.train))), replace=False))
    return Split(split.name, tuple(k for k in split.train if k not in val), tuple(sorted(val)), split.test)


def loo_splits(perturbations: Iterable[str]) -> list[Split]:
    """Leave-one-perturbation-out: one split per perturbation, the rest in training."""
    keys = sorted(perturbations)
    return [Split(f"loo:{k}", tuple(x for x in keys if x != k), (), (k,)) for k in keys]


def simulation_split(
    perturbations: Iterable[str], seed: int, train_gene_frac: float = 0.75, pair_train_frac: float = 0.75
) -> Split:
    """GEARS's "simulation" split, seeded.

    A fraction of the perturbed genes is drawn as training genes; singles of training genes
    train, singles of the others test; pairs with one or no training gene test; of the pairs
    with two training genes, ``pair_train_frac`` train and the rest test. Validation is drawn
    the same way inside training, with GEARS's fractions (0.9, 0.9).
    """
    rng = np.random.default_rng(seed)
    train, test = _simulation_partition(sorted(perturbations), rng, train_gene_frac, pair_train_frac)
    train, val = _simulation_partition(train, rng, 0.9, 0.9)
    return Split(f"simulation:seed{seed}", tuple(train), tuple(val), tuple(test))


def _simulation_partition(
    keys: list[str], rng: np.random.Generator, gene_frac: float, pair_frac: float
) -> tuple[list[str], list[str]]:
    genes = sorted({g for k in keys for g in genes_of(k)})
    seen = set(rng.choice(genes, int(len(genes) * gene_frac), replace=False)) if genes else set()
    n_seen = {k: sum(g in seen for g in genes_of(k)) for k in keys}
    all_seen = [k for k in keys if n_seen[k] == len(genes_of(k))]
    singles = [k for k in all_seen if len(genes_of(k)) == 1]
    combos = [k for k in all_seen if len(genes_of(k)) > 1]
    combo_train = set(rng.choice(combos, int(len(combos) * pair_frac), replace=False)) if combos else set()
    train = sorted(set(singles) | combo_train)
    return train, sorted(set(keys) - set(train))


def read_split(path: str | Path, perturbations: Iterable[str]) -> Split:
    """A split from a JSON file in GEARS's format (``{"set2conditions": {"train": [...], ...}}``).

    Condition names are parsed like the screen's labels (``A+ctrl``, ``A+B``); perturbations
    of the screen that the file does not name are left out of every set.

    Raises
    ------
    GearsplanError
        If the file is unreadable, has no ``train`` or ``test`` perturbations, puts one in two
        parts, or names perturbations the screen lacks.
    """
    path = Path(path)
    try:
        sets = json.loads(path.read_text())["set2conditions"]
        named = {
            part: [perturbation_key(parse_condition(c)) for c in sets.get(part, [])]
            for part in ("train", "val", "test")
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise GearsplanError(
            f"cannot read split file {path} ({type(error).__name__}: {error})",
            'a split file is GEARS JSON: {"set2conditions": {"train": [...], "val": [...], "test": [...]}}',
        ) from None
    known = set(perturbations)
    missing = sorted({k for part in named.values() for k in part if k != "ctrl"} - known)
    if missing:
        raise GearsplanError(
            f"split file {path.name} names perturbations not in the data: {', '.join(missing[:5])}",
            "use a split drawn on this data set",
        )
    clean = {part: tuple(sorted({k for k in keys if k != "ctrl"})) for part, keys in named.items()}
    _check_parts(path.name, clean)
    return Split(f"file:{path.name}", clean["train"], clean["val"], clean["test"])


def _check_parts(name: str, parts: dict[str, tuple[str, ...]]) -> None:
    """Refuse a split file's parts unless train and test hold perturbations and no two parts share one.

    A perturbation in train and test would be scored on its own measurement (a perfect,
    meaningless score); one in val and another part would stop training on a measured or a test
    perturbation. An empty ``val`` is fine, as for leave-one-out: training lends it a tenth of
    ``train`` (:func:`with_validation`), or keeps its last epoch with fewer than 10 to lend from.
    """
    for part in ("train", "test"):
        if not parts[part]:
            raise GearsplanError(
                f"split file {name} has no {part} perturbations", f"name them under set2conditions.{part}"
            )
    shared = [(a, b, sorted(set(parts[a]) & set(parts[b]))) for a, b in combinations(parts, 2)]
    overlaps = "; ".join(
        f"{a} and {b} share {', '.join(keys[:5])}" + (", ..." if len(keys) > 5 else "") for a, b, keys in shared if keys
    )
    if overlaps:
        raise GearsplanError(
            f"split file {name} puts perturbations in two parts ({overlaps})",
            "a perturbation belongs to one of train, val and test",
        )


def resolve_splits(spec: str, perturbations: Iterable[str], seed: int) -> list[Split]:
    """The splits that ``--split`` names for one seed: ``loo`` (one split per perturbation), or the one
    split of :func:`resolve_split`."""
    if spec == "loo":
        return loo_splits(list(perturbations))
    return [resolve_split(spec, perturbations, seed, "loo, simulation, reference")]


def check_holdout(spec: str) -> str:
    """``spec``, if ``train --holdout`` takes it: ``none`` (learn from every perturbation), a split of
    :func:`resolve_split` by name, or the path of a split file.

    Raises
    ------
    GearsplanError
        For ``loo`` (one split per perturbation; training keeps one model), a ``.json`` path with no
        file, or any other name.
    """
    if spec in HOLDOUTS or Path(spec).is_file():
        return spec
    if spec == "loo":
        raise GearsplanError(
            "--holdout loo gives one split per perturbation; training needs one",
            "use none, simulation, reference or a split file (evaluate --split loo holds out each perturbation in turn)",
        )
    if spec.endswith(".json"):
        raise GearsplanError(
            f"no split file at {spec}", "check the path; a GEARS split JSON maps train/val/test to perturbation labels"
        )
    raise GearsplanError(
        f"unknown --holdout {spec!r}", "use none, simulation, reference, or the path of a GEARS split JSON file"
    )


def resolve_split(spec: str, perturbations: Iterable[str], seed: int, choices: str = "simulation, reference") -> Split:
    """The one split that ``spec`` names: ``simulation`` (GEARS's, drawn with ``seed``),
    ``reference`` (the split the reference GEARS drew with ``seed`` on the embedded data, seeds 1-5), or
    the path of a JSON split file. ``choices`` is what an unknown name is told to use instead.
    """
    perturbations = list(perturbations)
    if spec == "simulation":
        return simulation_split(perturbations, seed)
    if spec == "reference":
        if not reference_split(seed).exists():
            raise GearsplanError(
                f"no reference split for seed {seed}",
                "the reference GEARS splits exist for seeds 1-5 of the embedded data",
            )
        return read_split(reference_split(seed), perturbations)
    if Path(spec).is_file():
        return read_split(spec, perturbations)
    if spec.endswith(".json"):
        raise GearsplanError(
            f"no split file at {spec}", "check the path; a GEARS split JSON maps train/val/test to perturbation labels"
        )
    raise GearsplanError(f"unknown split {spec!r}", f"use {choices}, or the path of a GEARS split JSON file")
