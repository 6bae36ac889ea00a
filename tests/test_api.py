"""The Python API (issue 27's block) on the embedded data, from an AnnData in memory; the runnable example."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gearsplan as gp
from gearsplan.analysis.evaluation import Evaluation
from gearsplan.errors import GearsplanError

ROOT = Path(__file__).parents[1]
#: The columns the issue asks of a suggestion plan.
PLAN_COLUMNS = ["rank", "genes", "kind", "reason", "uncertainty", "reach", "gi_call", "expected_gain"]


def test_the_api_surface_is_exactly_the_documented_one():
    assert sorted(gp.__all__) == sorted(
        ["read_screen", "train", "Model", "load_model", "suggest", "gi_map", "evaluate", "__version__"]
    )
    assert all(getattr(gp, name) is not None for name in gp.__all__)
    with pytest.raises(AttributeError):
        gp.predict  # noqa: B018 (predict is a Model's method)


@pytest.fixture(scope="module")
def api_model(raw_norman):
    """The issue's block, run on the embedded screen given as an AnnData in memory (a quick ensemble)."""
    before = raw_norman.copy()
    screen = gp.read_screen(raw_norman, condition_col=None, control=None)
    assert "gearsplan_key" not in raw_norman.obs and list(raw_norman.var_names) == list(before.var_names)
    assert float(raw_norman.X.sum()) == float(before.X.sum())  # its counts were not normalised in place
    return screen, gp.train(screen, ensemble=3, epochs=3, seed=1, holdout=None, device="auto")


@pytest.fixture(scope="module")
def raw_norman():
    import anndata as ad

    from gearsplan.data.embedded import NORMAN2019

    return ad.read_h5ad(NORMAN2019)


def test_the_api_block_runs_on_an_anndata_in_memory(api_model, tmp_path):
    screen, model = api_model
    assert screen.in_memory and model.perturbations_learned == 33 and model.path is None

    pred = model.predict(["CEBPB+FOSB", "KLF1"])
    assert list(pred.obs_names) == ["CEBPB+FOSB", "KLF1"] and list(pred.var_names) == list(screen.genes)
    assert pred.layers["sd"].shape == pred.shape and (pred.layers["sd"] >= 0).all()
    assert set(pred.obs["confidence"]) <= {"high", "medium", "low", "unknown"}
    assert (pred.obs["uncertainty"] > 0).iloc[0] and list(pred.obs["measured"]) == [False, True]
    # A measured single is predicted as its measurement.
    measured = model.screen.bulk.delta[model.screen.bulk.rows(["KLF1"])[0]]
    assert np.allclose(pred.X[1], measured, atol=1e-5)

    saved = model.save(tmp_path / "model")
    loaded = gp.load_model(saved.path)
    assert loaded.path == saved.path
    assert np.allclose(loaded.predict(["FOSB+CEBPB", "KLF1"]).X, pred.X)  # the same set, however written

    plan = gp.suggest(loaded, budget=6, expand=10)
    assert set(PLAN_COLUMNS) <= set(plan.columns) and list(plan["rank"]) == list(range(1, 7))
    assert set(plan["kind"]) <= {"single", "pair"} and plan["genes"].str.len().gt(0).all()

    gi = gp.gi_map(loaded, ["CEBPB", "FOSB", "KLF1"])
    predicted = gi[gi["source"] == "predicted"]
    assert len(predicted) == 3 and set(zip(predicted["gene_a"], predicted["gene_b"])) == {
        ("CEBPB", "FOSB"),
        ("CEBPB", "KLF1"),
        ("FOSB", "KLF1"),
    }

    ev = gp.evaluate(screen, models=(str(saved.path), "baselines"), split="simulation", seeds=(1,))
    assert isinstance(ev, pd.DataFrame) and {"gearsplan", "no_change", "linear"} <= set(ev["model"])
    assert set(ev["stratum"]) >= {"all"} and ev.attrs["split"] == "simulation" and ev.attrs["seeds"] == [1]


