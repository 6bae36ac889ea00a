"""suggest: the next experiments, on the real embedded data with a quickly trained model."""

import csv
import json
import re
from dataclasses import replace

import numpy as np
import pytest

from gearsplan.data.conditions import genes_of
from gearsplan.data.embedded import NORMAN2019
from gearsplan.data.prepared import PreparedScreen
from gearsplan.data.splits import simulation_split
from gearsplan.design.graph_reach import UNEXPLORED, GraphReach
from gearsplan.design.signals import pair_signals, spread_over_genes
from gearsplan.design.suggestion import suggest
from gearsplan.errors import GearsplanError
from gearsplan.model.bundle import Bundle, save_bundle
from gearsplan.model.training import TrainConfig, fit_gears

QUICK = TrainConfig(ensemble=2, epochs=4, patience=4)
#: Unmeasured GO-annotated genes: a small guide library, so most tests stay cheap.
LIBRARY = ["CEBPB", "FOSB", "JUN", "GATA1", "SPI1", "TAL1", "MYC", "CDKN1A", "EGR1", "ETS2", "HNRNPA1", "RUNX1", "IRF1", "STAT1", "NFKB1"]


@pytest.fixture(scope="session")
def bundle(screen, bulk, de):
    data = PreparedScreen(screen, bulk, de)
    model = fit_gears(data, simulation_split(screen.perturbations, 1), 1, QUICK)
    return Bundle(model, QUICK, {"data": {"source": str(NORMAN2019), "condition_col": "condition"}})


@pytest.fixture(scope="session")
def bundle_dir(bundle, tmp_path_factory):
    return save_bundle(bundle, tmp_path_factory.mktemp("models") / "quick")


@pytest.fixture
def library_file(tmp_path):
    path = tmp_path / "library.txt"
    path.write_text("# my guides\n" + "\n".join(LIBRARY) + "\n")
    return path


def keys_of(document):
    return ["+".join(sorted(s["genes"])) for s in document["suggestions"]]


def test_suggestions_are_distinct_new_and_within_budget(bundle, bulk):
    plan = suggest(bundle, bulk, budget=12, library=LIBRARY, seed=0)
    keys = ["+".join(s.genes) for s in plan.suggestions]
    assert len(keys) == 12 == len(set(keys))
    assert not set(keys) & set(bulk.keys)
    assert [s.rank for s in plan.suggestions] == list(range(1, 13))


def test_candidate_and_exclude_files_are_honoured(run_cli, bundle_dir, library_file, tmp_path, bulk):
    excluded = tmp_path / "exclude.txt"
    excluded.write_text("CEBPB\nGATA1\n")
    code, out, err = run_cli("suggest", "--model", bundle_dir, "--budget", "10", "--candidates", library_file, "--exclude", excluded, "--json")
    assert code == 0, err
    measured_genes = {g for k in bulk.keys if "+" not in k for g in genes_of(k)}
    for key in keys_of(json.loads(out)):
        genes = set(genes_of(key))
        assert genes <= set(LIBRARY) | measured_genes
        assert not genes & {"CEBPB", "GATA1"}


