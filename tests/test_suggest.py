"""suggest: the next experiments, on the real embedded data with a quickly trained model."""

import csv
import json
import re
from dataclasses import replace

import numpy as np
import pytest
from rich.console import Console

from gearsplan.analysis.screen_summary import describe
from gearsplan.data.conditions import genes_of
from gearsplan.data.embedded import NORMAN2019
from gearsplan.data.prepared import PreparedScreen
from gearsplan.data.splits import simulation_split
from gearsplan.design.batch_selection import FixedGains, greedy_select
from gearsplan.design.candidates import Measured, candidate_pairs
from gearsplan.design.gene_space import EXPANSION
from gearsplan.design.graph_reach import UNEXPLORED, GraphReach
from gearsplan.design.signals import Signals, pair_signals, spread_over_genes, top_shares
from gearsplan.design.suggestion import Suggestion, reason, suggest, summarise_plan, unlocked
from gearsplan.errors import GearsplanError
from gearsplan.interface.tables import suggestion_table
from gearsplan.model.bundle import Bundle, save_bundle
from gearsplan.model.training import TrainConfig, fit_gears

QUICK = TrainConfig(ensemble=2, epochs=4, patience=4)
#: Unmeasured GO-annotated genes: a small guide library; with no expansion (``expand=0``) most tests stay cheap.
LIBRARY = [
    "CEBPB",
    "FOSB",
    "JUN",
    "GATA1",
    "SPI1",
    "TAL1",
    "MYC",
    "CDKN1A",
    "EGR1",
    "ETS2",
    "HNRNPA1",
    "RUNX1",
    "IRF1",
    "STAT1",
    "NFKB1",
]


@pytest.fixture(scope="session")
def bundle(screen, bulk, de):
    data = PreparedScreen(screen, bulk, de)
    model = fit_gears(data, simulation_split(screen.perturbations, 1), 1, QUICK)
    return Bundle(
        model,
        QUICK,
        {"data": {"source": str(NORMAN2019), "condition_col": "condition"}, "screen": describe(screen)},
        bulk=bulk,
        de=de,
    )


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
    plan = suggest(bundle, bulk, budget=12, library=LIBRARY, seed=0, expand=0)
    keys = ["+".join(s.genes) for s in plan.suggestions]
    assert len(keys) == 12 == len(set(keys))
    assert not set(keys) & set(bulk.keys)
    assert [s.rank for s in plan.suggestions] == list(range(1, 13))


def test_candidate_and_exclude_files_are_honoured(run_cli, bundle_dir, library_file, tmp_path, bulk):
    excluded = tmp_path / "exclude.txt"
    excluded.write_text("CEBPB\nGATA1\n")
    code, out, err = run_cli(
        "suggest",
        "--model",
        bundle_dir,
        "--budget",
        "10",
        "--candidates",
        library_file,
        "--exclude",
        excluded,
        "--expand",
        "0",
        "--json",
    )
    assert code == 0, err
    screen_genes = {g for k in bulk.keys for g in genes_of(k)}
    for key in keys_of(json.loads(out)):
        genes = set(genes_of(key))
        assert genes <= set(LIBRARY) | screen_genes
        assert not genes & {"CEBPB", "GATA1"}


def test_json_contract_reasons_and_csv(run_cli, bundle_dir, library_file, tmp_path):
    table = tmp_path / "plan.csv"
    code, out, _ = run_cli(
        "suggest",
        "--model",
        bundle_dir,
        "--budget",
        "8",
        "--candidates",
        library_file,
        "--expand",
        "0",
        "--out",
        table,
        "--json",
    )
    assert code == 0
    document = json.loads(out)
    assert document["budget"] == 8 and len(document["suggestions"]) == 8 and document["goal"] == "learn"
    assert document["genes_of_interest"]["candidates"] == LIBRARY and document["genes_of_interest"]["expansion"] == []
    for row in document["suggestions"]:
        assert {
            "rank",
            "genes",
            "kind",
            "reason",
            "uncertainty",
            "reach",
            "gi_call",
            "expected_gain",
            "unlocks",
        } <= set(row)
        assert row["kind"] in ("single", "pair") and row["reason"].strip()
        assert row["unlocks"] >= 0 and (row["kind"] == "single" or row["unlocks"] == 0)
        assert (row["gi_call"] is not None) == (row["kind"] == "pair")
    with open(table) as handle:
        rows = list(csv.DictReader(handle))
    assert [r["genes"] for r in rows] == ["+".join(s["genes"]) for s in document["suggestions"]]


