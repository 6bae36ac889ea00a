"""A Norman-scale Perturb-seq screen synthesised from the real control cells of the embedded data.

Nothing here is a toy random matrix: every synthetic cell starts from the expression profile
of a real Norman 2019 control cell (resampled with replacement), and every measured gene is
either one of the 500 real genes or a real GO-annotated human gene whose control profile is a
copy of a real gene's column. On top of that the generator plants known perturbation effects
(sparse log-fold changes per perturbed gene, and a genetic-interaction factor per pair), so
later benchmarks can also check what a model recovers.

Generation, per chunk of cells (memory stays at one chunk of sparse rows)::

    real control counts (recovered exactly from the log1p-normalised data)
      -> row of a resampled control cell, columns copied onto the synthetic genes
      -> x per-cell size factor x exp(planted log-fold change of the cell's perturbation)
      -> Poisson sample
      -> raw integer counts (``counts=True``) or normalise-total + log1p (``counts=False``)

Because the planted change is multiplicative on each cell's Poisson rate, the expected mean
count of a gene under a perturbation is exactly ``exp(lfc)`` times its control mean.

Run ``python benchmarks/synthetic_screen.py OUT.h5ad [--cells N --genes G ...]`` to write one.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from gearsplan.data.embedded import GENE2GO, HUMAN_GENES, NORMAN2019

#: Bump when the generated data would change for the same arguments (benchmark caches key on it).
GENERATOR_VERSION = 1
#: Cells generated per chunk; fixed, so the output does not depend on memory settings.
CHUNK_CELLS = 10_000
#: Number of targets of a perturbed gene, drawn uniformly from this closed range.
N_TARGETS = (30, 100)
#: Standard deviation of the planted log-fold changes.
LFC_SD = 0.7
#: CRISPRa raises its own target: log-fold change on the perturbed gene, when it is measured.
SELF_LFC = 2.0
#: Standard deviation of the log of the per-cell size factor.
SIZE_FACTOR_SD = 0.3
#: Genetic-interaction classes of planted pair factors: (name, share, low, high).
GI_CLASSES = (("additive", 0.4, 0.9, 1.1), ("synergy", 0.3, 1.4, 2.0), ("suppression", 0.3, 0.2, 0.7))


@dataclass(frozen=True)
class Design:
    """Everything about a synthetic screen except the sampled cells.

    Attributes
    ----------
    genes
        Measured gene symbols (the real genes first).
    source
        For each measured gene, the column of the real data it copies.
    conditions
        Condition labels; ``conditions[0]`` is ``"control"``.
    log_fold
        ``len(conditions) x len(genes)`` planted log-fold change (row 0 is zero).
    planted
        JSON-serialisable record of the planted effects and pair factors.
    """

    genes: np.ndarray
    source: np.ndarray
    conditions: list[str]
    log_fold: np.ndarray
    planted: dict


def real_control_counts(path: Path = NORMAN2019) -> tuple[sp.csr_matrix, np.ndarray]:
    """Integer UMI counts of the real control cells, recovered from log1p-normalised data.

    Each cell was scaled by ``target / total`` before ``log1p``; its smallest non-zero value
    is one UMI, so ``expm1(x) / min`` gives back its counts over the stored genes.

    Returns
    -------
    counts, genes
        Control cells x real genes (float64 CSR of whole numbers), and the gene symbols.
    """
    real = ad.read_h5ad(path)
    control = real.obs["condition"].astype(str).to_numpy() == "control"
    matrix = sp.csr_matrix(real.X[control], dtype=np.float64)
    matrix.data = np.expm1(matrix.data)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    unit = np.full(matrix.shape[0], np.inf)
    np.minimum.at(unit, rows, matrix.data)
    matrix.data = np.rint(matrix.data / unit[rows])
    return matrix, real.var_names.to_numpy(dtype=str)


def go_annotated_genes(path: Path = GENE2GO) -> np.ndarray:
    """Sorted unique symbols of the genes with at least one GO annotation."""
    symbols = pd.read_csv(path, sep="\t", usecols=["symbol"], dtype=str)["symbol"]
    return np.sort(symbols.dropna().unique())


def human_gene_symbols(path: Path = HUMAN_GENES) -> np.ndarray:
    """Sorted unique symbols of the NCBI human gene table (GO-annotated or not)."""
    return np.sort(pd.read_csv(path, sep="\t", usecols=["symbol"], dtype=str)["symbol"].dropna().unique())


def choose_genes(
    real_genes: np.ndarray, go_genes: np.ndarray, n_genes: int, donors: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The real genes plus GO-annotated genes up to ``n_genes``, each with the real column it copies.

    Parameters
    ----------
    donors
        Indices of the real genes whose columns an added gene may copy.

    Raises
    ------
    ValueError
        If ``n_genes`` is below the number of real genes or above what GO can supply.
    """
    pool = np.setdiff1d(go_genes, real_genes)
    extra = n_genes - len(real_genes)
    if extra > len(pool):  # a full transcriptome: every GO gene, and human genes without GO terms for the rest
        others = np.setdiff1d(human_gene_symbols(), np.concatenate([pool, real_genes]))
        pool = np.concatenate([pool, np.sort(rng.choice(others, min(extra - len(pool), len(others)), replace=False))])
    if extra < 0 or extra > len(pool):
        raise ValueError(f"n_genes must lie in [{len(real_genes)}, {len(real_genes) + len(pool)}]")
    added = np.sort(rng.choice(pool, extra, replace=False))
    source = np.concatenate([np.arange(len(real_genes)), rng.choice(donors, extra)])
    return np.concatenate([real_genes, added]), source


