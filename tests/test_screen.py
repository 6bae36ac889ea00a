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
    norman.obs["perturbation"] = labels.replace(
        {"control": "non-targeting", "KLF1": "EKLF+ctrl", "KLF1+MAP2K6": "MAP2K6_KLF1"}
    ).to_numpy()
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


def test_cells_with_no_label_are_left_out_not_read_as_scn11a(norman, tmp_path):
    """A missing label read as the string "nan", an alias of SCN11A: a perturbation nobody ran."""
    labels = norman.obs["condition"].astype(object).to_numpy()
    labels[:5] = None
    labels[5:8] = "nan"  # typed by a user: a label like any other
    norman.obs["condition"] = labels
    norman.write_h5ad(tmp_path / "unlabelled.h5ad")
    screen = read_screen(tmp_path / "unlabelled.h5ad")
    assert screen.adata.n_obs == 3370 and (screen.keys == "SCN11A").sum() == 3
    assert screen.warnings == ["5 cells with no label in obs['condition'] left out"]


def test_a_perturbation_with_one_cell_is_left_out_with_a_warning(norman, tmp_path):
    """scanpy's t-test cannot score a group of one cell: every modelling command crashed."""
    plk4 = np.flatnonzero(norman.obs["condition"] == "PLK4")
    norman[np.setdiff1d(np.arange(norman.n_obs), plk4[1:])].write_h5ad(tmp_path / "one_plk4.h5ad")
    screen = read_screen(tmp_path / "one_plk4.h5ad")
    assert (
        "PLK4" not in screen.perturbations
        and len(screen.perturbations) == 32
        and screen.adata.n_obs == 3375 - len(plk4)
    )
    assert len(screen.warnings) == 1 and "single cell" in screen.warnings[0] and "PLK4" in screen.warnings[0]


def test_a_screen_read_by_a_relative_path_remembers_it_absolutely(norman, tmp_path, monkeypatch):
    """A bundle names its screen; a relative name broke every command run from another folder."""
    norman.write_h5ad(tmp_path / "screen.h5ad")
    monkeypatch.chdir(tmp_path)
    assert read_screen("screen.h5ad").source == str(tmp_path.resolve() / "screen.h5ad")


def test_a_single_control_cell_is_one_line(run_cli, norman, tmp_path):
    """Every change is measured against control: one control cell crashed the DE t-test with a traceback."""
    controls = np.flatnonzero(norman.obs["condition"].astype(str) == "control")
    keep = np.ones(norman.n_obs, bool)
    keep[controls[1:]] = False
    norman[keep].copy().write_h5ad(tmp_path / "x.h5ad")
    code, _, err = run_cli("data", "info", tmp_path / "x.h5ad")
    assert code == 2 and "holds 1 control cell" in err and len(err.strip().splitlines()) == 1
