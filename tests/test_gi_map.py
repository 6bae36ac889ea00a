"""GI maps and the held-out GI evaluation on the real embedded data."""

import json
from dataclasses import replace

import numpy as np
import pytest
from conftest import QUICK

from gearsplan.analysis.gi_evaluation import evaluate_gi, scorable_pairs
from gearsplan.analysis.gi_map import COLUMNS, gi_map, gi_map_json, measured_genes
from gearsplan.analysis.gi_scores import GI_CALLS, measured_gi
from gearsplan.data.prepared import PreparedScreen
from gearsplan.errors import GearsplanError


@pytest.fixture(scope="module")
def measured_map(trained_bundle, bulk):
    return gi_map(trained_bundle.model, bulk, measured_genes(bulk))


def test_the_map_of_measured_genes_scores_every_pair_and_the_measured_ones_twice(measured_map, bulk, screen, de):
    genes = measured_genes(bulk)
    predicted = measured_map[measured_map["source"] == "predicted"]
    assert list(measured_map.columns) == list(COLUMNS)
    assert len(predicted) == len(genes) * (len(genes) - 1) // 2
    assert not predicted.duplicated(["gene_a", "gene_b"]).any() and (predicted["gene_a"] < predicted["gene_b"]).all()
    measured = measured_map[measured_map["source"] == "measured"]
    pairs = scorable_pairs(PreparedScreen(screen, bulk, de))
    assert sorted(measured["gene_a"] + "+" + measured["gene_b"]) == sorted(pairs)
    direct = measured_gi(bulk, list(measured["gene_a"] + "+" + measured["gene_b"]))
    np.testing.assert_allclose(measured["magnitude"], direct.magnitude)
    assert all(set(c.split(";")) <= set(GI_CALLS) for c in predicted["calls"])


def test_the_map_json_follows_the_contract(measured_map):
    document = gi_map_json(measured_map)
    row = document["pairs"][0]
    assert {"pair", "source", "magnitude", "model_fit", "similarity", "equality_of_contribution", "calls"} <= set(row)
    assert row["source"] in ("predicted", "measured") and len(row["pair"]) == 2
    json.dumps(document, allow_nan=False)


def test_the_map_tables_fit_an_80_column_console_uncut(measured_map):
    """Piped output is 80 columns wide; headers and calls used to be cut to 'magnitu…', 'redundan…', and a
    measured-calls column pushed the table past 80, where Rich crops lines without a mark."""
    from rich.console import Console

    from gearsplan.interface.tables import gi_map_tables

    def words(width: int) -> tuple[set[str], str]:
        console = Console(record=True, width=width)
        for table in gi_map_tables(measured_map):
            console.print(table)
        text = console.export_text()
        return {word for word in text.split() if any(c.isalnum() for c in word)}, text

    narrow, text = words(80)
    assert [line for line in text.splitlines() if "…" in line] == [] and words(400)[0] <= narrow  # nothing cropped
    assert all(label in text for label in ("magnitude", "model fit", "similarity", "equality"))
    assert "5 measured pairs: predicted beside measured" in text


def test_a_map_needs_two_genes(trained_bundle, bulk):
    with pytest.raises(GearsplanError, match="at least two genes"):
        gi_map(trained_bundle.model, bulk, ["KLF1"])


def test_cli_gimap_from_a_gene_file(run_cli, trained_bundle_dir, tmp_path):
    genes = tmp_path / "genes.txt"
    genes.write_text("# three genes\nKLF1\nfosb\nCEBPB\n")
    target = tmp_path / "map.csv"
    code, out, _ = run_cli("gimap", "--genes", genes, "--model", trained_bundle_dir, "--out", target, "--json")
    assert code == 0
    pairs = {tuple(p["pair"]) for p in json.loads(out)["pairs"]}
    assert pairs == {("CEBPB", "FOSB"), ("CEBPB", "KLF1"), ("FOSB", "KLF1")}
    assert len(target.read_text().splitlines()) == 4
    code, _, err = run_cli("gimap", "--genes", genes, "--measured", "--model", trained_bundle_dir)
    assert code == 2 and "choose one gene set" in err