def choose_perturbations(
    go_genes: np.ndarray, n_perturbations: int, single_fraction: float, rng: np.random.Generator
) -> tuple[list[str], list[tuple[str, str]]]:
    """Single genes drawn from GO-annotated genes, and pairs of those singles' genes."""
    n_single = max(2, int(round(n_perturbations * single_fraction)))
    n_pair = n_perturbations - n_single
    if n_pair > n_single * (n_single - 1) // 2:
        raise ValueError("too few singles to form that many distinct pairs; raise single_fraction")
    singles = sorted(rng.choice(go_genes, n_single, replace=False).tolist())
    first, second = np.triu_indices(n_single, k=1)
    picked = np.sort(rng.choice(first.size, n_pair, replace=False))
    return singles, [(singles[a], singles[b]) for a, b in zip(first[picked], second[picked])]


def plant_effects(
    perturbed: list[str], genes: np.ndarray, expressed: np.ndarray, rng: np.random.Generator
) -> dict[str, dict[str, float]]:
    """A sparse planted effect per perturbed gene: {gene: {target: log-fold change}}.

    Targets are drawn among genes expressed in control cells (a change of a gene that is
    never expressed could not be seen); a measured perturbed gene also raises itself.
    """
    candidates = np.flatnonzero(expressed)
    position = {g: i for i, g in enumerate(genes)}
    effects = {}
    for gene in perturbed:
        n_targets = int(rng.integers(N_TARGETS[0], N_TARGETS[1] + 1))
        targets = np.sort(rng.choice(candidates, n_targets, replace=False))
        lfc = rng.normal(0.0, LFC_SD, n_targets)
        effect = {str(genes[t]): round(float(v), 6) for t, v in zip(targets, lfc)}
        if gene in position:
            effect[gene] = SELF_LFC
        effects[gene] = effect
    return effects


def plant_pair_factors(
    pairs: list[tuple[str, str]], rng: np.random.Generator
) -> tuple[dict[str, float], dict[str, str]]:
    """A genetic-interaction factor per pair (its effect = factor x (effect A + effect B)) and its class."""
    names = [name for name, *_ in GI_CLASSES]
    shares = np.array([share for _, share, *_ in GI_CLASSES])
    kinds = rng.choice(len(names), len(pairs), p=shares / shares.sum())
    factors, classes = {}, {}
    for (a, b), kind in zip(pairs, kinds):
        _, _, low, high = GI_CLASSES[kind]
        factors[f"{a}+{b}"] = round(float(rng.uniform(low, high)), 6)
        classes[f"{a}+{b}"] = names[kind]
    return factors, classes


