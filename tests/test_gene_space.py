"""The genes of interest, the candidate space of ``suggest``: the screen's library, a guide library, and the expansion, on the real data."""

import json

import numpy as np
import pytest

from gearsplan.data.conditions import genes_of
from gearsplan.data.gene_types import PROTEIN_CODING, gene_types
from gearsplan.design.candidates import Measured, candidate_pairs, candidate_singles
from gearsplan.design.gene_space import CANDIDATES, EXPANSION, NEVER_EXPANDED, SCREEN, closeness, genes_of_interest
from gearsplan.knowledge.go_graph import cached_term_matrix


@pytest.fixture(scope="module")
def measured(bulk):
    return Measured(frozenset(bulk.keys))


@pytest.fixture(scope="module")
def perturbable():
    return cached_term_matrix()[0]


def test_the_library_is_every_gene_the_screen_perturbed(measured, perturbable):
    space = genes_of_interest(measured, perturbable, expand=0)
    perturbed = {g for k in measured.keys for g in genes_of(k)}
    assert space.of(SCREEN) == tuple(sorted(perturbed)) == space.genes and not space.of(EXPANSION)
    # Genes perturbed only in pairs (CEBPE, in CEBPE+RUNX1T1) are of the library, and untested singles.
    assert (
        "CEBPE" in space.genes
        and "CEBPE" not in measured.single_genes
        and "CEBPE" in candidate_singles(space.genes, measured)
    )


def test_the_expansion_is_n_protein_coding_genes_near_the_library_and_deterministic(measured, perturbable):
    space = genes_of_interest(measured, perturbable, expand=50)
    added = space.of(EXPANSION)
    types = gene_types()
    assert len(added) == 50 == len(set(added))
    assert all(types[g] == PROTEIN_CODING for g in added)
    assert not [g for g in added if NEVER_EXPANDED.match(g)]
    assert not set(added) & set(space.of(SCREEN))
    # The screen's MAPK cascade brings in its relatives.
    assert {"MAPK3", "MAPK14", "MAP2K1"} <= set(added)
    # The same every time, and a smaller expansion is the start of a larger one (nearest first, ties by symbol).
    assert genes_of_interest(measured, perturbable, expand=50) == space
    assert genes_of_interest(measured, perturbable, expand=20).of(EXPANSION) == added[:20]


@pytest.mark.parametrize(
    "symbol",
    [
        "OR1A1",
        "OR51E2",
        "TAS2R38",
        "TAS1R1",
        "IGHV3-11",
        "IGKC",
        "IGLC1",
        "IGHM",
        "IGHD",
        "IGLL5",
        "IGH",
        "TRA",
        "TRBV16",
        "TRAC",
        "TRDD1",
    ],
)
def test_receptor_families_and_immune_segments_are_never_expanded(symbol):
    assert NEVER_EXPANDED.match(symbol)


@pytest.mark.parametrize("symbol", ["ORC1", "ORAI1", "ORMDL3", "TRADD", "TRAF2", "TRDN", "IGHMBP2", "IGF1", "TASP1"])
def test_genes_that_only_look_like_them_may_be_expanded(symbol):
    assert not NEVER_EXPANDED.match(symbol)


def test_a_gene_the_user_named_is_kept_whatever_its_type(measured, perturbable):
    types = gene_types()
    assert types["SNORD105B"] == "snoRNA" and types["OR1A1"] == PROTEIN_CODING
    space = genes_of_interest(measured, perturbable, ("SNORD105B", "OR1A1", "KLF1", "CEBPB+FOSB"), expand=30)
    # KLF1 is the screen's already; a listed pair is a candidate as it is, its genes not genes of interest.
    assert space.of(CANDIDATES) == ("SNORD105B", "OR1A1") and space.pairs == ("CEBPB+FOSB",)
    assert {"SNORD105B", "OR1A1"} <= set(candidate_singles(space.genes, measured))
    added = space.of(EXPANSION)
    assert len(added) == 30 and all(types[g] == PROTEIN_CODING and not NEVER_EXPANDED.match(g) for g in added)
    pairs = candidate_pairs(measured, space.genes, False, listed=space.pairs)
    assert "CEBPB+FOSB" in pairs and not [
        k for k in pairs if k != "CEBPB+FOSB" and {"CEBPB", "FOSB"} & set(genes_of(k))
    ]


