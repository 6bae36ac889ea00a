"""Predicted cells for Arc Institute's cell-eval, on the real embedded data: the layout, the CLI's --out, and cell-eval itself where installed."""

import subprocess
import sys

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from gearsplan.analysis.export import CONTROL_LABEL, PERT_COL, predicted_cells
from gearsplan.analysis.prediction import screen_model
from gearsplan.data.conditions import CONTROL_KEY
from gearsplan.model.bundle import load_bundle
from gearsplan.paths import atomic_path

KEYS = ["CEBPB+FOSB", "KLF1"]  # an unseen pair and a measured single


@pytest.fixture(scope="module")
def saved_bundle(trained_bundle_dir):
    return load_bundle(trained_bundle_dir)


def measured_cells(screen, keys):
    """The screen's cells of ``keys`` and of control, named as cell-eval expects."""
    real = screen.adata[screen.keys.isin([CONTROL_KEY, *keys]).to_numpy()].copy()
    real.obs[PERT_COL] = real.obs["gearsplan_key"].astype(str).replace(CONTROL_KEY, CONTROL_LABEL)
    return real


def test_predicted_cells_are_control_cells_moved_by_the_predicted_change(saved_bundle, screen, bulk, tmp_path):
    adata = predicted_cells(saved_bundle, screen, bulk, KEYS, cells=60, seed=3)
    model = screen_model(saved_bundle, bulk)
    prediction = model.predict(KEYS)
    labels = adata.obs[PERT_COL]
    assert list(labels.cat.categories) == [CONTROL_LABEL, *KEYS] and labels.value_counts().to_dict() == {
        CONTROL_LABEL: 60,
        **dict.fromkeys(KEYS, 60),
    }
    assert tuple(adata.var_names) == model.genes and adata.obs_names.is_unique
    assert adata.X.dtype == np.float32 and adata.layers["sd"].dtype == np.float32 and adata.X.min() >= 0

    control = (labels == CONTROL_LABEL).to_numpy()
    screen_control = screen.adata[adata.obs["control_cell"][control].to_numpy()]
    assert (screen_control.obs["gearsplan_key"] == CONTROL_KEY).all() and adata.obs["control_cell"][control].is_unique
    base = screen_control.X.toarray()
    np.testing.assert_allclose(adata.X[control], base, rtol=1e-6, atol=1e-6)
    assert not adata.layers["sd"][control].any()
    for row, key in enumerate(KEYS):
        rows = (labels == key).to_numpy()
        assert (adata.obs["control_cell"][rows].to_numpy() == adata.obs["control_cell"][control].to_numpy()).all()
        np.testing.assert_allclose(adata.X[rows], np.maximum(base + prediction.mean[row], 0), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            adata.layers["sd"][rows], np.broadcast_to(prediction.total_sd[row], base.shape), rtol=1e-5, atol=1e-6
        )
        unfloored = (base + prediction.mean[row] >= 0).all(
            axis=0
        )  # where no cell was floored, the means differ by the change
        assert unfloored.sum() > len(model.genes) / 2
        np.testing.assert_allclose(
            (adata.X[rows].mean(axis=0) - adata.X[control].mean(axis=0))[unfloored],
            prediction.mean[row][unfloored],
            atol=1e-5,
        )

    info = adata.uns["gearsplan"]
    assert info["model"] == str(saved_bundle.source) and info["data"] == screen.source
    assert (info["pert_col"], info["control_pert"], info["cells_per_set"], info["seed"]) == (
        PERT_COL,
        CONTROL_LABEL,
        60,
        3,
    )
    path = tmp_path / "pred.h5ad"
    with atomic_path(path) as temporary:
        adata.write_h5ad(temporary)
    back = ad.read_h5ad(path)
    np.testing.assert_array_equal(back.X, adata.X)
    np.testing.assert_array_equal(back.layers["sd"], adata.layers["sd"])
    pd.testing.assert_frame_equal(back.obs, adata.obs)
    assert back.uns["gearsplan"]["control_pert"] == CONTROL_LABEL and list(back.var_names) == list(adata.var_names)


def test_the_control_cells_are_drawn_by_the_seed_and_never_more_than_the_screen_has(saved_bundle, screen, bulk):
    draw = lambda seed, cells=30: (
        predicted_cells(saved_bundle, screen, bulk, ["KLF1"], cells=cells, seed=seed).obs["control_cell"].tolist()
    )  # noqa: E731
    assert draw(1) == draw(1) and draw(1) != draw(2)
    n_control = int((screen.keys == CONTROL_KEY).sum())
    every = predicted_cells(saved_bundle, screen, bulk, ["KLF1", "KLF1"], cells=10 * n_control)
    assert every.n_obs == 2 * n_control and every.uns["gearsplan"]["cells_per_set"] == n_control


def test_predict_out_writes_the_cells_and_says_so(run_cli, trained_bundle_dir, tmp_path):
    path = tmp_path / "pred.h5ad"
    code, out, err = run_cli(
        "predict", "FOSB", "CEBPB", "--model", trained_bundle_dir, "--out", path, "--cells", "20", "--json"
    )
    assert code == 0 and out.lstrip().startswith("{")
    assert f"wrote 20 predicted cells of CEBPB+FOSB and 20 control cells ({CONTROL_LABEL}) to {path}" in " ".join(
        err.split()
    )
    written = ad.read_h5ad(path)
    assert written.n_obs == 40 and set(written.obs[PERT_COL]) == {CONTROL_LABEL, "CEBPB+FOSB"}


@pytest.mark.parametrize("name", ["pred.csv", "pred", "folder.h5ad"])
def test_predict_out_refuses_a_path_that_is_no_h5ad_file_in_one_line(run_cli, tmp_path, name):
    (tmp_path / "folder.h5ad").mkdir()
    code, out, err = run_cli("predict", "FOSB", "--out", tmp_path / name)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert ("does not end in .h5ad" in err or "is a directory" in err) and "hint:" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.h5ad"] and not any(
        (tmp_path / "folder.h5ad").iterdir()
    )


def test_cell_eval_run_scores_the_written_prediction_with_its_defaults(run_cli, trained_bundle_dir, screen, tmp_path):
    """``cell-eval run`` with no --pert-col or --control-pert reads ``predict --out``; a measured pair is predicted near its measurement."""
    pytest.importorskip("cell_eval")
    pred, real = tmp_path / "pred.h5ad", tmp_path / "real.h5ad"
    code, _, _ = run_cli("predict", "KLF1", "MAP2K6", "--model", trained_bundle_dir, "--out", pred)
    assert code == 0
    measured_cells(screen, ["KLF1+MAP2K6"]).write_h5ad(real)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "cell_eval",
            "run",
            "-ap",
            str(pred),
            "-ar",
            str(real),
            "-o",
            str(tmp_path / "scores"),
            "--num-threads",
            "1",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results = pd.read_csv(tmp_path / "scores" / "results.csv")
    assert results["perturbation"].tolist() == ["KLF1+MAP2K6"]
    assert results["pearson_delta"].iloc[0] > 0.5
