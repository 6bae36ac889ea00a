"""How much untested GO-graph neighbourhood a gene informs, and how far it lies from what was measured."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from gearsplan.knowledge.gene_graph import GeneGraph
from gearsplan.knowledge.go_graph import cached_term_matrix

#: Region name of a gene with no perturbed gene among its GO neighbours.
UNEXPLORED = "unexplored"


#: GO terms at which a gene's neighbourhood counts for 1 - 1/e of its weight (see :func:`annotation_specificity`).
TERM_SCALE = 3.0


@lru_cache(maxsize=4)
def graph_terms(graph: GeneGraph) -> sp.csr_matrix:
    """Graph genes x GO terms, rows in the graph's gene order (empty for a gene without terms), column indices sorted."""
    genes, _, matrix = cached_term_matrix()
    row = dict(zip(genes, range(len(genes))))
    padded = sp.vstack([matrix, sp.csr_matrix((1, matrix.shape[1]), dtype=matrix.dtype)]).tocsr()
    terms = padded[np.array([row.get(g, len(genes)) for g in graph.genes], dtype=np.int64)].tocsr()
    terms.sort_indices()
    return terms


@lru_cache(maxsize=4)
def annotation_specificity(graph: GeneGraph) -> np.ndarray:
    """Per graph gene, ``1 - exp(-n_terms / TERM_SCALE)``: how much its GO neighbourhood can be trusted to transfer."""
    return 1.0 - np.exp(-np.diff(graph_terms(graph).indptr) / TERM_SCALE)


@lru_cache(maxsize=4)
def annotation_family_ids(graph: GeneGraph) -> np.ndarray:
    """Per graph gene, the id of its annotation family: the genes that carry exactly the same GO terms.

    Families such as the ~400 olfactory receptors share one annotation. The graph keeps 20
    neighbours per gene, an arbitrary 20 of a family's tied members, but the model sees a gene only
    through its GO terms and so treats the whole family alike. A gene with no GO terms is alone in its own.
    """
    terms = graph_terms(graph)
    keys = np.array(
        [terms.indices[terms.indptr[i] : terms.indptr[i + 1]].tobytes() for i in range(graph.n_genes)], dtype=object
    )
    _, family = np.unique(keys, return_inverse=True)
    return np.where(np.diff(terms.indptr) > 0, family.ravel(), family.max() + 1 + np.arange(graph.n_genes))


@lru_cache(maxsize=4)
def annotation_families(graph: GeneGraph) -> sp.csr_matrix:
    """Genes x genes, 1 where two graph genes are of the same :func:`annotation_family_ids` family (on the diagonal too)."""
    member = sp.csr_matrix((np.ones(graph.n_genes), (np.arange(graph.n_genes), annotation_family_ids(graph))))
    return (member @ member.T).tocsr()


@dataclass(frozen=True)
class GraphReach:
    """Per GO gene: coverage by the perturbed genes (1 = perturbed, else the strongest GO similarity to one), the nearest perturbed gene, and reach.

    ``reach`` of gene g is ``(1 - coverage_g) + sum over its GO neighbours n of jaccard(g, n) * (1 - coverage_n)``
    (neighbours among the target genes only, when targets are given): the untested neighbourhood that measuring g would inform, each of its (at most 20) GO
    neighbours weighted by similarity and by how little the measured genes already cover it.
    A gene's own neighbour list is used, not the genes listing it: a gene with one generic GO
    term is listed by hundreds, but the model divides its influence among them. A gene with no
    GO neighbours reaches only itself (high risk, low transfer); so, nearly, does a gene with one or
    two GO terms (:func:`annotation_specificity`): its Jaccard-1 neighbours share one generic term
    ("protein binding"), not a biology it could teach the model about. Coverage uses the
    symmetrised graph (similar in either direction). ``perturbed`` also holds perturbed genes outside the graph.
    """

    graph: GeneGraph
    perturbed: frozenset[str]
    similarity: sp.csr_matrix
    coverage: np.ndarray
    nearest: np.ndarray
    reach: np.ndarray

    @classmethod
    def build(cls, graph: GeneGraph, perturbed: Iterable[str], targets: Iterable[str] | None = None) -> "GraphReach":
        """Coverage by ``perturbed``; reach counts only neighbours among ``targets`` (the untested genes that matter; default all)."""
        perturbed = frozenset(perturbed)
        adjacency = graph.to_csr()
        similarity = adjacency.maximum(adjacency.T).tocsr()
        columns = np.array(sorted({graph.index[g] for g in perturbed if g in graph.index}), dtype=np.int64)
        coverage = np.zeros(graph.n_genes)
        nearest = np.full(graph.n_genes, -1)
        if columns.size:
            towards = similarity[:, columns]
            coverage = towards.max(axis=1).toarray().ravel()
            nearest = np.where(coverage > 0, columns[np.asarray(towards.argmax(axis=1)).ravel()], -1)
            coverage[columns], nearest[columns] = 1.0, columns
        untested = 1.0 - coverage
        wanted = (
            np.ones(graph.n_genes)
            if targets is None
            else np.isin(np.array(graph.genes), np.array(list(targets), dtype=str)).astype(float)
        )
        return cls(
            graph,
            perturbed,
            similarity,
            coverage,
            nearest,
            untested + annotation_specificity(graph) * (adjacency @ (untested * wanted)),
        )

    def single(self, genes: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Reach, distance to the measured genes (1 - coverage) and region (nearest perturbed gene) of each gene.

        A gene outside the graph is its own region with nothing left to reach if it was perturbed (its GO
        terms are unknown, not its change), else unexplored with reach and distance 1.
        """
        index = np.array([self.graph.index.get(g, -1) for g in genes], dtype=np.int64)
        inside = index >= 0
        outside = np.array([0.0 if g in self.perturbed else 1.0 for g in genes])
        reach = np.where(inside, self.reach[index], outside)
        distance = np.where(inside, 1.0 - self.coverage[index], outside)
        nearest = np.where(inside, self.nearest[index], -1)
        region = [
            self.graph.genes[n] if n >= 0 else gene if gene in self.perturbed else UNEXPLORED
            for gene, n in zip(genes, nearest)
        ]
        return reach, distance, region
