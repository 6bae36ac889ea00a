"""The genes of interest: the space ``suggest`` plans in and measures its expected gain over.

The genes of interest are, in this order (a gene counts for the first that names it):

- ``screen``: the screen's own library, every gene it perturbed, alone or in a set;
- ``candidates``: the genes of a guide library (``--candidates``), whatever their type, since the
  user named them; the pairs it lists are candidates as they are (:attr:`GeneSpace.pairs`);
- ``expansion``: the ``expand`` genes nearest to those two (the anchors) in the shipped knowledge.

Nearness of a gene g to the anchors A is

    closeness(g) = sum over a in A of  GO_WEIGHT x cos(g, a)  +  STRING_WEIGHT x string(g, a)

with ``cos`` the cosine of the two genes' rarity-weighted GO profiles
(:class:`~gearsplan.knowledge.go_profiles.GoProfiles`: a specific shared term counts for much, "protein
binding" for little) and ``string`` the STRING combined score / 1000 of their association in the
STRING graph (:func:`~gearsplan.knowledge.string_graph.string_graph`, each gene's 20 strongest
partners, taken in either direction; 0 without an edge). Both weights are 1: a shared specific
annotation and a confident association count alike, each at most 1 per anchor. The ``expand``
genes of highest closeness are taken, ties broken by symbol; genes of closeness 0 never.

Only a gene a lab would switch on and the model can predict is added: one of the model's
perturbable (GO-annotated) genes, protein-coding in the NCBI gene types
(:func:`~gearsplan.data.gene_types.gene_types`), not an anchor, not excluded, and not of a family whose
members CRISPR screens do not study one by one, told by symbol: olfactory receptors (``OR`` + digits,
letters, digits: OR1A1, OR51E2; not ORC1 or ORAI1), taste receptors (TAS1R*, TAS2R*), and
immunoglobulin and T-cell-receptor loci and segments (IGH, IGK, IGL and their V, D, J and constant
segments IGHV3-11, IGKC, IGHM; the lambda-like IGLL1, IGLL5; TRA, TRB, TRD, TRG and TRBV16, TRAC;
not TRADD or IGHMBP2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from gearsplan.data.conditions import genes_of
from gearsplan.data.gene_types import PROTEIN_CODING, gene_types
from gearsplan.design.candidates import Measured
from gearsplan.errors import GearsplanError
from gearsplan.knowledge.go_profiles import go_profiles
from gearsplan.knowledge.string_graph import string_graph
from gearsplan.wording import counted

#: Where a gene of interest came from, in the order they are taken.
SCREEN, CANDIDATES, EXPANSION = "screen", "candidates", "expansion"
#: Genes added by expansion when ``--expand`` is not given.
EXPAND = 100
#: Weights of the two kinds of knowledge in a gene's closeness to the anchors.
GO_WEIGHT = 1.0
STRING_WEIGHT = 1.0
#: Symbols never added by expansion: olfactory and taste receptors, immunoglobulin and T-cell-receptor loci and segments.
NEVER_EXPANDED = re.compile(
    r"^OR\d+[A-Z]+\d+|^TAS[12]R\d+|^(IG[HKL]|TR[ABDG])($|[VJC]|D($|\d))|^IGH[MEAG]\d*$|^IGLL\d+$"
)


@dataclass(frozen=True)
class GeneSpace:
    """The genes of interest, each with where it came from, and the pairs a guide library lists.

    ``origin`` maps each gene to :data:`SCREEN`, :data:`CANDIDATES` or :data:`EXPANSION`, in that
    order (the screen's genes sorted, the library's in its order, the expansion nearest first);
    ``expand`` is how many genes expansion was asked for.
    """

    origin: Mapping[str, str]
    pairs: tuple[str, ...]
    expand: int

    @property
    def genes(self) -> tuple[str, ...]:
        """Every gene of interest, in order."""
        return tuple(self.origin)

    def of(self, origin: str) -> tuple[str, ...]:
        """The genes of interest that came from ``origin``, in order."""
        return tuple(g for g, where in self.origin.items() if where == origin)

    @property
    def targets(self) -> frozenset[str]:
        """The genes of the untested space: the genes of interest and those of the listed pairs."""
        return frozenset(self.origin) | {g for k in self.pairs for g in genes_of(k)}

    def to_json(self) -> dict[str, list[str]]:
        """The genes of interest by origin (``screen``, ``candidates``, ``expansion``)."""
        return {where: list(self.of(where)) for where in (SCREEN, CANDIDATES, EXPANSION)}

    def describe(self) -> str:
        """The space in words: how many genes came from where."""
        candidates = self.of(CANDIDATES)
        parts = [
            f"the screen's {counted(len(self.of(SCREEN)), 'perturbed gene')}",
            f"{counted(len(candidates), 'gene')} of the guide library (--candidates)" if candidates else "",
            f"{counted(len(self.pairs), 'pair')} it lists" if self.pairs else "",
            f"the {counted(len(self.of(EXPANSION)), 'protein-coding gene')} nearest to them in GO and STRING (--expand {self.expand})"
            if self.expand
            else "no genes added by expansion (--expand 0)",
        ]
        return ", ".join(p for p in parts if p)


def check_expand(expand: int) -> None:
    """Refuse a negative number of genes to add by expansion."""
    if expand < 0:
        raise GearsplanError(
            f"--expand must be 0 or more, got {expand}",
            "give how many genes nearest to the screen's to add, e.g. --expand 100, or --expand 0 for the screen's genes alone",
        )


def expandable(symbol: str, types: Mapping[str, str]) -> bool:
    """Whether expansion may add ``symbol``: protein-coding, and no olfactory or taste receptor or immune receptor segment."""
    return types.get(symbol) == PROTEIN_CODING and NEVER_EXPANDED.match(symbol) is None


def closeness(genes: Sequence[str], anchors: Sequence[str]) -> np.ndarray:
    """Each gene's closeness to ``anchors``: summed GO-profile cosine and STRING association (module docstring)."""
    profiles = go_profiles()
    go = (
        profiles.cosine([[g] for g in genes], profiles.of([[a] for a in anchors])).sum(axis=1)
        if len(genes) and len(anchors)
        else np.zeros(len(genes))
    )
    graph = string_graph()
    adjacency = graph.to_csr()
    association = adjacency.maximum(adjacency.T).tocsr()
    rows = np.array([graph.index.get(g, -1) for g in genes], dtype=np.int64)
    columns = np.array(sorted({graph.index[a] for a in anchors if a in graph.index}), dtype=np.int64)
    string = np.zeros(len(genes))
    inside = rows >= 0
    if inside.any() and columns.size:
        string[inside] = np.asarray(association[rows[inside]][:, columns].sum(axis=1)).ravel()
    return GO_WEIGHT * go + STRING_WEIGHT * string


