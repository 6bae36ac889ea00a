"""A semi-synthetic screen for replaying experiment design: real control cells, GO-structured effects, planted GI subtypes.

Built on :mod:`synthetic_screen` (same real control cells, gene choice and Poisson sampling); what
differs is the design of the effects, so that the structure experiment design relies on is there:

- perturbed genes come in GO clusters (a seed gene and its strongest GO neighbours);
- a gene's effect is a mix of a few shared expression programs, with loadings that are a random
  field smoothed over the GO graph: genes close in GO respond alike, distant ones differently;
- clusters differ in strength (some barely do anything, some a lot), so some regions are worth
  measuring more than others;
- pairs get a planted GI subtype: additive, synergy, suppression, epistasis (one gene dominates)
  or neomorphism (a new program appears).

With ``--knowledge`` the effects follow the shipped knowledge the model and ``suggest`` read, not the GO
graph alone: loadings are smoothed over the genes' rarity-weighted GO-profile cosine (a shared specific
term counts for much, "protein binding" for little) plus their STRING association, so genes sharing
specific GO terms or STRING edges share targets, and there is transfer for a strategy to exploit.

``python benchmarks/semisynthetic_screen.py OUT.h5ad [--seed S] [--knowledge]`` writes one; it is generated, never shipped.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import anndata as ad
import numpy as np
from synthetic_screen import Design, choose_genes, real_control_counts, sample_screen, write_synthetic_screen

from gearsplan.knowledge.go_graph import build_go_graph
from gearsplan.knowledge.go_profiles import go_profiles
from gearsplan.knowledge.string_graph import string_graph

#: Bump when the generated data would change for the same arguments.
GENERATOR_VERSION = 2
#: Shared expression programs, and target genes per program.
N_PROGRAMS, PROGRAM_TARGETS = 12, 40
#: Standard deviation of a program's log-fold changes on its targets.
PROGRAM_SD = 0.8
#: GO neighbours added to each cluster's seed gene.
CLUSTER_NEIGHBOURS = 9
#: Pair subtypes: (name, share, coefficient of A, coefficient of B, weight of a new program).
GI_SUBTYPES = (
    ("additive", 0.3, 1.0, 1.0, 0.0),
    ("synergy", 0.2, 1.6, 1.6, 0.0),
    ("suppression", 0.2, 0.4, 0.4, 0.0),
    ("epistasis", 0.15, 1.0, 0.1, 0.0),
    ("neomorphism", 0.15, 1.0, 1.0, 1.0),
)


def go_clusters(n_clusters: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Perturbed genes and their cluster: seed genes with at least ``CLUSTER_NEIGHBOURS`` GO neighbours, each with its strongest neighbours.

    A gene in two clusters stays in the first.
    """
    graph = build_go_graph()
    seeds = rng.choice(np.flatnonzero(graph.degree() >= CLUSTER_NEIGHBOURS), n_clusters, replace=False)
    cluster_of: dict[str, int] = {}
    for number, seed in enumerate(seeds):
        for gene in [graph.genes[seed], *(n for n, _ in graph.neighbours_of(graph.genes[seed], CLUSTER_NEIGHBOURS))]:
            cluster_of.setdefault(gene, number)
    return list(cluster_of), np.array(list(cluster_of.values()))


def go_similarity(genes: list[str]) -> np.ndarray:
    """GO-graph Jaccard similarity among ``genes`` (either direction; 0 off the graph's 20 neighbours)."""
    graph = build_go_graph()
    index = [graph.index[g] for g in genes]
    adjacency = graph.to_csr()
    return adjacency.maximum(adjacency.T)[index][:, index].toarray()


def knowledge_similarity(genes: list[str]) -> np.ndarray:
    """Shipped-knowledge similarity among ``genes``: rarity-weighted GO-profile cosine plus STRING combined score / 1000
    (0 on the diagonal), the closeness ``suggest``'s expansion uses."""
    profiles = go_profiles()
    similarity = profiles.cosine([[g] for g in genes], profiles.of([[g] for g in genes]))
    graph = string_graph()
    association = graph.to_csr().maximum(graph.to_csr().T).tocsr()
    inside = np.array([g in graph.index for g in genes])
    index = np.array([graph.index[g] for g in genes if g in graph.index], dtype=np.int64)
    similarity[np.ix_(inside, inside)] += association[index][:, index].toarray()
    np.fill_diagonal(similarity, 0.0)
    return similarity


