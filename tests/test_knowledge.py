"""Knowledge layer on the real shipped files: GO, co-expression and STRING graphs, connectivity."""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from pathlib import Path

import anndata
import numpy as np
import pytest

from gearsplan.data.embedded import GENE2GO, NORMAN2019, STRING_V12
from gearsplan.errors import GearsplanError
from gearsplan.knowledge.coexpression import coexpression_graph, pearson_matrix
from gearsplan.knowledge.connectivity import connectivity
from gearsplan.knowledge.gene_graph import GeneGraph
from gearsplan.knowledge.go_graph import build_go_graph, go_jaccard
from gearsplan.knowledge.go_profiles import go_profiles
from gearsplan.knowledge.string_graph import string_graph


class ProgressLog:
    """Records progress calls, to tell a cold build from a cache load."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))


@pytest.fixture(scope="session")
def go_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GEARSPLAN_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="session")
def go_build(go_cache: Path) -> tuple[GeneGraph, ProgressLog]:
    log = ProgressLog()
    return build_go_graph(progress=log), log


@pytest.fixture(scope="session")
def go_graph(go_build: tuple[GeneGraph, ProgressLog]) -> GeneGraph:
    return go_build[0]


@pytest.fixture(scope="session")
def go_sets() -> dict[str, set[str]]:
    """GO-term set of every symbol, read straight from the TSV."""
    sets: dict[str, set[str]] = defaultdict(set)
    with gzip.open(GENE2GO, "rt", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            sets[row["symbol"]].add(row["go_id"])
    return dict(sets)


@pytest.fixture(scope="session")
def control_X():
    adata = anndata.read_h5ad(NORMAN2019)
    return adata[adata.obs["condition"] == "control"].X, tuple(adata.var_names)


def set_jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


def test_eno1_ldha_jaccard_matches_documented_value(go_sets):
    expected = set_jaccard(go_sets["ENO1"], go_sets["LDHA"])
    assert expected == pytest.approx(0.18, abs=0.01)
    assert go_jaccard("ENO1", "LDHA") == pytest.approx(expected, abs=1e-12)


def test_go_jaccard_unknown_gene_is_a_user_error():
    with pytest.raises(GearsplanError, match="NOTAGENE"):
        go_jaccard("NOTAGENE", "LDHA")


def test_go_graph_covers_every_annotated_gene(go_graph, go_sets):
    assert go_graph.n_genes == len(go_sets) > 18_000
    assert {"FOSB", "CEBPB"} <= set(go_graph.genes)


def test_go_graph_is_top_20_without_self_loops(go_graph):
    assert go_graph.degree().max() <= 20
    assert not np.any(go_graph.targets == go_graph.neighbours)
    assert go_graph.weights.min() > 0.1
    assert go_graph.weights.max() <= 1.0


def test_go_graph_rows_are_sorted(go_graph):
    key = np.lexsort((go_graph.neighbours, -go_graph.weights, go_graph.targets))
    np.testing.assert_array_equal(key, np.arange(go_graph.n_edges))


@pytest.mark.parametrize("gene", ["FOSB", "CEBPB", "ENO1", "KLF1"])
def test_go_neighbours_are_the_exact_top_20(go_graph, go_sets, gene):
    scores = [(-set_jaccard(go_sets[gene], terms), other) for other, terms in go_sets.items() if other != gene]
    expected = [(other, -s) for s, other in sorted(scores) if -s > 0.1][:20]
    got = go_graph.neighbours_of(gene)
    assert [name for name, _ in got] == [name for name, _ in expected]
    np.testing.assert_allclose([w for _, w in got], [w for _, w in expected], rtol=1e-6)


def test_go_graph_second_call_loads_from_cache(go_build, go_cache):
    first, first_log = go_build
    assert first_log.calls and first_log.calls[-1][0] == first_log.calls[-1][1]
    assert len(list((go_cache / "go_graph").glob("*.npz"))) == 1
    log = ProgressLog()
    second = build_go_graph(progress=log)
    assert log.calls == []
    assert second is not first
    assert second.genes == first.genes
    for name in ("targets", "neighbours", "weights"):
        np.testing.assert_array_equal(getattr(second, name), getattr(first, name))


def test_go_graph_corrupt_cache_is_rebuilt_identically(go_build, go_cache):
    first, _ = go_build
    (cache_file,) = (go_cache / "go_graph").glob("*.npz")
    cache_file.write_bytes(b"not an npz file")
    log = ProgressLog()
    rebuilt = build_go_graph(progress=log)
    assert log.calls, "a corrupt cache must trigger a rebuild"
    assert rebuilt.content_hash() == first.content_hash()
    assert list(cache_file.parent.glob("*.tmp")) == []
    with np.load(cache_file, allow_pickle=False) as data:
        assert data["genes"].dtype.kind == "U"
    log = ProgressLog()
    assert build_go_graph(progress=log).content_hash() == first.content_hash()
    assert log.calls == []


def test_gene_graph_views_agree(go_graph):
    csr = go_graph.to_csr()
    i, j = go_graph.index["FOSB"], go_graph.index["NFIC"]
    assert csr[i, j] == pytest.approx(dict(go_graph.neighbours_of("FOSB"))["NFIC"])
    source, target = go_graph.edge_index()
    np.testing.assert_array_equal(source, go_graph.neighbours)
    np.testing.assert_array_equal(target, go_graph.targets)
    np.testing.assert_allclose(go_graph.weighted_degree(), np.asarray(csr.sum(axis=1)).ravel(), rtol=1e-5)
    assert go_graph.neighbours_of("FOSB", k=3) == go_graph.neighbours_of("FOSB")[:3]
    with pytest.raises(GearsplanError):
        go_graph.neighbours_of("NOTAGENE")


def test_content_hash_tracks_content(go_graph):
    changed = GeneGraph(go_graph.genes, go_graph.targets, go_graph.neighbours, go_graph.weights * 0.5)
    assert changed.content_hash() != go_graph.content_hash()
    same = GeneGraph(go_graph.genes, go_graph.targets[::-1], go_graph.neighbours[::-1], go_graph.weights[::-1])
    assert same.content_hash() == go_graph.content_hash()


def test_coexpression_graph_on_norman_control_cells(control_X):
    X, genes = control_X
    graph = coexpression_graph(X, genes, k=5, threshold=0.4)
    assert graph.genes == genes
    assert graph.n_edges > 0
    assert graph.degree().max() <= 5
    assert graph.weights.min() > 0.4
    assert not np.any(graph.targets == graph.neighbours)

    dense = X.toarray()
    with np.errstate(invalid="ignore"):
        expected = np.abs(np.nan_to_num(np.corrcoef(dense.T)))
    np.fill_diagonal(expected, 0.0)
    for e in range(0, graph.n_edges, 10):
        t, n = graph.targets[e], graph.neighbours[e]
        assert graph.weights[e] == pytest.approx(expected[t, n], rel=1e-5)
    # the kept neighbours of the best-connected gene are its exact top 5 above threshold
    gene = int(np.argmax(graph.degree()))
    top = [genes[j] for j in np.argsort(-expected[gene], kind="stable") if expected[gene, j] > 0.4][:5]
    assert [name for name, _ in graph.neighbours_of(genes[gene])] == top

    from_dense = coexpression_graph(dense, genes, k=5, threshold=0.4)
    np.testing.assert_array_equal(from_dense.neighbours, graph.neighbours)
    np.testing.assert_allclose(from_dense.weights, graph.weights, rtol=1e-6)
    # chunks of cells sum to the same correlations as one pass
    np.testing.assert_allclose(pearson_matrix(X, chunk=7), pearson_matrix(X), atol=1e-5)


def test_string_graph_is_symmetric_top_k():
    graph = string_graph(k=20)
    assert graph.degree().max() <= 20
    assert not np.any(graph.targets == graph.neighbours)
    assert graph.weights.min() >= 0.4 and graph.weights.max() <= 1.0

    with gzip.open(STRING_V12, "rt") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    score = {frozenset((r["symbol_a"], r["symbol_b"])): int(r["combined_score"]) / 1000 for r in rows}
    names = np.array(graph.genes)
    for t, n, w in zip(names[graph.targets[::97]], names[graph.neighbours[::97]], graph.weights[::97]):
        assert w == pytest.approx(score[frozenset((t, n))])

    # an edge t -> n is missing backwards only when n's 20 slots hold partners at least as strong
    csr = graph.to_csr()
    backward = np.asarray(csr[graph.neighbours, graph.targets]).ravel()
    one_way = backward == 0
    full = graph.degree()[graph.neighbours[one_way]] == 20
    weakest = np.array([graph.neighbours_of(g)[-1][1] for g in names[graph.neighbours[one_way]]])
    assert full.all()
    assert np.all(weakest >= graph.weights[one_way])


def test_string_graph_without_top_k_is_exactly_symmetric():
    graph = string_graph(k=10_000)
    csr = graph.to_csr()
    assert graph.n_edges == 2 * 174_962
    assert (csr != csr.T).nnz == 0


def test_string_graph_min_score_filters():
    graph = string_graph(min_score=700, k=20)
    assert graph.weights.min() >= 0.7


def test_connectivity_matches_hand_count(go_graph):
    perturbed = {"KLF1", "MAP2K6", "CEBPB", "CEBPA", "FOSB", "ATF3", "NOT_A_GENE"}
    table = connectivity(go_graph, perturbed)
    assert list(table.columns) == ["degree", "weighted_degree", "n_perturbed_neighbours", "perturbed"]
    assert len(table) == go_graph.n_genes
    assert set(table.index[table["perturbed"]]) == perturbed - {"NOT_A_GENE"}
    for gene in ["CEBPB", "CEBPA", "FOSB", "ATF4", "JUN", "LDHA"]:
        neighbours = go_graph.neighbours_of(gene)
        row = table.loc[gene]
        assert row["degree"] == len(neighbours)
        assert row["weighted_degree"] == pytest.approx(sum(w for _, w in neighbours), rel=1e-5)
        assert row["n_perturbed_neighbours"] == sum(name in perturbed for name, _ in neighbours)
    assert table.loc["CEBPB", "n_perturbed_neighbours"] >= 2  # CEBPA and ATF3 are GO neighbours


def test_go_profiles_weigh_a_rare_shared_term_above_a_common_one(tmp_path):
    # every gene has COMMON; only X and Y have RARE; X and Z share COMMON and one term each
    rows = [("X", "GO:RARE"), ("Y", "GO:RARE"), ("X", "GO:X1"), ("Y", "GO:Y1"), ("Z", "GO:X1"), ("Z", "GO:Z1")]
    rows += [(g, "GO:COMMON") for g in ["X", "Y", "Z", *(f"G{i}" for i in range(20))]]
    rows += [(f"G{i}", "GO:X1") for i in range(10)]
    table = tmp_path / "gene2go.tsv"
    table.write_text("symbol\tgo_id\n" + "".join(f"{g}\t{t}\n" for g, t in rows))
    profiles = go_profiles(table)
    known = profiles.of([["X"], ["Y"], ["Z"], ["UNANNOTATED"], ["Y", "Z"]])
    np.testing.assert_allclose(np.asarray(known.multiply(known).sum(axis=1)).ravel(), [1, 1, 1, 0, 1])
    alike = profiles.cosine([["X"]], known)[0]
    assert alike[0] == pytest.approx(1.0)
    assert alike[1] > alike[2] > 0  # X, Y share the rare term; X, Z the commoner X1 (Jaccard: both 2/4)
    assert alike[3] == 0
    assert alike[2] < alike[4] < alike[1]  # a set's profile is the union of its genes' terms: Z's and Y's
