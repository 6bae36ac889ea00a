"""The error model behind suggest's expected gain and greedy batch, on the real GO graph."""

import numpy as np
import pytest

from gearsplan.design.batch_selection import greedy_select
from gearsplan.design.graph_reach import GraphReach, annotation_families, annotation_specificity
from gearsplan.design.untested_error import UntestedError
from gearsplan.knowledge.go_graph import build_go_graph


@pytest.fixture(scope="module")
def reach():
    return GraphReach.build(build_go_graph(), ["KLF1"])


def jaccard(graph, gene, neighbour):
    row = graph.to_csr()[graph.index[gene]]
    return float(row.data[list(row.indices).index(graph.index[neighbour])])


def build(reach, singles, pairs=(), interaction=(), target_pairs=(), variance=None):
    genes = {g for k in (*singles, *pairs) for g in k.split("+")} - {"KLF1"}
    variance = variance or dict.fromkeys(sorted(genes), 1.0)
    return UntestedError.build(
        reach, ["KLF1"], variance, list(singles), list(pairs), np.array(interaction, dtype=float), list(target_pairs)
    )


def test_a_single_removes_its_own_error_and_a_share_of_its_go_neighbours(reach):
    graph = reach.graph
    error = build(reach, ["MAPK1", "MAPK3"])
    share = annotation_specificity(graph)[graph.index["MAPK1"]] * jaccard(graph, "MAPK1", "MAPK3")
    assert error.single_gains()[0] == pytest.approx(1.0 + share)
    after = error.after(0)
    # MAPK3 is now partly covered by MAPK1: what is left of it is all a second pick can remove.
    assert after.single_gains()[1] == pytest.approx(1.0 - share)
    assert after.single_gains()[0] == pytest.approx(0.0)


def test_measured_genes_carry_no_error_and_pairs_add_their_interaction(reach):
    error = build(reach, ["MAPK1"], ["KLF1+MAPK1", "MAP2K3+MAP2K6"], [0.5, 0.25])
    # KLF1 is measured: KLF1+MAPK1 holds MAPK1's variance and its interaction.
    np.testing.assert_allclose(error.pair_gains(), [1.0 + 0.5, 2.0 + 0.25])
    after = error.after(0)  # measure MAPK1 alone
    np.testing.assert_allclose(after.pair_gains(), [0.5, 2.0 + 0.25])


def test_target_pairs_raise_their_genes_demand_until_measured(reach):
    lone = build(reach, ["MAP2K3"], ["HK2+MAP2K3"], [0.0])
    wanted = build(reach, ["MAP2K3"], ["HK2+MAP2K3"], [0.0], target_pairs=["HK2+MAP2K3"])
    # Measuring MAP2K3 alone also removes its share of the open pair's error.
    assert wanted.single_gains()[0] == pytest.approx(lone.single_gains()[0] + 1.0)
    assert wanted.after(1).single_gains()[0] == pytest.approx(lone.single_gains()[0])


def test_greedy_batch_spreads_over_the_go_graph(reach):
    # Two close MAP kinases and one distant gene: the second pick is the distant one, not MAPK3.
    error = build(reach, ["MAPK1", "MAPK3", "HK2"], variance={"MAPK1": 1.0, "MAPK3": 0.9, "HK2": 0.9})
    picks = greedy_select(error, np.zeros((3, 5)), ["single"] * 3, 2)
    assert picks[0] == 0 and picks[1] == 2


def test_one_pick_speaks_for_its_whole_annotation_family(reach):
    # Genes with exactly OR8U9's GO terms: the model cannot tell them apart, so after one of them the next pick goes elsewhere.
    graph = reach.graph
    family = annotation_families(graph)[graph.index["OR8U9"]].indices
    members = [graph.genes[i] for i in family[:3]]
    assert len(family) > 20  # more than the graph's 20 neighbours per gene
    error = build(reach, [*members, "HK2"])
    picks = greedy_select(error, np.zeros((4, 5)), ["single"] * 4, 2)
    assert picks[0] < 3 and picks[1] == 3
    assert error.after(picks[0]).single_gains()[[i for i in range(3) if i != picks[0]]] == pytest.approx(0.0, abs=0.1)


def test_a_measured_pair_speaks_for_the_pairs_the_model_cannot_tell_from_it(reach):
    # KLF1 (measured) with two olfactory receptors of one annotation family, and with HK2: measuring
    # KLF1 + the first receptor leaves nothing the model could learn from KLF1 + the second.
    graph = reach.graph
    first, second = (graph.genes[i] for i in annotation_families(graph)[graph.index["OR8U9"]].indices[:2])
    pairs = [f"KLF1+{first}", f"KLF1+{second}", "HK2+KLF1"]
    error = build(reach, [], pairs, [0.5, 0.5, 0.4])
    np.testing.assert_allclose(error.pair_gains(), [1.5, 1.5, 1.4])
    np.testing.assert_allclose(error.after(0).pair_gains(), [0.0, 0.0, 1.4])
    assert greedy_select(error, np.zeros((3, 5)), ["pair"] * 3, 2, {"pair": 2})[1] == 2
    # A gene measured alone is told apart from its annotation family: pairs with it stay open.
    measured = UntestedError.build(
        reach, ["KLF1", first], {second: 1.0}, [], [f"HK2+{first}", f"HK2+{second}"], np.array([0.5, 0.5]), []
    )
    assert measured.after(0).pair_gains()[1] == pytest.approx(measured.pair_gains()[1])


def test_a_single_unlocks_its_pairs_and_a_pair_removes_its_interaction_uncertainty(reach):
    """MAPK1's measurement removes its own error and its part of MAPK1+MAPK3 (whose MAPK3 part stays, less what
    MAPK1 teaches it as a GO relative); measuring the pair removes its interaction variance and nothing of MAPK1's."""
    graph = reach.graph
    share = annotation_specificity(graph)[graph.index["MAPK1"]] * jaccard(graph, "MAPK1", "MAPK3")
    error = build(reach, ["MAPK1"], ["MAPK1+MAPK3"], [0.25], ["MAPK1+MAPK3"])
    single, pair = error.gains()
    # The single: MAPK1 in itself and in the pair (demand 2), and MAPK3's share in the pair (demand 1).
    assert single == pytest.approx(2.0 + share)
    assert pair == pytest.approx(2.0 + 0.25)
    after_single = error.after(0)
    assert after_single.pair_gains()[0] == pytest.approx(1.0 - share + 0.25)
    after_pair = error.after(1)
    assert after_pair.pair_gains()[0] == 0.0
    # The pair was a target: its genes' demand falls by one, MAPK1's single part stays.
    assert after_pair.single_gains()[0] == pytest.approx(1.0)


def test_a_measured_pair_informs_the_pairs_that_share_a_gene_with_it(reach):
    """Measuring E2F6 + KLF1 (KLF1 measured) reads E2F6's single-gene part: E2F6 + HK2 then gains only HK2's part and
    its interaction, while measuring E2F6 alone still removes E2F6's error, which no pair taught the model."""
    error = build(reach, ["E2F6"], ["E2F6+KLF1", "E2F6+HK2"], [0.25, 0.25])
    assert error.pair_gains() == pytest.approx([1.25, 2.25])
    after = error.after(1)
    assert after.pair_gains() == pytest.approx([0.0, 1.25])
    assert after.single_gains() == pytest.approx(error.single_gains())
    # so a batch of two takes the gene alone beside one pair of it, not a second pair of it
    picked = greedy_select(error, np.zeros((3, 5)), ["single", "pair", "pair"], 2, {"single": 2, "pair": 2})
    assert sorted(picked) == [0, 2]
