"""Rich tables for the command line."""

from __future__ import annotations

import math

import pandas as pd
from rich.table import Table

from gearsplan.analysis.metrics import METRICS

_HIGHER_IS_BETTER = {"pearson_delta", "pearson_delta_top20"}
_HEADERS = {
    "pearson_delta": "Pearson Δ\nall genes",
    "pearson_delta_top20": "Pearson Δ\ntop-20 DE",
    "mse_top20": "MSE\ntop-20 DE",
    "frac_opposite_top20": "opposite\ndirection",
    "mse_top20_vs_no_change": "MSE vs\nno change",
}
_STRATUM_TITLES = {
    "unseen_single": "unseen single genes",
    "pair_0_unseen": "pairs, both genes measured as singles",
    "pair_1_unseen": "pairs, one gene unseen as a single",
    "pair_2_unseen": "pairs, neither gene seen as a single",
    "higher_order": "sets of three or more genes",
    "all": "all held-out perturbations",
}


def _cell(mean: float, sd: float, best: bool) -> str:
    if math.isnan(mean):
        return "[dim]—[/]"
    text = f"{mean:.3f}" + ("" if math.isnan(sd) else f"±{sd:.2f}")
    return f"[bold green]{text}[/]" if best else text


def evaluation_tables(summary: pd.DataFrame, split: str, seeds: tuple[int, ...]) -> list[Table]:
    """One table per stratum: each model's metrics, mean ± sd over seeds, the best in green."""
    tables = []
    for stratum, rows in summary.groupby("stratum", sort=False):
        n = rows["n"].iloc[0]
        table = Table(title=f"{_STRATUM_TITLES.get(stratum, stratum)} [dim]({stratum}, n={n:g})[/]", title_justify="left", caption_justify="left")
        table.add_column("model", no_wrap=True)
        for metric in METRICS:
            table.add_column(_HEADERS[metric], justify="right", no_wrap=True)
        best = {m: (rows[m].max() if m in _HIGHER_IS_BETTER else rows[m].min()) for m in METRICS}
        for _, row in rows.iterrows():
            table.add_row(row["model"], *(_cell(row[m], row[f"{m}_sd"], row[m] == best[m] and len(rows) > 1) for m in METRICS))
        tables.append(table)
    tables[-1].caption = f"split {split}, seeds {','.join(map(str, seeds))}; mean ± sd over seeds; best in green"
    return tables


def screen_table(info: dict) -> Table:
    """The ``data info`` overview."""
    table = Table(title=f"screen {info['source']}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    per = info["cells_per_perturbation"]
    rows = [
        ("cells", f"{info['n_cells']:,} ({info['n_control_cells']:,} control)"),
        ("measured genes", f"{info['n_genes']:,}"),
        ("perturbations", f"{info['n_perturbations']} ({info['n_single']} single, {info['n_pair']} pairs, {info['n_higher']} larger)"),
        ("cells per perturbation", f"min {per['min']}, median {per['median']:g}, max {per['max']}"),
        ("perturbed genes", f"{info['n_perturbed_genes']}: {info['n_perturbed_genes_measured']} measured, {info['n_perturbed_genes_in_go']} in the GO graph"),
        ("not in the GO graph", ", ".join(info["perturbed_genes_not_in_go"]) or "none"),
        ("detection", "\n".join(info["detection"])),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def model_table(info: dict) -> Table:
    """The ``model info`` overview."""
    table = Table(title=f"model {info['path']}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    training, split = info["training"], info["split"]
    rows = [
        ("members", f"{info['members']} (their disagreement is the uncertainty)"),
        ("genes", f"{info['n_genes']:,} measured; {info['n_perturbable_genes']:,} perturbable through the GO graph; {info['n_measured_singles']} measured singles"),
        ("trained on", f"{info['data']['source']} (sha256 {info['data']['sha256'][:12]}…)" if info["data"] else "unknown"),
        ("split", f"{split['name']}: {split['n_train']} train, {split['n_val']} validation, {split['n_test']} test perturbations; seed {info['seed']}"),
        ("training", f"{info['train_seconds']} s; " + ", ".join(f"{k}={v}" for k, v in training.items())),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def perturbations_table(info: dict) -> Table:
    """Cells per perturbation."""
    table = Table(title="perturbations", title_justify="left")
    table.add_column("genes")
    table.add_column("cells", justify="right")
    for entry in info["perturbations"]:
        table.add_row(" + ".join(entry["genes"]), str(entry["n_cells"]))
    return table
