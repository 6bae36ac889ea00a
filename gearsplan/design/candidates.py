"""The experiments one could run next: unperturbed single genes and pairs, from defaults or the user's files."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Iterable, Sequence

from gearsplan.data.conditions import genes_of, perturbation_key
from gearsplan.data.gene_names import gene_table
from gearsplan.errors import GearsplanError


@dataclass(frozen=True)
class Measured:
    """What a screen has already measured: perturbation keys, and the genes perturbed alone or in a set."""

    keys: frozenset[str]

    @property
    def single_genes(self) -> tuple[str, ...]:
        """Genes measured on their own, sorted."""
        return tuple(sorted(k for k in self.keys if "+" not in k))

    @property
    def perturbed_genes(self) -> frozenset[str]:
        """Every gene perturbed in some measured set."""
        return frozenset(g for k in self.keys for g in genes_of(k))


def read_gene_file(path: str | Path, known: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Gene names, one per line (``#`` comments and blank lines skipped), resolved to current symbols.

    ``known`` are symbols accepted as they are (the model's genes). A line may also name a pair
    (``A+B``), which is kept as a canonical key.

    Raises
    ------
    GearsplanError
        If the file cannot be read, holds no genes, or names an unknown gene (with "did you mean").
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise GearsplanError(f"cannot read gene file {path} ({type(error).__name__})", "give a text file with one gene (or A+B pair) per line") from None
    entries = [line.split("#", 1)[0].strip() for line in lines]
    entries = [e for e in entries if e]
    if not entries:
        raise GearsplanError(f"gene file {path} holds no genes", "write one gene symbol (or A+B pair) per line")
    table = gene_table()
    resolved = []
    for entry in entries:
        try:
            genes = table.resolve_set(entry, known)
        except GearsplanError as error:
            raise GearsplanError(f"{path.name}: {error.message}", error.hint) from None
        resolved.append(perturbation_key(genes))
    return tuple(dict.fromkeys(resolved))


def candidate_singles(perturbable: Sequence[str], measured: Measured, library: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> tuple[str, ...]:
    """Single genes not yet measured alone: the library if given (else every perturbable gene), less ``exclude``."""
    pool = perturbable if library is None else [k for k in library if "+" not in k]
    excluded = set(exclude) | set(measured.single_genes)
    return tuple(g for g in dict.fromkeys(pool) if g not in excluded)


def candidate_pairs(measured: Measured, partners: Sequence[str], allow_unseen_pairs: bool, exclude: Iterable[str] = (), library: Iterable[str] | None = None) -> tuple[str, ...]:
    """Unmeasured pairs among measured single genes and between them and ``partners``; partner-partner pairs only if allowed.

    Pairs named in a library file are always candidates (if not measured or excluded).
    """
    seen = measured.single_genes
    pairs = [*combinations(seen, 2), *((a, b) for a in seen for b in partners if a != b)]
    if allow_unseen_pairs:
        pairs += list(combinations(partners, 2))
    keys = [perturbation_key(p) for p in pairs] + [k for k in library or () if "+" in k]
    excluded = set(exclude) | set(measured.keys)
    excluded_genes = {k for k in exclude if "+" not in k}
    return tuple(k for k in dict.fromkeys(keys) if k not in excluded and not excluded_genes & set(genes_of(k)))
