"""The GO convolution table read from the user cache is the one built from the graph, and a damaged file is rebuilt."""

import numpy as np
import torch

from gearsplan.knowledge.go_graph import build_go_graph
from gearsplan.model.go_table_cache import _cache_file, go_table
from gearsplan.model.member_networks import graph_tensors
from gearsplan.model.network import gcn_table


def _built(go):
    return gcn_table(*graph_tensors(go), go.n_genes)


def test_cached_table_equals_the_built_one(tmp_path, monkeypatch):
    monkeypatch.setenv("GEARSPLAN_CACHE_DIR", str(tmp_path))
    go = build_go_graph()
    first = go_table(go)
    assert _cache_file(go).exists()
    for cached, built in zip(go_table(go), _built(go), strict=True):
        assert torch.equal(cached, built)
    assert all(torch.equal(a, b) for a, b in zip(first, _built(go), strict=True))


def test_a_damaged_or_foreign_file_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("GEARSPLAN_CACHE_DIR", str(tmp_path))
    go = build_go_graph()
    file = _cache_file(go)
    file.parent.mkdir(parents=True)
    file.write_bytes(b"not a zip")
    assert torch.equal(go_table(go)[0], _built(go)[0])
    out_of_range = np.full((go.n_genes, 2), go.n_genes, dtype=np.int64)
    np.savez(file, neighbours=out_of_range, weights=np.ones((go.n_genes, 2), dtype=np.float32))
    assert torch.equal(go_table(go)[1], _built(go)[1])
