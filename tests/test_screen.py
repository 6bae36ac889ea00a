"""Reading real screens in the forms labs store them."""

import numpy as np
import scipy.sparse as sp

from gearsplan.data.gene_names import gene_table
from gearsplan.data.normalise import looks_like_counts
from gearsplan.data.screen import read_screen


def test_embedded_screen(screen):
    assert screen.adata.shape == (3375, 500)
    assert screen.condition_col == "condition"
    assert screen.control_labels == ("control",)
    assert len(screen.perturbations) == 33
    assert "KLF1+MAP2K6" in screen.perturbations and "KLF1" in screen.perturbations
    assert (screen.keys == "ctrl").sum() == 100
    assert any("log-normalised already" in n for n in screen.notes)


def test_raw_counts_are_detected_and_normalised(norman, tmp_path):
    # Undo the log1p and scale each cell back to its real total count: integer counts.
    logged = norman.X.toarray()
    counts = np.expm1(logged)
    counts = np.round(counts / counts.sum(axis=1, keepdims=True) * norman.obs["ncounts"].to_numpy()[:, None])
    norman.X = sp.csr_matrix(counts)
    assert looks_like_counts(norman.X)
    norman.write_h5ad(tmp_path / "counts.h5ad")
    screen = read_screen(tmp_path / "counts.h5ad")
    assert any("raw counts" in n for n in screen.notes)
    X = screen.adata.X.toarray()
    assert not looks_like_counts(screen.adata.X)
    assert np.allclose(np.expm1(X).sum(axis=1), np.median(counts.sum(axis=1)), rtol=1e-3)
    # the file was normalised over the whole transcriptome, we over its 500 genes: close, not equal
    assert np.corrcoef(X.ravel(), logged.ravel())[0, 1] > 0.8


def test_ensembl_var_names_become_symbols(norman, tmp_path):
    to_ensembl = {}
    for ensembl, symbol in gene_table().ensembl.items():
        to_ensembl.setdefault(symbol, ensembl)
    mapped = [to_ensembl.get(g, g) for g in norman.var_names]
    assert sum(m.startswith("ENSG") for m in mapped) > 400
    norman.var_names = mapped
    norman.write_h5ad(tmp_path / "ensembl.h5ad")
    screen = read_screen(tmp_path / "ensembl.h5ad")
    assert "HBZ" in screen.genes and "HBG2" in screen.genes
    assert any("Ensembl" in n for n in screen.notes)


def test_symbol_column_is_used(norman, tmp_path):
    norman.var["gene_name"] = norman.var_names.to_numpy()
    norman.var_names = [f"feature{i}" for i in range(norman.n_vars)]
    norman.write_h5ad(tmp_path / "named.h5ad")
    assert read_screen(tmp_path / "named.h5ad").genes[:3] == tuple(norman.var["gene_name"][:3])


def test_other_spellings_of_conditions_and_controls(norman, tmp_path):
    labels = norman.obs["condition"].astype(str)
    norman.obs = norman.obs.drop(columns="condition")
    norman.obs["perturbation"] = labels.replace({"control": "non-targeting", "KLF1": "EKLF+ctrl", "KLF1+MAP2K6": "MAP2K6_KLF1"}).to_numpy()
    norman.write_h5ad(tmp_path / "spelled.h5ad")
    screen = read_screen(tmp_path / "spelled.h5ad")
    assert screen.condition_col == "perturbation"
    assert screen.control_labels == ("non-targeting",)
    assert "KLF1" in screen.perturbations and "KLF1+MAP2K6" in screen.perturbations
    assert any("'EKLF' read as 'KLF1'" in n for n in screen.notes)


def test_column_and_control_can_be_named(norman, tmp_path):
    norman.obs["guide"] = norman.obs["condition"].astype(str).replace({"control": "NTC"}).to_numpy()
    norman.obs = norman.obs.drop(columns="condition")
    norman.write_h5ad(tmp_path / "custom.h5ad")
    screen = read_screen(tmp_path / "custom.h5ad", condition_col="guide", control="NTC")
    assert (screen.keys == "ctrl").sum() == 100 and len(screen.perturbations) == 33


def test_a_screen_read_by_a_relative_path_remembers_it_absolutely(norman, tmp_path, monkeypatch):
    """A bundle names its screen; a relative name broke every command run from another folder."""
    norman.write_h5ad(tmp_path / "screen.h5ad")
    monkeypatch.chdir(tmp_path)
    assert read_screen("screen.h5ad").source == str(tmp_path.resolve() / "screen.h5ad")
