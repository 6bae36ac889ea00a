"""``gearsplan report``: one Markdown plan with its PNG figures, built beside the target and renamed into place."""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import quote

import numpy as np
import pandas as pd

from gearsplan.analysis.gi_map import gi_map, measured_genes
from gearsplan.analysis.gi_scores import CERTAIN_SHARE, GI_CALLS
from gearsplan.analysis.model_screen import ModelScreen, describe_bundle
from gearsplan.analysis.prediction import PerturbationReport, predict_perturbation, screen_model
from gearsplan.analysis.uncertainty_check import UncertaintyCheck, uncertainty_check
from gearsplan.data.embedded import screen_name
from gearsplan.design.gene_space import EXPAND, GeneSpace, check_expand
from gearsplan.design.suggestion import (
    LEARN,
    SuggestionPlan,
    check_goal,
    quotas_for,
    require_ensemble,
    require_positive,
    suggest,
)
from gearsplan.interface import report_figures as figures
from gearsplan.interface.tables import best_as_shown, calibrated_from, learned_from, marked_calls, screen_rows
from gearsplan.model.bundle import Bundle
from gearsplan.paths import check_replaceable, output_target, temporary_beside
from gearsplan.wording import counted

#: Section titles, in order (every report has all six).
SECTIONS = (
    "What was analysed",
    "How good the model is",
    "What to do next",
    "What is predicted to interact",
    "Closer look",
    "Caveats",
)
#: Distributions whose versions the report records, so a rerun can match them.
PACKAGES = ("gearsplan", "torch", "torch-geometric", "numpy", "scipy", "pandas", "anndata", "scanpy", "matplotlib")
#: Pairs of the closer look, and rows per GI subtype.
CLOSER_LOOK_PAIRS = 3
TOP_PAIRS = 10
#: Per GI call, the score that orders its pairs and whether the smallest comes first (strongest instance of the call on top).
SUBTYPE_ORDER = {
    "synergy": ("magnitude", False),
    "suppression": ("magnitude", True),
    "additive": ("additivity_gap", True),
    "neomorphism": ("model_fit", True),
    "redundancy": ("similarity", False),
    "epistasis": ("equality_of_contribution", True),
}
#: Fewer held-out perturbations than this in a stratum makes its row anecdotal.
SMALL_STRATUM = 5
#: Fewer perturbations than this makes the screen small for a graph model (GEARS's Norman data has 284).
SMALL_SCREEN = 100
#: Spearman below this: the uncertainty is a weak guide to the real error.
WEAK_SPEARMAN = 0.3
_STEPS = 6

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Report:
    """A written report: its Markdown file, its figures, its sections, and the headline numbers computed for it."""

    path: Path
    figures: tuple[Path, ...]
    sections: tuple[str, ...]
    facts: dict

    def to_json(self) -> dict:
        """The ``report --json`` document."""
        return {
            "report": str(self.path),
            "figures": [str(f) for f in self.figures],
            "sections": list(self.sections),
            **self.facts,
        }


def figures_dir(out: Path) -> Path:
    """The folder of a report's figures: ``plan.md`` → ``plan_files``."""
    return out.with_name(f"{out.stem}_files")


