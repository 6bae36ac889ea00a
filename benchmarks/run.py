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
    """

    quick: bool
    data_dir: Path
    scratch: Path

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


class Benchmark(NamedTuple):
    """One registry entry: description, goal text, measuring function, goal check, optional prepare."""

    description: str
    goal: str
    measure: Callable[[Context], Timing]
    met: Callable[[Result], bool]
    prepare: Callable[[Context], None] | None = None


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
        seconds, _ = _step(lambda: de_genes(screen, bulk))
        steps["de_genes_s"] = seconds
        cells, genes = screen.adata.shape
        return {"cells": cells, "genes": genes, "nnz": int(screen.adata.X.nnz), "perturbations": len(screen.perturbations), **steps}

    return timed(run)


def _step(function: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds (rounded to 0.01) and value of ``function()``."""
    start = time.perf_counter()
    value = function()
    return round(time.perf_counter() - start, 2), value


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
}


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
    command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--phase", phase,
               "--data-dir", str(ctx.data_dir), "--scratch", str(ctx.scratch)] + (["--quick"] if ctx.quick else [])
    env = {**os.environ, "GEARSPLAN_CACHE_DIR": str(ctx.scratch / "gearsplan-cache"), "PYTHONHASHSEED": "0"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"{phase} ran past the {timeout:.0f} s limit"}
    lines = done.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{phase} exited with code {done.returncode}: {tail}"}


def run_benchmark(name: str, quick: bool, data_dir: Path, timeout: float) -> Result:
    """Prepare (if needed) and measure one benchmark, each step in its own process."""
    scratch = Path(tempfile.mkdtemp(prefix=f"gearsplan-bench-{name}-"))
    ctx = Context(quick, data_dir, scratch)
    try:
        if BENCHMARKS[name].prepare is not None:
            prepared = spawn(name, "prepare", ctx, timeout)
            if prepared.get("error"):
                return Result(name, None, None, {}, prepared["error"])
        record = spawn(name, "measure", ctx, timeout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Result(name, record.get("seconds"), record.get("peak_mb"), record.get("details", {}), record.get("error"))


def describe(name: str, quick: bool) -> str:
    """The benchmark's description with this run's screen size filled in."""
    cells, genes = screen_shape(quick)
    return BENCHMARKS[name].description.format(cells=cells, genes=genes)


def table_rows(results: list[Result], quick: bool) -> list[list[str]]:
    """One row of strings per result: name, description, time, memory, goal, met, details."""
    rows = []
    for result in results:
        benchmark = BENCHMARKS[result.name]
        met = "yes" if benchmark.met(result) else "no"
        seconds = "—" if result.seconds is None else f"{result.seconds:.2f}"
        memory = "—" if result.peak_mb is None else f"{result.peak_mb:,.0f}"
        notes = f"failed: {result.error}" if result.error else ", ".join(f"{k}={_short(v)}" for k, v in result.details.items())
        rows.append([result.name, describe(result.name, quick), seconds, memory, benchmark.goal, met, notes])
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
        style = "green" if row[5] == "yes" else "red"
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
    parser = argparse.ArgumentParser(description="Run gearsplan's speed and memory benchmarks, each in a fresh process.")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=list(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--quick", action="store_true", help="smoke run on a 20,000-cell x 2,000-gene screen")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="where synthetic screens are generated and kept")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds allowed to each process")
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
        results.append(run_benchmark(name, args.quick, args.data_dir, args.timeout))
    rows = table_rows(results, args.quick)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    title = f"gearsplan benchmarks, {date.today().isoformat()}, {cores} cores" + (" (quick)" if args.quick else "")
    print_rich(rows, title)
    if args.markdown:
        print(markdown(rows))
    if args.json:
        document = {"date": date.today().isoformat(), "cores": cores, "quick": args.quick,
                    "results": [dict(zip(HEADERS, row)) | {"raw": r.__dict__} for row, r in zip(rows, results)]}
        args.json.write_text(json.dumps(document, indent=2, default=str))
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
