"""Rich tables for the command line."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gearsplan.analysis.gi_scores import ADDITIVE_MAGNITUDE, CERTAIN_SHARE
from gearsplan.analysis.metrics import GEARS_METRICS, HIGHER_IS_BETTER, METRICS, SPECIFIC_METRICS
from gearsplan.model.calibration import NOMINAL_COVERAGE
from gearsplan.wording import counted

if TYPE_CHECKING:
    import pandas as pd

_HEADERS = {
    "pearson_delta": "Pearson Δ\nall genes",
    "pearson_delta_top20": "Pearson Δ\ntop-20 DE",
    "mse_top20": "MSE\ntop-20 DE",
    "frac_opposite_top20": "opposite\ndirection",
    "pearson_delta_centroid": "Pearson Δ\n− train mean",
    "discrimination": "discrimination\n(L1)",
    "coverage_2sd": "truth within\n± 2 sd",
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


def best_as_shown(rows: pd.DataFrame) -> pd.DataFrame:
    """Per row and metric, whether the row is best among ``rows`` at the three decimals shown, so that
    values float noise tells apart (0.21666666666666667 and ...65) are marked alike. The best coverage
    is the one nearest its nominal 0.95."""
    shown = rows[list(METRICS)].astype(float).round(3)
    shown["coverage_2sd"] = -(shown["coverage_2sd"] - NOMINAL_COVERAGE).abs().round(3)
    higher = HIGHER_IS_BETTER | {"coverage_2sd"}
    import pandas as pd  # here: predict prints its tables without pandas

    return pd.DataFrame({m: shown[m] == (shown[m].max() if m in higher else shown[m].min()) for m in METRICS})


def evaluation_tables(summary: pd.DataFrame, split: str, seeds: tuple[int, ...]) -> list[Table]:
    """Two tables per stratum, each model's metrics as mean ± sd over seeds, the best in green: GEARS's metrics,
    then those that look past the shift every perturbation shares (both fit 80 columns)."""
    tables = []
    for stratum, rows in summary.groupby("stratum", sort=False):
        n, present = rows["n"].iloc[0], rows["n_seeds"].iloc[0] if "n_seeds" in rows else len(seeds)
        where = "" if present == len(seeds) else f", in {present:g} of {len(seeds)} seeds"
        best = best_as_shown(rows)
        for metrics, name in (
            (GEARS_METRICS, _STRATUM_TITLES.get(stratum, stratum)),
            (SPECIFIC_METRICS, "the same, beyond the shared shift"),
        ):
            title = f"{name} [dim]({stratum}, n={n:.3g}{where})[/]"
            table = Table(title=title, title_justify="left", caption_justify="left")
            table.add_column("model", no_wrap=True)
            for metric in metrics:
                table.add_column(_HEADERS[metric], justify="right", no_wrap=True)
            for index, row in rows.iterrows():
                table.add_row(
                    row["model"], *(_cell(row[m], row[f"{m}_sd"], best.at[index, m] and len(rows) > 1) for m in metrics)
                )
            tables.append(table)
    over_seeds = (
        "mean ± sd over the seeds that hold the stratum; n: held-out perturbations per seed, on average over all seeds"
        if len(seeds) > 1
        else "one seed"
    )
    tables[-1].caption = (
        f"split {split}, seeds {','.join(map(str, seeds))}; {over_seeds}; best in green. "
        "Pearson Δ − train mean: of predicted and true change, each less the training perturbations' mean change "
        "(— for a prediction equal to it). Discrimination: the share of the other held-out perturbations whose true change "
        "lies farther from the prediction than its own (1 best, 0.5 chance). Truth within ± 2 sd: the share of top-20-DE "
        "values inside the predicted spread (— without one; 0.95 is calibrated). MSE vs no change: each perturbation's "
        "top-20 MSE over no change's, averaged (so not the ratio of the MSE column's means)"
    )
    return tables


def screen_rows(info: dict) -> list[tuple[str, str]]:
    """What a screen holds, as (name, value) rows, from :func:`gearsplan.analysis.screen_summary.describe`."""
    per = info["cells_per_perturbation"]
    return [
        ("cells", f"{info['n_cells']:,} ({info['n_control_cells']:,} control)"),
        ("measured genes", f"{info['n_genes']:,}"),
        (
            "perturbations",
            f"{info['n_perturbations']} ({info['n_single']} single genes, {info['n_pair']} pairs, {info['n_higher']} larger)",
        ),
        ("cells per perturbation", f"min {per['min']}, median {per['median']:g}, max {per['max']}"),
    ]


def screen_table(info: dict) -> Table:
    """The ``data info`` overview."""
    table = Table(title=f"screen {info['source']}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        *screen_rows(info),
        (
            "perturbed genes",
            f"{info['n_perturbed_genes']}: {info['n_perturbed_genes_measured']} measured, {info['n_perturbed_genes_in_go']} in the GO graph",
        ),
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
    training = info["training"]
    rows = [
        (
            "members",
            f"{info['members']} (their disagreement, with the base's spread for unmeasured genes, is the uncertainty)",
        ),
        (
            "genes",
            f"{info['n_genes']:,} measured; {info['n_perturbable_genes']:,} perturbable through the GO graph; {info['n_measured_singles']} singles measured in its training split (the other commands compose with every single the screen measured)",
        ),
        (
            "trained on",
            (f"{info['data']['source']} (sha256 {info['data']['sha256'][:12]}…)" if info["data"] else "unknown")
            + (
                "; the bundle carries its means, cell counts and DE genes, so the file may move"
                if info["carries_screen"]
                else ""
            ),
        ),
        ("learned from", learned_from(info)),
        ("calibration", calibrated_from(info["calibration"])),
        ("training", f"{info['train_seconds']} s; " + ", ".join(f"{k}={v}" for k, v in training.items())),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def learned_from(info: dict) -> str:
    """Which perturbations a model learned from, in words (``model info``)."""
    split, learned = info["split"], info["perturbations_learned"]
    watched = (
        f"{split['n_early_stopping']} of them watched early stopping, then joined the measured ones"
        if split["n_early_stopping"]
        else "no early stopping"
    )
    if split["spec"] == "none":
        return f"{learned} perturbations, every one in the screen ({watched}); seed {info['seed']}"
    held = (
        f"{split['n_val']} validation (early stopping) and {split['n_test']} test perturbations held out"
        if split["n_val"]
        else f"{split['n_test']} test perturbations held out"
    )
    lent = (
        f"; {split['n_early_stopping']} of them watched early stopping, then joined the measured ones"
        if split["n_early_stopping"] and not split["n_val"]
        else ""
    )
    return f"{learned} perturbations of split {split['name']}: {held}{lent}; seed {info['seed']}"


def calibrated_from(calibration: dict) -> str:
    """Where a model's confidence is calibrated from, in words (``model info``)."""
    seeds = ", ".join(map(str, calibration["seeds"]))
    if calibration["from"] == "evaluation":
        return (
            f"its own {calibration['n_held_out']:g} held-out perturbations (split {calibration['split']}, seed {seeds})"
        )
    if calibration["from"] == "calibration":
        return (
            f"the {calibration['n_held_out']:g} perturbations held out by a twin ensemble trained the same way on the {calibration['split']} split "
            f"(seed {seeds}), as this model held none out"
        )
    return "none: its confidence is uncalibrated"


