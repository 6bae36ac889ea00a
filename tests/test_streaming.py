"""Screens larger than memory: streamed in blocks, on a Dask cluster, and full-transcriptome gene selection, on the embedded data."""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp

from gearsplan.data.cell_pass import parse_memory
from gearsplan.data.de_genes import de_genes
from gearsplan.data.embedded import NORMAN2019
from gearsplan.data.pseudobulk import pseudobulk
from gearsplan.data.screen import Reading, read_screen
from gearsplan.errors import GearsplanError

#: A budget far below the embedded files: they are streamed in blocks of the fewest cells (256).
TINY = Reading(max_memory=10_000)


def assert_same_statistics(streamed, whole) -> None:
    """Pseudobulk, DE genes and control cells of two reads of one screen agree to float tolerance."""
    assert streamed.streamed and not whole.streamed and streamed.genes == whole.genes
    assert list(streamed.keys) == list(whole.keys)
    a, b = pseudobulk(streamed), pseudobulk(whole)
    assert a.keys == b.keys and np.array_equal(a.n_cells, b.n_cells)
    for name in ("means", "control", "noise"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-6, atol=1e-9)
    top_a, top_b = de_genes(a), de_genes(b)
    assert all(set(top_a.top[k]) == set(top_b.top[k]) for k in a.keys)
    control_a, control_b = streamed.cell_statistics().control, whole.cell_statistics().control
    assert abs(control_a - control_b).max() < 1e-6


@pytest.fixture(scope="module")
def raw_counts(tmp_path_factory):
    """The embedded Norman cells as integer counts (a file of raw counts, as a download holds)."""
    cells = ad.read_h5ad(NORMAN2019)
    cells.X = sp.csr_matrix(np.rint(np.expm1(cells.X.toarray()) * 10).astype(np.float32))
    path = tmp_path_factory.mktemp("raw") / "norman_counts.h5ad"
    cells.write_h5ad(path)
    return path


def test_streamed_log_data_equal_the_whole_read(screen):
    streamed = read_screen(reading=TINY)
    assert any("streamed" in note for note in streamed.notes)
    assert_same_statistics(streamed, screen)


def test_streamed_raw_counts_are_normalised_as_the_whole_read(raw_counts):
    streamed, whole = read_screen(raw_counts, reading=TINY), read_screen(raw_counts)
    assert any("raw counts" in note for note in streamed.notes)
    assert_same_statistics(streamed, whole)


def test_dask_cluster_equals_the_streamed_pass():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        on_dask = read_screen("papalexi", reading=Reading(scheduler=cluster.scheduler_address))
    streamed = read_screen("papalexi", reading=TINY)
    a, b = pseudobulk(on_dask), pseudobulk(streamed)
    assert any(cluster.scheduler_address in note for note in on_dask.notes)
    assert np.array_equal(a.n_cells, b.n_cells)
    np.testing.assert_allclose(a.means, b.means, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.noise, b.noise, rtol=1e-9, atol=1e-12)
    assert on_dask.cell_statistics().control.shape == streamed.cell_statistics().control.shape


def test_gene_selection_keeps_every_measured_perturbed_gene(screen):
    selected = read_screen(reading=Reading(genes=100))
    perturbed = set(screen.perturbed_genes()) & set(screen.genes)
    assert set(selected.genes) >= perturbed and 100 < len(selected.genes) <= 100 + len(perturbed)
    assert selected.selection.flavour == "seurat" and selected.selection.n_genes == len(screen.genes)
    assert any("most variable" in note for note in selected.notes)
    # the kept genes' statistics are those of the whole screen, column for column
    columns = [screen.genes.index(g) for g in selected.genes]
    np.testing.assert_allclose(pseudobulk(selected).means, pseudobulk(screen).means[:, columns], rtol=1e-12)


def test_raw_counts_are_selected_on_counts_and_streamed_alike(raw_counts):
    whole = read_screen(raw_counts, reading=Reading(genes=100))
    streamed = read_screen(raw_counts, reading=Reading(max_memory=10_000, genes=100))
    assert whole.selection.flavour == "seurat_v3" and whole.genes == streamed.genes
    assert_same_statistics(streamed, whole)


def test_damaged_large_file_ends_in_one_line(run_cli, tmp_path):
    damaged = tmp_path / "damaged.h5ad"
    data = NORMAN2019.read_bytes()
    damaged.write_bytes(data[: len(data) * 2 // 3])
    code, out, err = run_cli("data", "info", str(damaged), "--max-memory", "10KB")
    assert code == 2 and "cannot read" in err and len(err.strip().splitlines()) <= 2 and "Traceback" not in err


def test_memory_sizes_are_read_or_refused(run_cli):
    assert parse_memory("2GB") == 2 << 30 and parse_memory("1.5m") == int(1.5 * 2**20) and parse_memory("4096") == 4096
    with pytest.raises(GearsplanError):
        parse_memory("lots")
    code, _, err = run_cli("data", "info", "--max-memory", "0MB")
    assert code == 2 and "--max-memory" in err


def test_a_streamed_screen_trains(run_cli, tmp_path):
    """Training needs no cells beyond the statistics: set means paired with the kept control cells."""
    code, out, err = run_cli(
        "train", "--max-memory", "10KB", "--epochs", "2", "--ensemble", "2", "--out", tmp_path / "m", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["perturbations_learned"] == 33
    summary = json.loads((tmp_path / "m" / "metadata.json").read_text())["screen"]
    assert summary["streamed"] and summary["gene_selection"] is None


def test_no_scheduler_address_ends_in_one_line(run_cli):
    code, _, err = run_cli("data", "info", "--scheduler", "nonsense")
    assert code == 2 and "no Dask scheduler address" in err and "Traceback" not in err