def test_json_contract_reasons_and_csv(run_cli, bundle_dir, library_file, tmp_path):
    table = tmp_path / "plan.csv"
    code, out, _ = run_cli("suggest", "--model", bundle_dir, "--budget", "8", "--candidates", library_file, "--out", table, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["budget"] == 8 and len(document["suggestions"]) == 8
    for row in document["suggestions"]:
        assert {"rank", "genes", "kind", "reason", "uncertainty", "reach", "gi_call", "expected_gain"} <= set(row)
        assert row["kind"] in ("single", "pair") and row["reason"].strip()
        assert (row["gi_call"] is not None) == (row["kind"] == "pair")
    with open(table) as handle:
        rows = list(csv.DictReader(handle))
    assert [r["genes"] for r in rows] == ["+".join(s["genes"]) for s in document["suggestions"]]


def test_table_output_shows_reasons_and_summary(run_cli, bundle_dir, library_file):
    code, out, _ = run_cli("suggest", "--model", bundle_dir, "--budget", "5", "--candidates", library_file)
    assert code == 0
    assert "next experiments" in out and "experiments chosen from" in out and "split decided by expected gain" in out


def test_same_seed_same_suggestions(bundle, bulk):
    first = suggest(bundle, bulk, budget=10, library=LIBRARY, seed=3).to_json()
    second = suggest(bundle, bulk, budget=10, library=LIBRARY, seed=3).to_json()
    assert first == second


def test_fixed_split_of_singles_and_pairs(bundle, bulk):
    plan = suggest(bundle, bulk, budget=7, n_singles=3, library=LIBRARY, seed=0)
    assert sum(s.kind == "single" for s in plan.suggestions) == 3
    assert sum(s.kind == "pair" for s in plan.suggestions) == 4
    assert not plan.split_by_gain


def test_default_candidates_cover_the_go_graph(bundle, bulk):
    plan = suggest(bundle, bulk, budget=20, n_pairs=6, seed=0)
    assert plan.n_candidates["single"] > 18_000 and plan.n_candidates["pair"] > 0
    assert len({"+".join(s.genes) for s in plan.suggestions}) == 20
    measured = set(bulk.keys)
    partners = [next(g for g in s.genes if g in measured) for s in plan.suggestions if s.kind == "pair"]
    assert len(partners) == 6 and len(set(partners)) >= 4, partners
    # The summary accounts for every measured gene the plan sits at, named or counted.
    regions = {part for s in plan.suggestions for part in s.region.split("/") if part != UNEXPLORED}
    named = re.findall(r"(\S+) \((\d+)\)", plan.summary)
    more = re.search(r"and (\d+) more", plan.summary)
    assert {gene for gene, _ in named} <= regions
    assert len(named) + (int(more.group(1)) if more else 0) == len(regions), plan.summary


def test_exact_pairs_spread_over_genes():
    # Gene 0 is in the six best screened pairs; capped, it gets two before other genes' pairs come in.
    a = np.array([0, 0, 0, 0, 0, 0, 1, 2, 3, 1])
    b = np.array([4, 5, 6, 7, 8, 9, 5, 6, 7, 8])
    order = np.arange(10)
    chosen = spread_over_genes(order, a, b, 6)
    assert chosen.tolist() == [0, 1, 6, 7, 8, 9]
    held = np.bincount(np.concatenate([a[chosen], b[chosen]]))
    assert held.max() == 2
    assert sorted(spread_over_genes(order[::-1], a, b, 20).tolist()) == list(range(10))
    assert spread_over_genes(order, a, b, 0).tolist() == []


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--budget", "0"], "budget must be positive"),
        (["--budget", "-3"], "budget must be positive"),
        (["--budget", "5", "--singles", "2", "--pairs", "2"], "do not add up"),
    ],
)
def test_bad_budgets_end_in_one_line(run_cli, bundle_dir, library_file, arguments, message):
    code, out, err = run_cli("suggest", "--model", bundle_dir, "--candidates", library_file, *arguments)
    assert code == 2 and message in err and "Traceback" not in err


def test_budget_above_the_candidates(run_cli, bundle_dir, tmp_path):
    small = tmp_path / "two.txt"
    small.write_text("CEBPB\nFOSB\n")
    code, _, err = run_cli("suggest", "--model", bundle_dir, "--candidates", small, "--budget", "10000")
    assert code == 2 and "exceeds" in err


def test_empty_candidate_file(run_cli, bundle_dir, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n\n")
    code, _, err = run_cli("suggest", "--model", bundle_dir, "--candidates", empty)
    assert code == 2 and "holds no genes" in err


@pytest.mark.parametrize("line, message", [("FOSBB", "did you mean"), ("ctrl", "names the control cells")])
def test_a_candidate_line_that_is_no_gene_is_refused(run_cli, bundle_dir, tmp_path, line, message):
    library = tmp_path / "library.txt"
    library.write_text(f"CEBPB\n{line}\n")
    code, _, err = run_cli("suggest", "--model", bundle_dir, "--candidates", library)
    assert code == 2 and "library.txt: " in err and line in err and message in err and len(err.strip().splitlines()) == 1


def test_api_refuses_budget_over_candidates(bundle, bulk):
    with pytest.raises(GearsplanError, match="exceeds"):
        suggest(bundle, bulk, budget=10_000, library=["CEBPB"])


def test_pair_non_additivity_is_the_learned_interaction_only(screen, bulk, de):
    """With no interaction learned (pairs are the sums of their genes), exact pair predictions add nothing beyond ΔA + ΔB,
    whatever base an unmeasured gene's own prediction builds on."""
    split = simulation_split(screen.perturbations, 1)
    model = fit_gears(PreparedScreen(screen, bulk, de), split, 1, replace(QUICK, interaction_weight=0.0))
    measured = sorted(split.train_singles())[:2]
    pairs = [f"{m}+{g}" for m in measured for g in LIBRARY[:3]] + ["CEBPB+FOSB"]
    reach = GraphReach.build(model.go, split.train_singles())
    signals = pair_signals(model, pairs, reach, bulk.control, refine=None)
    assert signals.exact.all()
    np.testing.assert_allclose(signals.non_additivity, 0.0, atol=1e-5)
    np.testing.assert_allclose(signals.interaction, 0.0, atol=1e-9)