def test_a_library_of_olfactory_receptors_draws_none_by_expansion(perturbable):
    library = Measured(frozenset({"OR1A1", "OR51E2", "TAS2R38"}))
    types = gene_types()
    coding = sorted(
        g for g in perturbable if types.get(g) == PROTEIN_CODING and g not in {"OR1A1", "OR51E2", "TAS2R38"}
    )
    score = closeness(coding, ["OR1A1", "OR51E2", "TAS2R38"])
    nearest = [coding[i] for i in np.lexsort((np.arange(len(coding)), -score))[:20]]
    # By knowledge alone their nearest are their own families ...
    assert sum(bool(NEVER_EXPANDED.match(g)) for g in nearest) >= 15
    # ... which expansion passes over.
    added = genes_of_interest(library, perturbable, expand=20).of(EXPANSION)
    assert len(added) == 20 and not [g for g in added if NEVER_EXPANDED.match(g)]


def test_a_symbol_of_several_genes_is_protein_coding_if_one_is():
    # MEMO1's first NCBI row is of unknown type, its second protein-coding.
    assert gene_types()["MEMO1"] == PROTEIN_CODING


def test_exclude_removes_genes_and_expansion_passes_over_them(measured, perturbable):
    first = genes_of_interest(measured, perturbable, expand=10).of(EXPANSION)
    excluded = {first[0], "KLF1", "FOXO4+KLF1"}
    space = genes_of_interest(measured, perturbable, expand=10, exclude=excluded)
    assert len(space.of(EXPANSION)) == 10 and first[0] not in space.genes and space.of(EXPANSION)[:9] == first[1:]
    singles = candidate_singles(space.genes, measured, excluded)
    pairs = candidate_pairs(measured, space.genes, True, excluded)
    assert not {first[0], "KLF1"} & set(singles)
    assert not [k for k in pairs if {first[0], "KLF1"} & set(genes_of(k))]


def test_default_suggest_proposes_protein_coding_genes_of_interest_and_pairs(run_cli, trained_bundle_dir):
    code, out, err = run_cli("suggest", "--budget", "20", "--model", trained_bundle_dir, "--json")
    assert code == 0, err
    document = json.loads(out)
    space = document["genes_of_interest"]
    assert len(space["expansion"]) == 100 and not space["candidates"]
    interest = {g for genes in space.values() for g in genes}
    proposed = [s["genes"] for s in document["suggestions"]]
    types = gene_types()
    assert len(proposed) == 20
    assert all(g in interest and types[g] == PROTEIN_CODING for genes in proposed for g in genes)
    assert sum(s["kind"] == "pair" for s in document["suggestions"]) >= 1
    assert "genes of interest" in document["summary"]


def test_exclude_file_keeps_genes_out_of_the_plan(run_cli, trained_bundle_dir, tmp_path):
    code, out, _ = run_cli("suggest", "--budget", "10", "--model", trained_bundle_dir, "--json")
    assert code == 0
    chosen = [g for s in json.loads(out)["suggestions"] for g in s["genes"]]
    excluded = tmp_path / "exclude.txt"
    excluded.write_text("\n".join(chosen[:3]) + "\n")
    code, out, err = run_cli(
        "suggest", "--budget", "10", "--model", trained_bundle_dir, "--exclude", excluded, "--json"
    )
    assert code == 0, err
    assert not {g for s in json.loads(out)["suggestions"] for g in s["genes"]} & set(chosen[:3])


@pytest.mark.parametrize("command", ["suggest", "report"])
def test_a_negative_expansion_is_one_line_and_exit_2(run_cli, trained_bundle_dir, tmp_path, command):
    code, out, err = run_cli(
        command,
        "--model",
        trained_bundle_dir,
        "--expand",
        "-1",
        *(["--out", tmp_path / "plan.md"] if command == "report" else []),
    )
    assert (
        code == 2
        and "--expand must be 0 or more, got -1" in err
        and len(err.strip().splitlines()) == 1
        and "Traceback" not in err
    )
    assert not any(tmp_path.iterdir())
