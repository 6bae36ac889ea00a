"""GO profiles: the GO terms of a gene set, each weighted by its rarity, to say which perturbations are alike."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from gearsplan.data.embedded import GENE2GO
from gearsplan.knowledge.go_graph import cached_term_matrix

#: Dimensions of the knowledge embedding of the linear baseline (Ahlmann-Eltze, Huber & Anders 2025 use 10).
EMBEDDING_COMPONENTS = 10


@dataclass(frozen=True)
class GoProfiles:
    """Genes' GO annotations and each term's inverse document frequency over all annotated genes.

    A set's profile is the union of its genes' terms, each weighted by log((1 + genes) / (1 +
    genes with the term)), and scaled to unit length. Broad terms ("protein binding", "nucleus")
    then count for little (a term every gene has, for nothing) and specific ones ("erythrocyte
    differentiation") for much, which the Jaccard index of the GO graph does not do.
    """

    index: dict[str, int]
    annotations: sp.csr_matrix
    idf: np.ndarray

    def of(self, gene_sets: Sequence[Iterable[str]]) -> sp.csr_matrix:
        """Unit-length profile of each gene set (sets x terms); a row of zeros where no gene is annotated."""
        union = (membership(gene_sets, self.index) @ self.annotations).sign()
        weighted = sp.csr_matrix(union.multiply(self.idf[None, :]))
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        return sp.csr_matrix(sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ weighted)

    def cosine(self, gene_sets: Sequence[Iterable[str]], others: sp.csr_matrix) -> np.ndarray:
        """Cosine of each gene set's profile with each row of ``others`` (profiles from :meth:`of`)."""
        return np.asarray((self.of(gene_sets) @ others.T).todense())

    @cached_property
    def directions(self) -> np.ndarray:
        """The top :data:`EMBEDDING_COMPONENTS` right singular vectors (components x terms) of every annotated
        gene's unit-length profile: a truncated SVD of the perturbable genes' rarity-weighted GO matrix."""
        matrix = self.of([[g] for g in self.index])
        start = np.full(
            min(matrix.shape), 1.0 / np.sqrt(min(matrix.shape))
        )  # a fixed start vector: the same directions every run
        from scipy.sparse.linalg import svds  # here: the embedding is cached on disk, and predict need not import it

        _, values, directions = svds(matrix, k=EMBEDDING_COMPONENTS, v0=start)
        return directions[np.argsort(-values, kind="stable")]

    def embedding(self, gene_sets: Sequence[Iterable[str]]) -> np.ndarray:
        """Each gene set's knowledge embedding (sets x :data:`EMBEDDING_COMPONENTS`): the sum of its genes'
        coordinates on :attr:`directions`; a gene without GO terms adds nothing."""
        genes = sorted({g for genes in gene_sets for g in genes if g in self.index})
        coordinates = self.of([[g] for g in genes]) @ self.directions.T
        return np.asarray(membership(gene_sets, {g: i for i, g in enumerate(genes)}) @ coordinates)

    def summed_cosine(self, gene_sets: Sequence[Sequence[str]], others: sp.csr_matrix, power: float) -> np.ndarray:
        """For each gene set, the sum over its genes of each gene's own profile cosine with each row of
        ``others``, to ``power``: one gene's likeness is not diluted by the other genes' terms."""
        genes = sorted({g for genes in gene_sets for g in genes})
        by_gene = self.cosine([[g] for g in genes], others) ** power
        return np.asarray(membership(gene_sets, {g: i for i, g in enumerate(genes)}) @ by_gene)


def membership(gene_sets: Sequence[Iterable[str]], index: dict[str, int]) -> sp.csr_matrix:
    """Sets x ``index`` indicator: 1 where the set holds the gene; genes outside ``index`` are left out."""
    members = [[index[g] for g in genes if g in index] for genes in gene_sets]
    rows = np.repeat(np.arange(len(members)), [len(m) for m in members])
    cols = np.fromiter((i for m in members for i in m), dtype=np.int64, count=rows.size)
    return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(len(members), len(index)))


def go_profiles(path: Path | str = GENE2GO) -> GoProfiles:
    """The profiles of a gene2go TSV (``symbol``, ``go_id`` columns), read once per process."""
    return _cached_profiles(str(path), os.stat(path).st_mtime_ns)


@lru_cache(maxsize=2)
def _cached_profiles(path: str, mtime_ns: int) -> GoProfiles:
    genes, _, annotations = cached_term_matrix(path)
    annotated = np.asarray(annotations.sum(axis=0)).ravel()
    idf = np.log((1.0 + len(genes)) / (1.0 + annotated))
    return GoProfiles({g: i for i, g in enumerate(genes)}, annotations.astype(np.float64), idf)
