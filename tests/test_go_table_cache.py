"""The GO convolution table and the GO term matrix read from the user cache are the ones built, and a damaged file is rebuilt."""

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


def test_the_go_term_matrix_read_back_from_the_cache_is_the_built_one(tmp_path, monkeypatch):
    """A cold cache builds the genes x terms matrix from gene2go and stores it; a damaged file is rebuilt."""
    from gearsplan.knowledge import go_graph

    monkeypatch.setenv("GEARSPLAN_CACHE_DIR", str(tmp_path))
    built = go_graph.go_term_matrix()
    for damage in (None, b"not a zip"):
        go_graph._cached_term_matrix.cache_clear()
        files = list((tmp_path / "go_terms").glob("*.npz"))
        if damage is not None:
            files[0].write_bytes(damage)
        genes, terms, matrix = go_graph.cached_term_matrix()
        assert (genes, terms) == built[:2] and (matrix != built[2]).nnz == 0 and matrix.dtype == np.float32
    assert len(list((tmp_path / "go_terms").glob("*.npz"))) == 1


def test_a_graph_given_its_edges_in_any_order_is_the_same_graph():
    """Edges already in order (a graph read from the cache) are kept as they are; any other order is sorted."""
    from gearsplan.knowledge.gene_graph import GeneGraph

    go = build_go_graph()
    shuffled = np.random.default_rng(0).permutation(go.n_edges)
    again = GeneGraph(go.genes, go.targets[shuffled], go.neighbours[shuffled], go.weights[shuffled])
    assert again.content_hash() == go.content_hash()
    assert GeneGraph(go.genes, go.targets, go.neighbours, go.weights).content_hash() == go.content_hash()
