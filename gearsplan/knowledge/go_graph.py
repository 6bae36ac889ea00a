"""The GEARS perturbation graph: Jaccard similarity of genes' GO-term sets, top-k neighbours per gene."""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from gearsplan.data.embedded import GENE2GO
from gearsplan.errors import GearsplanError
from gearsplan.knowledge.gene_graph import GeneGraph, top_k_indices
from gearsplan.paths import cache_dir, save_cache

# Bump when the way the graph is built changes, so old cache files are not reused.
_CACHE_VERSION = 1
_BLOCK_ROWS = 256


def go_term_matrix(path: Path | str = GENE2GO) -> tuple[tuple[str, ...], tuple[str, ...], sp.csr_matrix]:
    """Binary genes x GO-terms matrix from a gene2go TSV (all ontologies, any evidence code).

    Parameters
    ----------
    path
        Tab-separated file with columns ``symbol`` and ``go_id`` (others ignored).

    Returns
    -------
    genes, terms, matrix
        Sorted unique symbols, sorted unique GO ids, and a float32 CSR matrix with 1 where
        the gene is annotated with the term (repeated evidence lines count once).
    """
    import pandas as pd  # here: only a cold cache builds the matrix, and predict's start-up need not import pandas

    table = pd.read_csv(path, sep="\t", usecols=["symbol", "go_id"], dtype=str)
    gene_ids, genes = pd.factorize(table["symbol"], sort=True)
    term_ids, terms = pd.factorize(table["go_id"], sort=True)
    matrix = sp.csr_matrix(
        (np.ones(len(table), dtype=np.float32), (gene_ids, term_ids)), shape=(len(genes), len(terms))
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return tuple(genes), tuple(terms), matrix


def cached_term_matrix(path: Path | str = GENE2GO) -> tuple[tuple[str, ...], tuple[str, ...], sp.csr_matrix]:
    """:func:`go_term_matrix`, read once per process (again if the file changes); callers must not modify it."""
    return _cached_term_matrix(str(path), os.stat(path).st_mtime_ns)


def go_jaccard(a: str, b: str, path: Path | str = GENE2GO) -> float:
    """Jaccard index of the GO-term sets of genes ``a`` and ``b``."""
    return float(jaccard_to(a, [b], path)[0])


def jaccard_to(gene: str, others: Sequence[str], path: Path | str = GENE2GO) -> np.ndarray:
    """Jaccard index of the GO-term set of ``gene`` with that of each of ``others``, vectorised."""
    genes, _, matrix = cached_term_matrix(path)
    index = {g: i for i, g in enumerate(genes)}
    for name in (gene, *others):
        if name not in index:
            raise GearsplanError(
                f"gene '{name}' has no GO annotation", "use the current HGNC symbol of a GO-annotated gene"
            )
    rows = matrix[[index[g] for g in others]]
    query = matrix[index[gene]]
    shared = np.asarray((rows @ query.T).todense(), dtype=np.float64).ravel()
    sizes = np.asarray(rows.sum(axis=1), dtype=np.float64).ravel()
    return shared / (sizes + float(query.sum()) - shared)


def build_go_graph(
    path: Path | str = GENE2GO,
    k: int = 20,
    min_jaccard: float = 0.1,
    cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> GeneGraph:
    """GO graph over every annotated gene: its ``k`` most GO-similar genes with Jaccard > ``min_jaccard``.

    As in GEARS, an edge needs a Jaccard index strictly above ``min_jaccard``; self-loops are
    left out (GEARS keeps ``k + 1`` neighbours including the gene itself). Ties go to the
    alphabetically first symbol.

    Parameters
    ----------
    path
        gene2go TSV (``symbol``, ``go_id`` columns).
    k
        Neighbours kept per gene.
    min_jaccard
        Edges need a Jaccard index above this.
    cache
        Load from, and save to, ``cache_dir() / "go_graph"``, keyed on the file's bytes and the parameters.
    progress
        Called as ``progress(blocks_done, blocks_total)`` while building.
    """
    cache_file = _cache_file(path, k, min_jaccard) if cache else None
    if cache_file is not None and cache_file.exists():
        graph = _load(cache_file)
        if graph is not None:
            return graph
    genes, _, matrix = go_term_matrix(path)
    graph = _jaccard_top_k(genes, matrix, k, min_jaccard, progress)
    if cache_file is not None:
        save_cache(
            cache_file,
            genes=np.array(graph.genes, dtype=str),
            targets=graph.targets,
            neighbours=graph.neighbours,
            weights=graph.weights,
        )
    return graph


@lru_cache(maxsize=2)
def _cached_term_matrix(path: str, mtime_ns: int) -> tuple[tuple[str, ...], tuple[str, ...], sp.csr_matrix]:
    """:func:`go_term_matrix` from the user cache where it holds the matrix of this file, else built and stored there:
    building it costs about 0.2 s of CPU, reading it back about 0.03 s (``predict``'s prior needs it at start-up)."""
    file = cache_dir() / "go_terms" / f"{_file_digest(path, mtime_ns, f'version={_CACHE_VERSION}')}.npz"
    cached = _load_terms(file)
    if cached is not None:
        return cached
    genes, terms, matrix = go_term_matrix(path)
    save_cache(
        file,
        genes=np.array(genes, dtype=str),
        terms=np.array(terms, dtype=str),
        indptr=matrix.indptr,
        indices=matrix.indices,
    )
    return genes, terms, matrix


def _load_terms(file: Path) -> tuple[tuple[str, ...], tuple[str, ...], sp.csr_matrix] | None:
    """The cached genes x terms matrix, or None when the file is missing, unreadable or malformed."""
    try:
        with np.load(file, allow_pickle=False) as data:
            genes, terms = tuple(data["genes"].tolist()), tuple(data["terms"].tolist())
            indptr, indices = data["indptr"], data["indices"]
        values = np.ones(len(indices), dtype=np.float32)
        return genes, terms, sp.csr_matrix((values, indices, indptr), shape=(len(genes), len(terms)))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


@lru_cache(maxsize=4)
def _file_digest(path: str, mtime_ns: int, salt: str) -> str:
    """SHA-256 of the file's bytes and ``salt``: the key of what the cache holds built from that file."""
    digest = hashlib.sha256(Path(path).read_bytes())
    digest.update(salt.encode())
    return digest.hexdigest()


def _jaccard_top_k(
    genes: tuple[str, ...],
    matrix: sp.csr_matrix,
    k: int,
    min_jaccard: float,
    progress: Callable[[int, int], None] | None,
) -> GeneGraph:
    """Top-k Jaccard neighbours of every gene, computed in row blocks to bound memory."""
    sizes = np.asarray(matrix.sum(axis=1), dtype=np.float64).ravel()
    transposed = matrix.T.tocsr()
    rank = np.arange(len(genes))  # genes are sorted, so node id order is name order
    starts = range(0, len(genes), _BLOCK_ROWS)
    parts = []
    for done, start in enumerate(starts, start=1):
        inter = matrix[start : start + _BLOCK_ROWS] @ transposed
        rows = np.repeat(np.arange(start, start + inter.shape[0]), np.diff(inter.indptr))
        cols = inter.indices.astype(np.int64)
        # float64 so that the strict "> min_jaccard" test matches exact arithmetic
        jaccard = inter.data / (sizes[rows] + sizes[cols] - inter.data)
        keep = (jaccard > min_jaccard) & (rows != cols)
        rows, cols, jaccard = rows[keep], cols[keep], jaccard[keep]
        best = top_k_indices(rows, cols, jaccard, k, rank)
        parts.append((rows[best], cols[best], jaccard[best]))
        if progress is not None:
            progress(done, len(starts))
    targets, neighbours, weights = (np.concatenate(arrays) for arrays in zip(*parts))
    return GeneGraph(genes, targets, neighbours, weights)


def _cache_file(path: Path | str, k: int, min_jaccard: float) -> Path:
    salt = f"k={k};min_jaccard={min_jaccard!r};version={_CACHE_VERSION}"
    return cache_dir() / "go_graph" / f"{_file_digest(str(path), os.stat(path).st_mtime_ns, salt)}.npz"


def _load(file: Path) -> GeneGraph | None:
    """The cached graph, or None when the file is unreadable or malformed."""
    try:
        with np.load(file, allow_pickle=False) as data:
            return GeneGraph(tuple(data["genes"].tolist()), data["targets"], data["neighbours"], data["weights"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