def write_report(
    bundle: Bundle,
    screen: ModelScreen,
    out: str | Path = "plan.md",
    *,
    budget: int = 50,
    seed: int = 0,
    command: str | None = None,
    progress: Progress | None = None,
    pairs: int | None = None,
    library: Sequence[str] | None = None,
    expand: int = EXPAND,
    goal: str = LEARN,
) -> Report:
    """Write the plan for the next round of ``screen`` with ``bundle``: ``out`` and its ``<stem>_files/`` folder of PNGs.

    Both are built in a temporary directory beside ``out`` and renamed into place at the end (an
    existing report is replaced), so a failure leaves no half-written report.

    Parameters
    ----------
    bundle
        A trained model; its metadata give the held-out split and its evaluation.
    screen
        The data so far: the screen the bundle carries, or one read from a file
        (:func:`~gearsplan.analysis.model_screen.bundle_screen`).
    budget
        Experiments to suggest.
    pairs
        Exactly this many of them pairs (the rest singles); default: expected gain decides. The
        closer look reads the first :data:`CLOSER_LOOK_PAIRS` suggested pairs.
    library
        Genes and ``A+B`` pairs of a guide library, as ``suggest``'s ``library``: its genes join the genes of interest.
    expand
        Genes nearest to the screen's and the library's added to the genes of interest, as ``suggest``'s ``expand``.
    goal
        ``learn`` or ``discover``, as ``suggest``'s ``goal``; the plan's section says which.
    seed
        Seeds the suggestions and the GI scores' Theil–Sen sampling.
    command
        The command line to print for a rerun; default: the ``gearsplan report`` equivalent of this call.
    progress
        ``(done, total)`` over the report's steps.

    Raises
    ------
    GearsplanError
        If the budget is not positive, ``expand`` is negative, ``pairs`` does not fit in the budget or exceeds the candidate pairs, the
        model has one ensemble member, ``out`` cannot be written, or its figures folder holds files a
        report did not write.
    """
    require_positive(budget)
    check_expand(expand)
    check_goal(goal, quotas_for(budget, None, pairs))
    require_ensemble(bundle)
    out = output_target(Path(out).absolute())
    check_replaceable(
        figures_dir(out), lambda name: name.endswith(".png"), "a report's figures", "move them, or choose another --out"
    )
    step = _stepper(progress)
    command = command or _equivalent_command(bundle, screen, out, budget, pairs, seed, library, expand, goal)
    # Staged first: an unwritable target fails before the work, and anything drawn so far goes if a step fails.
    with staged_report(out) as staging:
        folder = staging / figures_dir(out).name
        folder.mkdir()
        link = lambda name: f"{quote(folder.name)}/{quote(name)}"  # noqa: E731
        info = screen.summary
        step()
        evaluation = describe_bundle(bundle)["evaluation"]
        check = uncertainty_check(bundle, screen)
        drawn = _draw_quality(folder, evaluation, check)
        step()
        plan = suggest(bundle, screen.bulk, budget, n_pairs=pairs, library=library, seed=seed, expand=expand, goal=goal)
        step()
        gi_genes, frame = _interactions(bundle, screen, seed)
        if frame is not None:
            drawn.append(figures.gi_heatmap_png(frame, folder / "gi_map.png").name)
        step()
        closer = _closer_look(bundle, screen, plan, seed)
        drawn += [_draw_top_de(report, folder) for report in closer]
        step()
        sections = (
            analysed_section(info, bundle, seed, budget, command, plan.space, screen.carried),
            quality_section(evaluation, check, link, describe_bundle(bundle)["calibration"]),
            next_section(plan),
            interaction_section(frame, info, gi_genes, link),
            closer_section(closer, link),
            caveats_section(
                info,
                evaluation,
                check,
                plan,
                closer,
                frame,
                sorted(set(measured_genes(screen.bulk)) - set(gi_genes)),
                bundle,
            ),
        )
        title = f"# Plan for the next round of {Path(screen.source).name}\n\n_Written by gearsplan on {date.today().isoformat()}._\n"
        (staging / out.name).write_text("\n".join([title, *sections]), encoding="utf-8")
    step()
    facts = {
        "n_cells": info["n_cells"],
        "n_perturbations": info["n_perturbations"],
        "budget": budget,
        "seed": seed,
        "uncertainty_spearman": None if check is None else check.spearman,
        "suggestions": len(plan.suggestions),
        "closer_look": ["+".join(r.genes) for r in closer],
    }
    return Report(out, tuple(figures_dir(out) / name for name in drawn), SECTIONS, facts)


def _interactions(bundle: Bundle, data: ModelScreen, seed: int) -> tuple[list[str], pd.DataFrame | None]:
    """The measured genes the model can reach, and the GI map of their pairs (None with fewer than two)."""
    # A gene without GO terms and without a training single is out of the model's reach (as ``predict`` refuses it).
    model = screen_model(bundle, data.bulk)
    gi_genes = [g for g in measured_genes(data.bulk) if g in model.go.index or g in model.singles]
    return gi_genes, gi_map(model, data.bulk, gi_genes, seed) if len(gi_genes) >= 2 else None


