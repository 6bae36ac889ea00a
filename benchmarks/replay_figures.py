"""The figures ``docs/experiment_design.md`` reports from a replay: held-out AUC per strategy, gearsplan against each.

``python benchmarks/replay_figures.py RUN_DIR [--strategy gearsplan]`` reads ``RUN_DIR/curves.csv`` (written by
``gearsplan replay --out RUN_DIR``) and prints, on the held-out quarter's top-20-DE MSE: each strategy's AUC with
its 95% bootstrap interval over seeds; the paired difference ``other - strategy`` against every other strategy
(positive: the strategy is better); how many picks the strategy needs to reach random's final error, against
random's own; the mean held-out MSE curves by perturbations measured; and the paired difference ``random - strategy``
on held-out 1 - Pearson of change.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from gearsplan.design.replay import JUDGED, ReplayConfig, ReplayResult

#: The second held-out error ``replay --json`` reports (``heldout_pearson_auc_mean``).
PEARSON = "heldout_one_minus_pearson"


def load(directory: Path) -> ReplayResult:
    """A replay's result from its ``curves.csv`` (strategies in their order there; no picks)."""
    curves = pd.read_csv(directory / "curves.csv")
    config = ReplayConfig(
        strategies=tuple(dict.fromkeys(curves["strategy"])), seeds=tuple(sorted(curves["seed"].unique()))
    )
    return ReplayResult(str(directory), config, curves, pd.DataFrame())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--strategy", default="gearsplan")
    args = parser.parse_args()
    result = load(args.run)
    summary = result.summary()
    summary = summary[summary["metric"] == JUDGED].set_index("strategy")
    print(f"{args.run}: {len(result.config.seeds)} seeds, held-out top-20-DE MSE AUC [95% bootstrap]")
    for strategy, row in summary.iterrows():
        print(f"  {strategy:<12} {row['auc_mean']:.4f} [{row['auc_low']:.4f}, {row['auc_high']:.4f}]")
    for other in result.config.strategies:
        if other == args.strategy:
            continue
        versus = result.comparison(args.strategy, other)
        low, high = versus["auc_difference_ci"]
        print(
            f"  {other} - {args.strategy}: {versus['auc_difference_mean']:+.4f} [{low:+.4f}, {high:+.4f}], "
            f"d {versus['cohens_d'] or float('nan'):.2f}"
        )
    versus = result.comparison(args.strategy, "random")
    first = int(result.curves["n_measured"].min())
    needs, uses = versus["strategy_needs"], versus["strategy_uses"]
    shown = "never" if needs is None else f"{needs - first:.1f} picks"
    print(f"  {args.strategy} reaches random's final held-out error after {shown}; random uses {uses - first}")
    curves = result.curves.groupby(["strategy", "n_measured"])[JUDGED].mean().unstack()
    print("  mean held-out MSE by perturbations measured:")
    print(curves.loc[list(result.config.strategies)].to_string(float_format="%.4f"))
    versus = result.comparison(args.strategy, "random", metric=PEARSON)
    low, high = versus["auc_difference_ci"]
    print(
        f"  held-out 1 - Pearson, random - {args.strategy}: {versus['auc_difference_mean']:+.4f} [{low:+.4f}, {high:+.4f}]"
    )


if __name__ == "__main__":
    main()
