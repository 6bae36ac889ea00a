from dataclasses import replace

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.stats as stats

from gearsplan.data.cell_pass import in_memory_statistics
from gearsplan.data.de_genes import de_genes
from gearsplan.data.pseudobulk import pseudobulk
from gearsplan.data.screen import KEY_COLUMN, read_screen


def test_means_match_a_direct_average(screen, bulk):
    X = screen.adata.X.toarray()
    for key in ("KLF1", "KLF1+MAP2K6", "FOXL2+HOXB9"):
        cells = (screen.keys == key).to_numpy()
        assert np.allclose(bulk.means[bulk.rows([key])[0]], X[cells].mean(axis=0))
        assert bulk.n_cells[bulk.rows([key])[0]] == cells.sum()
    assert np.allclose(bulk.control, X[(screen.keys == "ctrl").to_numpy()].mean(axis=0))


def test_noise_is_the_sampling_variance_of_each_mean_change(screen, bulk):
    X = screen.adata.X.toarray()
    control = X[(screen.keys == "ctrl").to_numpy()]
    for key in ("KLF1", "KLF1+MAP2K6"):
        cells = X[(screen.keys == key).to_numpy()]
        expected = cells.var(axis=0, ddof=1) / len(cells) + control.var(axis=0, ddof=1) / len(control)
        np.testing.assert_allclose(bulk.noise[bulk.rows([key])[0]], expected, rtol=1e-5, atol=1e-12)
    assert set(bulk.single_noise(bulk.keys)) == {k for k in bulk.keys if "+" not in k}


def test_dense_and_sparse_agree(screen):
    codes = screen.keys.cat.codes.to_numpy()
    control = screen.keys.cat.categories.get_loc("ctrl")
    sparse = in_memory_statistics(screen.adata.X, codes, codes.max() + 1, control)
    dense = in_memory_statistics(screen.adata.X.toarray(), codes, codes.max() + 1, control)
    assert np.allclose(sparse.sums, dense.sums) and np.allclose(sparse.squares, dense.squares)
    assert sparse.counts.sum() == screen.adata.n_obs and (sparse.control != dense.control).nnz == 0


def test_consensus_change_is_the_shared_direction_at_its_typical_size(bulk):
    keys = list(bulk.keys)
    delta = bulk.delta
    unit = delta / np.linalg.norm(delta, axis=1, keepdims=True)
    consensus, mean = bulk.consensus_change(keys), bulk.mean_change(keys)

    def mean_cosine(profile):
        return float((unit @ profile).mean() / np.linalg.norm(profile))

    # the mean of unit vectors is the direction closest on average to every change; the mean change is not
    assert mean_cosine(consensus) > mean_cosine(mean) + 0.02
    rng = np.random.default_rng(0)
    assert all(
        mean_cosine(consensus) >= mean_cosine(consensus + rng.normal(0, 0.01, consensus.shape)) for _ in range(5)
    )
    # its length is the changes' mean projection onto it
    direction = consensus / np.linalg.norm(consensus)
    assert np.isclose(np.linalg.norm(consensus), (delta @ direction).mean())


def test_median_change_is_not_pulled_by_one_strong_perturbation(bulk):
    keys = list(bulk.keys)
    strongest = int(np.argmax(np.linalg.norm(bulk.delta, axis=1)))
    means = bulk.means.copy()
    means[strongest] = bulk.control + 10 * bulk.delta[strongest]
    louder = replace(bulk, means=means)
    moved = lambda a, b: float(np.linalg.norm(a - b) / np.linalg.norm(b))  # noqa: E731
    assert moved(louder.mean_change(keys), bulk.mean_change(keys)) > 1.0
    assert moved(louder.median_change(keys), bulk.median_change(keys)) < 0.2
    # gene by gene, at least half of the changes lie on each side of it (ties count on both)
    median = bulk.median_change(keys)
    assert np.all((bulk.delta <= median).mean(axis=0) >= 0.5) and np.all((bulk.delta >= median).mean(axis=0) >= 0.5)


def test_top_de_genes_are_the_largest_welch_t_scores(screen, bulk, de):
    X = screen.adata.X.toarray()
    control = X[(screen.keys == "ctrl").to_numpy()]
    for key in ("KLF1", "KLF1+SET", "CEBPE+RUNX1T1"):
        cells = X[(screen.keys == key).to_numpy()]
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.nan_to_num(stats.ttest_ind(cells, control, equal_var=False).statistic)
        expected = set(np.argsort(-np.abs(t), kind="stable")[:20])
        assert len(expected & set(de.top[key])) >= 19  # ties at the 20th place may differ
    assert {"HBZ", "HBG2"} <= {screen.genes[i] for i in de.top["KLF1"][:5]}  # KLF1 activation drives globin genes


def test_non_dropout_genes_follow_the_gears_rule(bulk, de):
    for key in bulk.keys:
        row = bulk.means[bulk.rows([key])[0]]
        kept = de.non_dropout[key]
        assert len(kept) == 20
        assert np.all((row[kept] != 0) | (bulk.control[kept] == 0))


@pytest.mark.parametrize("name", ["norman", "papalexi"])
def test_top_de_genes_are_scanpys(name):
    """The t-scores from the pseudobulk alone (as a streamed screen has them) give scanpy's top 20 DE genes."""
    import scanpy as sc

    screen = read_screen(name)
    top = de_genes(pseudobulk(screen)).top
    cells = ad.AnnData(X=screen.adata.X, obs=screen.adata.obs[[KEY_COLUMN]], var=screen.adata.var[[]])
    sc.tl.rank_genes_groups(cells, KEY_COLUMN, reference="ctrl", method="t-test", rankby_abs=True, n_genes=cells.n_vars)
    names = cells.uns["rank_genes_groups"]["names"]
    genes = pd.Index(screen.genes)
    assert all(set(genes.get_indexer(names[key][:20])) == set(top[key]) for key in names.dtype.names)
