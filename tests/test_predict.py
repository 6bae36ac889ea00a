"""gearsplan predict on the real embedded data: unseen and measured pairs, GI rows, errors, tables, JSON."""

import json

import numpy as np
import pytest
from rich.console import Console

from gearsplan.analysis.gi_scores import GI_CALLS, GIThresholds
from gearsplan.analysis.prediction import predict_perturbation, screen_model
from gearsplan.data.embedded import NORMAN2019
from gearsplan.data.gene_names import gene_table
from gearsplan.errors import GearsplanError
from gearsplan.interface.tables import gi_table, perturbation_table, top_de_table


def test_two_unseen_genes_predict_through_the_go_graph(trained_bundle, bulk):
    report = predict_perturbation(trained_bundle, bulk, ["FOSB", "CEBPB"])
    assert report.genes == ("FOSB", "CEBPB") and report.key == "CEBPB+FOSB" and not report.in_data
    assert [f.measured for f in report.per_gene] == [False, False]
    assert all(f.in_go and f.go_degree > 0 and f.nearest_measured for f in report.per_gene)
    assert all(g in bulk.keys for f in report.per_gene for g, _ in f.nearest_measured)
    frame = report.top_de
    assert len(frame) == 20 and np.all(np.diff(np.abs(frame["predicted_change"])) <= 0)
    assert frame["additive_change"].notna().all() and frame["measured_change"].isna().all()
    assert (frame["predicted_sd"] >= 0).all()
    (pair,) = report.gi
    assert pair.pair == ("CEBPB", "FOSB") and pair.measured is None
    assert set(pair.agreement) == set(GI_CALLS) and all(0 <= v <= 1 for v in pair.agreement.values())
    assert report.uncertainty.level in ("high", "medium", "low") and np.isfinite(report.uncertainty.z)


def test_an_unmeasured_gene_says_which_alike_measured_perturbations_it_is_pulled_toward(trained_bundle, bulk):
    report = predict_perturbation(trained_bundle, bulk, ["MAP4K1"])  # a MAP4K, like the measured MAP4K3 and MAP4K5
    assert {k for k, _ in report.pulled_toward[:2]} == {"MAP4K3", "MAP4K5"}
    shares = [share for _, share in report.pulled_toward]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) < 1
    model = screen_model(trained_bundle, bulk)
    pulled = dict(zip(model.measured, model.prior.likeness(["MAP4K1"])[0]))
    assert pulled["MAP4K3"] > 10 * pulled["KLF1"]
    console = Console(width=200, record=True)
    console.print(perturbation_table(report))
    assert "pulled toward those alike in GO terms: MAP4K" in " ".join(console.export_text().split())
    assert predict_perturbation(trained_bundle, bulk, ["KLF1"]).pulled_toward == ()  # measured: nothing to pull


def test_a_gene_like_nothing_measured_is_not_trusted_as_a_measured_one_is(trained_bundle, bulk):
    unrelated = predict_perturbation(trained_bundle, bulk, ["OR2A1"]).uncertainty  # an olfactory receptor
    measured = predict_perturbation(trained_bundle, bulk, ["KLF1"]).uncertainty
    assert unrelated.base_sd > unrelated.sd and unrelated.spread >= unrelated.base_sd and unrelated.level != "high"
    assert measured.spread < 1e-9 and measured.base_sd == 0 and measured.signal == np.inf and measured.level == "high"
    document = predict_perturbation(trained_bundle, bulk, ["KLF1"]).to_json()
    assert document["uncertainty"]["signal"] is None and json.dumps(document, allow_nan=False)


def test_one_member_leaves_the_confidence_unknown_not_high(one_member_bundle, bulk):
    """A lone member's sd is zero everywhere: no disagreement was measured, which is not certainty."""
    pair = predict_perturbation(
        one_member_bundle, bulk, ["KLF1", "MAP2K6"]
    ).uncertainty  # measured genes, a predicted pair
    assert pair.sd == 0 and pair.level == "unknown" and np.isnan(pair.signal) and np.isnan(pair.z)
    assert "no disagreement to measure" in pair.standing()
    measured = predict_perturbation(one_member_bundle, bulk, ["KLF1"]).uncertainty
    assert measured.signal == np.inf and measured.level == "high"