def genes_of_interest(
    measured: Measured,
    perturbable: Iterable[str],
    library: Sequence[str] = (),
    expand: int = EXPAND,
    exclude: Iterable[str] = (),
) -> GeneSpace:
    """The genes of interest of a screen that measured ``measured``.

    Parameters
    ----------
    measured
        The screen's perturbations: its perturbed genes are the screen's library.
    perturbable
        Genes the model can predict (its GO graph's): expansion draws from them.
    library
        A guide library's genes and ``A+B`` pairs (``--candidates``), kept whatever their type.
    expand
        How many genes expansion adds (0: the screen's and the guide library's genes alone).
    exclude
        Genes (and pairs) never to suggest: expansion passes over them.

    Raises
    ------
    GearsplanError
        If ``expand`` is negative.
    """
    check_expand(expand)
    origin = dict.fromkeys(sorted(measured.perturbed_genes), SCREEN)
    for gene in (k for k in library if "+" not in k):
        origin.setdefault(gene, CANDIDATES)
    pairs = tuple(dict.fromkeys(k for k in library if "+" in k))
    anchors = sorted(set(origin) | {g for k in pairs for g in genes_of(k)})
    if expand:
        types = gene_types()
        skipped = set(anchors) | set(exclude)
        pool = sorted(g for g in set(perturbable) if g not in skipped and expandable(g, types))
        score = closeness(pool, anchors)
        nearest = [i for i in np.lexsort((np.arange(len(pool)), -score)) if score[i] > 0][:expand]
        origin.update((pool[i], EXPANSION) for i in nearest)
    return GeneSpace(origin, pairs, expand)
