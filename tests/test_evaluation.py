"""Baselines and metrics against hand-computed values, and the documented figures of the data."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.sparse.linalg import svds

from gearsplan.analysis.baselines import Additive, Linear, MeanChange, NoChange, ScaledAdditive
from gearsplan.analysis.evaluation import evaluate, make_predictors
from gearsplan.analysis.metrics import METRICS, discrimination, pearson_rows, perturbation_metrics
from gearsplan.data.prepared import PreparedScreen
from gearsplan.data.splits import loo_splits
from gearsplan.errors import GearsplanError
from gearsplan.interface.tables import best_as_shown
from gearsplan.knowledge.go_profiles import go_profiles
from gearsplan.model.calibration import calibration_factor


def test_metrics_on_hand_made_vectors():
    true = np.array([[1.0, -2.0, 0.5, 0.0, 3.0]])
    predicted = np.array([[2.0, -1.0, -0.5, 0.0, 3.0]])
    top = np.array([[4, 1, 0, 2]])
    scores = perturbation_metrics(predicted, true, top)
    assert scores["mse_top20"][0] == pytest.approx((0 + 1 + 1 + 1) / 4)
    assert scores["frac_opposite_top20"][0] == pytest.approx(1 / 4)  # only the 0.5 vs -0.5 gene flips
    assert scores["mse_top20_vs_no_change"][0] == pytest.approx(0.75 / ((9 + 4 + 1 + 0.25) / 4))
    assert scores["pearson_delta"][0] == pytest.approx(np.corrcoef(predicted[0], true[0])[0, 1])
    assert scores["pearson_delta_top20"][0] == pytest.approx(
        np.corrcoef(predicted[0, [4, 1, 0, 2]], true[0, [4, 1, 0, 2]])[0, 1]
    )


def test_the_centroid_pearson_by_hand_and_undefined_at_the_centroid():
    true = np.array([[1.0, -2.0, 0.5, 0.0, 3.0]])
    centroid = np.array([0.5, -0.5, 0.0, 0.5, 1.0])
    predicted = np.array([[2.0, -1.0, -0.5, 0.0, 3.0]])
    top = np.array([[4, 1, 0, 2]])
    scores = perturbation_metrics(predicted, true, top, centroid)
    assert scores["pearson_delta_centroid"][0] == pytest.approx(
        np.corrcoef([1.5, -0.5, -0.5, -0.5, 2.0], [0.5, -1.5, 0.5, -0.5, 2.0])[0, 1]
    )
    # the mean baseline predicts the training mean change: nothing specific, and the metric is undefined, not 0 or 1
    assert np.isnan(perturbation_metrics(centroid[None], true, top, centroid)["pearson_delta_centroid"][0])
    assert np.isnan(scores["coverage_2sd"][0])  # no spread, no coverage


def test_coverage_counts_top_de_values_within_two_sd():
    true = np.array([[1.0, -2.0, 0.5, 0.0, 3.0]])
    predicted = np.array([[2.0, -1.0, 0.5, 0.0, 3.0]])
    top = np.array([[4, 1, 0, 2]])
    # errors on the top genes 0, 1, 1, 0: an sd of 0 covers exact hits only, half of them
    assert perturbation_metrics(predicted, true, top, sd=np.zeros_like(true))["coverage_2sd"][0] == 0.5
    sd = np.array([[0.5, 0.4, 0.0, 0.0, 0.0]])  # gene 0 within 2 x 0.5, gene 1 not within 2 x 0.4
    assert perturbation_metrics(predicted, true, top, sd=sd)["coverage_2sd"][0] == 0.75


def test_discrimination_by_hand(bulk):
    true = bulk.delta[:4]
    assert (discrimination(true, true) == 1.0).all()  # a perfect prediction is nearer its own truth than any other
    assert np.isnan(discrimination(true[:1], true[:1])).all()  # nothing to tell apart
    # each prediction is another perturbation's truth: its own lies farther than that one, and than the rest as they fall
    shifted = np.roll(true, 1, axis=0)
    distance = np.abs(shifted[:, None, :] - true[None, :, :]).sum(axis=2)
    expected = [(np.delete(distance[i], i) > distance[i, i]).mean() for i in range(4)]
    np.testing.assert_allclose(discrimination(shifted, true), expected)
    assert (
        discrimination(shifted, true)[1] <= 2 / 3
    )  # row 1 predicts row 0's truth exactly: that one lies nearer than its own
    # one prediction for all (the mean baseline): over all perturbations, chance
    same = np.tile(true.mean(axis=0), (4, 1))
    assert discrimination(same, true).mean() == pytest.approx(0.5)


def test_calibration_factor_widens_a_spread_that_covers_too_little():
    assert calibration_factor(0.9545) == pytest.approx(1.0, abs=1e-3)  # ± 2 sd of a normal
    assert calibration_factor(0.6827) == pytest.approx(2.0, abs=1e-3)  # it held ± 1 sd's share: twice as wide
    assert calibration_factor(0.0) == calibration_factor(0.01) > 100  # clipped, not infinite
    assert np.isnan(calibration_factor(None)) and np.isnan(calibration_factor(float("nan")))


def test_pearson_of_a_constant_row_is_undefined():
    assert np.isnan(pearson_rows(np.zeros((1, 4)), np.arange(4.0)[None]))[0]


def test_baselines_by_hand(screen, bulk, de):
    data = PreparedScreen(screen, bulk, de)
    split = next(s for s in loo_splits(screen.perturbations) if s.test == ("KLF1+MAP2K6",))
    delta = {k: bulk.delta[bulk.rows([k])[0]] for k in bulk.keys}
    cells = {k: bulk.n_cells[bulk.rows([k])[0]] for k in bulk.keys}
    mean = sum(cells[k] * delta[k] for k in split.train) / sum(cells[k] for k in split.train)
    additive = Additive().fit(data, split, 1)
    assert np.allclose(additive.predict(["KLF1+MAP2K6"])[0], delta["KLF1"] + delta["MAP2K6"])
    assert np.allclose(additive.predict(["FOXL2+HOXB9"])[0], 2 * mean)  # neither gene measured alone
    assert np.allclose(additive.predict(["CNN1+MAPK1"])[0], mean + delta["MAPK1"])
    assert np.allclose(MeanChange().fit(data, split, 1).predict(["KLF1"])[0], mean)
    assert not NoChange().fit(data, split, 1).predict(["KLF1"]).any()


def test_scaled_additive_by_hand(screen, bulk, de):
    data = PreparedScreen(screen, bulk, de)
    split = next(s for s in loo_splits(screen.perturbations) if s.test == ("KLF1+MAP2K6",))
    delta = {k: bulk.delta[bulk.rows([k])[0]] for k in bulk.keys}
    singles = {k for k in split.train if "+" not in k}
    pairs = [k for k in split.train if k.count("+") == 1 and set(k.split("+")) <= singles]
    assert len(pairs) == 4  # the other pairs of two measured genes
    summed = [delta[k.split("+")[0]] + delta[k.split("+")[1]] for k in pairs]
    scale = sum(delta[k] @ s for k, s in zip(pairs, summed)) / sum(s @ s for s in summed)
    model = ScaledAdditive().fit(data, split, 1)
    assert model.scale == pytest.approx(scale) and scale < 1  # the measured pairs are sub-additive
    assert np.allclose(model.predict(["KLF1+MAP2K6"])[0], scale * (delta["KLF1"] + delta["MAP2K6"]))
    assert np.allclose(model.predict(["KLF1"])[0], delta["KLF1"])  # a single is its measurement, as additive's
    without_pairs = type(split)("singles only", tuple(k for k in split.train if "+" not in k), (), split.test)
    assert ScaledAdditive().fit(data, without_pairs, 1).scale == 1.0


def test_linear_baseline_by_hand(screen, bulk, de):
    """Y ≈ G W Pᵀ + b: G the top principal components of the training changes, P the GO embedding, W the ridge solution."""
    data = PreparedScreen(screen, bulk, de)
    split = next(s for s in loo_splits(screen.perturbations) if s.test == ("KLF1",))
    train = list(split.train)
    b = bulk.mean_change(train)
    centred = (bulk.delta[bulk.rows(train)] - b).T  # genes x perturbations
    g = np.linalg.svd(centred, full_matrices=False)[0][:, :10]
    profiles = go_profiles()
    matrix = profiles.of(
        [[gene] for gene in profiles.index]
    )  # every perturbable gene's unit-length rarity-weighted profile
    right = svds(matrix, k=10, random_state=7)[
        2
    ]  # another start vector: the same subspace, maybe other signs and order
    assert np.allclose(np.linalg.svd(profiles.directions @ right.T)[1], 1.0, atol=1e-6)
    genes = lambda k: k.split("+")  # noqa: E731
    p = np.stack([sum(np.asarray(profiles.of([[x]]) @ right.T).ravel() for x in genes(k)) for k in train])
    w = np.linalg.inv(g.T @ g + 0.1 * np.eye(10)) @ g.T @ centred @ p @ np.linalg.inv(p.T @ p + 0.1 * np.eye(10))
    expected = g @ w @ np.asarray(profiles.of([["KLF1"]]) @ right.T).ravel() + b
    model = Linear().fit(data, split, 1)
    np.testing.assert_allclose(model.predict(["KLF1"])[0], expected, atol=1e-8)
    # a set's embedding is the sum of its genes': its prediction departs from b by the sum of theirs
    both, one, other = model.predict(["KLF1+MAP2K6", "KLF1", "MAP2K6"]) - b
    np.testing.assert_allclose(both, one + other, atol=1e-12)


def _figure(summary, stratum, model, metric="pearson_delta"):
    row = summary[(summary.stratum == stratum) & (summary.model == model)].iloc[0]
    return row[metric], row.get(f"{metric}_sd")


def test_leave_one_out_matches_the_documented_baselines(screen):
    """../shared/data/README.md: additive 0.87 / 0.70, mean change 0.36 / 0.37."""
    summary = evaluate(screen, split="loo").summary()
    assert _figure(summary, "pair_0_unseen", "additive")[0] == pytest.approx(0.87, abs=0.01)
    assert _figure(summary, "pair_1_unseen", "additive")[0] == pytest.approx(0.70, abs=0.01)
    assert _figure(summary, "pair_2_unseen", "mean")[0] == pytest.approx(0.36, abs=0.01)
    assert _figure(summary, "unseen_single", "mean")[0] == pytest.approx(0.37, abs=0.01)
    counts = summary[summary.model == "mean"].set_index("stratum")["n"]
    assert counts.to_dict() == {
        "unseen_single": 18,
        "pair_0_unseen": 5,
        "pair_1_unseen": 3,
        "pair_2_unseen": 7,
        "all": 33,
    }


def test_reference_splits_match_the_documented_baselines(screen):
    """The baselines on the reference GEARS's five splits, as in ../shared/data/README.md."""
    summary = evaluate(screen, split="reference", seeds=range(1, 6)).summary()
    documented = {
        "mean": {"pearson_delta": 0.25, "pearson_delta_top20": 0.34, "mse_top20": 0.180, "frac_opposite_top20": 0.20},
        "additive": {
            "pearson_delta": 0.28,
            "pearson_delta_top20": 0.35,
            "mse_top20": 0.175,
            "frac_opposite_top20": 0.19,
        },
    }
    for model, metrics in documented.items():
        for metric, value in metrics.items():
            assert _figure(summary, "all", model, metric)[0] == pytest.approx(value, abs=0.02), (model, metric)
    assert _figure(summary, "all", "mean")[1] == pytest.approx(0.07, abs=0.01)


