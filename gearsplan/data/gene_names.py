"""Resolve gene names (symbols, aliases, previous symbols, Ensembl IDs) to current HGNC symbols."""

from __future__ import annotations

import difflib
import gzip
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from gearsplan.data.conditions import Perturbation, parse_condition
from gearsplan.data.embedded import HUMAN_GENES
from gearsplan.errors import GearsplanError

_ENSEMBL = re.compile(r"^ENSG\d{11}(\.\d+)?$", re.IGNORECASE)


def is_ensembl_id(name: str) -> bool:
    """Whether ``name`` looks like a human Ensembl gene ID (with or without version)."""
    return bool(_ENSEMBL.match(name))


class UnknownGene(GearsplanError):
    """A name that is no human gene's symbol, alias or Ensembl ID."""


@dataclass(frozen=True)
class GeneTable:
    """Current symbols with their aliases and Ensembl IDs (NCBI Gene via org.Hs.eg.db)."""

    symbols: frozenset[str]
    by_upper: dict[str, str]
    aliases: dict[str, tuple[str, ...]]
    ensembl: dict[str, str]

    @classmethod
    def load(cls, path: Path = HUMAN_GENES) -> "GeneTable":
        """The table of a tab-separated file with ``symbol``, ``aliases`` and ``ensembl_ids`` (``|``-separated) columns.

        Read with the standard library, not pandas: ``predict`` names its genes before any heavy import
        (about half the time of pandas' reader and import together, measured on the shipped table).
        """
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            header = handle.readline().rstrip("\n").split("\t")
            rows = [line.rstrip("\n").split("\t") for line in handle]
        symbol, alias, ensembl = (header.index(name) for name in ("symbol", "aliases", "ensembl_ids"))
        symbols = frozenset(row[symbol] for row in rows)
        return cls(
            symbols,
            {s.upper(): s for s in symbols},
            _carriers(rows, symbol, alias),
            {entry: carriers[0] for entry, carriers in _carriers(rows, symbol, ensembl).items()},
        )

    def resolve(self, name: str, extra_symbols: frozenset[str] = frozenset()) -> str:
        """The current symbol for ``name``.

        Tries, in order: a current symbol (or one of ``extra_symbols``, e.g. the measured
        genes), a case-insensitive symbol, an Ensembl ID, an unambiguous alias.

        Raises
        ------
        UnknownGene
            For an unknown name, with "did you mean" suggestions.
        GearsplanError
            For an ambiguous alias.
        """
        if name in self.symbols or name in extra_symbols:
            return name
        upper = name.upper()
        if upper in self.by_upper:
            return self.by_upper[upper]
        if is_ensembl_id(name) and upper.split(".")[0] in self.ensembl:
            return self.ensembl[upper.split(".")[0]]
        candidates = tuple(s for s in self.aliases.get(upper, ()) if s != name)
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise GearsplanError(
                f"gene name {name!r} is an alias of several genes: {', '.join(candidates)}",
                "use the current symbol of the gene you mean",
            )
        raise UnknownGene(f"unknown gene {name!r}", self.did_you_mean(name, extra_symbols))

    def resolve_set(self, name: str, extra_symbols: frozenset[str] = frozenset()) -> Perturbation:
        """The current symbols of a gene set written as a condition label (``A``, ``A+B``, ``A_B``, ``A+ctrl``).

        Raises
        ------
        GearsplanError
            For a label that names no gene, the control cells, or one gene twice (an alias and its
            symbol), and as :meth:`resolve` for each gene.
        """
        try:
            genes = parse_condition(name)
        except GearsplanError:
            raise GearsplanError(f"{name!r} names no gene", "name one or more genes, e.g. FOSB or FOSB+CEBPB") from None
        if not genes:
            ctrl = next((ensembl for ensembl, symbol in self.ensembl.items() if symbol == "CTRL"), "its Ensembl ID")
            raise GearsplanError(
                f"{name!r} names the control cells, not a gene",
                f"name the genes to perturb; the gene CTRL goes by {ctrl}",
            )
        resolved = tuple(self.resolve(gene, extra_symbols) for gene in genes)
        twice = sorted(gene for gene, count in Counter(resolved).items() if count > 1)
        if twice:  # MLL+KMT2A is not a pair: say so rather than quietly read one gene
            raise GearsplanError(
                f"{', '.join(twice)} named more than once in {name!r}",
                "name each gene of a set once; an alias and its symbol are the same gene",
            )
        return resolved

    def did_you_mean(self, name: str, extra_symbols: frozenset[str] = frozenset()) -> str:
        """A hint naming the closest known symbols."""
        pool = [s for s in self.symbols | extra_symbols if s[:1].upper() == name[:1].upper()]
        close = difflib.get_close_matches(name.upper(), [s.upper() for s in pool], n=3, cutoff=0.6)
        named = [self.by_upper.get(c, c) for c in close]
        if not named:
            return "check the spelling; gearsplan knows current HGNC symbols, their aliases and Ensembl IDs"
        return "did you mean " + ", ".join(named) + "?"


def _carriers(rows: list[list[str]], symbol: int, column: int) -> dict[str, tuple[str, ...]]:
    """Map each ``|``-separated entry of ``column`` (upper-cased) to the symbols that carry it, in the table's order."""
    found: dict[str, tuple[str, ...]] = {}
    for row in rows:
        if len(row) > column and row[column]:
            for entry in row[column].upper().split("|"):
                held = found.get(entry, ())
                if row[symbol] not in held:
                    found[entry] = (*held, row[symbol])
    return found


@lru_cache(maxsize=1)
def gene_table() -> GeneTable:
    """The shipped gene table, loaded once per process."""
    return GeneTable.load()
