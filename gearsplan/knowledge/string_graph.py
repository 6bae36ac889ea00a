"""An optional STRING protein-association graph, an alternative knowledge graph to GO."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gearsplan.data.embedded import STRING_V12
from gearsplan.knowledge.gene_graph import GeneGraph, top_k_indices


def string_graph(path: Path | str = STRING_V12, min_score: int = 400, k: int = 20) -> GeneGraph:
    """Each gene's ``k`` strongest STRING partners, weight = combined score / 1000.

    The default ``min_score`` of 400 is STRING's own "medium confidence" cut-off; on the shipped
    file it keeps every edge (scores >= 700, plus each gene's 3 best of 400-699, which give
    sparsely connected genes a few neighbours); the top-k then favours the high-confidence edges.

    Parameters
    ----------
    path
        TSV with columns ``symbol_a``, ``symbol_b``, ``combined_score`` (0-1000); associations
        are undirected, so each is added in both directions.
    min_score
        Edges need a combined score of at least this.
    k
        Neighbours kept per gene.

    Notes
    -----
    Every gene of the file is a node, even when ``min_score`` leaves it without edges.
    """
    table = pd.read_csv(path, sep="\t", dtype={"symbol_a": str, "symbol_b": str})
    codes, genes = pd.factorize(pd.concat([table["symbol_a"], table["symbol_b"]]), sort=True)
    a, b = np.split(codes.astype(np.int64), 2)
    score = table["combined_score"].to_numpy()
    keep = (score >= min_score) & (a != b)
    edges = pd.DataFrame(
        {
            "target": np.concatenate([a[keep], b[keep]]),
            "neighbour": np.concatenate([b[keep], a[keep]]),
            "weight": np.tile(score[keep] / 1000.0, 2),
        }
    )
    # A pair listed twice (either orientation) keeps its best score.
    edges = edges.groupby(["target", "neighbour"], as_index=False)["weight"].max()
    targets, neighbours, weights = (edges[c].to_numpy() for c in ("target", "neighbour", "weight"))
    best = top_k_indices(targets, neighbours, weights, k, np.arange(len(genes)))
    return GeneGraph(tuple(genes), targets[best], neighbours[best], weights[best])