def test_table_output_shows_reasons_and_summary(run_cli, bundle_dir, library_file):
    code, out, _ = run_cli(
        "suggest", "--model", bundle_dir, "--budget", "5", "--candidates", library_file, "--expand", "0"
    )
    assert code == 0
    assert "next experiments" in out and "experiments chosen from" in out and "Expected gain decided the split" in out


def test_the_table_fits_80_columns_in_two_lines_a_suggestion(bundle, bulk):
    plan = suggest(bundle, bulk, budget=12, n_pairs=6, seed=0)
    console = Console(record=True, width=80)
    console.print(suggestion_table(plan))
    lines = console.export_text().splitlines()
    assert max(map(len, lines)) <= 80
    rows = lines[2 : lines.index("")]  # title, header, then two lines a suggestion up to the blank line
    assert len(rows) == 2 * len(plan.suggestions)
    for row, suggestion in zip(rows[::2], plan.suggestions):
        assert " + ".join(suggestion.genes) in row and row.split()[0] == str(suggestion.rank)


def test_discover_plans_pairs_by_their_upper_bound_on_interaction(bundle, bulk):
    plan = suggest(bundle, bulk, budget=5, seed=0, goal="discover")
    assert plan.goal == "discover" and plan.to_json()["goal"] == "discover" and "Goal: discover" in plan.summary
    assert all(s.kind == "pair" for s in plan.suggestions)
    assert all("interaction beyond the pair law" in s.reason for s in plan.suggestions)
    bounds = [s.non_additivity + 2 * float(re.search(r"± ([0-9.]+)", s.reason).group(1)) for s in plan.suggestions]
    assert bounds[0] == pytest.approx(
        max(bounds), abs=2e-3
    )  # the first pick has the largest bound (reasons round to 3 places)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--goal", "x"], "unknown goal 'x'"),
        (["--goal", "discover", "--singles", "2"], "--goal discover plans pairs only"),
    ],
)
def test_a_bad_goal_is_one_line_and_exit_2(run_cli, bundle_dir, arguments, message):
    code, out, err = run_cli("suggest", "--model", bundle_dir, "--budget", "5", *arguments)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and out == ""


def test_report_refuses_a_bad_goal_before_any_work(run_cli, bundle_dir, tmp_path):
    code, out, err = run_cli("report", "--model", bundle_dir, "--goal", "x", "--out", tmp_path / "plan.md")
    assert code == 2 and "unknown goal 'x'" in err and len(err.strip().splitlines()) == 1 and out == ""
    assert not any(tmp_path.iterdir())


def test_a_single_unlocks_the_pairs_whose_other_single_is_measured_or_picked_before_it():
    space = ["A+B", "A+C", "B+C", "B+D"]
    assert unlocked([("A",), ("B",), ("A", "D")], ["C"], space) == [1, 2, 0]
    # Nothing measured: the first single unlocks nothing, the second its pair with the first.
    assert unlocked([("B",), ("D",)], [], space) == [0, 1]


def test_ties_go_to_the_first_candidate_whatever_the_seed():
    gains = FixedGains(np.array([0.5, 1.0, 1.0 + 1e-9, 1.0]))
    profiles = np.zeros((4, 3), np.float32)
    assert greedy_select(gains, profiles, ["pair"] * 4, 3) == [1, 2, 3]


def test_same_seed_same_suggestions(bundle, bulk):
    first = suggest(bundle, bulk, budget=10, library=LIBRARY, seed=3, expand=0).to_json()
    second = suggest(bundle, bulk, budget=10, library=LIBRARY, seed=3, expand=0).to_json()
    assert first == second