def perturbations_table(info: dict) -> Table:
    """Cells per perturbation."""
    table = Table(title="perturbations", title_justify="left")
    table.add_column("genes")
    table.add_column("cells", justify="right")
    for entry in info["perturbations"]:
        table.add_row(" + ".join(entry["genes"]), str(entry["n_cells"]))
    return table


def _signed(value: float, digits: int = 3) -> str:
    return "[dim]—[/]" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:+.{digits}f}"


def perturbation_table(report) -> Table:
    """``predict``, part 1: each gene of the set, and how far to trust the prediction."""
    u = report.uncertainty
    status = (
        "measured in the data" + (", in the model's training set" if report.in_training else ", held out from training")
        if report.in_data
        else "not in the data"
    )
    if report.in_data and len(report.genes) == 1:
        status += "; a measured single is predicted as its measurement"
    table = Table(
        title=f"perturbation {' + '.join(report.genes)} [dim]({status})[/]",
        title_justify="left",
        caption=f"{_pull_line(report)}spread on its top-20 genes {u.spread:.3f} (its base's {u.base_sd:.3f}; the members' {u.sd:.3f}, z={_signed(u.z, 2)} "
        f"against the training perturbations, head log-variance z={_signed(u.head_z, 2)}); {u.standing()}: confidence [bold]{u.level}[/] (high: ≥ 2×, medium: ≥ 1×, low: below)",
        caption_justify="left",
    )
    for column in ("gene", "measured alone", "in training", "GO neighbours", "nearest measured genes (GO Jaccard)"):
        table.add_column(column, justify="right" if column == "GO neighbours" else "left")
    for f in report.per_gene:
        nearest = (
            "\n".join(f"{g} {j:.2f}" for g, j in f.nearest_measured) or "[dim]none[/]"
        )  # one a line: a wrap never parts a gene from its number
        table.add_row(
            f.gene,
            "yes" if f.measured else "[yellow]no: unseen[/]",
            "yes" if f.trained else "no",
            str(f.go_degree) if f.in_go else "[red]not in GO[/]",
            nearest,
        )
    return table