def test_a_measured_pair_shows_measured_beside_predicted(trained_bundle, bulk):
    report = predict_perturbation(trained_bundle, bulk, ["KLF1", "MAP2K6"], top=10)
    assert report.in_data and len(report.top_de) == 10
    measured = bulk.delta[bulk.rows(["KLF1+MAP2K6"])[0]]
    expected = measured[[bulk.genes.index(g) for g in report.top_de["gene"]]]
    np.testing.assert_allclose(report.top_de["measured_change"], expected)
    (pair,) = report.gi
    assert pair.measured is not None and set(pair.measured["calls"]) <= set(GI_CALLS)
    assert pair.predicted["calls"], "every pair with finite scores gets at least one call"


def test_three_genes_give_every_pair(trained_bundle, bulk):
    report = predict_perturbation(trained_bundle, bulk, ["KLF1", "MAP2K6", "FOSB"])
    assert [p.pair for p in report.gi] == [("FOSB", "KLF1"), ("FOSB", "MAP2K6"), ("KLF1", "MAP2K6")]


def test_a_set_written_as_a_key_is_its_genes(trained_bundle, bulk):
    assert predict_perturbation(trained_bundle, bulk, ["FOSB+klf1", "MAP2K6"]).genes == ("FOSB", "KLF1", "MAP2K6")


def test_aliases_resolve_and_a_gene_outside_go_never_perturbed_is_refused(trained_bundle, bulk):
    table = gene_table()
    model = trained_bundle.model
    outside = next(
        s for s in sorted(table.symbols) if s not in model.go.index and s not in model.singles and s.isalpha()
    )
    with pytest.raises(GearsplanError, match="no GO annotation"):
        predict_perturbation(trained_bundle, bulk, [outside])
    alias = next(a for a, symbols in sorted(table.aliases.items()) if symbols == ("FOSB",) and a not in table.by_upper)
    assert predict_perturbation(trained_bundle, bulk, [alias.lower()]).genes == ("FOSB",)


def test_tables_render(trained_bundle, bulk):
    report = predict_perturbation(trained_bundle, bulk, ["KLF1", "MAP2K6"])
    console = Console(record=True, width=200)
    for table in (perturbation_table(report), top_de_table(report), gi_table(report, GIThresholds())):
        console.print(table)
    text = console.export_text()
    for expected in (
        "KLF1 + MAP2K6",
        "measured alone",
        "± calibrated sd",
        "additive Δ",
        "measured Δ",
        "magnitude",
        "predicted",
        "measured",
        report.top_de["gene"][0],
    ):
        assert expected in text


def test_the_gi_table_fits_an_80_column_console_uncut(trained_bundle, bulk):
    """Piped output is 80 columns wide; the GI table used to cut its headers and calls to 'magnit…', 'syner…'."""
    report = predict_perturbation(trained_bundle, bulk, ["KLF1", "MAP2K6"])
    console = Console(record=True, width=80)
    console.print(gi_table(report, GIThresholds()))
    text = console.export_text()
    assert "…" not in text and max(map(len, text.splitlines())) <= 80
    calls = {*report.gi[0].predicted["calls"], *report.gi[0].measured["calls"]}
    assert calls and all(call in text for call in calls)
    for label in ("magnitude", "model fit", "similarity", "equality", "predicted", "measured"):
        assert label in text


def test_a_measured_single_says_it_is_predicted_as_its_measurement(trained_bundle, bulk):
    report = predict_perturbation(trained_bundle, bulk, ["KLF1"])
    console = Console(record=True, width=200)
    console.print(perturbation_table(report))
    assert report.in_data and "predicted as its measurement" in console.export_text()
    np.testing.assert_allclose(report.top_de["predicted_change"], report.top_de["measured_change"])