def test_held_out_gi_calls_against_measured(screen, bulk, de):
    data = PreparedScreen(screen, bulk, de)
    result = evaluate_gi(data, replace(QUICK, ensemble=2, epochs=2), seed=1)
    pairs = scorable_pairs(data)
    assert result.pairs == pairs and result.predicted.shape == result.measured.shape == (len(pairs), len(GI_CALLS))
    np.testing.assert_array_equal(result.measured, measured_gi(bulk, pairs).call_matrix())
    assert ((result.agreement >= 0) & (result.agreement <= 1)).all()
    table = result.per_call()
    assert list(table["call"]) == list(GI_CALLS)
    assert (table["n_measured"] == result.measured.sum(axis=0)).all()
    # precision@3 ranks the pairs the members call so: a call no member makes has none (it read 1.00 for suppression)
    never = table[[not result.agreement[:, c].any() for c in range(len(GI_CALLS))]]
    assert len(never) and never["precision_at_3"].isna().all()
    confusion = result.confusion()
    assert int(confusion.to_numpy().trace()) == int((result.predicted & result.measured).sum())
    document = result.to_json()
    json.dumps(document, allow_nan=False)
    scores = ("magnitude", "model_fit", "similarity", "equality_of_contribution")
    measured = measured_gi(bulk, pairs)
    for i, pair in enumerate(document["pairs"]):
        assert set(pair["predicted_scores"]) == set(pair["measured_scores"]) == set(scores)
        assert pair["measured_scores"]["magnitude"] == pytest.approx(measured.magnitude[i])
    base = {row["call"]: row["base_rate"] for row in document["per_call"]}
    assert base == {
        c: pytest.approx(result.measured[:, i].mean()) for i, c in enumerate(GI_CALLS)
    }  # calling every pair so
    errors = document["magnitude_error"]
    gaps = [abs(p["predicted_scores"]["magnitude"] - p["measured_scores"]["magnitude"]) for p in document["pairs"]]
    assert errors["gearsplan"] == pytest.approx(np.mean(gaps))
    # the scaled additive pair s·(ΔA + ΔB) has c1 = c2 = s, so magnitude √2·s, with s < 1 from the other, sub-additive, pairs
    scaled = np.array([p["scaled_additive_scores"]["magnitude"] for p in document["pairs"]])
    assert ((scaled > 0.5) & (scaled < np.sqrt(2))).all()
    assert errors["scaled_additive"] == pytest.approx(np.mean(np.abs(scaled - measured.magnitude)))


def test_the_held_out_gi_tables_fit_an_80_column_console_uncut():
    """Call names were cut to 'suppressi…' in the per-call and confusion tables."""
    from rich.console import Console

    from gearsplan.analysis.gi_evaluation import GIEvaluation
    from gearsplan.interface.tables import gi_evaluation_tables

    rng = np.random.default_rng(0)
    calls = rng.random((5, len(GI_CALLS))) > 0.5
    scores = tuple(
        {"magnitude": m, "model_fit": 0.9, "similarity": 0.8, "equality_of_contribution": 0.5}
        for m in rng.random(5) + 0.5
    )
    result = GIEvaluation(
        ("KLF1+MAP2K6", "KLF1+TGFBR2", "MAP2K3+MAP2K6", "MAP2K3+SLC38A2", "MAPK1+TGFBR2"),
        calls,
        ~calls,
        rng.random(calls.shape),
        1,
        scores,
        scores[::-1],
        scores,
    )
    console = Console(record=True, width=80)
    for table in gi_evaluation_tables(result):
        console.print(table)
    text = console.export_text()
    assert "…" not in text and max(map(len, text.splitlines())) <= 80
    assert all(call in text for call in GI_CALLS)
    assert "mean |predicted − measured|: gearsplan" in " ".join(text.split())


def test_a_screen_of_pairs_only_has_no_measured_genes_to_map(run_cli, trained_bundle_dir, norman, tmp_path):
    """It said 'no genes given', with a hint about predict."""
    labels = norman.obs["condition"].astype(str)
    pairs_only = tmp_path / "pairs.h5ad"
    norman[(labels == "control") | labels.str.contains("+", regex=False)].copy().write_h5ad(pairs_only)
    code, _, err = run_cli("gimap", "--model", trained_bundle_dir, "--data", pairs_only)
    assert code == 2 and "measures 0 genes alone" in err and "--genes FILE" in err