def _pull_line(report) -> str:
    """Where the prediction of the set's unmeasured genes comes from, as a line ending in a newline ("" if every gene was measured)."""
    if report.base is None:
        return ""
    if not report.pulled_toward:
        return f"unmeasured genes: built on the measured perturbations' {report.base}; none shares a rare, specific GO term with them (the Jaccard above counts every term)\n"
    alike = ", ".join(f"{k.replace('+', ' + ')} {share:.0%}" for k, share in report.pulled_toward)
    return f"unmeasured genes: built on the measured perturbations' {report.base}, pulled toward those alike in GO terms: {alike}\n"


def top_de_table(report) -> Table:
    """``predict``, part 2: the genes the set changes most, with the additive and measured changes beside."""
    columns = report.top_changes
    table = Table(
        title=f"top {len(columns['gene'])} predicted changes (log-expression over control)", title_justify="left"
    )
    table.add_column("gene")
    table.add_column("control mean", justify="right")
    table.add_column("predicted Δ\n± calibrated sd", justify="right")
    show_additive = "+" in report.key
    if show_additive:
        table.add_column("additive Δ", justify="right")
    if report.in_data:
        table.add_column("measured Δ", justify="right")
    table.add_column("", justify="center")
    for gene, control, change, sd, additive, measured in zip(
        *(
            columns[c]
            for c in ("gene", "control_mean", "predicted_change", "calibrated_sd", "additive_change", "measured_change")
        )
    ):
        cells = [str(gene), f"{control:.2f}", f"{change:+.3f} ± {sd:.3f}"]
        cells += [_signed(additive)] if show_additive else []
        cells += [_signed(measured)] if report.in_data else []
        cells.append("[red]▲[/]" if change > 0 else "[blue]▼[/]")
        table.add_row(*cells)
    return table


def gi_table(report, thresholds) -> Table:
    """``predict``, part 3: each pair's GI scores (predicted, and measured where it was), its calls, and the rule of each call.

    One row per score, so the table fits an 80-column console or a redirected file.
    """
    t = thresholds
    rules = {
        "magnitude": f"synergy > {t.synergy}; suppression < {t.suppression}; additive |magnitude − 1| < {t.additive} and no other call",
        "model_fit": f"neomorphism < {t.neomorphism}",
        "similarity": f"redundancy > {t.redundancy}",
        "equality_of_contribution": f"epistasis < {t.epistasis}",
    }
    shown_measured = any(interaction.measured is not None for interaction in report.gi)
    starred = any(row is not None and row["singles_collinear"] for i in report.gi for row in (i.predicted, i.measured))
    table = Table(
        title="genetic interaction",
        title_justify="left",
        caption="An exactly additive pair (ΔAB = ΔA + ΔB) has magnitude √2 ≈ 1.41. equality: equality of contribution. "
        "The share after a predicted call is the share of the ensemble's members making it; ?: uncertain "
        f"(made by fewer than {CERTAIN_SHARE:.0%} of the members, or the members' spread of its score straddles its threshold)."
        + (
            " *: the two singles' profiles are indistinguishable, so equal contributions are assumed."
            if starred
            else ""
        ),
        caption_justify="left",
    )
    table.add_column("score")
    table.add_column("predicted", justify="right")
    if shown_measured:
        table.add_column("measured", justify="right")
    table.add_column("called when")
    for i, interaction in enumerate(report.gi):
        sources = [interaction.predicted, interaction.measured] if shown_measured else [interaction.predicted]
        table.add_row(f"[bold]{' + '.join(interaction.pair)}[/]")
        for key, rule in rules.items():
            table.add_row(
                f"  {_GI_LABELS[key]}", *(_score(row, key) for row in sources), f"[dim]{rule}[/]" if i == 0 else ""
            )
        calls = [_gi_calls(interaction, row, predicted=j == 0) for j, row in enumerate(sources)]
        table.add_row("  calls", *calls, "", end_section=True)
    return table