def go_smoothed_loadings(genes: list[str], rng: np.random.Generator, knowledge: bool = False) -> np.ndarray:
    """Program loadings (genes x programs): white noise smoothed twice over the similarity among ``genes``
    (GO-graph Jaccard, or with ``knowledge`` :func:`knowledge_similarity`)."""
    similarity = knowledge_similarity(genes) if knowledge else go_similarity(genes)
    smoother = np.eye(len(genes)) + similarity / np.maximum(similarity.sum(axis=1, keepdims=True), 1e-9)
    loadings = smoother @ smoother @ rng.normal(size=(len(genes), N_PROGRAMS))
    return loadings / np.linalg.norm(loadings, axis=1, keepdims=True)


def programs(n_genes: int, expressed: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sparse log-fold-change programs over expressed measured genes (programs x genes)."""
    matrix = np.zeros((N_PROGRAMS, n_genes))
    for row in matrix:
        targets = rng.choice(np.flatnonzero(expressed), PROGRAM_TARGETS, replace=False)
        row[targets] = rng.normal(0.0, PROGRAM_SD, PROGRAM_TARGETS)
    return matrix


def make_semisynthetic_screen(
    n_clusters: int = 30,
    n_pairs: int = 120,
    cells_per_condition: int = 30,
    n_genes: int = 600,
    seed: int = 0,
    counts: bool = False,
    knowledge: bool = False,
) -> ad.AnnData:
    """A screen of about ``n_clusters`` x 10 GO-clustered single genes and ``n_pairs`` pairs among them, from real control cells.

    The same arguments give the same screen. ``uns['planted']`` records each gene's cluster,
    strength and program loadings, and each pair's subtype.
    """
    rng = np.random.default_rng(seed)
    real_counts, real_genes = real_control_counts()
    real_expressed = np.asarray(real_counts.sum(axis=0)).ravel() > 0
    perturbed, cluster = go_clusters(n_clusters, rng)
    genes, source = choose_genes(
        real_genes,
        np.array(sorted(set(build_go_graph().genes) - set(perturbed))),
        n_genes,
        np.flatnonzero(real_expressed),
        rng,
    )
    strength = rng.lognormal(-0.5, 0.7, n_clusters)[cluster]
    single = strength[:, None] * (
        go_smoothed_loadings(perturbed, rng, knowledge) @ programs(len(genes), real_expressed[source], rng)
    )
    first, second = np.triu_indices(len(perturbed), 1)
    chosen = rng.choice(first.size, n_pairs, replace=False)
    shares = np.array([s[1] for s in GI_SUBTYPES])
    subtype = rng.choice(len(GI_SUBTYPES), n_pairs, p=shares / shares.sum())
    novel = programs(len(genes), real_expressed[source], rng)[rng.integers(0, N_PROGRAMS, n_pairs)]
    pairs, rows = [], []
    for a, b, kind, new in zip(first[chosen], second[chosen], subtype, novel):
        _, _, c1, c2, weight = GI_SUBTYPES[kind]
        pairs.append(f"{perturbed[a]}+{perturbed[b]}")
        rows.append(c1 * single[a] + c2 * single[b] + weight * new)
    conditions = ["control", *perturbed, *pairs]
    log_fold = np.vstack([np.zeros(len(genes)), single, *rows])
    planted = {
        "generator": "semisynthetic",
        "knowledge": knowledge,
        "generator_version": GENERATOR_VERSION,
        "clusters": {g: int(c) for g, c in zip(perturbed, cluster)},
        "strength": {g: float(s) for g, s in zip(perturbed, strength)},
        "pair_subtypes": {p: GI_SUBTYPES[k][0] for p, k in zip(pairs, subtype)},
    }
    design = Design(genes, source, conditions, log_fold, planted)
    return sample_screen(design, real_counts, real_genes, cells_per_condition * len(conditions), seed, counts, rng, {})


def main(argv: list[str] | None = None) -> None:
    """Command line: write a semi-synthetic screen."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--clusters", type=int, default=30)
    parser.add_argument("--pairs", type=int, default=120)
    parser.add_argument("--cells-per-condition", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--knowledge", action="store_true", help="effects follow GO-profile and STRING similarity (module docstring)"
    )
    args = parser.parse_args(argv)
    write_synthetic_screen(
        args.out,
        make_semisynthetic_screen,
        n_clusters=args.clusters,
        n_pairs=args.pairs,
        cells_per_condition=args.cells_per_condition,
        seed=args.seed,
        knowledge=args.knowledge,
    )
    print(args.out)


if __name__ == "__main__":
    main()
