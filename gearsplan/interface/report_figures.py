"""The PNG figures of ``gearsplan report`` (matplotlib, headless; Okabe–Ito colours, labelled axes with units)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from scipy.cluster.hierarchy import leaves_list, linkage  # noqa: E402
from scipy.spatial.distance import squareform  # noqa: E402

from gearsplan.analysis.gi_scores import ADDITIVE_MAGNITUDE  # noqa: E402

#: Okabe–Ito colours by model and by stratum: distinguishable with every common colour-vision deficiency.
MODEL_COLOURS = {"gearsplan": "#009E73", "no_change": "#999999", "mean": "#56B4E9", "additive": "#E69F00"}
STRATUM_COLOURS = {
    "unseen_single": "#0072B2",
    "pair_0_unseen": "#E69F00",
    "pair_1_unseen": "#009E73",
    "pair_2_unseen": "#D55E00",
    "higher_order": "#CC79A7",
}
#: Marker of each GI call on the heatmap (shape, not colour, carries the call).
CALL_MARKERS = {
    "synergy": "^",
    "suppression": "v",
    "additive": "o",
    "neomorphism": "*",
    "redundancy": "s",
    "epistasis": "D",
}
#: Units of log-normalised expression (scanpy total count + log1p).
EXPRESSION_UNIT = "log-normalised expression"
DPI = 120


def _save(figure: plt.Figure, path: Path) -> Path:
    figure.savefig(path, format="png", dpi=DPI)
    plt.close(figure)
    return path


def strata_bars_png(rows: pd.DataFrame, path: Path) -> Path:
    """Top-20-DE MSE and Pearson Δ per stratum, one bar per model (error bars: sd over seeds where there are several).

    ``rows`` are the ``evaluate --json`` rows (stratum, model, n, metric and ``<metric>_sd`` columns).
    """
    strata = list(dict.fromkeys(rows["stratum"]))
    models = list(dict.fromkeys(rows["model"]))
    counts = rows.groupby("stratum")["n"].max()
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    panels = (
        ("mse_top20", "MSE on top-20 DE genes\n((log-normalised expression)², lower is better)"),
        ("pearson_delta_top20", "Pearson r, predicted vs true change\non top-20 DE genes (higher is better)"),
    )
    width = 0.8 / len(models)
    x = np.arange(len(strata))
    for axis, (metric, label) in zip(axes, panels):
        for i, model in enumerate(models):
            values = rows[rows["model"] == model].set_index("stratum").reindex(strata)
            sd = values.get(f"{metric}_sd", pd.Series(dtype=float)).astype(float)
            # One seed has no spread: draw error bars only where there is one.
            axis.bar(
                x + (i - (len(models) - 1) / 2) * width,
                values[metric].astype(float),
                width,
                color=MODEL_COLOURS.get(model, "#000000"),
                label=model,
                yerr=sd.fillna(0) if sd.notna().any() else None,
                capsize=2,
                edgecolor="white",
                linewidth=0.5,
            )
        axis.set_xticks(x, [_stratum_label(s, counts[s]) for s in strata])
        axis.set_ylabel(label)
        axis.set_xlabel("held-out perturbations, by stratum")
        axis.grid(axis="y", alpha=0.3)
    axes[1].axhline(0, color="black", linewidth=0.8)
    axes[0].legend(title="model", frameon=False)
    figure.suptitle("Model quality on the bundle's held-out perturbations, against the baselines")
    return _save(figure, path)


def _stratum_label(stratum: str, n: float) -> str:
    """``pair_0_unseen`` → two short lines and the count, so that tick labels do not collide."""
    first, _, rest = stratum.replace("_", " ").partition(" ")
    return f"{first}\n{rest}\n(n={n:g})"


def uncertainty_error_png(
    uncertainty: np.ndarray, error: np.ndarray, strata: list[str], spearman: float, path: Path
) -> Path:
    """Uncertainty (what the prediction does not know) against the real top-20-DE error of each held-out perturbation, coloured by stratum."""
    figure, axis = plt.subplots(figsize=(7, 5.2), constrained_layout=True)
    strata = np.asarray(strata)
    for name in dict.fromkeys(strata):
        chosen = strata == name
        axis.scatter(
            uncertainty[chosen],
            error[chosen],
            s=48,
            color=STRATUM_COLOURS.get(name, "#000000"),
            label=f"{name.replace('_', ' ')} ({chosen.sum()})",
            edgecolor="black",
            linewidth=0.5,
        )
    axis.set_xlabel(f"uncertainty: spread on top-20 predicted genes ({EXPRESSION_UNIT})")
    axis.set_ylabel("MSE on top-20 DE genes ((log-normalised expression)²)")
    axis.set_title(f"Does the uncertainty flag the errors? Spearman ρ = {spearman:.2f} (n = {len(error)})")
    axis.grid(alpha=0.3)
    axis.legend(title="stratum (n)", frameon=False)
    return _save(figure, path)


def gi_heatmap_png(frame: pd.DataFrame, path: Path) -> Path:
    """Clustered heatmap of the predicted GI magnitude of every pair of a gene set, with a marker per GI call and measured pairs boxed.

    ``frame`` is a :func:`gearsplan.analysis.gi_map.gi_map` frame.
    """
    predicted = frame[frame["source"] == "predicted"]
    genes = sorted(set(predicted["gene_a"]) | set(predicted["gene_b"]))
    position = {g: i for i, g in enumerate(genes)}
    magnitude = np.full((len(genes), len(genes)), ADDITIVE_MAGNITUDE)
    rows, cols = predicted["gene_a"].map(position).to_numpy(), predicted["gene_b"].map(position).to_numpy()
    values = predicted["magnitude"].fillna(ADDITIVE_MAGNITUDE).to_numpy()
    magnitude[rows, cols] = magnitude[cols, rows] = values
    # Genes with similar interaction profiles sit together (average linkage on Euclidean distance of rows).
    distance = np.sqrt(((magnitude[:, None, :] - magnitude[None, :, :]) ** 2).sum(axis=2))
    order = leaves_list(linkage(squareform(distance, checks=False), method="average"))
    size = max(7.0, 0.42 * len(genes) + 3)
    figure, axis = plt.subplots(figsize=(size + 2, size + 1.5), constrained_layout=True)
    ordered = magnitude[np.ix_(order, order)]
    span = max(abs(values.max() - ADDITIVE_MAGNITUDE), abs(values.min() - ADDITIVE_MAGNITUDE), 0.3)
    image = axis.imshow(
        ordered,
        cmap="PuOr_r",
        norm=TwoSlopeNorm(vcenter=ADDITIVE_MAGNITUDE, vmin=ADDITIVE_MAGNITUDE - span, vmax=ADDITIVE_MAGNITUDE + span),
    )
    labels = [genes[i] for i in order]
    axis.set_xticks(range(len(genes)), labels, rotation=90)
    axis.set_yticks(range(len(genes)), labels)
    axis.set_xlabel("gene B (order: average-linkage clustering of magnitude profiles)")
    axis.set_ylabel("gene A (same order)")
    figure.colorbar(image, ax=axis, shrink=0.6, label="predicted GI magnitude √(c₁² + c₂²) (√2 ≈ 1.41: ΔAB = ΔA + ΔB)")
    rank = {g: i for i, g in enumerate(labels)}
    for call, marker in CALL_MARKERS.items():
        hits = predicted[predicted["calls"].str.split(";").apply(lambda calls, c=call: c in calls)]
        offset = (list(CALL_MARKERS).index(call) - 3) * 0.13
        x = np.concatenate([hits["gene_b"].map(rank), hits["gene_a"].map(rank)]) + offset
        y = np.concatenate([hits["gene_a"].map(rank), hits["gene_b"].map(rank)])
        axis.scatter(
            x,
            y,
            marker=marker,
            s=36,
            facecolor="black",
            edgecolor="white",
            linewidth=0.5,
            label=f"{call} ({len(hits)})",
        )
    measured = frame[frame["source"] == "measured"]
    for a, b in zip(measured["gene_a"], measured["gene_b"]):
        for i, j in ((rank[a], rank[b]), (rank[b], rank[a])):
            axis.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#000000", linewidth=1.6))
    axis.scatter(
        [],
        [],
        marker="s",
        s=60,
        facecolor="none",
        edgecolor="black",
        linewidth=1.6,
        label=f"measured pair ({len(measured)})",
    )
    axis.legend(
        title="predicted GI call (pairs)", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False
    )
    axis.set_title(f"Predicted genetic interactions of the {len(genes)} measured genes ({len(predicted)} pairs)")
    return _save(figure, path)


def top_de_png(top_de: pd.DataFrame, title: str, path: Path) -> Path:
    """Predicted change of the top DE genes (ensemble mean ± spread: members and base) beside the additive expectation and, where measured, the truth.

    ``top_de`` is a :class:`gearsplan.analysis.prediction.PerturbationReport` ``top_de`` frame.
    """
    rows = top_de.iloc[::-1]
    y = np.arange(len(rows))
    figure, axis = plt.subplots(figsize=(8, 0.32 * len(rows) + 2), constrained_layout=True)
    axis.barh(
        y,
        rows["predicted_change"],
        xerr=rows["calibrated_sd"],
        color="#009E73",
        alpha=0.85,
        capsize=2,
        label="predicted (ensemble mean ± calibrated spread)",
    )
    axis.scatter(
        rows["additive_change"],
        y,
        marker="D",
        s=30,
        color="#E69F00",
        edgecolor="black",
        linewidth=0.5,
        zorder=3,
        label="additive (sum of single changes)",
    )
    if rows["measured_change"].notna().any():
        axis.scatter(rows["measured_change"], y, marker="X", s=40, color="#0072B2", zorder=3, label="measured")
    axis.axvline(0, color="black", linewidth=0.8)
    axis.set_yticks(y, rows["gene"])
    axis.set_xlabel(f"change over control ({EXPRESSION_UNIT})")
    axis.set_ylabel("gene (top 20 by |predicted change|)")
    axis.set_title(title)
    axis.grid(axis="x", alpha=0.3)
    axis.legend(frameon=False, loc="best", fontsize="small")
    return _save(figure, path)