def test_cli_json_follows_the_contract_and_writes_csv(run_cli, trained_bundle_dir, tmp_path):
    target = tmp_path / "top.csv"
    code, out, err = run_cli(
        "predict", "FOSB", "CEBPB", "--model", trained_bundle_dir, "--json", "--csv", target, "--top", "5"
    )
    assert code == 0 and f"wrote the top 5 predicted changes to {target}" in " ".join(err.split())
    document = json.loads(out)
    assert {"genes", "per_gene", "pulled_toward", "uncertainty", "top_de", "gi"} <= set(document)
    assert all(set(row) == {"perturbation", "share"} for row in document["pulled_toward"])
    assert {"gene", "measured", "go_degree", "nearest_measured"} <= set(document["per_gene"][0])
    assert {"z", "level"} <= set(document["uncertainty"])
    assert {
        "gene",
        "control_mean",
        "predicted_change",
        "predicted_sd",
        "calibrated_sd",
        "additive_change",
        "measured_change",
    } == set(document["top_de"][0])
    assert {"coverage", "calibration"} <= set(document["uncertainty"])
    assert {
        "pair",
        "magnitude",
        "model_fit",
        "similarity",
        "equality_of_contribution",
        "calls",
        "agreement",
        "certain",
    } <= set(document["gi"][0])
    assert (
        target.read_text().splitlines()[0].startswith("gene,control_mean") and len(target.read_text().splitlines()) == 6
    )


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["+"], "names no gene"),
        (["ctrl"], "names the control cells"),
        (["FOSB+FOSBB"], "unknown gene 'FOSBB'"),
        (["FOSB", "FOSB"], "FOSB named more than once"),
        (["MLL+KMT2A"], "KMT2A named more than once"),
    ],
)
def test_cli_a_set_naming_no_gene_an_unknown_one_or_one_twice_is_one_line(
    run_cli, trained_bundle_dir, arguments, message
):
    code, out, err = run_cli("predict", *arguments, "--model", trained_bundle_dir)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and out == ""


def test_cli_unknown_gene_is_one_line_with_a_suggestion(run_cli, trained_bundle_dir):
    code, out, err = run_cli("predict", "FOSBB", "--model", trained_bundle_dir)
    assert code == 2 and "unknown gene 'FOSBB'" in err and "did you mean" in err and "FOSB" in err
    assert "Traceback" not in err and out == ""


def test_screen_model_composes_every_measured_single(trained_bundle, bulk):
    model = screen_model(trained_bundle, bulk)
    measured = sorted(k for k in bulk.keys if "+" not in k)
    assert sorted(model.singles) == measured and len(trained_bundle.model.singles) < len(measured)
    np.testing.assert_array_equal(model.singles["KLF1"], bulk.delta[bulk.rows(["KLF1"])[0]])


def test_a_screen_the_model_was_not_trained_on_is_used_with_a_warning(run_cli, trained_bundle_dir, norman, tmp_path):
    code, _, err = run_cli("predict", "FOSB", "--model", trained_bundle_dir, "--data", NORMAN2019)
    assert code == 0 and "warning" not in err
    other = tmp_path / "grown.h5ad"
    norman[norman.obs["condition"] != "KLF1"].copy().write_h5ad(other)
    code, _, err = run_cli("predict", "FOSB", "--model", trained_bundle_dir, "--data", other)
    assert code == 0 and "is not the screen this model was trained on (norman2019_subset.h5ad)" in " ".join(err.split())


def test_the_equal_contribution_note_only_where_a_row_is_starred(trained_bundle, bulk):
    def caption(genes):
        console = Console(width=200, record=True)
        console.print(gi_table(predict_perturbation(trained_bundle, bulk, genes), GIThresholds()))
        return console.export_text()

    assert "*: the two singles' profiles are indistinguishable" in caption(
        ["FOSB", "CEBPB"]
    )  # two unseen genes on one base
    assert " *" not in caption(["KLF1", "MAP2K6"])  # measured singles, told apart