def test_fixed_split_of_singles_and_pairs(bundle, bulk):
    plan = suggest(bundle, bulk, budget=7, n_singles=3, library=LIBRARY, seed=0, expand=0)
    assert sum(s.kind == "single" for s in plan.suggestions) == 3
    assert sum(s.kind == "pair" for s in plan.suggestions) == 4
    assert not plan.split_by_gain


def test_default_candidates_are_the_genes_of_interest(bundle, bulk):
    plan = suggest(bundle, bulk, budget=20, n_pairs=6, seed=0)
    measured_alone = {k for k in bulk.keys if "+" not in k}
    # The screen's 31 perturbed genes and 100 nearest to them, less the 18 measured alone.
    assert len(plan.space.genes) == 131 and len(plan.space.of(EXPANSION)) == 100
    assert plan.n_candidates["single"] == 131 - len(measured_alone) and plan.n_candidates["pair"] > 0
    assert {g for s in plan.suggestions for g in s.genes} <= set(plan.space.genes)
    assert len({"+".join(s.genes) for s in plan.suggestions}) == 20
    measured = set(bulk.keys)
    partners = [next(g for g in s.genes if g in measured) for s in plan.suggestions if s.kind == "pair"]
    assert len(partners) == 6 and len(set(partners)) >= 4, partners
    # The summary's parts (new and alone in GO, new near a measured gene, in the screen) add up to the plan's genes.
    genes = {g for s in plan.suggestions for g in s.genes}
    counts = [int(n) for n in re.findall(r"(\d+) (?:new|already in the screen)", plan.summary)]
    assert f"Of their {len(genes)} genes" in plan.summary and sum(counts) == len(genes), plan.summary


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
    code, _, err = run_cli(
        "suggest", "--model", bundle_dir, "--candidates", small, "--expand", "0", "--budget", "10000"
    )
    assert code == 2 and "exceeds" in err


