"""The second embedded screen, Papalexi 2021 (THP-1 knockout, raw counts, singles only), by its name."""

from __future__ import annotations

import math
import shutil

import pytest

from gearsplan.analysis.evaluation import evaluate
from gearsplan.analysis.training_run import train_bundle
from gearsplan.data.embedded import NORMAN2019, PAPALEXI2021
from gearsplan.data.prepared import prepare
from gearsplan.data.screen import read_screen
from gearsplan.model.train_config import TrainConfig


@pytest.fixture(scope="module")
def papalexi():
    return read_screen("papalexi")


@pytest.fixture(scope="module")
def prepared(papalexi):
    return prepare(papalexi)


def test_the_name_reads_the_embedded_screen(papalexi):
    assert papalexi.source == str(PAPALEXI2021.resolve())
    assert len(papalexi.perturbations) == 25
    assert papalexi.single_genes() == papalexi.perturbations
    assert papalexi.control_labels == ("non-targeting",)
    assert any("raw counts" in note and "log1p" in note for note in papalexi.notes)
    assert float(papalexi.adata.X.max()) < 20  # log-normalised, no longer counts


def test_a_file_of_that_name_takes_precedence(tmp_path, monkeypatch):
    shutil.copy(NORMAN2019, tmp_path / "papalexi")
    monkeypatch.chdir(tmp_path)
    screen = read_screen("papalexi")
    assert screen.source == str(tmp_path.resolve() / "papalexi")
    assert len(screen.perturbations) == 33


def test_baselines_on_singles_only(prepared):
    summary = evaluate(prepared, ["baselines"], "loo", (1,)).summary()
    assert set(summary["stratum"]) == {"unseen_single", "all"}
    assert set(summary["model"]) == {"no_change", "mean", "additive", "scaled_additive", "linear"}
    assert (summary.loc[summary["stratum"] == "all", "n"] == 25).all()
    rows = summary[summary["stratum"] == "all"].set_index("model")
    # no pairs to learn a scale from: s = 1, and a single is its own measurement or the mean change
    assert (
        rows.loc["scaled_additive", "mse_top20"] == rows.loc["additive", "mse_top20"] == rows.loc["mean", "mse_top20"]
    )
    assert (
        rows.loc["linear", "mse_top20"] != rows.loc["mean", "mse_top20"]
    )  # the GO embedding tells the knockouts apart


def test_a_small_gearsplan_trains_and_scores(papalexi):
    run = train_bundle(papalexi, "simulation", 1, TrainConfig(ensemble=2, epochs=2, patience=2))
    summary = run.evaluation.summary()
    ours = summary[summary["model"] == "gearsplan"].set_index("stratum")
    assert set(ours.index) == {"unseen_single", "all"}
    assert all(math.isfinite(value) for value in ours["pearson_delta"])
    assert len(run.bundle.model.members) == 2
    # singles only: nothing to learn a pair law from, so pairs are the plain sum, and the run says so
    assert run.bundle.model.pair_law == 0.0
    assert any("predicted by the plain sum of their singles (additive)" in w for w in run.warnings)


def test_gi_evaluation_needs_measured_pairs(run_cli):
    code, out, err = run_cli("evaluate", "--gi", "--data", "papalexi")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "measures no pairs" in lines[0] and "hint:" in lines[0]


def test_a_missing_path_names_the_embedded_screens(run_cli, tmp_path):
    code, _, err = run_cli("evaluate", "--data", tmp_path / "none.h5ad")
    assert code == 2 and "no such file" in err and "norman or papalexi" in err