def _closer_look(bundle: Bundle, data: ModelScreen, plan: SuggestionPlan, seed: int) -> list[PerturbationReport]:
    """``predict``'s report of the first :data:`CLOSER_LOOK_PAIRS` suggested pairs."""
    pairs = [s.genes for s in plan.suggestions if s.kind == "pair"][:CLOSER_LOOK_PAIRS]
    return [predict_perturbation(bundle, data.bulk, genes, 20, seed) for genes in pairs]


def _draw_top_de(report: PerturbationReport, folder: Path) -> str:
    """Draw a closer-look pair's top-20 figure into ``folder``; its file name."""
    title = f"{' + '.join(report.genes)}: top 20 genes by predicted change (confidence {report.uncertainty.level})"
    return figures.top_de_png(report.top_de, title, folder / top_de_name(report.genes)).name


def _stepper(progress: Progress | None) -> Callable[[], None]:
    done = [0]

    def step() -> None:
        done[0] += 1
        if progress:
            progress(done[0], _STEPS)

    return step


def _equivalent_command(
    bundle: Bundle,
    screen: ModelScreen,
    out: Path,
    budget: int,
    pairs: int | None,
    seed: int,
    library: Sequence[str] | None,
    expand: int,
    goal: str = LEARN,
) -> str:
    model = f"--model {bundle.source}" if bundle.source else "--model <the bundle, which was not saved>"
    quota = "" if pairs is None else f" --pairs {pairs}"
    candidates = "" if library is None else f" --candidates <a file of the library's {len(library)} lines>"
    expansion = "" if expand == EXPAND else f" --expand {expand}"
    expansion += "" if goal == LEARN else f" --goal {goal}"
    if screen.carried:  # the bundle carries it: no file to name
        data = ""
    else:  # an embedded screen by its name, not by this installation's path
        data = f" --data {screen_name(screen.source) or _shown_path(screen.source)}" + (
            "" if screen.mudata_mod is None else f" --mudata-mod {screen.mudata_mod}"
        )
    return f"gearsplan report --out {out} {model}{data} --budget {budget}{quota}{candidates}{expansion} --seed {seed}"


