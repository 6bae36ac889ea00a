"""How each gene sits in a knowledge graph relative to the genes already perturbed."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from gearsplan.knowledge.gene_graph import GeneGraph


def connectivity(graph: GeneGraph, perturbed: Iterable[str]) -> pd.DataFrame:
    """Degree, weighted degree and number of already-perturbed neighbours of every gene of ``graph``.

    Parameters
    ----------
    graph
        A gene graph; a gene's neighbours are the out-edges of its target row.
    perturbed
        Genes already perturbed; names not in the graph are ignored.

    Returns
    -------
    pandas.DataFrame
        Indexed by gene, columns ``degree``, ``weighted_degree``, ``n_perturbed_neighbours``, ``perturbed``.
    """
    genes = np.array(graph.genes, dtype=str)
    is_perturbed = np.isin(genes, np.array(list(perturbed), dtype=str))
    adjacency = graph.to_csr()
    adjacency.data = np.ones_like(adjacency.data)
    return pd.DataFrame(
        {
            "degree": graph.degree(),
            "weighted_degree": graph.weighted_degree(),
            "n_perturbed_neighbours": (adjacency @ is_perturbed.astype(np.int64)).astype(np.int64),
            "perturbed": is_perturbed,
        },
        index=pd.Index(genes, name="gene"),
    )
