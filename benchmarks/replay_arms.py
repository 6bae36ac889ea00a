"""What does a revealed perturbation teach the model? One replay round, revealing random, single-only or pair-only picks.

``python benchmarks/replay_arms.py [SCREEN.h5ad] --initial 8 --batch 8 --seeds 6`` (default screen: the
embedded Norman subset) prints, per arm, the mean over seeds of the top-20-DE MSE on the still-hidden
perturbations and on the held-out quarter no arm may reveal. ``docs/experiment_design.md`` has the results.
"""

from __future__ import annotations

import argparse

import numpy as np

from gearsplan.data.prepared import prepare
from gearsplan.data.screen import read_screen
from gearsplan.data.splits import Split
from gearsplan.design.replay import REPLAY_TRAINING, ReplayConfig, hidden_error, n_heldout
from gearsplan.knowledge.go_graph import build_go_graph
from gearsplan.model.threads import fast_cpu
from gearsplan.model.training import fit_gears

ARMS = ("nothing", "random", "singles", "pairs")


def arms(path: str | None, initial: int, batch: int, seeds: int) -> dict[str, np.ndarray]:
    """Per arm, seeds x (still-hidden MSE, held-out MSE, held-out 1 - Pearson)."""
    data = prepare(read_screen(path))
    keys = sorted(data.screen.perturbations)
    go = build_go_graph()
    results: dict[str, list] = {arm: [] for arm in ARMS}
    for seed in range(1, seeds + 1):
        drawn = np.random.default_rng(seed).permutation(keys)
        heldout = sorted(drawn[: n_heldout(ReplayConfig(), len(keys))])
        start = sorted(drawn[len(heldout) : len(heldout) + initial])
        pool = [k for k in keys if k not in start and k not in heldout]
        rng = np.random.default_rng(seed + 99)
        kinds = {
            "nothing": [],
            "random": pool,
            "singles": [k for k in pool if "+" not in k],
            "pairs": [k for k in pool if "+" in k],
        }
        for arm, choices in kinds.items():
            revealed = sorted(
                start + list(rng.choice(choices, min(batch, len(choices)), replace=False) if choices else [])
            )
            model = fit_gears(data, Split("arms", tuple(revealed), (), ()), seed, REPLAY_TRAINING, go)
            error = hidden_error(model, data, [k for k in keys if k not in revealed], heldout)
            results[arm].append((error["mse_top20"], error["heldout_mse_top20"], error["heldout_one_minus_pearson"]))
    return {arm: np.array(rows) for arm, rows in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("screen", nargs="?", default=None)
    parser.add_argument("--initial", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=6)
    args = parser.parse_args()
    with fast_cpu():
        table = arms(args.screen, args.initial, args.batch, args.seeds)
    print(f"{'arm':<8} {'still-hidden MSE':>17} {'held-out MSE':>13} {'held-out 1-r':>13}")
    for arm, rows in table.items():
        print(f"{arm:<8} {rows[:, 0].mean():>17.4f} {rows[:, 1].mean():>13.4f} {rows[:, 2].mean():>13.3f}")


if __name__ == "__main__":
    main()
