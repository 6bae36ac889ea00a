"""Speed and memory benchmarks of gearsplan: ``python benchmarks/run.py [--only NAME ...] [--quick]``.

Every benchmark runs in its own fresh Python process, so its peak resident memory is its own.
A benchmark may have a ``prepare`` step (build test data, warm a cache); that runs in a
separate process first, so neither its time nor its memory is counted. The measuring process
prints one JSON object on its last stdout line: the timed seconds, the peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and details. The parent prints a Rich table.

To add a benchmark, write ``measure(ctx) -> (seconds, details)`` (and optionally
``prepare(ctx)``) and add one :class:`Benchmark` entry to :data:`BENCHMARKS`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, NamedTuple

HERE = Path(__file__).resolve().parent
#: Where generated synthetic screens are kept between runs (ignored by git).
DEFAULT_DATA_DIR = HERE / ".cache"
#: Peak-memory goal of the 100k-cell data benchmarks (issue #2: "a few GB").
MEMORY_GOAL_MB = 4_000.0
#: Seconds a single child process may run.
DEFAULT_TIMEOUT_S = 900
#: Seconds the Norman-scale training may run before it is stopped (its goal is 600 s).
TRAIN_NORMAN_TIMEOUT_S = 1_200

Details = dict[str, Any]
Timing = tuple[float, Details]


def screen_shape(quick: bool) -> tuple[int, int]:
    """Cells and genes of the synthetic screen: Norman scale, or a smoke-run size."""
    return (20_000, 2_000) if quick else (100_000, 5_000)


@dataclass(frozen=True)
class Context:
    """What a benchmark needs to know about this run.

    Attributes
    ----------
    quick
        Smoke-run sizes (20,000 cells x 2,000 genes instead of 100,000 x 5,000).
    data_dir
        Where synthetic screens are generated once and kept.
    scratch
        A temporary directory of this benchmark, shared by its prepare and measure steps.
    threads
        torch intra-op threads outside gearsplan's model (``--threads``); None: torch's default.
    device
        Where the training rows train (``--device``: ``auto``, ``cpu``, ``cuda``).
    """

    quick: bool
    data_dir: Path
    scratch: Path
    threads: int | None = None
    device: str = "auto"

    @property
    def partial_path(self) -> Path:
        """Where a long benchmark keeps what it has measured so far (read back if it runs out of time)."""
        return self.scratch / "partial.json"

    def synthetic_path(self, counts: bool) -> Path:
        """The cached synthetic screen of this run's size (raw counts or log-normalised)."""
        from synthetic_screen import GENERATOR_VERSION

        cells, genes = screen_shape(self.quick)
        kind = "counts" if counts else "log1p"
        return self.data_dir / f"synthetic_{cells}x{genes}_seed0_{kind}_v{GENERATOR_VERSION}.h5ad"


@dataclass(frozen=True)
class Result:
    """What one benchmark measured (``error`` set when it could not run)."""

    name: str
    seconds: float | None
    peak_mb: float | None
    details: Details
    error: str | None = None
    skipped: str | None = None


class Benchmark(NamedTuple):
    """One registry entry: description, goal text, measuring function, goal check, optional prepare.

    ``met`` is None for a comparison without a goal of its own; ``timeout`` replaces
    :data:`DEFAULT_TIMEOUT_S` for this benchmark's processes (an explicit ``--timeout`` wins).
    """

    description: str
    goal: str
    measure: Callable[[Context], Timing]
    met: Callable[[Result], bool] | None
    prepare: Callable[[Context], None] | None = None
    timeout: float | None = None


class Skipped(Exception):
    """Raised by a measure that cannot run here for a reason that is not a failure (an optional package is absent)."""


# --------------------------------------------------------------------------- helpers