def test_empty_candidate_file(run_cli, bundle_dir, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n\n")
    code, _, err = run_cli("suggest", "--model", bundle_dir, "--candidates", empty)
    assert code == 2 and "holds no genes" in err


@pytest.mark.parametrize(
    "line, message",
    [("FOSBB", "did you mean"), ("ctrl", "names the control cells"), ("MLL+KMT2A", "KMT2A named more than once")],
)
def test_a_candidate_line_that_is_no_gene_is_refused(run_cli, bundle_dir, tmp_path, line, message):
    library = tmp_path / "library.txt"
    library.write_text(f"CEBPB\n{line}\n")
    code, _, err = run_cli("suggest", "--model", bundle_dir, "--candidates", library)
    assert (
        code == 2 and "library.txt: " in err and line in err and message in err and len(err.strip().splitlines()) == 1
    )


def test_api_refuses_budget_over_candidates(bundle, bulk):
    with pytest.raises(GearsplanError, match="exceeds"):
        suggest(bundle, bulk, budget=10_000, library=["CEBPB"], expand=0)


def test_pair_non_additivity_is_the_learned_interaction_only(screen, bulk, de):
    """With no interaction learned and no pair law (pairs are the sums of their genes), exact pair predictions add nothing
    beyond ΔA + ΔB, whatever base an unmeasured gene's own prediction builds on."""
    split = simulation_split(screen.perturbations, 1)
    model = replace(
        fit_gears(PreparedScreen(screen, bulk, de), split, 1, replace(QUICK, interaction_weight=0.0)), pair_law=0.0
    )
    measured = sorted(split.train_singles())[:2]
    pairs = [f"{m}+{g}" for m in measured for g in LIBRARY[:3]] + ["CEBPB+FOSB"]
    reach = GraphReach.build(model.go, split.train_singles())
    signals = pair_signals(model, pairs, reach, bulk.control, refine=None)
    assert signals.exact.all()
    np.testing.assert_allclose(signals.non_additivity, 0.0, atol=1e-5)
    np.testing.assert_allclose(signals.interaction, 0.0, atol=1e-9)


@pytest.mark.parametrize("option", ["--candidates", "--exclude"])
def test_a_set_of_three_genes_in_a_gene_file_is_refused_naming_its_line(run_cli, bundle_dir, tmp_path, option):
    # suggest plans singles and pairs: a three-gene line used to crash --candidates and pass --exclude unnoticed.
    lines = tmp_path / "lines.txt"
    lines.write_text("CEBPB\n\nFOSB+CEBPB+KLF1\n")
    code, _, err = run_cli("suggest", "--model", bundle_dir, option, lines, "--budget", "1")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "lines.txt: line 3: 'FOSB+CEBPB+KLF1' names 3 genes" in err and "A+B pair" in err


def test_gimap_gene_file_takes_genes_not_sets(run_cli, bundle_dir, tmp_path):
    # The reader suggest shares with gimap: a pair line used to be split into its genes silently.
    genes = tmp_path / "genes.txt"
    genes.write_text("KLF1\nFOSB+CEBPB\n")
    code, _, err = run_cli("gimap", "--model", bundle_dir, "--genes", genes)
    assert code == 2 and "genes.txt: line 2: 'FOSB+CEBPB' names 2 genes" in err and len(err.strip().splitlines()) == 1


def test_a_listed_pair_is_offered_as_it_is(bundle, bulk):
    # With the screen's genes excluded and no expansion, the listed pair is the one candidate left.
    screen_genes = {g for k in bulk.keys for g in genes_of(k)}
    plan = suggest(bundle, bulk, budget=1, library=["CEBPB+FOSB"], exclude=screen_genes, seed=0, expand=0)
    assert plan.n_candidates == {"single": 0, "pair": 1}
    assert [s.genes for s in plan.suggestions] == [("CEBPB", "FOSB")]


def test_a_library_of_measured_genes_adds_nothing_to_the_screens(bundle, bulk):
    plan = suggest(bundle, bulk, budget=3, library=["KLF1", "MAP2K6"], seed=0, expand=0)
    screen_genes = {g for k in bulk.keys for g in genes_of(k)}
    assert plan.space.of("candidates") == () and set(plan.space.genes) == screen_genes
    for row in plan.suggestions:
        assert set(row.genes) <= screen_genes


def test_pairs_hold_a_gene_measured_alone_unless_unseen_pairs_are_allowed():
    measured = Measured(frozenset({"A", "B", "C", "A+B"}))
    pairs = candidate_pairs(measured, ("A", "B", "C", "X", "Y"), allow_unseen_pairs=False, listed=("P+Q",))
    assert sorted(pairs) == ["A+C", "A+X", "A+Y", "B+C", "B+X", "B+Y", "C+X", "C+Y", "P+Q"]
    assert "X+Y" in candidate_pairs(measured, ("A", "B", "C", "X", "Y"), allow_unseen_pairs=True)


def test_no_candidate_left_is_one_clear_error(bundle, bulk):
    screen_genes = {g for k in bulk.keys for g in genes_of(k)}
    with pytest.raises(GearsplanError, match="no candidate left"):
        suggest(bundle, bulk, budget=1, library=["KLF1+MAP2K6"], exclude=screen_genes, expand=0)


def test_tied_values_share_their_standing():
    shares = top_shares(np.array([0.0111, 0.0111 + 2e-8, 0.005, np.nan, 0.02]))
    assert shares[0] == shares[1] == 3 / 4 and shares[2] == 1.0 and np.isnan(shares[3]) and shares[4] == 1 / 4


def _signals(kind, keys, regions, **values):
    n = len(keys)
    profiles = np.zeros((n, 40), np.float32)
    profiles[:, :20] = 0.2  # a predicted change of 0.2 on each candidate's top genes
    blank = {
        "uncertainty": np.full(n, 0.01),
        "reach": np.ones(n),
        "non_additivity": np.full(n, np.nan),
        "gi_disagreement": np.full(n, np.nan),
    }
    blank.update({name: np.asarray(v, dtype=float) for name, v in values.items()})
    return Signals(
        kind,
        tuple(keys),
        blank["uncertainty"],
        blank["reach"],
        np.ones(n),
        tuple(regions),
        blank["non_additivity"],
        blank["gi_disagreement"],
        ("",) * n,
        ("",) * n,
        profiles,
        np.ones(n, bool),
        np.zeros(n),
        np.zeros(n),
    )


def _reasons(signals):
    shares = {
        name: top_shares(getattr(signals, name))
        for name in ("uncertainty", "reach", "non_additivity", "gi_disagreement")
    }
    return [reason(signals, shares, row) for row in range(len(signals))]


def test_candidates_the_predictions_cannot_tell_apart_get_the_same_reason():
    singles = _signals(
        "single", ["CEBPB", "FOSB"], [UNEXPLORED] * 2, uncertainty=[0.011081228, 0.011081250], reach=[2.0, 2.0]
    )
    first, second = _reasons(singles)
    assert first == second and "most uncertainty left after the picks above" in first and "top" not in first


def test_a_negligible_signal_is_not_named_however_it_ranks():
    # Non-additivity of 0.0015 on a change of 0.2 ranks second of ten pairs but is negligible; 0.05 is not.
    non_additivity = [0.05, 0.0015] + [0.001] * 8
    keys = [f"A+G{i}" for i in range(10)]
    pairs = _signals(
        "pair", keys, ["A/A"] * 10, uncertainty=[0.002] * 10, non_additivity=non_additivity, gi_disagreement=[0.0] * 10
    )
    texts = _reasons(pairs)
    assert texts[0].startswith("interaction beyond the pair law (top 10%)")
    assert "pair law" not in texts[1] and "most uncertainty left" in texts[1]


def test_a_reason_says_where_a_new_gene_stands_in_a_biologists_words():
    pairs = _signals(
        "pair", ["FOSB+FOXO4", "FOXO4+ZZZ3"], [f"{UNEXPLORED}/FOXO4", "FOXO4/KLF1"], uncertainty=[0.02, 0.001]
    )
    texts = _reasons(pairs)
    assert texts[0].endswith("; FOSB new") and texts[1].endswith("; ZZZ3 new, near KLF1")
    singles = _signals("single", ["CEBPB", "ZZZ3"], ["KLF1", UNEXPLORED])
    shares = {name: top_shares(getattr(singles, name)) for name in ("uncertainty", "reach")}
    tf, gene = (reason(singles, shares, row, unlocks=30, transcription_factor=frozenset({"CEBPB"})) for row in (0, 1))
    assert tf == "unlocks 30 untested pairs; new TF, nearest measured relative KLF1"
    assert gene == "unlocks 30 untested pairs; new gene, no measured relative in GO"


def test_summary_counts_each_gene_once_where_it_lies():
    row = lambda genes, region: Suggestion(
        1, genes, "pair" if len(genes) == 2 else "single", "r", 0.01, 1.0, 1.0, region, None, None, None, 0.0
    )  # noqa: E731
    rows = [
        row(("FOSB",), UNEXPLORED),
        row(("FOSB", "FOXO4"), f"{UNEXPLORED}/FOXO4"),
        row(("CEBPB", "KLF1"), "KLF1/KLF1"),
        row(("FOXO4", "KMT2A"), "FOXO4/KMT2A"),
    ]
    summary = summarise_plan(rows, True, {"single": 2, "pair": 3})
    assert (
        "Of their 5 genes, 1 new with no measured GO neighbour; 1 new, nearest by GO similarity to a measured gene: KLF1 for 1; "
        "3 already in the screen (FOXO4, KLF1, KMT2A)."
    ) in summary


def test_a_measured_gene_without_go_terms_is_its_own_region(bundle):
    assert "IER5L" not in bundle.model.go.index
    reach, distance, region = GraphReach.build(bundle.model.go, {"IER5L", "KLF1"}).single(["IER5L", "KLF1"])
    assert region == ["IER5L", "KLF1"] and distance.tolist() == [0.0, 0.0] and reach[0] == 0.0


def test_a_one_member_model_is_refused_by_suggest_and_report(run_cli, one_member_bundle_dir, tmp_path):
    """One member gave every candidate zero uncertainty and zero expected gain, and picked among them anyway."""
    for arguments in (["suggest", "--budget", "5"], ["report", "--out", tmp_path / "plan.md"]):
        code, _, err = run_cli(*arguments, "--model", one_member_bundle_dir)
        assert code == 2 and "one ensemble member" in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())
