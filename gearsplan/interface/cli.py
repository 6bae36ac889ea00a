"""The ``gearsplan`` command line: thin commands over the Python API."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer

from gearsplan import __version__
from gearsplan.errors import GearsplanError
from gearsplan.model.training import TrainConfig
from gearsplan.interface.console import err, out, print_json, progress_bar, training_bar

app = typer.Typer(
    name="gearsplan",
    help="Plan combinatorial Perturb-seq screens with GEARS: predict unseen perturbations, "
    "score genetic interactions, and choose the next experiments. Every command runs on the "
    "embedded Norman 2019 K562 subset unless --data names your own .h5ad.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)
data_app = typer.Typer(help="Inspect a screen before modelling it.", no_args_is_help=True)
app.add_typer(data_app, name="data")
model_app = typer.Typer(help="Inspect the trained model that the other commands use.", no_args_is_help=True)
app.add_typer(model_app, name="model")

DataOption = Annotated[
    Optional[Path], typer.Option("--data", help="An .h5ad screen (cells x genes); default: the embedded Norman 2019 subset.", show_default=False)
]
ConditionColOption = Annotated[
    Optional[str], typer.Option("--condition-col", help="obs column naming each cell's perturbation (default: detected: condition, perturbation, gene, ...).")
]
ControlOption = Annotated[Optional[str], typer.Option("--control", help="Label of control cells in that column (default: detected: ctrl, control, non-targeting, ...).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one machine-readable JSON document instead of tables.")]
ModelOption = Annotated[
    Optional[Path],
    typer.Option("--model", help="A model bundle directory (default: the default model; trained on the embedded data first if there is none).", show_default=False),
]


def _version(value: bool) -> None:
    if value:
        print(f"gearsplan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False) -> None:
    """Plan Perturb-seq screens with GEARS."""


def parse_seeds(text: str) -> tuple[int, ...]:
    """``1,2,3`` or ``1-5`` (or a mix) as a tuple of seeds."""
    seeds: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            low, _, high = part.partition("-")
            seeds.extend(range(int(low), int(high or low) + 1))
    except ValueError:
        raise GearsplanError(f"cannot read seeds {text!r}", "give whole numbers, e.g. --seeds 1,2,3 or --seeds 1-5") from None
    if not seeds:
        raise GearsplanError("no seeds given", "e.g. --seeds 1,2,3")
    return tuple(dict.fromkeys(seeds))


def _load(data: Optional[Path], condition_col: Optional[str], control: Optional[str]):
    from gearsplan.data.screen import read_screen

    with progress_bar("reading the screen"):
        return read_screen(data, condition_col, control)


@app.command()
def evaluate(
    data: DataOption = None,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="Comma-separated models: baselines (= no_change, mean, additive) or one of them; gearsplan (our GEARS ensemble, "
            "trained afresh on each split); or a model directory (retrained on each split with its hyperparameters). Baselines are always shown beside a model.",
        ),
    ] = "baselines",
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="loo (leave one perturbation out), simulation (GEARS's seeded split), reference (the reference GEARS's own splits, seeds 1-5), or a GEARS split JSON file.",
        ),
    ] = "loo",
    seeds: Annotated[str, typer.Option("--seeds", help="Seeds, e.g. 1,2,3 or 1-5: one evaluation each, reported as mean ± sd.")] = "1",
    condition_col: ConditionColOption = None,
    control: ControlOption = None,
    json: JsonOption = False,
) -> None:
    """Score models on held-out perturbations, per stratum, against the baselines (GEARS's metrics).

    Strata: unseen single genes; pairs with 0, 1 or 2 genes not measured as singles in training.
    Metrics: Pearson of predicted vs true change over control (all genes, top-20 DE genes),
    MSE on the top-20 DE genes (also relative to predicting no change), and the fraction of
    top-20 DE genes predicted in the wrong direction.
    """
    from gearsplan.analysis.evaluation import evaluate as run_evaluation
    from gearsplan.interface.tables import evaluation_tables

    seed_list = parse_seeds(seeds)
    models = [m.strip() for m in model.split(",") if m.strip()]
    models = models if "baselines" in models else [*models, "baselines"]
    screen = _load(data, condition_col, control)
    with progress_bar(f"evaluating on {split} splits") as progress, training_bar(TrainConfig().ensemble, TrainConfig().epochs) as training:
        result = run_evaluation(screen, models, split, seed_list, progress, training)
    if json:
        print_json(result.to_json())
        return
    for table in evaluation_tables(result.summary(), split, seed_list):
        out.print(table)
    if result.uncertainty_spearman() is not None:
        out.print(f"Spearman of ensemble uncertainty with top-20-DE MSE over held-out perturbations: {result.uncertainty_spearman():.3f}")


@app.command()
def train(
    data: DataOption = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Where to write the model bundle (default: the default model location, used by every command).")] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Most epochs per member (early stopping on validation top-20-DE MSE may stop sooner).")] = TrainConfig().epochs,
    ensemble: Annotated[int, typer.Option("--ensemble", min=1, help="Members, each from its own seed; their disagreement is the uncertainty.")] = TrainConfig().ensemble,
    seed: Annotated[int, typer.Option("--seed", help="Seeds the split, the control pairing and every member.")] = 1,
    split: Annotated[str, typer.Option("--split", help="simulation (GEARS's seeded split), reference (the reference GEARS's split for --seed 1-5), or a GEARS split JSON file.")] = "simulation",
    condition_col: ConditionColOption = None,
    control: ControlOption = None,
    json: JsonOption = False,
) -> None:
    """Train a GEARS ensemble on a screen and save it as a bundle.

    Trains on the split's training perturbations, stops each member early on the validation
    perturbations, then scores the held-out test perturbations against the baselines and
    writes the bundle (safetensors weights, JSON config and metadata, checksums).
    """
    from gearsplan.analysis.training_run import train_bundle
    from gearsplan.interface.tables import evaluation_tables
    from gearsplan.model.bundle import save_bundle
    from gearsplan.paths import default_model_dir

    config = replace(TrainConfig(), epochs=epochs, ensemble=ensemble)
    screen = _load(data, condition_col, control)
    with training_bar(ensemble, epochs) as progress:
        run = train_bundle(screen, split, seed, config, progress)
    target = save_bundle(run.bundle, out_dir or default_model_dir())
    if json:
        print_json({"model": str(target), "seed": seed, "split": split, "train_seconds": run.bundle.metadata["train_seconds"], "evaluation": run.evaluation.to_json()})
        return
    for table in evaluation_tables(run.evaluation.summary(), split, (seed,)):
        out.print(table)
    out.print(f"trained {ensemble} member(s) in {run.bundle.metadata['train_seconds']:.1f} s; model saved to [bold]{target}[/]")


@data_app.command("info")
def data_info(
    path: Annotated[Optional[Path], typer.Argument(help="An .h5ad screen; default: the embedded Norman 2019 subset.", show_default=False)] = None,
    condition_col: ConditionColOption = None,
    control: ControlOption = None,
    json: JsonOption = False,
) -> None:
    """Summarise a screen: cells, genes, perturbations, control cells, GO coverage, and how columns were detected."""
    from gearsplan.analysis.screen_summary import describe
    from gearsplan.interface.tables import perturbations_table, screen_table

    info = describe(_load(path, condition_col, control))
    if json:
        print_json(info)
        return
    out.print(screen_table(info))
    out.print(perturbations_table(info))


@model_app.command("info")
def model_info(model: ModelOption = None, json: JsonOption = False) -> None:
    """Where the model is, what it was trained on, and how it scored on its held-out perturbations."""
    import pandas as pd

    from gearsplan.analysis.training_run import describe_bundle, ensure_model
    from gearsplan.interface.tables import evaluation_tables, model_table

    with training_bar(TrainConfig().ensemble, TrainConfig().epochs) as progress:
        info = describe_bundle(ensure_model(model, notify=lambda message: err.print(message, highlight=False), progress=progress))
    if json:
        print_json(info)
        return
    out.print(model_table(info))
    evaluation = info["evaluation"]
    if evaluation:
        summary = pd.DataFrame(evaluation["rows"])
        summary = summary.astype({c: float for c in summary.columns if c not in ("stratum", "model")})
        for table in evaluation_tables(summary, evaluation["split"], tuple(evaluation["seeds"])):
            out.print(table)


def main() -> None:
    """Run the CLI; a user's mistake ends in one line on stderr and exit code 2."""
    try:
        app()
    except GearsplanError as error:
        err.print(f"[bold red]error:[/] {error.message}" + (f" [dim](hint: {error.hint})[/]" if error.hint else ""), highlight=False, soft_wrap=True)
        sys.exit(2)