def timed(function: Callable[[], Details]) -> Timing:
    """Wall-clock seconds of ``function()`` and the details it returns."""
    start = time.perf_counter()
    details = function()
    return time.perf_counter() - start, details


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (``ru_maxrss`` is in KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def within(seconds: float | None = None, megabytes: float | None = None) -> Callable[[Result], bool]:
    """A goal check: time at most ``seconds`` and peak memory at most ``megabytes`` (either optional)."""

    def check(result: Result) -> bool:
        if result.error is not None or result.seconds is None or result.peak_mb is None:
            return False
        return (seconds is None or result.seconds <= seconds) and (megabytes is None or result.peak_mb <= megabytes)

    return check


def ensure_synthetic(ctx: Context, counts: bool) -> None:
    """Generate the synthetic screen of this run's size once (not timed)."""
    from synthetic_screen import write_synthetic_screen

    path = ctx.synthetic_path(counts)
    if not path.exists():
        cells, genes = screen_shape(ctx.quick)
        write_synthetic_screen(path, n_cells=cells, n_genes=genes, seed=0, counts=counts)


# --------------------------------------------------------------------------- benchmarks


def _go_graph(ctx: Context) -> Timing:
    """Build (or load) the GO graph in this benchmark's own cache directory; count the cache files."""
    from gearsplan.knowledge.go_graph import build_go_graph

    graph_dir = Path(os.environ["GEARSPLAN_CACHE_DIR"])
    seconds, details = timed(lambda: _graph_details(build_go_graph(cache=True)))
    details["cache_files"] = sum(1 for p in graph_dir.rglob("*") if p.is_file())
    return seconds, details


def _graph_details(graph) -> Details:
    """Size of a :class:`~gearsplan.knowledge.gene_graph.GeneGraph`."""
    return {"genes": graph.n_genes, "edges": graph.n_edges}


def prepare_go_graph_cached(ctx: Context) -> None:
    """Build the GO graph once into this benchmark's cache directory."""
    from gearsplan.knowledge.go_graph import build_go_graph

    build_go_graph(cache=True)


def measure_go_graph_cached(ctx: Context) -> Timing:
    """Load the GO graph from the cache warmed by the prepare step."""
    seconds, details = _go_graph(ctx)
    if details["cache_files"] == 0:
        raise RuntimeError("no cache file was written, so the graph was not loaded from cache")
    return seconds, details


def measure_embedded_evaluate_loo(ctx: Context) -> Timing:
    """Imports, reading the embedded screen and a leave-one-out evaluation of the baselines."""

    def run() -> Details:
        from gearsplan.analysis.evaluation import evaluate
        from gearsplan.data.screen import read_screen

        screen = read_screen()
        evaluation = evaluate(screen, models=("baselines",), split="loo", seeds=(1,))
        return {"perturbations": len(screen.perturbations), "rows": len(evaluation.per_perturbation)}

    return timed(run)


def _measure_data_steps(ctx: Context, counts: bool) -> Timing:
    """read_screen + pseudobulk + de_genes on the synthetic screen, each step timed."""
    from gearsplan.data.de_genes import de_genes
    from gearsplan.data.pseudobulk import pseudobulk
    from gearsplan.data.screen import read_screen

    path = ctx.synthetic_path(counts)
    steps: Details = {}

    def run() -> Details:
        seconds, screen = _step(lambda: read_screen(path))
        steps["read_s"] = seconds
        seconds, bulk = _step(lambda: pseudobulk(screen))
        steps["pseudobulk_s"] = seconds
        seconds, _ = _step(lambda: de_genes(bulk))
        steps["de_genes_s"] = seconds
        cells, genes = screen.adata.shape
        return {
            "cells": cells,
            "genes": genes,
            "nnz": int(screen.adata.X.nnz),
            "perturbations": len(screen.perturbations),
            **steps,
        }

    return timed(run)


def _step(function: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds (rounded to 0.01) and value of ``function()``."""
    start = time.perf_counter()
    value = function()
    return round(time.perf_counter() - start, 2), value


# --------------------------------------------------------------------------- training benchmarks

#: Seed of every training benchmark (split and model).
TRAIN_SEED = 1


def _peak() -> float:
    """Peak resident memory so far, MB, rounded."""
    return round(peak_rss_mb())


#: Environment variable through which ``--threads`` reaches the child processes.
THREADS_ENV = "GEARSPLAN_BENCH_TORCH_THREADS"


#: Environment variable through which ``--device`` reaches the child processes.
DEVICE_ENV = "GEARSPLAN_BENCH_DEVICE"


def _requested_threads() -> int | None:
    """The ``--threads`` of this run, or None."""
    return int(os.environ[THREADS_ENV]) if os.environ.get(THREADS_ENV) else None


def _apply_threads() -> int:
    """Set torch's intra-op threads from ``--threads`` (if given); return the number in use.

    Call it right before the timed section: scanpy's DE t-test runs numba kernels whose OpenMP
    layer shares libgomp with torch and sets its thread count back to one per core.
    """
    import torch

    if _requested_threads():
        torch.set_num_threads(_requested_threads())
    return torch.get_num_threads()


def _load_average() -> str:
    """1-minute load average: above the core count means another process competed for the CPU."""
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "?"


class EpochLog:
    """Collects ``fit_gears`` progress reports (one per epoch) with timestamps.

    Every report also rewrites ``ctx.partial_path`` with the summary so far, so a run that
    exceeds its time limit still tells how far it got and how fast it went.
    """

    def __init__(self, ctx: Context, base: Details) -> None:
        self.ctx, self.base = ctx, base
        self.start = time.perf_counter()
        self.times: dict[int, list[float]] = {}
        self.threads = 0

    def __call__(self, member: int, epoch: int, epochs: int, loss: float, score: float | None) -> None:
        import torch

        self.times.setdefault(member, []).append(time.perf_counter() - self.start)
        self.threads = torch.get_num_threads()  # what fit_gears trains on (model/threads.fast_cpu)
        self.ctx.partial_path.write_text(
            json.dumps({**self.base, **self.summary(), "elapsed_s": round(self.times[member][-1], 1)})
        )

    def summary(self) -> Details:
        """Epochs per member, median seconds per epoch, set-up before the first epoch."""
        steps = [b - a for t in self.times.values() for a, b in zip(t, t[1:])]
        per_epoch = statistics.median(steps) if steps else (self.times[0][0] if self.times else float("nan"))
        first = self.times[0][0] if self.times else float("nan")
        ends = [0.0] + [t[-1] for t in self.times.values()]
        return {
            "threads": self.threads,
            "members_done": len(self.times),
            "epochs": "/".join(str(len(t)) for t in self.times.values()),
            "member_s": "/".join(f"{b - a:.1f}" for a, b in zip(ends, ends[1:])),
            "s_per_epoch": round(per_epoch, 3),
            "slowest_epoch_s": round(max(steps, default=first), 2),
            # Time from fit_gears' start to the end of the first epoch, less one epoch: co-expression
            # graph, training-cell matrix, first network (GO adjacency table).
            "setup_s": round(first - per_epoch, 2),
        }


def _train_gears(ctx: Context, path: Path | None, split_spec: str, **config: Any) -> Timing:
    """Read, prepare, split and load the GO graph (untimed, each step reported), then time ``fit_gears``.

    Details: each untimed step's seconds and the peak memory after it, the epochs each member
    ran (early stopping), seconds per epoch, and the mean Pearson correlation of predicted and
    true change over control on the split's test perturbations.
    """
    import numpy as np

    from gearsplan.analysis.metrics import perturbation_metrics
    from gearsplan.data.prepared import prepare
    from gearsplan.data.screen import read_screen
    from gearsplan.data.splits import resolve_splits
    from gearsplan.knowledge.go_graph import build_go_graph
    from gearsplan.model.device import resolve_device
    from gearsplan.model.training import TrainConfig, fit_gears

    details: Details = {"imports_peak_mb": _peak()}
    seconds, screen = _step(lambda: read_screen(path))
    details.update(read_s=seconds, read_peak_mb=_peak())
    seconds, data = _step(lambda: prepare(screen))
    details.update(prepare_s=seconds, prepare_peak_mb=_peak())
    split = resolve_splits(split_spec, screen.perturbations, TRAIN_SEED)[0]
    seconds, go = _step(build_go_graph)
    details.update(go_graph_s=seconds, go_peak_mb=_peak())
    cells, genes = screen.adata.shape
    details.update(
        cells=cells,
        genes=genes,
        train=len(split.train),
        val=len(split.val),
        test=len(split.test),
        load_before=_load_average(),
    )
    settings = TrainConfig(**config, device=resolve_device(os.environ.get(DEVICE_ENV, "auto")))
    details["device"] = settings.device
    log = EpochLog(ctx, details)
    start = time.perf_counter()
    model = fit_gears(data, split, TRAIN_SEED, settings, go=go, progress=log)
    seconds = time.perf_counter() - start
    details.update(log.summary(), load_after=_load_average(), fit_peak_mb=_peak())
    keys = list(split.test)
    metrics = perturbation_metrics(
        model.predict(keys).mean, data.bulk.delta[data.bulk.rows(keys)], data.de.matrix(keys)
    )
    details["test_pearson_delta"] = round(float(np.nanmean(metrics["pearson_delta"])), 3)
    details["test_pearson_delta_top20"] = round(float(np.nanmean(metrics["pearson_delta_top20"])), 3)
    return seconds, details


def prepare_training_embedded(ctx: Context) -> None:
    """Warm this benchmark's GO-graph and gene-knowledge caches (in its own process, so neither cost is counted)."""
    prepare_model_caches(ctx)


def prepare_training_synthetic(ctx: Context) -> None:
    """Generate the synthetic log1p screen once and warm the GO-graph and gene-knowledge caches."""
    ensure_synthetic(ctx, counts=False)
    prepare_model_caches(ctx)


def prepare_model_caches(ctx: Context) -> None:
    """Build the GO graph and its genes' knowledge features once into this benchmark's cache directory,
    as a user's first ``train`` leaves them for the next."""
    from gearsplan.knowledge.gene_knowledge import knowledge_features
    from gearsplan.knowledge.go_graph import build_go_graph

    knowledge_features(build_go_graph(cache=True).genes)


def measure_reference_gears(ctx: Context) -> Timing:
    """The reference GEARS (cell-gears 0.1.2), 20 epochs on the embedded subset, reference split seed 1.

    Skipped, not failed, when cell-gears is not installed.
    """
    import importlib.util

    if importlib.util.find_spec("gears") is None:
        raise Skipped("cell-gears not installed (pip install cell-gears==0.1.2)")
    from reference_gears import run_reference

    load = _load_average()
    seconds, details = run_reference(
        ctx.scratch / "reference", seed=TRAIN_SEED, epochs=20, threads=_requested_threads()
    )
    return seconds, {**details, "load_before": load, "load_after": _load_average()}


# --------------------------------------------------------------------------- experiment design benchmarks

#: Genes whose every pair the suggest-scoring benchmark scores (C(200, 2) = 19,900 pairs).
SUGGEST_PAIR_GENES = 200


def _suggest_model_dir(ctx: Context) -> Path:
    return ctx.scratch / "model"


def prepare_suggest_model(ctx: Context) -> None:
    """Train a 5-member model with the default settings on the embedded data (simulation split) and save it."""
    from gearsplan.analysis.training_run import train_bundle
    from gearsplan.data.screen import read_screen
    from gearsplan.model.bundle import save_bundle

    save_bundle(train_bundle(read_screen(), "simulation").bundle, _suggest_model_dir(ctx))


def measure_suggest_scoring(ctx: Context) -> Timing:
    """Score every unmeasured GO gene as a single and every pair of 200 genes, and choose 50 (model and data loaded untimed)."""
    from itertools import combinations

    import numpy as np

    from gearsplan.data.pseudobulk import pseudobulk
    from gearsplan.data.screen import read_screen
    from gearsplan.design.candidates import Measured
    from gearsplan.design.suggestion import plan_batch
    from gearsplan.model.bundle import load_bundle

    model = load_bundle(_suggest_model_dir(ctx)).model
    bulk = pseudobulk(read_screen())
    measured = Measured(frozenset(bulk.keys))
    singles = [g for g in model.go.genes if g not in measured.keys]
    others = np.random.default_rng(0).choice(singles, SUGGEST_PAIR_GENES - len(measured.single_genes), replace=False)
    pairs = ["+".join(sorted(p)) for p in combinations([*measured.single_genes, *others], 2)]
    pairs = [k for k in pairs if k not in measured.keys]
    details: Details = {
        "members": len(model.members),
        "singles": len(singles),
        "pairs": len(pairs),
        "threads": _apply_threads(),
        "load_before": _load_average(),
    }
    seconds, plan = _step(lambda: plan_batch(model, measured, singles, pairs, bulk.control, 50, refine=200, seed=0))
    kinds = [s.kind for s in plan.suggestions]
    return seconds, {
        **details,
        "chosen_singles": kinds.count("single"),
        "chosen_pairs": kinds.count("pair"),
        "load_after": _load_average(),
    }


def untrained_model(n_genes: int):
    """A model over the first ``n_genes`` GO genes with no members, no co-expression edges and 100 measured singles of
    seeded random changes (the last 100 GO genes) to build on; with the GO graph."""
    import numpy as np

    from gearsplan.knowledge.gene_graph import GeneGraph
    from gearsplan.knowledge.go_graph import build_go_graph
    from gearsplan.model.ensemble import GearsModel
    from gearsplan.model.network import NetworkConfig

    go = build_go_graph()
    genes, none = go.genes[:n_genes], np.zeros(0, np.int64)
    zeros = np.zeros(n_genes)
    measured = dict(zip(go.genes[-100:], np.random.default_rng(0).normal(size=(100, n_genes))))
    graph = GeneGraph(genes, none, none, np.zeros(0, np.float32))
    return GearsModel(NetworkConfig(n_genes, go.n_genes), genes, go, graph, zeros, zeros, zeros, measured), go


def measure_predict_5000_genes(ctx: Context) -> Timing:
    """``GearsModel.predict`` of 1,024 unmeasured singles with 5 untrained members over 5,000 genes, 100 measured singles of seeded random changes to build on (model built untimed)."""
    model, go = untrained_model(PREDICT_GENES)
    model.members = [model.new_member() for _ in range(5)]
    keys = list(go.genes[PREDICT_GENES : PREDICT_GENES + PREDICT_SETS])
    seconds, _ = _step(lambda: model.predict(keys))
    return seconds, {
        "genes": PREDICT_GENES,
        "sets": PREDICT_SETS,
        "members": 5,
        "chunk": model.chunk,
        "load": _load_average(),
    }


def run_cli(*args: str) -> tuple[float, dict]:
    """``python -m gearsplan ARGS --json`` in a fresh interpreter: wall seconds (start-up included) and its JSON document."""
    command = [sys.executable, "-m", "gearsplan", *args, "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ})
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
    return seconds, json.loads(done.stdout)


#: Fresh interpreters a start-up row times; it reports their median (issue 27: "median of 5 runs").
START_RUNS = 5


def median_of_runs(*args: str, exit_code: int = 0, expect: str = "") -> Timing:
    """``python -m gearsplan ARGS`` in :data:`START_RUNS` fresh interpreters: the median wall seconds (start-up
    included), each run's, the median CPU seconds (user + system: what a busy machine inflates less) and the load.
    Every run must end with ``exit_code`` and print ``expect`` (stdout or stderr)."""
    times, cpu = [], []
    for _ in range(START_RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "gearsplan", *args], capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != exit_code or expect not in done.stdout + done.stderr:
            raise RuntimeError(f"exit {done.returncode}: {(done.stderr.strip().splitlines() or ['no output'])[-1]}")
    return statistics.median(times), {
        "runs_s": "/".join(f"{t:.2f}" for t in times),
        "cpu_s": round(statistics.median(cpu), 2),
        "load": _load_average(),
    }


def prepare_quick_model(ctx: Context) -> None:
    """A 2-member, 2-epoch model of the embedded data: what ``predict`` names genes against is the same at any size."""
    from gearsplan.analysis.training_run import train_bundle
    from gearsplan.data.screen import read_screen
    from gearsplan.model.bundle import save_bundle
    from gearsplan.model.train_config import TrainConfig

    save_bundle(
        train_bundle(read_screen(), "simulation", 1, TrainConfig(ensemble=2, epochs=2)).bundle, _suggest_model_dir(ctx)
    )


def measure_cli_help(ctx: Context) -> Timing:
    """``gearsplan --help``, median of :data:`START_RUNS` fresh interpreters."""
    return median_of_runs("--help", expect="predict")


def measure_cli_unknown_gene(ctx: Context) -> Timing:
    """``gearsplan predict FOOBAR1 --model DIR``, refused with "did you mean", median of :data:`START_RUNS` fresh interpreters."""
    return median_of_runs(
        "predict", "FOOBAR1", "--model", str(_suggest_model_dir(ctx)), exit_code=2, expect="did you mean"
    )


def measure_suggest_cli(ctx: Context) -> Timing:
    """``gearsplan suggest --budget 50 --model DIR --json`` in a fresh interpreter, end to end (start-up included)."""
    seconds, document = run_cli("suggest", "--budget", "50", "--model", str(_suggest_model_dir(ctx)))
    rows = document["suggestions"]
    return seconds, {
        "suggestions": len(rows),
        "singles": sum(r["kind"] == "single" for r in rows),
        "pairs": sum(r["kind"] == "pair" for r in rows),
        "distinct_uncertainties": len({round(r["uncertainty"], 4) for r in rows}),
        "candidates": document["n_candidates"],
        "load": _load_average(),
    }


# --------------------------------------------------------------------------- prediction and GI benchmarks

#: Genes of the GI-map benchmark: the paper's map is every pair of 105 genes (5,460 pairs).
GIMAP_GENES = 105
#: Genes and sets of the Norman-scale prediction benchmark.
PREDICT_GENES, PREDICT_SETS = 5_000, 1_024


def measure_gimap(ctx: Context) -> Timing:
    """Predict and score every pair of 105 genes (the measured singles plus seeded GO genes); model and data loaded untimed."""
    import numpy as np

    from gearsplan.analysis.gi_map import gi_map, measured_genes
    from gearsplan.data.pseudobulk import pseudobulk
    from gearsplan.data.screen import read_screen
    from gearsplan.model.bundle import load_bundle

    model = load_bundle(_suggest_model_dir(ctx)).model
    bulk = pseudobulk(read_screen())
    measured = measured_genes(bulk)
    others = np.random.default_rng(0).choice(
        sorted(set(model.go.genes) - set(measured)), GIMAP_GENES - len(measured), replace=False
    )
    details: Details = {
        "members": len(model.members),
        "genes": GIMAP_GENES,
        "threads": _apply_threads(),
        "load_before": _load_average(),
    }
    seconds, frame = _step(lambda: gi_map(model, bulk, [*measured, *others]))
    return seconds, {**details, "pairs": int((frame["source"] == "predicted").sum()), "load_after": _load_average()}


def measure_predict_cli(ctx: Context) -> Timing:
    """``gearsplan predict FOSB CEBPB --model DIR --json``, end to end (start-up included), median of :data:`START_RUNS` fresh interpreters."""
    return median_of_runs(
        "predict", "FOSB", "CEBPB", "--model", str(_suggest_model_dir(ctx)), "--json", expect="top_de"
    )


def measure_report_cli(ctx: Context) -> Timing:
    """``gearsplan report --model DIR --json`` in a fresh interpreter, end to end (start-up included), into the scratch directory."""
    out = ctx.scratch / "plan.md"
    seconds, document = run_cli("report", "--out", str(out), "--model", str(_suggest_model_dir(ctx)))
    return seconds, {
        "figures": len(document["figures"]),
        "sections": len(document["sections"]),
        "kb": round(out.stat().st_size / 1024, 1),
        "load": _load_average(),
    }


# --------------------------------------------------------------------------- screens larger than memory (issue 28)

#: The genome-scale screen: cells, genes, perturbations (a smoke-run size with --quick).
MILLION = (1_000_000, 5_000, 2_000)
MILLION_QUICK = (50_000, 1_000, 200)
#: The full-transcriptome screen: cells, genes (every GO gene and other human genes), perturbations.
TRANSCRIPTOME = (100_000, 33_000, 237)
TRANSCRIPTOME_QUICK = (20_000, 8_000, 100)
#: Memory budget (--max-memory) the streaming benchmarks read with: far below the files.
STREAM_BUDGET = 1 << 30
#: Peak-memory goals of the streaming rows (issue 28).
STREAM_GOAL_MB, TRANSCRIPTOME_GOAL_MB, SETS_GOAL_MB = 3_000.0, 4_000.0, 8_000.0
#: Training sets of train_10k_sets: the measured perturbations, then pairs of measured singles.
N_SETS, N_SETS_QUICK = 10_000, 1_000
#: Seconds generating or streaming a genome-scale file may take on 2 shared cores.
STREAM_TIMEOUT_S = 3_600


def _large_path(ctx: Context, shape: tuple[int, int, int]) -> Path:
    from synthetic_screen import GENERATOR_VERSION

    cells, genes, perturbations = shape
    return ctx.data_dir / f"synthetic_{cells}x{genes}_{perturbations}p_seed0_counts_v{GENERATOR_VERSION}.h5ad"


def _million(ctx: Context) -> Path:
    return _large_path(ctx, MILLION_QUICK if ctx.quick else MILLION)


def _transcriptome(ctx: Context) -> Path:
    return _large_path(ctx, TRANSCRIPTOME_QUICK if ctx.quick else TRANSCRIPTOME)


def _ensure_large(path: Path, shape: tuple[int, int, int]) -> None:
    """Write a raw-count synthetic screen chunk by chunk, once (not timed)."""
    from synthetic_screen import write_chunked_screen

    if not path.exists():
        cells, genes, perturbations = shape
        write_chunked_screen(path, n_cells=cells, n_genes=genes, n_perturbations=perturbations, seed=0, counts=True)


def prepare_million(ctx: Context) -> None:
    _ensure_large(_million(ctx), MILLION_QUICK if ctx.quick else MILLION)


def prepare_transcriptome(ctx: Context) -> None:
    _ensure_large(_transcriptome(ctx), TRANSCRIPTOME_QUICK if ctx.quick else TRANSCRIPTOME)


def _matrix_mb(path: Path) -> float:
    """What the file's matrix takes in memory as CSR (float32 values, int32 indices, int64 row pointers)."""
    import h5py

    with h5py.File(path, "r") as handle:
        nnz, rows = handle["X/data"].shape[0], handle["X"].attrs["shape"][0]
    return round((8 * nnz + 8 * (rows + 1)) / 2**20, 1)


def _streamed_steps(path: Path, **reading: Any) -> tuple[Details, Any]:
    """read_screen (streamed: --max-memory STREAM_BUDGET, or a quarter of a smaller file) + pseudobulk + de_genes, each step timed."""
    from gearsplan.data.de_genes import de_genes
    from gearsplan.data.pseudobulk import pseudobulk
    from gearsplan.data.screen import Reading, read_screen

    steps: Details = {}
    budget = min(STREAM_BUDGET, path.stat().st_size // 4)  # every file is streamed, a --quick one too
    steps["read_s"], screen = _step(lambda: read_screen(path, reading=Reading(max_memory=budget, **reading)))
    steps["pseudobulk_s"], bulk = _step(lambda: pseudobulk(screen))
    steps["de_genes_s"], _ = _step(lambda: de_genes(bulk))
    cells, genes = screen.adata.shape
    steps.update(
        cells=cells,
        genes=genes,
        perturbations=len(screen.perturbations),
        file_mb=round(path.stat().st_size / 2**20, 1),
        matrix_mb=_matrix_mb(path),
        streamed=screen.streamed,
    )
    return steps, (screen, bulk)


def measure_stream_pseudobulk_1m(ctx: Context) -> Timing:
    return timed(lambda: _streamed_steps(_million(ctx))[0])


def _below_matrix(goal_mb: float) -> Callable[[Result], bool]:
    """Peak at most ``goal_mb`` and below the matrix in memory."""
    return lambda result: within(megabytes=goal_mb)(result) and result.peak_mb < result.details.get("matrix_mb", 0)


def _workers_peak_mb() -> float:
    """A Dask worker's own peak resident memory (run on each worker)."""
    return peak_rss_mb()


def measure_dask_pseudobulk_local(ctx: Context) -> Timing:
    """The pass on a 2-worker local Dask cluster (separate processes), then the same streamed here: equal?"""
    import numpy as np
    from distributed import Client, LocalCluster

    from gearsplan.data.de_genes import de_genes

    path = ctx.synthetic_path(counts=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        start = time.perf_counter()
        details, (screen, bulk) = _streamed_steps(path, scheduler=cluster.scheduler_address)
        seconds = time.perf_counter() - start
        with Client(cluster) as client:
            workers = client.run(_workers_peak_mb)
    streamed, (_, local) = _streamed_steps(path)
    same_top = all(set(a) == set(b) for a, b in zip(de_genes(bulk).top.values(), de_genes(local).top.values()))
    details.update(
        worker_peak_mb="/".join(f"{v:.0f}" for v in workers.values()),
        streamed_here_s=streamed["read_s"],
        max_abs_diff_means=float(np.abs(bulk.means - local.means).max()),
        max_rel_diff_noise=float(np.nanmax(np.abs(bulk.noise - local.noise) / np.maximum(local.noise, 1e-30))),
        same_top20=same_top,
    )
    return seconds, details


def _equal_to_streamed(result: Result) -> bool:
    return result.error is None and result.details.get("same_top20") and result.details["max_abs_diff_means"] < 1e-9


def prepare_dask_local(ctx: Context) -> None:
    ensure_synthetic(ctx, counts=True)


def measure_full_transcriptome_raw(ctx: Context) -> Timing:
    """read_screen with gene selection (--genes 5000) on raw counts of the whole transcriptome, streamed."""

    def run() -> Details:
        details, (screen, _) = _streamed_steps(_transcriptome(ctx))
        perturbed = set(screen.perturbed_genes())
        details.update(
            selection=screen.selection.to_json(),
            perturbed_measured=len(perturbed & set(screen.genes)),
            model_genes_within_goal=len(screen.genes) <= 5_000 + len(perturbed),
        )
        return details

    return timed(run)


def _kept_few_genes(result: Result) -> bool:
    return within(megabytes=TRANSCRIPTOME_GOAL_MB)(result) and bool(result.details.get("model_genes_within_goal"))


def _many_sets(ctx: Context, screen, bulk):
    """``N_SETS`` training sets from the streamed screen's statistics: its measured perturbations, then pairs
    of its measured singles, each pair's mean the sum of the singles' changes over control (and their noise)."""
    import numpy as np

    from gearsplan.data.pseudobulk import Pseudobulk

    wanted = N_SETS_QUICK if ctx.quick else N_SETS
    singles = [k for k in bulk.keys if "+" not in k]
    measured = set(bulk.keys)
    first, second = np.triu_indices(len(singles), k=1)
    order = np.random.default_rng(TRAIN_SEED).permutation(first.size)
    pairs = [(first[i], second[i]) for i in order if f"{singles[first[i]]}+{singles[second[i]]}" not in measured]
    pairs = pairs[: wanted - len(bulk.keys)]
    rows = bulk.rows(singles)
    a, b = rows[[p[0] for p in pairs]], rows[[p[1] for p in pairs]]
    return Pseudobulk(
        bulk.keys + tuple(f"{singles[i]}+{singles[j]}" for i, j in pairs),
        bulk.genes,
        np.concatenate([bulk.means, bulk.control + bulk.delta[a] + bulk.delta[b]]),
        bulk.control,
        np.concatenate([bulk.n_cells, np.minimum(bulk.n_cells[a], bulk.n_cells[b])]),
        np.concatenate([bulk.noise, bulk.noise[a] + bulk.noise[b]]),
    )


def measure_train_10k_sets(ctx: Context) -> Timing:
    """One member, a few epochs, over ``N_SETS`` sets x 5,000 genes built from the 1M screen's statistics."""
    from gearsplan.data.de_genes import de_genes
    from gearsplan.data.prepared import PreparedScreen
    from gearsplan.data.splits import Split
    from gearsplan.knowledge.go_graph import build_go_graph
    from gearsplan.model.training import TrainConfig, fit_gears

    details, (screen, bulk) = _streamed_steps(_million(ctx))
    details = {"read_s": details["read_s"], "read_peak_mb": _peak()}
    bulk = _many_sets(ctx, screen, bulk)
    data = PreparedScreen(screen, bulk, de_genes(bulk))
    go = build_go_graph()
    split = Split("all", bulk.keys, (), ())
    details.update(sets=len(bulk.keys), genes=len(bulk.genes), threads=_apply_threads(), sets_peak_mb=_peak())
    log = EpochLog(ctx, details)
    start = time.perf_counter()
    fit_gears(data, split, TRAIN_SEED, TrainConfig(ensemble=1, epochs=2), go=go, progress=log)
    seconds = time.perf_counter() - start
    details.update(log.summary(), fit_peak_mb=_peak())
    return seconds, details


BENCHMARKS: dict[str, Benchmark] = {
    "go_graph_cold": Benchmark(
        "GO Jaccard graph over all annotated genes, built from gene2go with an empty cache (build + save)",
        "≤ 60 s on 2 cores",
        _go_graph,
        within(seconds=60),
    ),
    "go_graph_cached": Benchmark(
        "the same graph loaded from a cache warmed by a separate process",
        "≤ 1 s",
        measure_go_graph_cached,
        within(seconds=1),
        prepare_go_graph_cached,
    ),
    "embedded_evaluate_loo": Benchmark(
        "imports + read embedded Norman subset + baselines, leave-one-out (end to end)",
        "≤ 10 s, ≤ 1,000 MB",
        measure_embedded_evaluate_loo,
        within(seconds=10, megabytes=1_000),
    ),
    "pseudobulk_100k": Benchmark(
        "read_screen + pseudobulk + de_genes on a {cells:,} x {genes:,} synthetic log1p screen",
        f"peak ≤ {MEMORY_GOAL_MB:,.0f} MB",
        lambda ctx: _measure_data_steps(ctx, counts=False),
        within(megabytes=MEMORY_GOAL_MB),
        lambda ctx: ensure_synthetic(ctx, counts=False),
    ),
    "raw_counts_100k": Benchmark(
        "the same on raw integer counts, so read_screen normalises them",
        f"peak ≤ {MEMORY_GOAL_MB:,.0f} MB",
        lambda ctx: _measure_data_steps(ctx, counts=True),
        within(megabytes=MEMORY_GOAL_MB),
        lambda ctx: ensure_synthetic(ctx, counts=True),
    ),
    "train_member_embedded": Benchmark(
        "fit_gears, one member (ensemble=1, ≤ 100 epochs, early stopping), embedded Norman subset, reference split seed 1",
        "≤ 6 s (10x faster than the reference GEARS's 60 s)",
        lambda ctx: _train_gears(ctx, None, "reference", ensemble=1),
        within(seconds=6),
        prepare_training_embedded,
    ),
    "train_ensemble_embedded": Benchmark(
        "fit_gears, default 5-member ensemble, embedded Norman subset, reference split seed 1",
        "≤ 60 s",
        lambda ctx: _train_gears(ctx, None, "reference"),
        within(seconds=60),
        prepare_training_embedded,
    ),
    "train_norman_scale": Benchmark(
        "fit_gears, default 5-member ensemble, {cells:,} x {genes:,} synthetic log1p screen, simulation split seed 1",
        f"≤ 600 s, peak ≤ {MEMORY_GOAL_MB:,.0f} MB",
        lambda ctx: _train_gears(ctx, ctx.synthetic_path(counts=False), "simulation"),
        within(seconds=600, megabytes=MEMORY_GOAL_MB),
        prepare_training_synthetic,
        timeout=TRAIN_NORMAN_TIMEOUT_S,
    ),
    "reference_gears_embedded": Benchmark(
        "reference GEARS (cell-gears 0.1.2) training, 20 epochs, hidden 64, batch 32, CPU, offline, embedded subset, reference split seed 1",
        "none (the anchor: ~60 s, 1,250 MB, Pearson 0.07 ± 0.11 over seeds 1-5)",
        measure_reference_gears,
        None,
    ),
    "suggest_scoring": Benchmark(
        "suggest scoring: every unmeasured GO gene (~20,700 singles) + every pair of 200 genes (~19,900), choose 50; 5-member default model on the embedded data",
        "≤ 30 s on 2 cores",
        measure_suggest_scoring,
        within(seconds=30),
        prepare_suggest_model,
    ),
    "suggest_cli_embedded": Benchmark(
        "gearsplan suggest --budget 50 on the embedded data, model present (fresh interpreter, end to end)",
        "≤ 30 s on 2 cores",
        measure_suggest_cli,
        within(seconds=30),
        prepare_suggest_model,
    ),
    "gimap_5460_pairs": Benchmark(
        "gi_map: predict and score every pair of 105 genes (5,460 pairs), 5-member default model on the embedded data",
        "≤ 60 s on 2 cores",
        measure_gimap,
        within(seconds=60),
        prepare_suggest_model,
    ),
    "predict_5000_genes": Benchmark(
        "GearsModel.predict: 1,024 unmeasured singles, 5 untrained members, 5,000 genes (a Norman-scale model's prediction)",
        "≤ 60 s, ≤ 2,000 MB (ours)",
        measure_predict_5000_genes,
        within(seconds=60, megabytes=2_000),
        prepare_go_graph_cached,
    ),
    "cli_help": Benchmark(
        "gearsplan --help (fresh interpreter, end to end; median of 5)",
        "≤ 0.5 s",
        measure_cli_help,
        within(seconds=0.5),
    ),
    "cli_unknown_gene": Benchmark(
        "gearsplan predict FOOBAR1 --model DIR, refused with 'did you mean' (fresh interpreter, end to end; median of 5)",
        "≤ 1 s",
        measure_cli_unknown_gene,
        within(seconds=1),
        prepare_quick_model,
    ),
    "predict_cli_embedded": Benchmark(
        "gearsplan predict FOSB CEBPB on the embedded data, model present (fresh interpreter, end to end; median of 5)",
        "≤ 3 s",
        measure_predict_cli,
        within(seconds=3),
        prepare_suggest_model,
    ),
    "report_embedded": Benchmark(
        "gearsplan report --budget 50 on the embedded data, model present (fresh interpreter, end to end: suggest, GI map, figures, Markdown)",
        "≤ 120 s",
        measure_report_cli,
        within(seconds=120),
        prepare_suggest_model,
    ),
    "stream_pseudobulk_1m": Benchmark(
        "read_screen streamed (a budget of a quarter of the file, at most 1 GiB) + pseudobulk + de_genes, 1,000,000 x 5,000 synthetic raw counts, 2,000 perturbations",
        f"peak ≤ {STREAM_GOAL_MB:,.0f} MB and below the matrix in memory",
        measure_stream_pseudobulk_1m,
        _below_matrix(STREAM_GOAL_MB),
        prepare_million,
        timeout=STREAM_TIMEOUT_S,
    ),
    "dask_pseudobulk_local": Benchmark(
        "the same pass on a 2-worker local Dask cluster (--scheduler), {cells:,} x {genes:,} synthetic raw counts",
        "equal to the pass streamed here (means to 1e-9, top-20 DE genes)",
        measure_dask_pseudobulk_local,
        _equal_to_streamed,
        prepare_dask_local,
        timeout=STREAM_TIMEOUT_S,
    ),
    "full_transcriptome_raw": Benchmark(
        "read_screen with gene selection (--genes 5000, streamed) + pseudobulk + de_genes, 100,000 x 33,000 synthetic raw counts",
        f"peak ≤ {TRANSCRIPTOME_GOAL_MB:,.0f} MB, ≤ 5,000 + perturbed genes kept",
        measure_full_transcriptome_raw,
        _kept_few_genes,
        prepare_transcriptome,
        timeout=STREAM_TIMEOUT_S,
    ),
    "train_10k_sets": Benchmark(
        "fit_gears, one member, 2 epochs, 10,000 sets x 5,000 genes from the 1M screen's statistics (streamed), CPU",
        f"peak ≤ {SETS_GOAL_MB:,.0f} MB",
        measure_train_10k_sets,
        within(megabytes=SETS_GOAL_MB),
        prepare_million,
        timeout=STREAM_TIMEOUT_S,
    ),
}

#: Derived rows: (name, what, numerator benchmark, denominator benchmark, goal text, minimum ratio).
RATIOS = (
    (
        "ratio_reference_to_member",
        "reference GEARS training time / gearsplan one-member training time, both from this run",
        "reference_gears_embedded",
        "train_member_embedded",
        "≥ 10x",
        10.0,
    ),
)


# --------------------------------------------------------------------------- child process


def child(name: str, phase: str, ctx: Context) -> int:
    """Run one phase of one benchmark in this process; print its JSON record last."""
    benchmark = BENCHMARKS[name]
    record: dict[str, Any] = {"name": name, "phase": phase}
    try:
        if phase == "prepare":
            seconds, details = timed(lambda: benchmark.prepare(ctx) or {})
        else:
            seconds, details = benchmark.measure(ctx)
        record.update(seconds=round(seconds, 3), details=details)
        code = 0
    except Skipped as reason:
        record["skipped"] = str(reason)
        code = 0
    except Exception as error:  # report every failure (ImportError included) as a row, never crash the table
        traceback.print_exc(file=sys.stderr)
        record["error"] = f"{type(error).__name__}: {error}"
        code = 1
    record["peak_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(record, default=str), flush=True)
    return code


# --------------------------------------------------------------------------- parent process


def spawn(name: str, phase: str, ctx: Context, timeout: float) -> dict[str, Any]:
    """Run one phase of one benchmark in a fresh interpreter and parse its last stdout line."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        name,
        "--phase",
        phase,
        "--data-dir",
        str(ctx.data_dir),
        "--scratch",
        str(ctx.scratch),
    ] + (["--quick"] if ctx.quick else [])
    env = {**os.environ, "GEARSPLAN_CACHE_DIR": str(ctx.scratch / "gearsplan-cache"), "PYTHONHASHSEED": "0"}
    if ctx.threads:
        env[THREADS_ENV] = str(ctx.threads)
    env[DEVICE_ENV] = ctx.device
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        # A long benchmark leaves what it measured so far in ctx.partial_path: keep it as details.
        partial = json.loads(ctx.partial_path.read_text()) if ctx.partial_path.exists() else {}
        return {"error": f"{phase} ran past the {timeout:.0f} s limit", "details": partial}
    lines = done.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{phase} exited with code {done.returncode}: {tail}"}


def run_benchmark(
    name: str, quick: bool, data_dir: Path, timeout: float | None, threads: int | None = None, device: str = "auto"
) -> Result:
    """Prepare (if needed) and measure one benchmark, each step in its own process."""
    scratch = Path(tempfile.mkdtemp(prefix=f"gearsplan-bench-{name}-"))
    ctx = Context(quick, data_dir, scratch, threads, device)
    timeout = timeout or BENCHMARKS[name].timeout or DEFAULT_TIMEOUT_S
    try:
        if BENCHMARKS[name].prepare is not None:
            prepared = spawn(name, "prepare", ctx, timeout)
            if prepared.get("error"):
                return Result(name, None, None, {}, prepared["error"])
        record = spawn(name, "measure", ctx, timeout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Result(
        name,
        record.get("seconds"),
        record.get("peak_mb"),
        record.get("details", {}),
        record.get("error"),
        record.get("skipped"),
    )


def describe(name: str, quick: bool) -> str:
    """The benchmark's description with this run's screen size filled in."""
    cells, genes = screen_shape(quick)
    return BENCHMARKS[name].description.format(cells=cells, genes=genes)


def table_rows(results: list[Result], quick: bool) -> list[list[str]]:
    """One row of strings per result (name, description, time, memory, goal, met, details), then the ratio rows."""
    rows = []
    for result in results:
        benchmark = BENCHMARKS[result.name]
        if result.skipped:
            met = "skipped"
        elif benchmark.met is None:
            met = "—" if result.error is None else "no"
        else:
            met = "yes" if benchmark.met(result) else "no"
        seconds = "—" if result.seconds is None else f"{result.seconds:.2f}"
        memory = "—" if result.peak_mb is None else f"{result.peak_mb:,.0f}"
        details = ", ".join(f"{k}={_short(v)}" for k, v in result.details.items())
        if result.skipped:
            notes = f"skipped: {result.skipped}"
        elif result.error:
            notes = f"failed: {result.error}" + (f"; so far: {details}" if details else "")
        else:
            notes = details
        rows.append([result.name, describe(result.name, quick), seconds, memory, benchmark.goal, met, notes])
    return rows + ratio_rows(results)


def ratio_rows(results: list[Result]) -> list[list[str]]:
    """A row per :data:`RATIOS` entry whose two benchmarks both ran (and timed) in this run."""
    timed_here = {r.name: r.seconds for r in results if r.seconds is not None and not r.error and not r.skipped}
    rows = []
    for name, what, numerator, denominator, goal, minimum in RATIOS:
        if numerator in timed_here and denominator in timed_here and timed_here[denominator] > 0:
            ratio = timed_here[numerator] / timed_here[denominator]
            notes = f"{numerator}={timed_here[numerator]:.2f} s, {denominator}={timed_here[denominator]:.2f} s"
            rows.append([name, what, f"{ratio:.1f}x", "—", goal, "yes" if ratio >= minimum else "no", notes])
    return rows


def _short(value: Any) -> str:
    """Integers with thousands separators, anything else as is."""
    return f"{value:,}" if isinstance(value, int) else str(value)


HEADERS = ["benchmark", "what it measures", "wall time (s)", "peak memory (MB)", "goal", "met", "details"]


def print_rich(rows: list[list[str]], title: str) -> None:
    """The results as a Rich table on stdout."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=True)
    for header in HEADERS:
        table.add_column(header, justify="right" if "(" in header else "left", overflow="fold")
    for row in rows:
        style = {"yes": "green", "no": "red"}.get(row[5], "yellow")
        table.add_row(*row[:5], f"[{style}]{row[5]}[/{style}]", row[6])
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    console.print(table)


def markdown(rows: list[list[str]]) -> str:
    """The results as a Markdown table (for benchmarks/README.md)."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (``--child``, ``--phase`` and ``--scratch`` are for the child processes)."""
    parser = argparse.ArgumentParser(
        description="Run gearsplan's speed and memory benchmarks, each in a fresh process."
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=list(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--quick", action="store_true", help="smoke run on a 20,000-cell x 2,000-gene screen")
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="where synthetic screens are generated and kept"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help=f"seconds allowed to each process (default {DEFAULT_TIMEOUT_S} s; train_norman_scale {TRAIN_NORMAN_TIMEOUT_S:,} s)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="torch intra-op threads outside gearsplan's model, e.g. the reference GEARS (default: torch's, one per core); gearsplan trains and predicts on one (model/threads.fast_cpu)",
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="where the training rows train (default auto: a CUDA GPU where torch sees one); their details name it",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--child", choices=list(BENCHMARKS), help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=["prepare", "measure"], default="measure", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks and print the table; exit 1 if one could not run."""
    args = parse_args(argv)
    if args.child:
        sys.path.insert(0, str(HERE))
        return child(args.child, args.phase, Context(args.quick, args.data_dir, args.scratch))
    if args.list:
        for name, benchmark in BENCHMARKS.items():
            print(f"{name}: {describe(name, args.quick)} (goal: {benchmark.goal})")
        return 0
    names = args.only or list(BENCHMARKS)
    results = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.append(run_benchmark(name, args.quick, args.data_dir, args.timeout, args.threads, args.device))
    rows = table_rows(results, args.quick)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    title = f"gearsplan benchmarks, {date.today().isoformat()}, {cores} cores" + (" (quick)" if args.quick else "")
    title += f", torch threads {args.threads}" if args.threads else ""
    title += f", device {args.device}" if args.device != "auto" else ""
    print_rich(rows, title)
    ratios = rows[len(results) :]
    for row in ratios:
        print(f"{row[0]}: {row[2]} ({row[1]}; {row[6]}; goal {row[4]}: {'met' if row[5] == 'yes' else 'missed'})")
    if args.markdown:
        print(markdown(rows))
    if args.json:
        document = {
            "date": date.today().isoformat(),
            "cores": cores,
            "quick": args.quick,
            "torch_threads": args.threads,
            "device": args.device,
            "results": [dict(zip(HEADERS, row)) | {"raw": r.__dict__} for row, r in zip(rows, results)],
            "ratios": [dict(zip(HEADERS, row)) for row in ratios],
        }
        args.json.write_text(json.dumps(document, indent=2, default=str))
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