_GI_LABELS = {
    "magnitude": "magnitude",
    "model_fit": "model fit",
    "similarity": "similarity",
    "equality_of_contribution": "equality",
}


def _score(row: dict | None, key: str) -> str:
    return "[dim]—[/]" if row is None or row[key] is None else f"{row[key]:.2f}"


def _gi_calls(interaction, row: dict | None, predicted: bool) -> str:
    """A pair's calls, one a line; a predicted call carries the share of members making it, and "?" unless it is certain."""
    if row is None:
        return "[dim]—[/]"
    calls = [
        f"{c}{'' if interaction.certain[c] else '?'} {interaction.agreement[c]:.0%}" if predicted else c
        for c in row["calls"]
    ] or ["none"]
    return "\n".join(calls) + (" *" if row["singles_collinear"] else "")


#: Columns of the suggest table's first line: (header, width, right-aligned); with single spaces between, 78 wide.
_SUGGESTION_COLUMNS = (
    ("#", 3, True),
    ("perturbation", 23, False),
    ("uncertainty", 11, True),
    ("unlocks", 7, True),
    ("GI call", 20, False),
    ("gain", 8, True),
)


def suggestion_table(plan) -> Group:
    """``suggest``: the ranked batch in two lines per suggestion, 78 columns wide: the perturbation and its numbers,
    then the reason beneath (cut with an ellipsis on a console narrower than it); the plan's summary after."""

    def line(cells: tuple[str, ...], style: str = "") -> Text:
        parts = [
            (cell[: width - 1] + "…" if len(cell) > width else cell).rjust(width)
            if right
            else (cell[: width - 1] + "…" if len(cell) > width else cell).ljust(width)
            for cell, (_, width, right) in zip(cells, _SUGGESTION_COLUMNS)
        ]
        return Text(" ".join(parts).rstrip(), style=style, no_wrap=True, overflow="ellipsis")

    rows = [
        Text(f"next experiments (budget {plan.budget}, goal {plan.goal})", style="bold"),
        line(tuple(header for header, _, _ in _SUGGESTION_COLUMNS), "bold"),
    ]
    for row in plan.suggestions:
        rows.append(
            line(
                (
                    str(row.rank),
                    " + ".join(row.genes),
                    f"{row.uncertainty:.4f}",
                    str(row.unlocks) if row.kind == "single" else "",
                    (row.gi_call or "").replace("+", ", "),
                    f"{row.expected_gain:.1e}",
                )
            )
        )
        rows.append(Text("    " + row.reason, style="dim", no_wrap=True, overflow="ellipsis"))
    return Group(*rows, Text(""), Text(plan.summary))


