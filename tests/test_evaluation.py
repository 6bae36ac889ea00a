"""Baselines and metrics against hand-computed values, and the documented figures of the data."""

import numpy as np
import pandas as pd
import pytest

from gearsplan.analysis.baselines import Additive, MeanChange, NoChange
from gearsplan.analysis.evaluation import evaluate, make_predictors
from gearsplan.analysis.metrics import METRICS, pearson_rows, perturbation_metrics
from gearsplan.data.prepared import PreparedScreen
from gearsplan.data.splits import loo_splits
from gearsplan.errors import GearsplanError
from gearsplan.interface.tables import best_as_shown


def test_metrics_on_hand_made_vectors():
    true = np.array([[1.0, -2.0, 0.5, 0.0, 3.0]])
    predicted = np.array([[2.0, -1.0, -0.5, 0.0, 3.0]])
    top = np.array([[4, 1, 0, 2]])
    scores = perturbation_metrics(predicted, true, top)
    assert scores["mse_top20"][0] == pytest.approx((0 + 1 + 1 + 1) / 4)
    assert scores["frac_opposite_top20"][0] == pytest.approx(1 / 4)  # only the 0.5 vs -0.5 gene flips
    assert scores["mse_top20_vs_no_change"][0] == pytest.approx(0.75 / ((9 + 4 + 1 + 0.25) / 4))
    assert scores["pearson_delta"][0] == pytest.approx(np.corrcoef(predicted[0], true[0])[0, 1])
    assert scores["pearson_delta_top20"][0] == pytest.approx(np.corrcoef(predicted[0, [4, 1, 0, 2]], true[0, [4, 1, 0, 2]])[0, 1])


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
    assert counts.to_dict() == {"unseen_single": 18, "pair_0_unseen": 5, "pair_1_unseen": 3, "pair_2_unseen": 7, "all": 33}


def test_reference_splits_match_the_documented_baselines(screen):
    """The baselines on the reference GEARS's five splits, as in ../shared/data/README.md."""
    summary = evaluate(screen, split="reference", seeds=range(1, 6)).summary()
    documented = {
        "mean": {"pearson_delta": 0.25, "pearson_delta_top20": 0.34, "mse_top20": 0.180, "frac_opposite_top20": 0.20},
        "additive": {"pearson_delta": 0.28, "pearson_delta_top20": 0.35, "mse_top20": 0.175, "frac_opposite_top20": 0.19},
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
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
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