@contextmanager
def staged_report(out: Path) -> Iterator[Path]:
    """A temporary directory beside ``out``; when the block succeeds its ``out.name`` and figures folder replace those of ``out``.

    Raises
    ------
    GearsplanError
        If the directory of ``out`` cannot be written.
    """
    staging = temporary_beside(out, "choose a writable location for --out", directory=True)
    try:
        yield staging
        target = figures_dir(out)
        if target.exists():
            os.replace(target, staging / "previous_files")  # removed with the staging directory
        os.replace(staging / target.name, target)
        os.replace(staging / out.name, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _draw_quality(folder: Path, evaluation: dict | None, check: UncertaintyCheck | None) -> list[str]:
    """The figures of section 2 into ``folder``; their file names."""
    drawn = []
    if evaluation:
        drawn.append(figures.strata_bars_png(pd.DataFrame(evaluation["rows"]), folder / "model_quality.png").name)
    if check is not None:
        drawn.append(
            figures.uncertainty_error_png(
                check.uncertainty,
                check.mse_top20,
                list(check.strata),
                check.spearman,
                folder / "uncertainty_vs_error.png",
            ).name
        )
    return drawn


def top_de_name(genes: Sequence[str]) -> str:
    """File name of a pair's top-DE figure."""
    return f"top_de_{'_'.join(genes)}.png"


# --------------------------------------------------------------------------- Markdown


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table; ``|`` in cells escaped."""
    cell = lambda value: str(value).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(map(cell, header)) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(cell, row)) + " |" for row in rows]) + "\n"


def _number(value: object, digits: int = 3) -> str:
    return "—" if value is None or (isinstance(value, float) and not np.isfinite(value)) else f"{value:.{digits}f}"


def _heading(index: int) -> str:
    return f"## {index + 1}. {SECTIONS[index]}\n"


def package_versions() -> dict[str, str]:
    """Python and every package of :data:`PACKAGES` that is installed, with its version."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _shown_screen(source: str) -> str:
    """A screen as a reader can find it: an embedded one by the name ``--data`` takes, a file by its path."""
    name = screen_name(source)
    return (
        f"the embedded `{name}` screen (`{Path(source).name}`, shipped with gearsplan)"
        if name
        else f"`{_shown_path(source)}`"
    )


def _shown_path(path: str) -> str:
    """A path under the user's home written from ``~``, so that a shared plan does not carry the home folder."""
    home = Path.home()
    return f"~/{Path(path).relative_to(home)}" if Path(path).is_relative_to(home) else path


def analysed_section(
    info: dict, bundle: Bundle, seed: int, budget: int, command: str, space: GeneSpace, carried: bool = False
) -> str:
    """Section 1: the data set (``carried``: as the model bundle carries it), the model bundle, the versions, the seed,
    the genes of interest and the command."""
    model = describe_bundle(bundle)
    data_rows = [
        (
            "screen",
            _shown_screen(info["source"])
            + (
                " as the model bundle carries it (means, cell counts and DE genes; the file is not read)"
                if carried
                else ""
            ),
        ),
        *screen_rows(info),
        ("model bundle", f"`{_shown_path(model['path'])}`" if model["path"] else "in memory (not saved)"),
        (
            "model",
            f"{counted(model['members'], 'ensemble member')}, {model['n_genes']} genes predicted, {model['n_perturbable_genes']:,} perturbable (GO) genes",
        ),
        ("learned from", learned_from(model)),
        ("confidence calibrated on", calibrated_from(model["calibration"])),
        ("report seed, budget", f"{seed}, {budget}"),
        (
            "candidates",
            f"untested singles and pairs of {counted(len(space.genes), 'gene')} of interest: {space.describe()}",
        ),
    ]
    versions = markdown_table(("package", "version"), list(package_versions().items()))
    return (
        f"{_heading(0)}\n{markdown_table(('', ''), data_rows)}\nPackage versions:\n\n{versions}\nTo rerun exactly this report:\n\n"
        f"```bash\n{command}\n```\n"
    )


def quality_section(
    evaluation: dict | None, check: UncertaintyCheck | None, link: Callable[[str], str], calibration: dict
) -> str:
    """Section 2: per-stratum table and bar plot against the baselines; uncertainty against error; without an
    evaluation, where the confidence is calibrated from (``calibration``, :func:`~gearsplan.analysis.model_screen.calibration_source`)."""
    parts = [_heading(1)]
    if not evaluation:
        parts.append(
            "This model learned from every perturbation of the screen, so it holds none out to score it on; "
            "`gearsplan evaluate --model DIR` scores the way it was trained on held-out splits, beside the baselines. "
            + (
                f"Its confidence is calibrated on {calibrated_from(calibration)}.\n"
                if calibration["from"]
                else "Its confidence is uncalibrated.\n"
            )
        )
    else:
        rows = pd.DataFrame(evaluation["rows"])
        parts.append(
            f"Scored on the bundle's held-out perturbations (split `{evaluation['split']}`, seeds {', '.join(map(str, evaluation['seeds']))}); "
            "metrics of GEARS: Pearson of predicted vs true change over control (all genes, top-20 DE genes), MSE on the top-20 DE genes, "
            "fraction of top-20 DE genes predicted in the wrong direction; and three that look past the shift every perturbation shares: "
            "Pearson of predicted vs true change each less the training perturbations' mean change, discrimination (the share of the other held-out "
            "perturbations whose true change lies farther from the prediction than its own; 0.5 is chance) and the share of top-20-DE values "
            "within the predicted ± 2 sd (0.95 is calibrated). Best per stratum in bold.\n"
        )
        parts.append(_evaluation_table(rows))
        parts.append(_verdict(rows))
        parts.append(f"\n![Per-stratum MSE and Pearson of every model]({link('model_quality.png')})\n")
    if check is None and evaluation:
        parts.append(
            "\nFewer than three held-out perturbations are in this screen, so uncertainty cannot be checked against error.\n"
        )
    elif check is None:
        parts.append(
            "\nWith nothing held out, uncertainty cannot be checked against error here; `evaluate` reports their Spearman.\n"
        )
    else:
        parts.append(
            f"\nUncertainty against error on the {len(check.keys)} held-out perturbations: Spearman ρ = **{check.spearman:.3f}** "
            f"between the spread of each prediction (the members' disagreement and, for unmeasured genes, the base's spread) and the real top-20-DE MSE "
            f"({'a useful' if check.spearman >= WEAK_SPEARMAN else 'a weak'} guide to which predictions to trust).\n"
        )
        parts.append(f"\n![Uncertainty against real error]({link('uncertainty_vs_error.png')})\n")
    return "\n".join(parts)


def _evaluation_table(rows: pd.DataFrame) -> str:
    metrics = (
        "pearson_delta",
        "pearson_delta_top20",
        "mse_top20",
        "frac_opposite_top20",
        "pearson_delta_centroid",
        "discrimination",
        "coverage_2sd",
    )
    body = []
    for _, group in rows.groupby("stratum", sort=False):
        best = best_as_shown(group)
        for index, row in group.iterrows():
            cells = [f"**{_number(row[m])}**" if best.at[index, m] else _number(row[m]) for m in metrics]
            body.append((row["stratum"], row["model"], f"{row['n']:g}", *cells))
    return markdown_table(
        (
            "stratum",
            "model",
            "n",
            "Pearson Δ all genes",
            "Pearson Δ top-20 DE",
            "MSE top-20 DE",
            "opposite direction",
            "Pearson Δ − train mean",
            "discrimination",
            "within ± 2 sd",
        ),
        body,
    )


def _verdict(rows: pd.DataFrame) -> str:
    """In words: in how many strata gearsplan beats every baseline on top-20-DE MSE."""
    strata = [s for s in dict.fromkeys(rows["stratum"]) if s != "all"]
    if "gearsplan" not in set(rows["model"]):
        return "\nNo gearsplan row: only the baselines were scored.\n"
    wins = []
    for stratum in strata:
        group = rows[rows["stratum"] == stratum].set_index("model")["mse_top20"].astype(float)
        if group["gearsplan"] <= group.drop("gearsplan").min():
            wins.append(stratum)
    return (
        f"\ngearsplan has the lowest top-20-DE MSE in {len(wins)} of {len(strata)} {'stratum' if len(strata) == 1 else 'strata'}"
        + (f" ({', '.join(wins)})" if wins else "")
        + "; where a baseline wins, prefer it for that kind of perturbation.\n"
    )


def next_section(plan: SuggestionPlan) -> str:
    """Section 3: the suggestions with their reasons, and the budget split in words."""
    rows = [
        (
            s.rank,
            " + ".join(s.genes),
            s.kind,
            s.reason,
            f"{s.uncertainty:.4f}",
            f"{s.reach:.1f}",
            str(s.unlocks) if s.kind == "single" else "",
            s.gi_call or "",
            f"{s.expected_gain:.2e}",
        )
        for s in plan.suggestions
    ]
    table = markdown_table(
        ("rank", "perturbation", "kind", "reason", "uncertainty", "reach", "unlocks", "GI subtype", "expected gain"),
        rows,
    )
    singles = sum(s.kind == "single" for s in plan.suggestions)
    return (
        f"{_heading(2)}\nThe next {plan.budget} experiments, best first, for the goal **{plan.goal}**: **{counted(singles, 'single gene')} and {counted(len(plan.suggestions) - singles, 'pair')}**. "
        "Uncertainty: the members' sd on the top-20 predicted genes (log-normalised expression); reach: untested GO neighbours informed; "
        "unlocks: untested pairs of the genes of interest a single turns into pairs with both singles measured; "
        "GI subtype: the predicted call for pairs.\n\n" + table + f"\n{plan.summary}\n"
    )


def subtype_tables(frame: pd.DataFrame, top: int = TOP_PAIRS) -> dict[str, pd.DataFrame]:
    """Per GI call, its ``top`` predicted pairs ordered by the score that defines the call (:data:`SUBTYPE_ORDER`)."""
    predicted = frame[frame["source"] == "predicted"].assign(additivity_gap=lambda f: (f["magnitude"] - 1).abs())
    calls = predicted["calls"].str.split(";")
    tables = {}
    for call in GI_CALLS:
        column, ascending = SUBTYPE_ORDER[call]
        chosen = predicted[calls.apply(lambda c, call=call: call in c)]
        tables[call] = chosen.sort_values(column, ascending=ascending, kind="stable").head(top)
    return tables


def interaction_section(
    frame: pd.DataFrame | None, info: dict, genes: Sequence[str], link: Callable[[str], str]
) -> str:
    """Section 4: the GI map heatmap of the measured genes and the top predicted pairs per subtype."""
    if frame is None:
        return f"{_heading(3)}\nFewer than two measured single genes can be predicted, so there is no GI map.\n"
    predicted = frame[frame["source"] == "predicted"]
    measured = frame[frame["source"] == "measured"].set_index(["gene_a", "gene_b"])["calls"]
    parts = [
        _heading(3),
        f"Every pair of the {len(genes)} genes measured alone in the screen ({len(predicted)} pairs) predicted and scored as in Norman et al. 2019 "
        "(magnitude > 1.15 synergy, < 1.0 suppression; model fit < 0.88 neomorphism; similarity > 0.85 redundancy; "
        "equality of contribution < 0.28 epistasis). An exactly additive pair (ΔAB = ΔA + ΔB) has magnitude √2 ≈ 1.41, "
        "where the map's colours are centred, and these thresholds call it synergy. "
        f"A call marked ? is uncertain: fewer than {CERTAIN_SHARE:.0%} of the ensemble's members make it, or their spread of its score straddles its threshold. "
        + (
            "Boxed cells were measured too.\n"
            if len(measured)
            else "No pair of these genes was measured in the screen, so no call here is checked against a measurement.\n"
        ),
        f"![Clustered GI map of the measured genes]({link('gi_map.png')})\n",
    ]
    for call, table in subtype_tables(frame).items():
        count = int(predicted["calls"].str.split(";").apply(lambda c, call=call: call in c).sum())
        parts.append(f"### {call} ({count} of {len(predicted)} pairs)\n")
        if table.empty:
            parts.append("No pair is predicted to have this call.\n")
            continue
        header = (
            "pair",
            "magnitude",
            "model fit",
            "similarity",
            "equality of contribution",
            "predicted calls",
            "measured calls",
        )
        header = header if len(measured) else header[:-1]  # no column of "not measured" where no pair was
        rows = [
            (
                f"{r.gene_a} + {r.gene_b}",
                _number(r.magnitude),
                _number(r.model_fit),
                _number(r.similarity),
                _number(r.equality_of_contribution),
                marked_calls(r.calls, r.uncertain).replace("\n", ", "),
                measured.get((r.gene_a, r.gene_b), "not measured").replace(";", ", ") or "none",
            )[: len(header)]
            for r in table.itertuples()
        ]
        parts.append(markdown_table(header, rows))
    return "\n".join(parts)


def closer_section(closer: Sequence[PerturbationReport], link: Callable[[str], str]) -> str:
    """Section 5: the top-20 DE genes of the best suggested pairs, predicted against additive."""
    if not closer:
        return f"{_heading(4)}\nThe plan holds no pair, so there is no pair to look at closely.\n"
    parts = [
        _heading(4),
        f"The {len(closer)} highest-ranked suggested pairs: the 20 genes with the largest predicted change, the ensemble's spread, "
        "and what adding the two single changes would give.\n",
    ]
    for report in closer:
        top = report.top_de
        departure = (top["predicted_change"] - top["additive_change"]).abs()
        strongest = top.loc[departure.sort_values(ascending=False).index[:3]]
        gi = report.gi[0].predicted if report.gi else {}
        agreement = report.gi[0].agreement if report.gi else {}
        certain = report.gi[0].certain if report.gi else {}
        calls = (
            ", ".join(
                f"{c} ({agreement.get(c, 0):.0%} of members{'' if certain.get(c) else ', uncertain'})"
                for c in gi.get("calls", [])
            )
            or "none"
        )
        parts.append(f"### {' + '.join(report.genes)}\n")
        parts.append(
            f"Spread {report.uncertainty.spread:.3f} on its top-20 genes, its changes {report.uncertainty.signal:.1f}× out of it once calibrated on held-out perturbations (×{report.uncertainty.calibration:.1f}; confidence **{report.uncertainty.level}**); "
            f"members' disagreement z = {report.uncertainty.z:.2f} against the training perturbations; "
            f"GI magnitude {_number(gi.get('magnitude'))}, calls: {calls}. Largest departures from additive: "
            + ", ".join(
                f"{r.gene} ({r.predicted_change:+.3f} vs {r.additive_change:+.3f})" for r in strongest.itertuples()
            )
            + ".\n"
        )
        parts.append(f"![Top-20 DE genes of {' + '.join(report.genes)}]({link(top_de_name(report.genes))})\n")
    return "\n".join(parts)


def caveats_section(
    info: dict,
    evaluation: dict | None,
    check: UncertaintyCheck | None,
    plan: SuggestionPlan,
    closer: Sequence[PerturbationReport],
    frame: pd.DataFrame | None,
    left_out: Sequence[str],
    bundle: Bundle,
) -> str:
    """Section 6: what limits these conclusions, computed from this data and model."""
    items = []
    outside = info["perturbed_genes_not_in_go"]
    if outside:
        items.append(
            f"**Genes outside the GO graph**: {len(outside)} of {info['n_perturbed_genes']} perturbed genes ({', '.join(outside)}) {'has' if len(outside) == 1 else 'have'} no GO "
            "annotation; the model reaches them only through their measured single, and cannot transfer what it learns about them to other genes"
            + (f"; left out of the GI map: {', '.join(left_out)}." if left_out else ".")
        )
    else:
        items.append(
            f"**Genes outside the GO graph**: none; all {info['n_perturbed_genes']} perturbed genes have GO annotations."
        )
    if check is not None:
        ceiling = float(check.disagreement.max())
        beyond = [s for s in plan.suggestions if s.uncertainty > ceiling]
        worst = int(np.argmax(check.disagreement))
        items.append(
            f"**High-uncertainty predictions**: {len(beyond)} of {len(plan.suggestions)} suggestions have a members' disagreement above the highest seen on a "
            f"held-out perturbation ({ceiling:.4f}, {check.keys[worst]}, top-20-DE MSE {check.mse_top20[worst]:.3f}): their error was never measured at that level. "
            f"The whole spread (the members' disagreement with the base's spread) ranks the held-out errors with Spearman {check.spearman:.2f}"
            + (", too weak to rank predictions by trust." if check.spearman < WEAK_SPEARMAN else ".")
        )
    levels = [
        f"{' + '.join(r.genes)}: {r.uncertainty.level} ({r.uncertainty.signal:.1f}× its calibrated spread)"
        for r in closer
    ]
    if levels:
        items.append("Confidence of the closer-look pairs: " + "; ".join(levels) + ".")
    if frame is not None:
        predicted = frame[frame["source"] == "predicted"]
        collinear = int(predicted["singles_collinear"].sum())
        items.append(
            f"**GI scores**: {collinear} of {len(predicted)} predicted pairs have near-collinear single changes, so their c₁ and c₂ (and magnitude) are unstable."
        )
    items.append(_small_data(info, evaluation, bundle))
    items += [f"**Screen**: {warning}." for warning in info["warnings"]]
    return f"{_heading(5)}\n" + "\n".join(f"- {item}" for item in items) + "\n"


def _small_data(info: dict, evaluation: dict | None, bundle: Bundle) -> str:
    text = (
        f"**Small data**: {info['n_perturbations']} perturbations ({info['n_single']} singles, {info['n_pair']} pairs) in {info['n_cells']:,} cells, "
        f"at least {info['cells_per_perturbation']['min']} cells per perturbation; {counted(len(bundle.model.members), 'ensemble member')}"
    )
    if info["n_perturbations"] < SMALL_SCREEN:
        text += f"; under {SMALL_SCREEN} perturbations, a graph model has little to learn from, so weigh it against the additive baseline"
    if evaluation:
        rows = pd.DataFrame(evaluation["rows"])
        thin = rows[(rows["stratum"] != "all")].groupby("stratum")["n"].max()
        thin = thin[thin < SMALL_STRATUM]
        if len(thin):
            text += (
                "; strata scored on fewer than "
                + f"{SMALL_STRATUM} perturbations: "
                + ", ".join(f"{s} (n={n:g})" for s, n in thin.items())
            )
    return text + "."