def replay_tables(document: dict) -> list[Table]:
    """``replay``: area under each strategy's error curves, and the paired comparison with random, each with its 95%
    bootstrap interval beneath it (intervals are asymmetric; two lines keep a row within an 80-column console)."""
    strategies = document["strategies"]
    areas = Table(
        title=f"replay on {document['data']} ({len(document['seeds'])} seeds): area under the error curves",
        title_justify="left",
        caption_justify="left",
        caption="mean error over the rounds, 95% bootstrap interval over seeds beneath (lower is better); held out: the "
        "quarter no strategy may pick, which judges them; hidden: every still-hidden perturbation (rewards picking "
        "the largest errors)",
    )
    areas.add_column("strategy", no_wrap=True)
    for header in ("MSE held out", "1 − Pearson held out", "MSE hidden", "1 − Pearson hidden"):
        _add_uncut_column(areas, header)
    for name, row in strategies.items():
        areas.add_row(
            name,
            *(
                _with_interval(row[f"{p}auc_mean"], row[f"{p}auc_ci"])
                for p in ("heldout_", "heldout_pearson_", "", "pearson_")
            ),
        )
    compared = {name: row for name, row in strategies.items() if row["versus_random"]}
    if not compared:
        return [areas]
    versus = Table(
        title="against random, paired per seed",
        title_justify="left",
        caption_justify="left",
        caption="Δ: random's MSE AUC minus the strategy's, 95% bootstrap interval beneath (positive: the strategy learns "
        "faster); Cohen's d of the paired held-out differences; random needs: perturbations random needs (mean "
        "curve) to reach the strategy's final held-out MSE, against the strategy's own",
    )
    versus.add_column("strategy", no_wrap=True)
    for header in ("Δ MSE held out", "Δ MSE hidden", "Cohen's d", "random needs"):
        _add_uncut_column(versus, header)
    final = strategies["random"]["curve"][-1]["n_measured"]
    for name, row in compared.items():
        by_metric = row["versus_random_by_metric"] or {}
        held, hidden = by_metric.get("heldout_mse_top20"), by_metric.get("mse_top20")
        needs = held.get("baseline_needs")
        versus.add_row(
            name,
            *(
                _with_interval(v["auc_difference_mean"], v["auc_difference_ci"], "+") if v else ""
                for v in (held, hidden)
            ),
            f"{held['cohens_d']:.2f}" if held.get("cohens_d") is not None else "",
            f"{needs:.1f} (vs {held['strategy_uses']})" if needs is not None else f"> {final}",
        )
    return [areas, versus]


def _with_interval(mean: float, interval: list, sign: str = "") -> str:
    """``mean`` over ``low–high`` of its interval; the mean alone where there is none (one seed)."""
    if None in interval:
        return f"{mean:{sign}.4f}"
    return f"{mean:{sign}.4f}\n{interval[0]:{sign}.4f}–{interval[1]:{sign}.4f}"


def gi_map_tables(frame, top: int = 20) -> list[Table]:
    """``gimap``: the predicted pairs furthest from additivity with how many pairs carry each call, and every measured pair
    of the map, its predicted calls beside the measured ones."""
    from gearsplan.analysis.gi_scores import GI_CALLS

    predicted = frame[frame["source"] == "predicted"]
    measured = frame[frame["source"] == "measured"].set_index(["gene_a", "gene_b"])
    counts = {c: int(predicted["calls"].str.split(";").apply(lambda calls, c=c: c in calls).sum()) for c in GI_CALLS}
    shown = min(top, len(predicted))
    furthest = Table(
        title=f"GI map: {counted(len(predicted), 'predicted pair')}; the {shown} with the largest |magnitude − √2| (furthest from additive)",
        title_justify="left",
        caption_justify="left",
        caption="pairs per call: "
        + ", ".join(f"{c} {n:,}" for c, n in counts.items())
        + "; an exactly additive pair has magnitude √2 ≈ 1.41; "
        f"?: uncertain (made by fewer than {CERTAIN_SHARE:.0%} of the members, or their spread of its score straddles its threshold)"
        + (
            "; measured pairs: the next table"
            if len(measured)
            else "\nno pair of these genes was measured: every call here is a prediction"
        ),
    )
    furthest.add_column("pair")
    for label in _GI_LABELS.values():
        _add_uncut_column(furthest, label)
    furthest.add_column("calls", min_width=max(map(len, GI_CALLS)))
    order = (predicted["magnitude"] - ADDITIVE_MAGNITUDE).abs().sort_values(ascending=False).index[:top]
    for row in predicted.loc[order].itertuples():
        furthest.add_row(
            f"{row.gene_a} + {row.gene_b}",
            *(f"{getattr(row, k):.2f}" for k in _GI_LABELS),
            marked_calls(row.calls, row.uncertain),
        )
    if measured.empty:
        return [furthest]
    beside = Table(title=f"{counted(len(measured), 'measured pair')}: predicted beside measured", title_justify="left")
    beside.add_column("pair")
    for header in ("magnitude predicted", "magnitude measured"):
        _add_uncut_column(beside, header)
    for header in ("calls predicted", "calls measured"):
        beside.add_column(header, min_width=max(map(len, GI_CALLS)))
    scores = predicted.set_index(["gene_a", "gene_b"])
    for (a, b), truth in measured.iterrows():
        guess = scores.loc[(a, b)]
        beside.add_row(
            f"{a} + {b}",
            f"{guess['magnitude']:.2f}",
            f"{truth['magnitude']:.2f}",
            marked_calls(guess["calls"], guess["uncertain"]),
            truth["calls"].replace(";", "\n"),
        )
    return [furthest, beside]


