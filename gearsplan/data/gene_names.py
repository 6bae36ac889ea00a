"""Resolve gene names (symbols, aliases, previous symbols, Ensembl IDs) to current HGNC symbols."""

from __future__ import annotations

import difflib
import gzip
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property, lru_cache
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
    """Current symbols with their aliases and Ensembl IDs (NCBI Gene via org.Hs.eg.db), from the tab-separated file
    ``path`` with ``symbol``, ``aliases`` and ``ensembl_ids`` (``|``-separated) columns.

    Everything is read and built when first used: a name that the caller already knows (``extra_symbols``, e.g. the
    measured genes) needs no file at all, a current symbol only :attr:`symbols`, while the alias map costs 0.2–0.5 s
    (measured on the shipped table:
    ``python -m timeit -n1 -r1 -s "from gearsplan.data.gene_names import gene_table; t = gene_table()" "t.aliases"``),
    which ``predict FOSB`` need not pay.
    """

    path: Path = HUMAN_GENES

    @cached_property
    def _text(self) -> tuple[list[str], str]:
        """The file's header fields and the lines below it, as text.

        Read with the standard library, not pandas: ``predict`` names its genes before any heavy import
        (about half the time of pandas' reader and import together, measured on the shipped table).
        """
        with gzip.open(self.path, "rt", encoding="utf-8") as handle:
            header = handle.readline().rstrip("\n").split("\t")
            return header, handle.read()

    @cached_property
    def columns(self) -> tuple[int, int, int]:
        """The fields of :attr:`rows` holding the symbol, the aliases and the Ensembl IDs."""
        return tuple(self._text[0].index(name) for name in ("symbol", "aliases", "ensembl_ids"))

    @cached_property
    def rows(self) -> list[list[str]]:
        """The file's lines below its header, split at tabs."""
        return [line.split("\t") for line in self._text[1].splitlines()]

    @cached_property
    def symbols(self) -> frozenset[str]:
        # one column picked out of the text: half the time of splitting every line into rows (0.07 s against 0.12 s of
        # CPU on the shipped table), which a name check before the prediction need not pay
        field = re.compile(rf"^(?:[^\t\n]*\t){{{self.columns[0]}}}([^\t\n]*)", re.MULTILINE)
        return frozenset(field.findall(self._text[1]))

    @cached_property
    def by_upper(self) -> dict[str, str]:
        return {s.upper(): s for s in self.symbols}

    @cached_property
    def aliases(self) -> dict[str, tuple[str, ...]]:
        return _carriers(self.rows, *self.columns[:2])

    def alias_carriers(self, alias: str) -> tuple[str, ...]:
        """The symbols that carry ``alias`` (upper-case), in the table's order: ``aliases.get(alias, ())``, read by a
        scan of the rows, which for one name costs a tenth of building :attr:`aliases` (0.016 s against 0.22 s of CPU,
        measured on the shipped table), so that ``predict`` of an unknown gene answers at once."""
        symbol, column = self.columns[:2]
        carriers = (
            row[symbol]
            for row in self.rows
            if len(row) > column and alias in row[column].upper() and alias in row[column].upper().split("|")
        )
        return tuple(dict.fromkeys(carriers))

    @cached_property
    def ensembl(self) -> dict[str, str]:
        return {
            entry: carriers[0] for entry, carriers in _carriers(self.rows, self.columns[0], self.columns[2]).items()
        }

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
        if name in extra_symbols or name in self.symbols:  # the caller's names first: they need no file
            return name
        upper = name.upper()
        if upper in self.by_upper:
            return self.by_upper[upper]
        if is_ensembl_id(name) and upper.split(".")[0] in self.ensembl:
            return self.ensembl[upper.split(".")[0]]
        candidates = tuple(s for s in self.alias_carriers(upper) if s != name)
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
    found: dict[str, list[str]] = {}
    for row in rows:
        if len(row) > column and row[column]:
            for entry in row[column].upper().split("|"):
                held = found.setdefault(entry, [])
                if row[symbol] not in held:
                    held.append(row[symbol])
    return {entry: tuple(held) for entry, held in found.items()}


@lru_cache(maxsize=1)
def gene_table() -> GeneTable:
    """The shipped gene table, one per process (read when first used)."""
    return GeneTable()