def log_fold_matrix(
    conditions: list[str], effects: dict[str, dict[str, float]], factors: dict[str, float], genes: np.ndarray
) -> np.ndarray:
    """Dense ``conditions x genes`` planted log-fold change; a pair's is factor x (sum of its genes')."""
    position = {g: i for i, g in enumerate(genes)}
    single = {}
    for gene, effect in effects.items():
        row = np.zeros(len(genes))
        row[[position[t] for t in effect]] = list(effect.values())
        single[gene] = row
    matrix = np.zeros((len(conditions), len(genes)))
    for i, label in enumerate(conditions[1:], start=1):
        parts = label.split("+")
        matrix[i] = sum(single[g] for g in parts) * factors.get(label, 1.0)
    return matrix


def make_design(
    n_genes: int,
    n_perturbations: int,
    single_fraction: float,
    copy_expressed: bool,
    rng: np.random.Generator,
    control: sp.csr_matrix,
    real_genes: np.ndarray,
) -> Design:
    """Choose genes and perturbations and plant their effects."""
    go_genes = go_annotated_genes()
    real_expressed = np.asarray(control.sum(axis=0)).ravel() > 0
    donors = np.flatnonzero(real_expressed) if copy_expressed else np.arange(len(real_genes))
    genes, source = choose_genes(real_genes, go_genes, n_genes, donors, rng)
    singles, pairs = choose_perturbations(go_genes, n_perturbations, single_fraction, rng)
    expressed = real_expressed[source]
    effects = plant_effects(singles, genes, expressed, rng)
    factors, classes = plant_pair_factors(pairs, rng)
    conditions = ["control", *singles, *factors]
    planted = {
        "generator_version": GENERATOR_VERSION,
        "effects": effects,
        "pair_factors": factors,
        "pair_classes": classes,
        "gene_source": {
            str(g): str(real_genes[s]) for g, s in zip(genes[len(real_genes) :], source[len(real_genes) :])
        },
    }
    return Design(genes, source, conditions, log_fold_matrix(conditions, effects, factors, genes), planted)


def assign_cells(n_cells: int, n_conditions: int, rng: np.random.Generator) -> np.ndarray:
    """Condition code of every cell: equal groups (control gets the remainder), shuffled."""
    per = n_cells // n_conditions
    if per < 1:
        raise ValueError("n_cells must be at least n_perturbations + 1")
    sizes = np.full(n_conditions, per)
    sizes[0] += n_cells - per * n_conditions
    return rng.permutation(np.repeat(np.arange(n_conditions), sizes))


def sample_cells(
    control: sp.csr_matrix,
    donor: np.ndarray,
    size: np.ndarray,
    fold: np.ndarray,
    code: np.ndarray,
    rng: np.random.Generator,
) -> sp.csr_matrix:
    """Poisson counts of one chunk: donor control rows x size factor x fold change of the condition."""
    rows = control[donor]
    cell = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    rate = rows.data * size[cell] * fold[code[cell], rows.indices]
    counts = sp.csr_matrix((rng.poisson(rate).astype(np.float32), rows.indices, rows.indptr), shape=rows.shape)
    counts.eliminate_zeros()
    return counts


def log_normalise(counts: sp.csr_matrix, target_sum: float) -> sp.csr_matrix:
    """``log1p(counts / total x target_sum)`` per cell, in place on a copy of the stored values."""
    totals = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    cell = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    scale = target_sum / np.maximum(totals, 1.0)
    data = np.log1p(counts.data * scale[cell]).astype(np.float32)
    return sp.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)


