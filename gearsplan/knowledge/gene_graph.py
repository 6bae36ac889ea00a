"""A weighted directed gene graph stored as flat edge arrays."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from gearsplan.errors import GearsplanError


@dataclass(frozen=True, eq=False)
class GeneGraph:
    """Edge ``e`` says gene ``targets[e]`` has neighbour ``neighbours[e]`` with weight ``weights[e]``.

    Edges are stored sorted by target, then descending weight, then neighbour name,
    so two graphs built from the same edges are identical array for array.

    Parameters
    ----------
    genes
        Node names; node ``i`` is ``genes[i]``.
    targets, neighbours
        Node ids of each edge (int64, length E).
    weights
        Edge weights (float32, length E).
    """

    genes: tuple[str, ...]
    targets: np.ndarray
    neighbours: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        genes = tuple(str(g) for g in self.genes)
        targets = np.asarray(self.targets, dtype=np.int64).ravel()
        neighbours = np.asarray(self.neighbours, dtype=np.int64).ravel()
        weights = np.asarray(self.weights, dtype=np.float32).ravel()
        if not len(targets) == len(neighbours) == len(weights):
            raise ValueError("targets, neighbours and weights must have the same length")
        if len(set(genes)) != len(genes):
            raise ValueError("gene names must be unique")
        ids = np.concatenate([targets, neighbours])
        if ids.size and (ids.min() < 0 or ids.max() >= len(genes)):
            raise ValueError("edge node ids must lie in [0, len(genes))")
        keys = (name_rank(genes)[neighbours], -weights, targets)
        # a graph read back from a cache is in order already: checking costs a twentieth of sorting
        order = np.arange(len(targets)) if _in_order(keys) else np.lexsort(keys)
        for name, value in [
            ("genes", genes),
            ("targets", targets[order]),
            ("neighbours", neighbours[order]),
            ("weights", weights[order]),
        ]:
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, name, value)

    @cached_property
    def index(self) -> dict[str, int]:
        """Node id of each gene name."""
        return {g: i for i, g in enumerate(self.genes)}

    @property
    def n_genes(self) -> int:
        """Number of nodes."""
        return len(self.genes)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.targets)

    def to_csr(self) -> sp.csr_matrix:
        """Weighted adjacency matrix, n_genes x n_genes, row = target, column = neighbour."""
        n = self.n_genes
        return sp.csr_matrix((self.weights, (self.targets, self.neighbours)), shape=(n, n))

    def edge_index(self) -> np.ndarray:
        """(2, E) array of [neighbours, targets]: PyG's source -> target, messages flow to the target."""
        return np.stack([self.neighbours, self.targets])

    def neighbours_of(self, gene: str, k: int | None = None) -> list[tuple[str, float]]:
        """The ``k`` (default all) strongest neighbours of ``gene`` as (name, weight), by weight descending."""
        if gene not in self.index:
            raise GearsplanError(
                f"gene '{gene}' is not in the graph", "check the symbol; only annotated genes are graph nodes"
            )
        node = self.index[gene]
        lo, hi = np.searchsorted(self.targets, [node, node + 1])
        hi = hi if k is None else min(hi, lo + k)
        return [(self.genes[j], float(w)) for j, w in zip(self.neighbours[lo:hi], self.weights[lo:hi])]

    def degree(self) -> np.ndarray:
        """Number of neighbours of each node."""
        return np.bincount(self.targets, minlength=self.n_genes)

    def weighted_degree(self) -> np.ndarray:
        """Sum of the neighbour weights of each node."""
        return np.bincount(self.targets, weights=self.weights, minlength=self.n_genes)

    def content_hash(self) -> str:
        """SHA-256 hex digest of the gene names and edge arrays."""
        h = hashlib.sha256("\n".join(self.genes).encode())
        for array in (self.targets, self.neighbours, self.weights):
            h.update(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes())
        return h.hexdigest()


def _in_order(keys: tuple[np.ndarray, ...]) -> bool:
    """Whether the rows are sorted as :func:`numpy.lexsort` would sort them by ``keys`` (the last key first)."""
    steps = [np.diff(key) for key in keys]
    ahead = np.zeros(len(steps[0]), dtype=bool)  # rows already ordered by a later key
    for step in reversed(steps):
        if np.any(~ahead & (step < 0)):
            return False
        ahead |= step > 0
    return True


def name_rank(genes: tuple[str, ...]) -> np.ndarray:
    """Position of each gene in alphabetical order, for tie-breaking by name."""
    order = np.argsort(np.array(genes, dtype=str), kind="stable")
    rank = np.empty(len(genes), dtype=np.int64)
    rank[order] = np.arange(len(genes))
    return rank


def top_k_indices(
    targets: np.ndarray, neighbours: np.ndarray, weights: np.ndarray, k: int, rank: np.ndarray
) -> np.ndarray:
    """Indices of the ``k`` strongest edges of each target (ties: neighbour ``rank`` ascending).

    Weights are compared as float32, the precision a GeneGraph stores.
    """
    order = np.lexsort((rank[neighbours], -weights.astype(np.float32), targets))
    sorted_targets = targets[order]
    position = np.arange(len(order)) - np.searchsorted(sorted_targets, sorted_targets)
    return order[position < k]
