"""replay: a tiny configuration on the real embedded data gives the contract and a valid learning-curve PNG."""

import json

import matplotlib.image
import numpy as np
import pytest
from rich.console import Console

from gearsplan.data.prepared import PreparedScreen
from gearsplan.design.replay import STRATEGIES, ReplayConfig, draw, mean_interval, perturbations_to_reach, replay
from gearsplan.errors import GearsplanError
from gearsplan.interface.plots import learning_curves_png
from gearsplan.interface.tables import replay_tables
from gearsplan.model.train_config import TrainConfig

TINY = ReplayConfig(
    strategies=("random", "gearsplan"),
    initial=6,
    rounds=2,
    batch=3,
    seeds=(1, 2),
    training=TrainConfig(ensemble=2, epochs=2, patience=2, sets_per_batch=8, cells_per_set=16),
)


@pytest.fixture(scope="module")
def result(screen, bulk, de):
    return replay(PreparedScreen(screen, bulk, de), TINY)


def test_curves_cover_every_strategy_seed_and_round(result):
    curves = result.curves
    assert set(curves["strategy"]) == {"random", "gearsplan"}
    assert len(curves) == 2 * 2 * 3
    assert sorted(curves["n_measured"].unique()) == [6, 9, 12]
    assert np.isfinite(curves[["mse_top20", "one_minus_pearson"]].to_numpy()).all()
    # Round 0 is the shared initial model.
    first = curves[curves["round"] == 0].groupby("seed")["mse_top20"].nunique()
    assert (first == 1).all()


def test_json_contract(result):
    document = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert document["data"].endswith(".h5ad") and document["seeds"] == [1, 2]
    for name in ("random", "gearsplan"):
        row = document["strategies"][name]
        assert {"auc_mean", "auc_ci", "curve", "heldout_auc_mean", "heldout_auc_ci", "heldout"} <= set(row)
        low, high = row["auc_ci"]
        assert low <= row["auc_mean"] <= high
        held = row["heldout"]
        assert held["auc_mean"] == row["heldout_auc_mean"] and held["auc_ci"] == row["heldout_auc_ci"]
        assert [p["n_measured"] for p in held["curve"]] == [6, 9, 12] and min(held["auc_ci"]) >= 0
        assert [p["n_measured"] for p in row["curve"]] == [6, 9, 12]
    versus = document["strategies"]["gearsplan"]["versus_random"]
    assert versus["baseline"] == "random" and len(versus["auc_difference_ci"]) == 2


def test_the_replay_tables_fit_an_80_column_console_uncut(result):
    """Piped output is 80 columns wide; the one nine-column table cut every interval to '[0.04…'."""
    document = result.to_json()
    console = Console(record=True, width=80)
    for table in replay_tables(document):
        console.print(table)
    text = console.export_text()
    assert "…" not in text and max(map(len, text.splitlines())) <= 80
    gearsplan = document["strategies"]["gearsplan"]
    low, high = gearsplan["heldout_auc_ci"]
    assert f"{gearsplan['heldout_auc_mean']:.4f}" in text and f"{low:.4f}–{high:.4f}" in text
    versus = gearsplan["versus_random"]
    assert versus["metric"] == "heldout_mse_top20" and f"{versus['auc_difference_mean']:+.4f}" in text
    assert "against random" in text


def test_no_strategy_ever_picks_the_held_out_quarter(screen, bulk, de):
    config = ReplayConfig(**{**TINY.__dict__, "strategies": STRATEGIES, "seeds": (3,), "rounds": 1})
    result = replay(PreparedScreen(screen, bulk, de), config)
    heldout, initial = draw(sorted(screen.perturbations), config, 3)
    picks = result.picks
    assert set(picks["strategy"]) == set(STRATEGIES) and len(picks) == len(STRATEGIES) * config.batch
    assert not set(picks["key"]) & set(heldout) and not set(picks["key"]) & set(initial)
    assert len(heldout) == round(0.25 * len(screen.perturbations))


def test_learning_curve_png_is_valid(result, tmp_path):
    path = learning_curves_png(result, tmp_path / "curves.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 800
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


def test_same_seeds_same_replay(screen, bulk, de, result):
    again = replay(
        PreparedScreen(screen, bulk, de), ReplayConfig(**{**TINY.__dict__, "strategies": ("random",), "seeds": (1,)})
    )
    expected = result.curves[(result.curves["strategy"] == "random") & (result.curves["seed"] == 1)].reset_index(
        drop=True
    )
    assert np.allclose(
        again.curves[["mse_top20", "one_minus_pearson"]].to_numpy(),
        expected[["mse_top20", "one_minus_pearson"]].to_numpy(),
    )


def test_interval_and_crossing_helpers():
    low, high = mean_interval(np.array([1.0, 2.0, 3.0]))
    assert 1.0 <= low < 2.0 < high <= 3.0
    # Two seeds far apart: a t-interval reached below zero (MSE -0.9); the bootstrap stays within the values.
    low, high = mean_interval(np.array([0.01, 1.2]))
    assert low >= 0.01 and high <= 1.2
    import pandas as pd

    curve = pd.Series([0.5, 0.3, 0.1], index=[10, 20, 30])
    assert perturbations_to_reach(curve, 0.2) == pytest.approx(25.0)
    assert perturbations_to_reach(curve, 0.05) is None


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--strategies", "random,clever"], "unknown strategy"),
        (["--initial", "30", "--rounds", "2", "--batch", "4"], "must stay hidden"),
    ],
)
def test_bad_replay_options_end_in_one_line(run_cli, arguments, message):
    code, _, err = run_cli("replay", "--seeds", "1", *arguments)
    assert code == 2 and message in err and "Traceback" not in err


def test_replay_cli_writes_its_files(run_cli, tmp_path):
    code, out, err = run_cli(
        "replay",
        "--strategies",
        "random,uncertainty",
        "--initial",
        "8",
        "--rounds",
        "1",
        "--batch",
        "4",
        "--seeds",
        "1",
        "--out",
        tmp_path,
        "--json",
    )
    assert code == 0, err
    document = json.loads(out)
    assert set(document["strategies"]) == {"random", "uncertainty"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.csv", "learning_curves.png", "replay.json"]


def test_replay_checks_every_output_before_it_replays(run_cli, tmp_path):
    """With learning_curves.png a directory, the whole replay ran and wrote replay.json and curves.csv before the PNG failed."""
    (tmp_path / "learning_curves.png").mkdir()
    code, out, err = run_cli(
        "replay",
        "--strategies",
        "random",
        "--initial",
        "6",
        "--rounds",
        "1",
        "--batch",
        "1",
        "--seeds",
        "1",
        "--out",
        tmp_path,
    )
    assert (
        code == 2 and "learning_curves.png is a directory" in err and len(err.strip().splitlines()) == 1 and out == ""
    )
    assert [p.name for p in tmp_path.iterdir()] == ["learning_curves.png"]


def test_replay_refuses_unknown_strategy_in_the_api(screen, bulk, de):
    with pytest.raises(GearsplanError):
        replay(PreparedScreen(screen, bulk, de), ReplayConfig(strategies=("best",)))
