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


def read_gene_file(path: str | Path, known: frozenset[str] = frozenset(), pairs: bool = False) -> tuple[str, ...]:
    """Gene names, one per line (``#`` comments and blank lines skipped), resolved to current symbols.

    ``known`` are symbols accepted as they are (the model's genes). With ``pairs`` a line may also
    name a pair (``A+B``), which is kept as a canonical key.

    Raises
    ------
    GearsplanError
        If the file cannot be read, holds no genes, names an unknown gene (with "did you mean"), or a
        line names a set larger than a line may (``suggest`` plans singles and pairs; ``gimap`` takes genes).
    """
    path = Path(path)
    what = "one gene symbol or A+B pair" if pairs else "one gene symbol"
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # Excel writes a byte-order mark first
    except (OSError, UnicodeDecodeError) as error:
        raise GearsplanError(f"cannot read gene file {path} ({type(error).__name__})", f"give a text file with {what} per line") from None
    entries = [(number, line.split("#", 1)[0].strip()) for number, line in enumerate(lines, start=1)]
    entries = [(number, entry) for number, entry in entries if entry]
    if not entries:
        raise GearsplanError(f"gene file {path} holds no genes", f"write {what} per line")
    table = gene_table()
    keys = []
    for number, entry in entries:
        try:
            genes = table.resolve_set(entry, known)
        except GearsplanError as error:
            raise GearsplanError(f"{path.name}: line {number}: {error.message}", error.hint) from None
        if len(genes) > (2 if pairs else 1):
            raise GearsplanError(f"{path.name}: line {number}: {entry!r} names {len(genes)} genes, but this file takes {what} per line",
                                 "suggest plans single genes and pairs: list the pairs of the set you can make, one per line" if pairs else "write each gene on its own line")
        keys.append(perturbation_key(genes))
    return tuple(dict.fromkeys(keys))


def candidate_singles(perturbable: Sequence[str], measured: Measured, library: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> tuple[str, ...]:
    """Single genes not yet measured alone: the library if given (else every perturbable gene), less ``exclude``."""
    pool = perturbable if library is None else [k for k in library if "+" not in k]
    excluded = set(exclude) | set(measured.single_genes)
    return tuple(g for g in dict.fromkeys(pool) if g not in excluded)


def candidate_pairs(measured: Measured, partners: Sequence[str], allow_unseen_pairs: bool, exclude: Iterable[str] = (), library: Sequence[str] | None = None) -> tuple[str, ...]:
    """Unmeasured pairs among measured single genes and between them and ``partners``; partner-partner pairs only if allowed.

    With a ``library`` (genes and ``A+B`` pairs), every pair holds one of its genes (a guide the user has;
    the measured genes' guides were in the screen), and its listed pairs are candidates too; a listed pair's
    genes are not paired further. Measured and excluded pairs, and pairs holding an excluded gene, are left out.
    """
    seen = measured.single_genes
    pairs = [*combinations(seen, 2), *((a, b) for a in seen for b in partners if a != b)]
    if allow_unseen_pairs:
        pairs += list(combinations(partners, 2))
    if library is not None:
        genes = {k for k in library if "+" not in k}
        pairs = [p for p in pairs if genes & set(p)]
    keys = [perturbation_key(p) for p in pairs] + [k for k in library or () if "+" in k]
    excluded = set(exclude) | set(measured.keys)
    excluded_genes = {k for k in exclude if "+" not in k}
    return tuple(k for k in dict.fromkeys(keys) if k not in excluded and not excluded_genes & set(genes_of(k)))