def marked_calls(calls: str, uncertain: str) -> str:
    """A GI map row's ";"-joined calls, one a line, each uncertain one marked "?"."""
    doubtful = set(uncertain.split(";"))
    return "\n".join(f"{c}?" if c in doubtful else c for c in calls.split(";") if c)


def _add_uncut_column(table: Table, header: str, justify: str = "right") -> None:
    """A column at least as wide as its header's longest word: never cut to "magnit…" on an 80-column console or a pipe."""
    table.add_column(header, justify=justify, min_width=max(map(len, header.split())))


def _fraction(value: float | None) -> str:
    return "[dim]—[/]" if value is None or math.isnan(value) else f"{value:.2f}"


def gi_evaluation_tables(result) -> list[Table]:
    """``evaluate --gi``: each held-out pair's calls, per-call precision and recall, and the confusion between calls."""
    from gearsplan.analysis.gi_scores import GI_CALLS

    pairs = Table(
        title=f"GI calls of {len(result.pairs)} measured pairs, each held out in turn (seed {result.seed})",
        title_justify="left",
    )
    for column in ("pair", "predicted", "measured"):
        pairs.add_column(column)
    for pair, predicted, measured in zip(result.pairs, result.predicted, result.measured):
        pairs.add_row(
            pair.replace("+", " + "),
            *(", ".join(c for c, on in zip(GI_CALLS, row) if on) for row in (predicted, measured)),
        )
    frame = result.per_call()
    at_k = next(c for c in frame.columns if c.startswith("precision_at_"))
    calls = Table(
        title="per call",
        title_justify="left",
        caption=f"{at_k.replace('_', ' ')}: pairs ranked by the share of members making the call; "
        "base rate: the precision of calling every pair so (the call's share among measured pairs)",
        caption_justify="left",
    )
    calls.add_column("call", no_wrap=True)
    for column in ("measured", "predicted", "precision", "recall", at_k.replace("_", " "), "base rate"):
        _add_uncut_column(calls, column)
    for row in frame.to_dict("records"):
        calls.add_row(
            row["call"],
            str(row["n_measured"]),
            str(row["n_predicted"]),
            *(_fraction(row[k]) for k in ("precision", "recall", at_k, "base_rate")),
        )
    matrix = result.confusion()
    # Calls abbreviated to their first three letters in the columns, so the matrix fits 80 columns.
    confusion = Table(
        title="confusion: pairs with each predicted (rows) and measured (columns) call",
        title_justify="left",
        caption_justify="left",
        caption="columns: "
        + ", ".join(f"{c[:3]} {c}" for c in matrix.columns)
        + "; a pair with several calls counts in several cells",
    )
    confusion.add_column("predicted")
    for column in matrix.columns:
        confusion.add_column(column[:3], justify="right")
    for name, row in matrix.iterrows():
        confusion.add_row(name, *map(str, row))
    errors = result.magnitude_error()
    magnitudes = Table(
        title="GI magnitude of the held-out pairs",
        title_justify="left",
        caption_justify="left",
        caption=f"mean |predicted − measured|: gearsplan {_fraction(errors['gearsplan'])}, scaled_additive {_fraction(errors['scaled_additive'])}; "
        "an exactly additive pair has magnitude √2 ≈ 1.41",
    )
    magnitudes.add_column("pair")
    for header in ("gearsplan", "scaled additive", "measured"):
        _add_uncut_column(magnitudes, header)
    for pair, *rows in zip(
        result.pairs, result.predicted_scores, result.scaled_additive_scores, result.measured_scores
    ):
        magnitudes.add_row(pair.replace("+", " + "), *(_fraction(row["magnitude"]) for row in rows))
    return [pairs, magnitudes, calls, confusion]