def test_unknown_model_is_an_error():
    with pytest.raises(GearsplanError, match="unknown model"):
        make_predictors(["gears-xl"])


def test_no_model_or_two_gears_models_are_refused(tmp_path):
    """Two GEARS models would share the gearsplan rows (their means averaged); none would quietly mean the baselines."""
    with pytest.raises(GearsplanError, match="no model named"):
        make_predictors([])
    with pytest.raises(GearsplanError, match="2 GEARS models named"):
        make_predictors(["gearsplan", str(tmp_path)])


def test_baselines_evaluate_without_torch_and_gearsplan_keeps_its_name():
    """`gearsplan evaluate --model baselines` must not pay for importing torch; the model's name is the one evaluate knows."""
    import subprocess
    import sys

    code = "import sys; from gearsplan.analysis.evaluation import make_predictors; make_predictors(['baselines']); print('torch' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
    from gearsplan.analysis.evaluation import GEARSPLAN
    from gearsplan.model.predictor import GearsPredictor

    assert GearsPredictor.name == GEARSPLAN


def test_values_equal_as_shown_are_marked_best_alike():
    """0.21666666666666667 and ...65 print the same: only one of them was marked best."""
    rows = pd.DataFrame({m: [0.21666666666666667, 0.21666666666666665, 0.5] for m in METRICS})
    best = best_as_shown(rows)
    assert best["frac_opposite_top20"].tolist() == [True, True, False]  # lower is better
    assert best["pearson_delta"].tolist() == [False, False, True]  # higher is better