def expected_median_total(control: sp.csr_matrix) -> float:
    """Median total count of the control cells over the synthetic genes: the normalisation target."""
    return float(np.median(np.asarray(control.sum(axis=1)).ravel()))


def make_synthetic_screen(
    n_cells: int = 90_000,
    n_genes: int = 5_000,
    n_perturbations: int = 237,
    seed: int = 0,
    counts: bool = False,
    single_fraction: float = 2 / 3,
    copy_expressed: bool = True,
) -> ad.AnnData:
    """A Norman-scale screen built from the real control cells of the embedded Norman 2019 subset.

    Parameters
    ----------
    n_cells
        Cells in all; about ``n_cells / (n_perturbations + 1)`` per perturbation and for control.
    n_genes
        Measured genes: the 500 real genes plus GO-annotated genes copying real columns.
    n_perturbations
        Distinct perturbations (singles and pairs), control excluded.
    seed
        Seeds every choice; the same arguments give the same screen.
    counts
        Keep raw integer counts in ``X`` (so gearsplan must normalise them) instead of
        normalise-total + log1p.
    single_fraction
        Share of single-gene perturbations; pairs combine genes perturbed as singles.
    copy_expressed
        Added genes copy only real genes detected in some control cell. 79% of the 500 real
        genes (highly variable across perturbations) are never detected in the 100 real
        control cells; copying those too would give a matrix about 2% dense, several times
        sparser than a real 5,000-gene Norman screen, and would understate memory.

    Returns
    -------
    anndata.AnnData
        ``X`` float32 CSR; ``obs['condition']`` is ``control``, ``A`` or ``A+B``;
        ``var['source_gene']`` names the real gene each column copies;
        ``uns['planted']`` holds the planted effects ``{gene: {target: lfc}}``,
        ``pair_factors`` and ``pair_classes``.
    """
    rng = np.random.default_rng(seed)
    real_counts, real_genes = real_control_counts()
    design = make_design(n_genes, n_perturbations, single_fraction, copy_expressed, rng, real_counts, real_genes)
    return sample_screen(
        design, real_counts, real_genes, n_cells, seed, counts, rng, {"copy_expressed": copy_expressed}
    )


def sample_screen(
    design: Design,
    real_counts: sp.csr_matrix,
    real_genes: np.ndarray,
    n_cells: int,
    seed: int,
    counts: bool,
    rng: np.random.Generator,
    extra: dict,
) -> ad.AnnData:
    """Cells of a designed screen: resampled real control cells x size factor x planted fold change, Poisson-sampled.

    ``rng`` continues the generator that made the design; ``extra`` is added to ``uns['planted']``.
    """
    frame, chunks = screen_chunks(design, real_counts, real_genes, n_cells, seed, counts, rng, extra)
    frame.X = sp.vstack(list(chunks), format="csr", dtype=np.float32)
    return frame