def test_the_confidence_is_calibrated_on_the_held_out_perturbations_like_it(trained_bundle, bulk):
    """KLF1 + MAP2K6 read 'confidence high (251.6×)' with sd 0.001 while its measurement lay 100 sd away:
    the spread is now widened by what its ± 2 sd held on the bundle's held-out pairs of measured genes."""
    from gearsplan.analysis.prediction import TRUSTED_COVERAGE, held_out_coverage
    from gearsplan.model.calibration import calibration_factor

    rows = {(r["stratum"], r["model"]): r for r in trained_bundle.metadata["evaluation"]["rows"]}
    report = predict_perturbation(trained_bundle, bulk, ["KLF1", "MAP2K6"])
    u = report.uncertainty
    stratum = "pair_0_unseen" if ("pair_0_unseen", "gearsplan") in rows else "all"
    assert (
        u.coverage == held_out_coverage(trained_bundle, "pair_0_unseen") == rows[(stratum, "gearsplan")]["coverage_2sd"]
    )
    assert u.calibration == pytest.approx(calibration_factor(u.coverage))
    np.testing.assert_allclose(report.top_de["calibrated_sd"], report.top_de["predicted_sd"] * u.calibration)
    if u.coverage < TRUSTED_COVERAGE:
        assert u.level != "high"
    # a model whose ± 2 sd held nothing is never trusted highly, whatever its members agree on
    blind = type(trained_bundle)(
        trained_bundle.model,
        trained_bundle.training,
        {
            **trained_bundle.metadata,
            "evaluation": {"rows": [{"stratum": "all", "model": "gearsplan", "coverage_2sd": 0.0}]},
        },
    )
    assert predict_perturbation(blind, bulk, ["KLF1", "MAP2K6"]).uncertainty.level in ("medium", "low")
    assert (
        "uncalibrated"
        in predict_perturbation(
            type(trained_bundle)(trained_bundle.model, trained_bundle.training, {}), bulk, ["FOSB"]
        ).uncertainty.standing()
    )


def test_gi_calls_say_whether_they_are_certain(trained_bundle, bulk):
    report = predict_perturbation(trained_bundle, bulk, ["KLF1", "MAP2K6", "FOSB"])
    for pair in report.gi:
        for call in pair.predicted["calls"]:
            assert not pair.certain[call] or pair.agreement[call] >= 0.8  # certain needs 80% of the members
    document = report.to_json()
    for pair in document["gi"]:
        assert set(pair["certain"]) <= set(pair["calls"])
    console = Console(record=True, width=80)
    console.print(gi_table(report, GIThresholds()))
    text = console.export_text()
    uncertain = [(p, c) for p in report.gi for c in p.predicted["calls"] if not p.certain[c]]
    assert all(f"{c}? " in text for _, c in uncertain) and "?: uncertain" in " ".join(text.split())


def test_a_z_score_against_a_flat_reference_is_not_given():
    """On the Papalexi screen the members' spread over the training perturbations barely varied: z read -6658."""
    from gearsplan.analysis.prediction import z_score

    assert z_score(2.0, np.array([1.0, 2.0, 3.0])) == 0.0
    assert z_score(3.0, np.array([1.0, 2.0, 3.0])) == pytest.approx(1.0 / np.std([1.0, 2.0, 3.0]))
    assert np.isnan(z_score(0.5, np.array([0.3, 0.3 + 1e-6, 0.3 - 1e-6])))
    assert np.isnan(z_score(0.5, np.zeros(3)))


def test_the_z_scores_use_the_training_spreads_the_bundle_carries(trained_bundle, trained_bundle_dir, bulk):
    """The reference is the networks' spread on every training perturbation, computed once when the model is trained
    and read back with the bundle, so predict need not run the networks on the training perturbations again."""
    from gearsplan.model.bundle import load_bundle
    from gearsplan.model.ensemble import on_top_genes

    training = trained_bundle.metadata["split"]["train"]
    changes, variances = trained_bundle.model.network_predictions(training)
    mean = changes.mean(axis=0)
    reference = trained_bundle.metadata["spread_reference"]
    assert np.allclose(reference["sd"], on_top_genes(changes.std(axis=0), mean, 20))
    assert np.allclose(reference["head"], on_top_genes(variances.mean(axis=0), mean, 20))
    loaded = load_bundle(trained_bundle_dir)
    assert loaded.metadata["spread_reference"] == reference
    here, there = (predict_perturbation(b, bulk, ["FOSB", "CEBPB"]).uncertainty for b in (trained_bundle, loaded))
    assert np.isfinite(here.z) and here.z == pytest.approx(there.z, abs=1e-9)
