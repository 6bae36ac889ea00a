"""PNG figures of the command line (matplotlib, headless), written atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gearsplan.design.replay import ReplayResult, mean_interval  # noqa: E402
from gearsplan.paths import atomic_path  # noqa: E402

#: Okabe–Ito colours: distinguishable with every common colour-vision deficiency.
PALETTE = {"random": "#999999", "uncertainty": "#E69F00", "diversity": "#56B4E9", "gearsplan": "#009E73"}
_PANELS = (
    ("heldout_mse_top20", "top-20-DE MSE, held out"),
    ("heldout_one_minus_pearson", "1 − Pearson Δ, held out"),
    ("mse_top20", "top-20-DE MSE, still hidden"),
    ("one_minus_pearson", "1 − Pearson Δ, still hidden"),
)


def learning_curves_png(result: ReplayResult, path: str | Path) -> Path:
    """Error against perturbations measured, on the still-hidden and on the held-out perturbations: mean and 95% bootstrap interval over seeds, one line per strategy."""
    figure, axes = plt.subplots(2, 2, figsize=(11, 8), constrained_layout=True)
    axes = axes.ravel()
    for axis, (metric, label) in zip(axes, _PANELS):
        for strategy, rows in result.curves.groupby("strategy", sort=False):
            grouped = rows.groupby("n_measured")[metric]
            x = grouped.mean().index.to_numpy()
            bounds = [mean_interval(values.to_numpy()) for _, values in grouped]
            colour = PALETTE.get(strategy)
            axis.plot(
                x,
                grouped.mean().to_numpy(),
                marker="o",
                color=colour,
                label=strategy,
                linestyle="--" if strategy == "random" else "-",
            )
            axis.fill_between(x, [b[0] for b in bounds], [b[1] for b in bounds], color=colour, alpha=0.15, linewidth=0)
        axis.set_xlabel("perturbations measured")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes[0].legend(title="strategy", frameon=False)
    figure.suptitle(
        f"replay on {Path(result.data).name}: {len(result.config.seeds)} seeds, batch {result.config.batch} per round (band: 95% bootstrap interval)"
    )
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120)
    plt.close(figure)
    return Path(path)