def screen_chunks(
    design: Design,
    real_counts: sp.csr_matrix,
    real_genes: np.ndarray,
    n_cells: int,
    seed: int,
    counts: bool,
    rng: np.random.Generator,
    extra: dict,
) -> tuple[ad.AnnData, Iterator[sp.csr_matrix]]:
    """The screen of :func:`sample_screen` without ``X`` (its ``obs``, ``var`` and ``uns``), and its cells, one chunk at a time."""
    control = real_counts[:, design.source].tocsr()
    code = assign_cells(n_cells, len(design.conditions), rng)
    donor = rng.integers(0, control.shape[0], n_cells)
    size = np.exp(rng.normal(0.0, SIZE_FACTOR_SD, n_cells))
    fold = np.exp(design.log_fold)
    target_sum = expected_median_total(control)
    chunk_seeds = np.random.SeedSequence(seed).spawn((n_cells + CHUNK_CELLS - 1) // CHUNK_CELLS)

    def chunks() -> Iterator[sp.csr_matrix]:
        for start, chunk_seed in zip(range(0, n_cells, CHUNK_CELLS), chunk_seeds):
            part = slice(start, start + CHUNK_CELLS)
            sampled = sample_cells(
                control, donor[part], size[part], fold, code[part], np.random.default_rng(chunk_seed)
            )
            yield sampled if counts else log_normalise(sampled, target_sum)

    obs = pd.DataFrame(
        {
            "condition": pd.Categorical(np.asarray(design.conditions)[code], categories=design.conditions),
            "size_factor": size.astype(np.float32),
        },
        index=pd.Index([f"cell{i:07d}" for i in range(n_cells)]),
    )
    var = pd.DataFrame({"source_gene": real_genes[design.source]}, index=pd.Index(design.genes))
    planted = {**design.planted, "seed": seed, "counts": counts, "target_sum": target_sum, **extra}
    return ad.AnnData(obs=obs, var=var, uns={"planted": planted}), chunks()


def write_chunked_screen(path: str | Path, **kwargs) -> Path:
    """:func:`make_synthetic_screen` written chunk by chunk (anndata's sparse dataset ``append``): the same file
    as :func:`write_synthetic_screen`, in the memory of one chunk, for screens larger than memory."""
    import h5py
    from anndata.io import sparse_dataset, write_elem

    kwargs = {**dict(n_cells=90_000, n_genes=5_000, n_perturbations=237, seed=0, counts=False), **kwargs}
    rng = np.random.default_rng(kwargs["seed"])
    real_counts, real_genes = real_control_counts()
    copy = kwargs.pop("copy_expressed", True)
    design = make_design(
        kwargs["n_genes"],
        kwargs["n_perturbations"],
        kwargs.pop("single_fraction", 2 / 3),
        copy,
        rng,
        real_counts,
        real_genes,
    )
    frame, chunks = screen_chunks(
        design,
        real_counts,
        real_genes,
        kwargs["n_cells"],
        kwargs["seed"],
        kwargs["counts"],
        rng,
        {"copy_expressed": copy},
    )
    frame.uns["planted"] = json.dumps(frame.uns["planted"], sort_keys=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    frame.write_h5ad(partial)
    with h5py.File(partial, "a") as handle:
        if "X" in handle:
            del handle["X"]
        # anndata makes the arrays resizable; chunks of 1 MB of values (its default follows the first, small chunk)
        write_elem(handle, "X", next(chunks), dataset_kwargs={"chunks": (1 << 18,)})
        stored = sparse_dataset(handle["X"])
        for chunk in chunks:
            stored.append(chunk)
    partial.replace(path)
    return path


def write_synthetic_screen(path: str | Path, make=None, **kwargs) -> Path:
    """Generate a screen with ``make`` (default :func:`make_synthetic_screen`) from ``kwargs`` and write it as ``.h5ad``.

    ``uns['planted']`` is stored as one JSON string (thousands of tiny HDF5 datasets would make
    reading the file slow); :func:`planted_effects` reads it back either way.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    adata = (make or make_synthetic_screen)(**kwargs)
    adata.uns["planted"] = json.dumps(adata.uns["planted"], sort_keys=True)
    partial = path.with_name(path.name + ".partial")
    adata.write_h5ad(partial, compression=None)
    partial.replace(path)
    return path


def planted_effects(adata: ad.AnnData) -> dict:
    """The ``uns['planted']`` record as a dict, whether held as a dict or as a JSON string."""
    planted = adata.uns["planted"]
    return json.loads(planted) if isinstance(planted, str) else dict(planted)


def main(argv: list[str] | None = None) -> None:
    """Command line: write a synthetic screen to a file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cells", type=int, default=90_000)
    parser.add_argument("--genes", type=int, default=5_000)
    parser.add_argument("--perturbations", type=int, default=237)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--counts", action="store_true", help="store raw integer counts")
    args = parser.parse_args(argv)
    write_synthetic_screen(
        args.out,
        n_cells=args.cells,
        n_genes=args.genes,
        n_perturbations=args.perturbations,
        seed=args.seed,
        counts=args.counts,
    )
    print(args.out)


if __name__ == "__main__":
    main()