def test_strata_counts_add_up_over_seeds_that_lack_a_stratum(screen, bulk, de):
    """Reference seed 1 holds no pair of two measured genes: its n was the mean over seed 2 alone (1, not 0.5),
    so the strata summed to 17.5 beside an 'all' of 17."""
    summary = evaluate(PreparedScreen(screen, bulk, de), ["mean"], "reference", (1, 2)).summary().set_index("stratum")
    assert summary.loc["pair_0_unseen", "n"] == 0.5 and summary.loc["pair_0_unseen", "n_seeds"] == 1
    assert summary.drop("all")["n"].sum() == summary.loc["all", "n"] and summary.loc["all", "n_seeds"] == 2


def test_cli_rows_carry_the_strong_baselines_and_the_specific_metrics_within_80_columns(run_cli):
    code, out, _ = run_cli("evaluate", "--split", "simulation", "--json")
    assert code == 0
    rows = json.loads(out)["rows"]
    assert {r["model"] for r in rows} == {"no_change", "mean", "additive", "scaled_additive", "linear"}
    for row in rows:
        assert {"pearson_delta_centroid", "discrimination", "coverage_2sd"} <= set(row)
        assert row["coverage_2sd"] is None  # no baseline has a spread
        assert row["model"] != "mean" or row["pearson_delta_centroid"] is None  # the training mean itself: undefined
    code, out, _ = run_cli("evaluate", "--split", "simulation")  # captured, so Rich's 80 columns
    assert code == 0 and "…" not in out and max(map(len, out.splitlines())) <= 80
    assert "beyond the shared shift" in out and "discrimination" in out
