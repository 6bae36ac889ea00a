"""The experiments one could run next: untested single genes and pairs of the genes of interest, and the user's gene files."""

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
        raise GearsplanError(
            f"cannot read gene file {path} ({type(error).__name__})", f"give a text file with {what} per line"
        ) from None
    entries = [(f"{path.name}: line {number}", line.split("#", 1)[0].strip()) for number, line in enumerate(lines, 1)]
    entries = [(where, entry) for where, entry in entries if entry]
    if not entries:
        raise GearsplanError(f"gene file {path} holds no genes", f"write {what} per line")
    return _resolved(entries, known, pairs)


def resolve_gene_list(
    names: Iterable[str], known: frozenset[str] = frozenset(), pairs: bool = False
) -> tuple[str, ...]:
    """Gene names given in a list, as :func:`read_gene_file` reads a file's lines (the Python API's ``candidates``).

    Raises
    ------
    GearsplanError
        As :func:`read_gene_file`, for the list's entries.
    """
    return _resolved([(f"entry {number}", str(name).strip()) for number, name in enumerate(names, 1)], known, pairs)


def _resolved(entries: Sequence[tuple[str, str]], known: frozenset[str], pairs: bool) -> tuple[str, ...]:
    """The canonical keys of ``entries`` (where each is, for errors; a gene or with ``pairs`` an ``A+B`` pair), once each."""
    what = "one gene symbol or A+B pair" if pairs else "one gene symbol"
    table = gene_table()
    keys = []
    for where, entry in entries:
        try:
            genes = table.resolve_set(entry, known)
        except GearsplanError as error:
            raise GearsplanError(f"{where}: {error.message}", error.hint) from None
        if len(genes) > (2 if pairs else 1):
            raise GearsplanError(
                f"{where}: {entry!r} names {len(genes)} genes, but this takes {what} per line",
                "suggest plans single genes and pairs: list the pairs of the set you can make, one per line"
                if pairs
                else "write each gene on its own line",
            )
        keys.append(perturbation_key(genes))
    return tuple(dict.fromkeys(keys))


def candidate_singles(genes: Sequence[str], measured: Measured, exclude: Iterable[str] = ()) -> tuple[str, ...]:
    """The genes of ``genes`` (the genes of interest) not yet measured alone, less ``exclude``, in their order."""
    excluded = set(exclude) | set(measured.single_genes)
    return tuple(g for g in dict.fromkeys(genes) if g not in excluded)


def candidate_pairs(
    measured: Measured,
    genes: Sequence[str],
    allow_unseen_pairs: bool,
    exclude: Iterable[str] = (),
    listed: Sequence[str] = (),
) -> tuple[str, ...]:
    """Untested pairs of ``genes`` (the genes of interest) that hold a gene measured alone (any two if
    ``allow_unseen_pairs``), then the ``listed`` pairs (a guide library's ``A+B`` lines) as they are.

    Measured and excluded pairs, and pairs holding an excluded gene, are left out; pairs come in sorted order.
    """
    seen = set(measured.single_genes)
    pairs = [p for p in combinations(sorted(set(genes)), 2) if allow_unseen_pairs or seen & set(p)]
    keys = [perturbation_key(p) for p in pairs] + list(listed)
    excluded = set(exclude) | set(measured.keys)
    excluded_genes = {k for k in exclude if "+" not in k}
    return tuple(k for k in dict.fromkeys(keys) if k not in excluded and not excluded_genes & set(genes_of(k)))
