"""The reference GEARS (PyPI ``cell-gears`` 0.1.2) on the embedded Norman 2019 subset, fully offline.

This reruns the anchor that the shared data README (and ``gearsplan/resources/PROVENANCE.md``)
reports: the reference implementation, hidden 64, 20 epochs, batch 32, CPU, on the embedded
subset with the reference split ``gears_reference_splits/seed1.json``, its GO graph built from the
shipped ``gene2go_human.tsv.gz`` with cell-gears' own Jaccard recipe (``make_GO``). It is a
benchmark companion, not part of gearsplan: install it only to compare,
``.venv/bin/pip install cell-gears==0.1.2``.

How the data directory is laid out for cell-gears (everything in a temporary work directory):

- ``<work>/data/gene2go_all.pkl``: ``{symbol: set(GO ids)}`` from ``gene2go_human.tsv.gz``
  (every ontology and evidence code). ``PertData.__init__`` downloads this file unless it is
  present, so it is placed first. This pickle is written here for cell-gears' own consumption;
  gearsplan never reads pickles.
- ``default_pert_graph=False``: the perturbation graph covers the measured genes plus the
  perturbed genes (those with GO terms), so cell-gears neither downloads
  ``essential_all_data_pert_genes.pkl`` nor ``go_essential_all.tar.gz``; ``make_GO`` computes the
  Jaccard edges (> 0.1) itself and writes ``./data/go_essential_<name>.csv`` relative to the
  *current directory*, so the script runs with the work directory as its current directory.
- The screen as cell-gears wants it: ``obs['condition']`` spelled ``A+ctrl``, ``A+B``, ``ctrl``;
  ``obs['cell_type']``; ``var['gene_name']``. Perturbations with a gene that has no GO terms are
  dropped first (IER5L, as in the reference run); all 500 measured genes are kept.
- The split is exactly ``seed1.json`` (cell-gears' ``custom`` split reads a pickled
  ``{"train", "val", "test"}`` dict). As a check that the data were laid out as the reference
  run had them, cell-gears' own ``simulation`` splitter is also run with seed 1 and compared.

Any attempt to reach the network raises (``requests.get`` is replaced by a function that
fails), so a missing pre-placed file shows up as an error, never as a download.

Run ``python benchmarks/reference_gears.py [--epochs 20]``: prints one JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import pickle
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

SEED = 1
DATASET = "norman_subset"
CELL_TYPE = "K562"


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def forbid_network() -> None:
    """Make any download attempt of cell-gears fail loudly instead of reaching the network."""
    import requests

    def refuse(url: str, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"cell-gears tried to download {url}: a file it needs was not pre-placed")

    requests.get = refuse
    requests.Session.get = lambda self, url, *a, **k: refuse(url)


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    """Run the block with ``path`` as the current directory (``make_GO`` writes to ``./data``)."""
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def gene2go_dict(path: Path) -> dict[str, set[str]]:
    """``{symbol: set of GO ids}`` from the shipped ``gene2go_human.tsv.gz`` (the format of gears' gene2go_all.pkl)."""
    gene2go: dict[str, set[str]] = {}
    with gzip.open(path, "rt") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        symbol, go_id = header.index("symbol"), header.index("go_id")
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if fields[symbol] and fields[go_id]:
                gene2go.setdefault(fields[symbol], set()).add(fields[go_id])
    return gene2go


def gears_condition(label: str) -> str:
    """gearsplan's embedded labels (``control``, ``A``, ``A+B``) in cell-gears' spelling."""
    if label == "control":
        return "ctrl"
    return label if "+" in label else f"{label}+ctrl"


def screen_for_gears(gene2go: dict[str, set[str]]):
    """The embedded subset with cell-gears' columns, perturbations without GO terms dropped."""
    import anndata as ad
    import scipy.sparse as sp

    from gearsplan.data.embedded import NORMAN2019

    adata = ad.read_h5ad(NORMAN2019)
    condition = adata.obs["condition"].astype(str).map(gears_condition)
    genes = condition.map(lambda c: [g for g in c.split("+") if g != "ctrl"])
    keep = genes.map(lambda gs: all(g in gene2go for g in gs)).to_numpy()
    dropped = sorted(set(condition[~keep]))
    adata = adata[keep].copy()
    adata.X = sp.csr_matrix(adata.X, dtype=np.float32)
    adata.obs = adata.obs[[]].assign(condition=condition[keep].to_numpy(), cell_type=CELL_TYPE)
    adata.var = adata.var[[]].assign(gene_name=adata.var_names.to_numpy(dtype=str))
    return adata, dropped


def reference_split(seed: int) -> dict[str, list[str]]:
    """The reference split's ``set2conditions`` (train/val/test) as shipped with gearsplan."""
    from gearsplan.data.embedded import reference_split as split_path

    sets = json.loads(Path(split_path(seed)).read_text())["set2conditions"]
    return {part: list(sets[part]) for part in ("train", "val", "test")}


def simulation_split_matches(adata, expected: dict[str, list[str]], seed: int) -> bool:
    """Whether cell-gears' own simulation splitter, on this data, draws the shipped split."""
    from gears.data_utils import DataSplitter

    copy = adata.copy()
    split, _ = DataSplitter(copy, split_type="simulation").split_data(
        train_gene_set_size=0.75, combo_seen2_train_frac=0.75, seed=seed
    )
    drawn = split.obs.groupby("split", observed=True)["condition"].agg(lambda x: sorted(set(x))).to_dict()
    return all(sorted(drawn.get(part, [])) == sorted(expected[part]) for part in expected)


def gears_on_cpu(GEARS, pert_data):
    """``GEARS(pert_data, device="cpu")``, working around one incompatibility with scipy >= 1.15.

    ``GEARS.__init__`` takes the control mean as ``adata.X[adata.obs.condition == 'ctrl']``;
    current scipy no longer accepts a pandas boolean Series as a sparse-matrix index
    (``AttributeError: 'Series' object has no attribute 'nonzero'``). The constructor is given
    the same values as a dense array, and the sparse matrix is put back at once, because
    cell-gears' test analysis (``deeper_analysis``) calls ``adata.X.toarray()``. Nothing else
    of cell-gears is changed.
    """
    adata = pert_data.adata = pert_data.adata.copy()  # load() leaves a view; make it an actual AnnData
    sparse = adata.X
    adata.X = sparse.toarray()
    try:
        return GEARS(pert_data, device="cpu")
    finally:
        adata.X = sparse


def test_metrics(model, pert_data) -> dict[str, float]:
    """Means over test perturbations of cell-gears' own per-perturbation metrics (``deeper_analysis``)."""
    from gears.inference import compute_metrics, deeper_analysis, evaluate

    results = evaluate(pert_data.dataloader["test_loader"], model.best_model, model.config["uncertainty"], model.device)
    _, per_pert = compute_metrics(results)
    deeper = deeper_analysis(pert_data.adata, results)
    perts = sorted(deeper)
    pearson = np.array([deeper[p]["pearson_delta"] for p in perts])
    return {
        "test_perturbations": len(perts),
        "pearson_delta": round(float(pearson.mean()), 4),
        "pearson_delta_sd": round(float(pearson.std()), 4),
        "pearson_delta_top20": round(float(np.mean([deeper[p]["pearson_delta_de"] for p in perts])), 4),
        "mse_top20": round(float(np.mean([per_pert[p]["mse_de"] for p in perts])), 4),
    }


def run_reference(
    work: Path, seed: int = SEED, epochs: int = 20, hidden: int = 64, batch_size: int = 32, threads: int | None = None
) -> tuple[float, dict[str, Any]]:
    """Lay out the data, build cell-gears' dataset and model, train; return (training seconds, details).

    Only ``GEARS.train(epochs)`` is timed (it includes cell-gears' per-epoch evaluation of the
    train and validation sets and its final test evaluation, as in the reference's ~60 s).
    ``threads`` sets torch's intra-op threads right before training (scanpy's numba DE kernels
    reset the shared OpenMP thread count, so setting it earlier does not hold); None: torch's default.
    """
    from gearsplan.data.embedded import GENE2GO

    details: dict[str, Any] = {}
    start = time.perf_counter()
    import torch
    from gears import GEARS, PertData

    forbid_network()
    details["import_s"] = round(time.perf_counter() - start, 2)
    details["import_peak_mb"] = round(peak_rss_mb())

    data_path = work / "data"
    data_path.mkdir(parents=True, exist_ok=True)
    with working_directory(work):
        start = time.perf_counter()
        gene2go = gene2go_dict(GENE2GO)
        with open(data_path / "gene2go_all.pkl", "wb") as handle:
            pickle.dump(gene2go, handle)
        adata, dropped = screen_for_gears(gene2go)
        split = reference_split(seed)
        details["dropped"] = ",".join(dropped)
        details["split_reproduced"] = simulation_split_matches(adata, split, seed)
        with open(work / "split.pkl", "wb") as handle:
            pickle.dump(split, handle)

        np.random.seed(seed)  # cell-gears pairs each cell with a control drawn by np.random, unseeded
        torch.manual_seed(seed)
        pert_data = PertData(str(data_path), default_pert_graph=False)
        pert_data.new_data_process(dataset_name=DATASET, adata=adata)
        pert_data.load(data_path=str(data_path / DATASET))
        pert_data.prepare_split(split="custom", seed=seed, split_dict_path=str(work / "split.pkl"))
        pert_data.get_dataloader(batch_size=batch_size, test_batch_size=128)
        details["process_s"] = round(time.perf_counter() - start, 2)

        start = time.perf_counter()
        model = gears_on_cpu(GEARS, pert_data)
        model.model_initialize(hidden_size=hidden)
        details["init_s"] = round(time.perf_counter() - start, 2)
        details["go_genes"] = len(model.pert_list)
        details["train_batches"] = len(pert_data.dataloader["train_loader"])

        if threads:
            torch.set_num_threads(threads)
        details["threads"] = torch.get_num_threads()
        start = time.perf_counter()
        model.train(epochs=epochs)
        seconds = time.perf_counter() - start
        details["epochs"] = epochs
        details["s_per_epoch"] = round(seconds / epochs, 2)
        details.update(test_metrics(model, pert_data))
    return seconds, details


def main(argv: list[str] | None = None) -> int:
    """Command line: run the reference once and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--threads", type=int, help="torch intra-op threads for training (default: torch's)")
    parser.add_argument("--work", type=Path, help="work directory (default: a new temporary one)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="reference-gears-"))
    seconds, details = run_reference(work.resolve(), seed=args.seed, epochs=args.epochs, threads=args.threads)
    print(json.dumps({"train_s": round(seconds, 2), "peak_mb": round(peak_rss_mb()), **details}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
