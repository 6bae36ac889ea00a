"""Epoch times of one member at Norman scale with and without denormals flushed to zero, side by side in one process.

``python benchmarks/denormal_epochs.py [--epochs 14]`` trains on the cached 100k x 5k synthetic screen that
``benchmarks/run.py`` generates (run ``python benchmarks/run.py --only train_norman_scale`` once to create it),
simulation split seed 1, and prints each epoch's seconds. ``docs/model.md`` ("Threads and denormals") has the result.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from gearsplan.data.prepared import prepare
from gearsplan.data.screen import read_screen
from gearsplan.data.splits import resolve_splits
from gearsplan.knowledge.go_graph import build_go_graph
from gearsplan.model.train_config import TrainConfig
from gearsplan.model.training import fit_gears

SCREEN = Path(__file__).parent / ".cache" / "synthetic_100000x5000_seed0_log1p_v1.h5ad"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=14)
    args = parser.parse_args()
    screen = read_screen(SCREEN)
    data, split, go = prepare(screen), resolve_splits("simulation", screen.perturbations, 1)[0], build_go_graph()
    for flush in (True, False):
        times, last = [], [time.perf_counter()]

        def log(member: int, epoch: int, epochs: int, loss: float, validation: float | None) -> None:
            now = time.perf_counter()
            times.append(now - last[0])
            last[0] = now
            print(
                f"flush={flush} epoch {epoch}: {times[-1]:.1f} s, loss {loss:.4g}, validation {validation:.4g}",
                flush=True,
            )

        # fit_gears flushes denormals itself (model/threads.fast_cpu); the switch is patched for the comparison.
        original = torch.set_flush_denormal
        torch.set_flush_denormal = lambda _: original(flush)
        try:
            fit_gears(data, split, 1, TrainConfig(ensemble=1, epochs=args.epochs, patience=args.epochs), go, log)
        finally:
            torch.set_flush_denormal = original


if __name__ == "__main__":
    main()