def test_the_prediction_writes_and_its_cells_are_cell_evals_layout(api_model, tmp_path):
    screen, model = api_model
    pred = model.predict("CEBPB+FOSB")
    pred.write_h5ad(tmp_path / "changes.h5ad")
    cells = model.with_screen(screen.adata.copy()).predict_cells(["CEBPB+FOSB"], cells=5, seed=0)
    assert list(cells.obs["target_gene"].cat.categories) == ["non-targeting", "CEBPB+FOSB"]
    moved = cells.X[5:] - cells.X[:5]
    unfloored = cells.X[5:] > 0
    assert np.allclose(moved[unfloored], np.broadcast_to(pred.X[0], moved.shape)[unfloored], atol=1e-5)


def test_the_api_refuses_what_it_cannot_use_in_one_error(api_model):
    screen, model = api_model
    with pytest.raises(GearsplanError, match="unknown gene 'FOOBAR1'"):
        model.predict(["FOOBAR1"])
    with pytest.raises(GearsplanError, match="unknown device"):
        gp.train(screen, device="tpu")
    with pytest.raises(GearsplanError, match="modality"):
        gp.read_screen(screen.adata, mudata_mod="rna")


def test_evaluate_returns_the_rows_evaluate_json_prints(screen):
    from gearsplan.api import evaluation_run

    frame = gp.evaluate(screen, models=("baselines",), split="simulation", seeds=(1,))
    document = evaluation_run(screen, ("baselines",), "simulation", (1,)).to_json()
    assert isinstance(document, dict) and not isinstance(frame, Evaluation)
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    assert rows == document["rows"]


def _fresh_python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout


HEAVY = ("torch", "torch_geometric", "scanpy", "anndata")


def test_importing_gearsplan_and_its_help_load_no_heavy_library():
    code = (
        "import sys, gearsplan\n"
        "sys.argv = ['gearsplan', '--help']\n"
        "from gearsplan.interface.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])"
    )
    assert _fresh_python(code).splitlines()[-1] == "LOADED []"


def test_an_unknown_gene_is_refused_before_torch_is_imported(api_model, tmp_path):
    saved = api_model[1].save(tmp_path / "model")
    code = (
        "import sys\n"
        f"sys.argv = ['gearsplan', 'predict', 'FOOBAR1', '--model', {str(saved.path)!r}]\n"
        "from gearsplan.interface.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exit_:\n    print('EXIT', exit_.code)\n"
        f"print('LOADED', [m for m in {(*HEAVY, 'pandas')!r} if m in sys.modules])"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.splitlines()[-2:] == ["EXIT 2", "LOADED []"]
    assert "unknown gene 'FOOBAR1'" in done.stderr and "did you mean" in done.stderr


@pytest.mark.parametrize("output", ["--json", "--top=5"])
def test_predict_from_a_bundle_imports_neither_anndata_nor_scanpy_nor_pandas(api_model, tmp_path, output):
    """The document and the tables are built from arrays: pandas' import was a tenth of predict's start-up."""
    saved = api_model[1].save(tmp_path / "model")
    code = (
        "import sys\n"
        f"sys.argv = ['gearsplan', 'predict', 'FOSB', 'CEBPB', {output!r}, '--model', {str(saved.path)!r}]\n"
        "from gearsplan.interface.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exit_:\n    print('EXIT', exit_.code)\n"
        "print('LOADED', [m for m in ('torch_geometric', 'scanpy', 'anndata', 'dask', 'pandas') if m in sys.modules])"
    )
    assert _fresh_python(code).splitlines()[-1] == "LOADED []"


def test_the_example_runs(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GEARSPLAN_CACHE_DIR": os.environ.get("GEARSPLAN_CACHE_DIR", "")}
    env = {k: v for k, v in env.items() if v}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "33 perturbations" in done.stdout and "CEBPB+FOSB" in done.stdout and "gearsplan" in done.stdout
