"""The GO graph's convolution table (:func:`~gearsplan.model.network.gcn_table`) kept in the user cache.

Every model (trained or loaded) needs the table of its 20,728-gene GO graph before it can predict; building it costs about 0.5 s of
CPU, reading it back about 0.005 s (measured on 2026-12-08 by timing :func:`go_table` of
``build_go_graph()`` with ``time.process_time`` before and after its file was written), a sixth of ``predict``'s
3 s start-up goal. The file is keyed on the graph's content, the gearsplan version and :data:`_CACHE_VERSION`, written
atomically, read without pickle, and checked for shape and range; a missing or unreadable one is rebuilt.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import torch

from gearsplan import __version__
from gearsplan.knowledge.gene_graph import GeneGraph
from gearsplan.model.network import gcn_table
from gearsplan.paths import cache_dir, save_cache

#: Raise when :func:`~gearsplan.model.network.gcn_table` changes what it computes, so older files are not read.
_CACHE_VERSION = 1


def go_table(go: GeneGraph) -> tuple[torch.Tensor, torch.Tensor]:
    """The normalised in-neighbour table of ``go`` (neighbours, weights; genes x widest in-degree), from the cache when
    it holds one for this graph, else built and stored."""
    file = _cache_file(go)
    table = _load(file, go.n_genes)
    if table is None:
        from gearsplan.model.member_networks import graph_tensors  # here: that module imports this one

        table = gcn_table(*graph_tensors(go), go.n_genes)
        save_cache(file, neighbours=table[0].numpy(), weights=table[1].numpy())
    return table


def _cache_file(go: GeneGraph) -> Path:
    key = f"{go.content_hash()};gearsplan={__version__};version={_CACHE_VERSION}"
    return cache_dir() / "go_table" / f"{hashlib.sha256(key.encode()).hexdigest()}.npz"


def _load(file: Path, n_genes: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The cached table, or None when the file is missing, unreadable or does not fit a graph of ``n_genes``."""
    try:
        with np.load(file, allow_pickle=False) as data:
            neighbours, weights = data["neighbours"], data["weights"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    fits = (
        neighbours.dtype == np.int64
        and weights.dtype == np.float32
        and neighbours.ndim == 2
        and neighbours.shape == weights.shape
        and neighbours.shape[0] == n_genes
        and neighbours.size > 0
        and 0 <= neighbours.min()
        and neighbours.max() < n_genes
    )
    return (torch.from_numpy(neighbours), torch.from_numpy(weights)) if fits else None
