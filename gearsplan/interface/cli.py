"""The ``gearsplan`` command line: thin commands over the Python API."""

from __future__ import annotations

import inspect
import sys
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.markup import escape

from gearsplan import __version__
from gearsplan.errors import GearsplanError
from gearsplan.interface.console import err, out, print_json, progress_bar, training_bar
from gearsplan.model.train_config import TrainConfig
from gearsplan.paths import output_target


class _FlagsTakeNoValue:
    """Help that shows no value type for a flag (``--json``, not ``--json <bool>``).

    Typer's Rich help formatter writes every option's ``display_type_rich`` (the type, unless a
    metavar is set), where its plain formatter leaves it out for flags and counts, which take no
    value; an empty metavar makes the Rich one agree, for every flag, ``--help`` and Typer's own included.
    """

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) or getattr(param, "count", False):
                param.metavar = ""
        return params


class _Group(_FlagsTakeNoValue, typer.core.TyperGroup):
    """A command group whose help shows no value type for flags."""


class _Command(_FlagsTakeNoValue, typer.core.TyperCommand):
    """A command whose help shows no value type for flags."""


app = typer.Typer(
    cls=_Group,
    name="gearsplan",
    help="Plan combinatorial Perturb-seq screens with GEARS: predict unseen perturbations, "
    "score genetic interactions, and choose the next experiments. Every command runs on the "
    "embedded Norman 2019 K562 subset unless --data names your own screen (.h5ad, .zarr or .h5mu; or papalexi, the embedded Papalexi 2021 THP-1 screen).",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)
data_app = typer.Typer(cls=_Group, help="Inspect a screen before modelling it.", no_args_is_help=True)
app.add_typer(data_app, name="data")
model_app = typer.Typer(cls=_Group, help="Inspect the trained model that the other commands use.", no_args_is_help=True)
app.add_typer(model_app, name="model")

DataOption = Annotated[
    Optional[Path],
    typer.Option(
        "--data",
        help="A screen of cells x genes (.h5ad, a .zarr store, or .h5mu), or an embedded one by name: norman, papalexi (unless a file of that name exists); default: norman.",
        show_default=False,
    ),
]
ConditionColOption = Annotated[
    Optional[str],
    typer.Option(
        "--condition-col",
        help="obs column naming each cell's perturbation (default: detected: condition, perturbation, gene, ...).",
    ),
]
ControlOption = Annotated[
    Optional[str],
    typer.Option(
        "--control",
        help="Label of control cells in that column (default: detected: ctrl, control, non-targeting, ...).",
    ),
]
MudataModOption = Annotated[
    Optional[str],
    typer.Option("--mudata-mod", help="The modality of an .h5mu screen to read (default: rna).", show_default=False),
]
MaxMemoryOption = Annotated[
    Optional[str],
    typer.Option(
        "--max-memory",
        help="Memory an .h5ad screen may take to be read whole, e.g. 8GB; a larger file is streamed in blocks of cells, in one pass (default: a quarter of RAM).",
        show_default=False,
    ),
]
SchedulerOption = Annotated[
    Optional[str],
    typer.Option(
        "--scheduler",
        help="The address of a Dask scheduler (e.g. tcp://10.0.0.5:8786) to stream an .h5ad screen's pass on, whatever its size; its workers read the file at the same path.",
        show_default=False,
    ),
]
GenesOption = Annotated[
    Optional[int],
    typer.Option(
        "--genes",
        min=20,
        help="Genes kept of a screen that measures more: the most variable (scanpy highly_variable_genes), plus every measured perturbed gene (default: 5000).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one machine-readable JSON document instead of tables.")]
ModelDataOption = Annotated[
    Optional[Path],
    typer.Option(
        "--data",
        help="The screen so far (.h5ad, .zarr or .h5mu), or norman / papalexi (embedded, unless a file of that name exists): its measurements and control means (default: the screen the model was trained on; another is read with a warning, as the network never learned from it).",
        show_default=False,
    ),
]
CandidatesOption = Annotated[
    Optional[Path],
    typer.Option(
        "--candidates",
        help="Text file, one gene or A+B pair per line: your guide library. Its genes join the genes of interest whatever their type (default: the screen's perturbed genes and --expand); the pairs it lists are candidates as they are.",
        show_default=False,
    ),
]
ExpandOption = Annotated[
    int,
    typer.Option(
        "--expand",
        help="Add the N protein-coding genes nearest to the screen's and the library's genes in GO and STRING to the genes of interest, the candidate space (0: those genes alone; never olfactory or taste receptors or immunoglobulin or T-cell-receptor segments).",
    ),
]
GoalOption = Annotated[
    str,
    typer.Option(
        "--goal",
        help="learn: the experiments that remove the most model uncertainty over the untested singles and pairs of the genes of interest; discover: the pairs most likely to interact strongly (an upper bound on their departure from the pair law).",
    ),
]
ModelOption = Annotated[
    Optional[Path],
    typer.Option(
        "--model",
        help="A model bundle directory (default: the default model; trained on the embedded data first if there is none).",
        show_default=False,
    ),
]


class DeviceChoice(str, Enum):
    """The choices of ``--device`` (:data:`gearsplan.model.device.DEVICES`)."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


DeviceOption = Annotated[
    DeviceChoice,
    typer.Option(
        "--device",
        help="Where the networks train: auto (a CUDA GPU where torch sees one, else the CPU), cpu or cuda. Predictions run on the CPU.",
    ),
]
ThreadsOption = Annotated[
    Optional[int],
    typer.Option(
        "--threads",
        min=1,
        help="CPU threads torch trains and predicts on (default: 1, the fastest for these small networks). The results are the same on any number.",
        show_default=False,
    ),
]


class ModalityChoice(str, Enum):
    """The choices of ``train --modality`` (:data:`gearsplan.data.modality.MODALITY_SIGNS`)."""

    activation = "activation"
    interference = "interference"
    knockout = "knockout"


#: Seeds are what NumPy and torch take: 0 to 2**32 - 1.
MAX_SEED = 2**32 - 1


def _file_output(path: Optional[Path]) -> Optional[Path]:
    """An output option's file, refused while the command line is read if it is a directory."""
    return None if path is None else output_target(path)


def _h5ad_output(path: Optional[Path]) -> Optional[Path]:
    """An output option's ``.h5ad`` file, refused while the command line is read if it is named otherwise or is a directory."""
    if path is not None and path.suffix.lower() != ".h5ad":
        raise GearsplanError(f"{path} does not end in .h5ad", "name the AnnData file to write, e.g. --out pred.h5ad")
    return _file_output(path)


def _directory_output(path: Optional[Path]) -> Optional[Path]:
    """An output option's directory, refused while the command line is read if it is a file."""
    return None if path is None else output_target(path, directory=True)


def _renamed_split(value: Optional[str]) -> None:
    """``train --split``, which ``--holdout`` replaced: refused with the new name."""
    if value is not None:
        raise GearsplanError(
            "train --split is now --holdout (and learns from every perturbation by default: --holdout none)",
            f"use --holdout {value}",
        )


def _version(value: bool) -> None:
    if value:
        print(f"gearsplan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Plan Perturb-seq screens with GEARS."""


def parse_seeds(text: str) -> tuple[int, ...]:
    """``1,2,3`` or ``1-5`` (or a mix) as a tuple of seeds."""
    seeds: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            low, _, high = part.partition("-")
            if int(high or low) < int(low):
                raise GearsplanError(
                    f"the seed range {part!r} is empty", f"put the lower seed first: --seeds {high}-{low}"
                )
            seeds.extend(range(int(low), int(high or low) + 1))
    except ValueError:
        raise GearsplanError(
            f"cannot read seeds {text!r}", "give whole numbers, e.g. --seeds 1,2,3 or --seeds 1-5"
        ) from None
    if not seeds:
        raise GearsplanError("no seeds given", "e.g. --seeds 1,2,3")
    if max(seeds) > MAX_SEED:
        raise GearsplanError(f"seed {max(seeds)} is above {MAX_SEED}", "give seeds from 0 to 2**32 - 1")
    return tuple(dict.fromkeys(seeds))


def _load(
    data: Optional[Path],
    condition_col: Optional[str],
    control: Optional[str],
    mudata_mod: Optional[str],
    max_memory: Optional[str] = None,
    scheduler: Optional[str] = None,
    genes: Optional[int] = None,
):
    from gearsplan.data.cell_pass import parse_memory
    from gearsplan.data.screen import Reading, read_screen

    budget = None if max_memory is None else parse_memory(max_memory)
    reading = replace(Reading(budget, scheduler), **({} if genes is None else {"genes": genes}))
    with progress_bar("reading the screen"):
        screen = read_screen(data, condition_col, control, mudata_mod, reading)
    return _warned(screen)


def _model(
    path: Optional[Path],
    data: Optional[Path],
    condition_col: Optional[str],
    control: Optional[str],
    mudata_mod: Optional[str],
    device: str = "auto",
):
    """``--model`` (the default model, trained first, on ``device``, should there be none) composed with ``--data``,
    or with the screen it carries (:func:`gearsplan.api.load_model`), its warnings on stderr."""
    from gearsplan.api import load_model

    with _default_training() as progress:
        model = load_model(
            path, notify=lambda message: err.print(message, highlight=False), progress=progress, device=device
        )
    if data is not None:
        with progress_bar("reading the screen"):
            model = model.with_screen(data, condition_col, control, mudata_mod=mudata_mod)
    _warn(model.warnings)
    return model


def _default_training():
    """The progress of training the default model, should a command find none: its members and its calibration's."""
    from gearsplan.analysis.model_screen import DEFAULT_HOLDOUT, members_trained

    return training_bar(members_trained(TrainConfig(), DEFAULT_HOLDOUT), TrainConfig().epochs)


def _compute(device: DeviceChoice, threads: Optional[int]) -> str:
    """Apply ``--threads`` and check ``--device`` (cuda: torch must see a GPU) before any work; the device's name."""
    if threads is not None:
        from gearsplan.model.threads import use_threads

        use_threads(threads)
    if device is DeviceChoice.cuda:
        from gearsplan.model.device import resolve_device

        resolve_device(device.value)
    return device.value


def _warned(screen):
    """The screen, once its warnings are on stderr."""
    _warn(screen.warnings)
    return screen


def _warn(messages) -> None:
    for message in messages:
        err.print(f"[bold yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


@app.command()
def evaluate(
    data: DataOption = None,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="Comma-separated models: baselines (= no_change, mean, additive, scaled_additive, linear) or one of them; gearsplan (our GEARS ensemble, "
            "trained afresh on each split); or a model directory (retrained on each split with its hyperparameters). One GEARS model a run; baselines are always shown beside it.",
        ),
    ] = "baselines",
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="loo (leave one perturbation out), simulation (GEARS's seeded split), reference (the reference GEARS's own splits, seeds 1-5), or a GEARS split JSON file.",
        ),
    ] = "loo",
    seeds: Annotated[
        str, typer.Option("--seeds", help="Seeds, e.g. 1,2,3 or 1-5: one evaluation each, reported as mean ± sd.")
    ] = "1",
    gi: Annotated[
        bool,
        typer.Option(
            "--gi",
            help="Instead: hold out each measured pair (with both singles measured) in turn, train gearsplan on the rest, and compare its predicted GI calls with the measured ones.",
        ),
    ] = False,
    condition_col: ConditionColOption = None,
    control: ControlOption = None,
    mudata_mod: MudataModOption = None,
    device: DeviceOption = DeviceChoice.auto,
    threads: ThreadsOption = None,
    max_memory: MaxMemoryOption = None,
    scheduler: SchedulerOption = None,
    genes: GenesOption = None,
    json: JsonOption = False,
) -> None:
    """Score models on held-out perturbations, per stratum, against the baselines.

    Strata: unseen single genes; pairs with 0, 1 or 2 genes not measured as singles in training.

    Baselines: no change; the mean training change; additive (the sum of the measured singles,
    the mean change for a gene not measured alone); scaled additive (a pair is s times that sum,
    s fitted on the training pairs: most measured pairs are sub-additive); linear (ridge regression
    of the changes on GO embeddings of the perturbed genes, Ahlmann-Eltze et al. 2025).

    GEARS's metrics: Pearson of predicted vs true change over control (all genes, top-20 DE genes),
    MSE on the top-20 DE genes, and the fraction of top-20 DE genes predicted in the wrong direction.

    Beyond the shared shift (a second table per stratum): Pearson of predicted vs true change
    each less the training perturbations' mean change (— for a prediction equal to that mean);
    discrimination (the share of the other held-out perturbations whose true change lies farther,
    in L1, from the prediction than its own: 1 best, 0.5 chance); the share of top-20-DE values
    within the predicted ± 2 sd (0.95 is calibrated); the top-20 MSE relative to no change.

    With --gi: per held-out pair its GI calls and magnitude, gearsplan's and the scaled additive
    baseline's, beside the measured ones; per call precision, recall and the base rate.
    """
    from gearsplan.api import evaluation_run
    from gearsplan.interface.tables import evaluation_tables

    seed_list = parse_seeds(seeds)
    device_name = _compute(device, threads)
    if gi:
        if split != "loo" or model != "baselines" or len(seed_list) > 1:
            raise GearsplanError(
                "--gi holds out each measured pair in turn with one gearsplan ensemble: it takes no --split, --model or second seed",
                "run evaluate --gi alone, or with one --seeds value",
            )
        return _evaluate_gi(
            _load(data, condition_col, control, mudata_mod, max_memory, scheduler, genes),
            seed_list[0],
            device_name,
            json,
        )
    screen = _load(data, condition_col, control, mudata_mod, max_memory, scheduler, genes)
    with (
        progress_bar(f"evaluating on {split} splits") as progress,
        training_bar(TrainConfig().ensemble, TrainConfig().epochs) as training,
    ):
        result = evaluation_run(
            screen,
            model.split(","),
            split,
            seed_list,
            progress=progress,
            training_progress=training,
            device=device_name,
        )
    if json:
        print_json(result.to_json())
        return
    for table in evaluation_tables(result.summary(), split, seed_list):
        out.print(table)
    if result.uncertainty_spearman() is not None:
        out.print(
            f"Spearman of uncertainty (members and base) with top-20-DE MSE over held-out perturbations: {result.uncertainty_spearman():.3f}"
        )


def _evaluate_gi(screen, seed: int, device: str, json: bool) -> None:
    from gearsplan.analysis.gi_evaluation import evaluate_gi
    from gearsplan.data.prepared import prepare
    from gearsplan.interface.tables import gi_evaluation_tables

    with (
        progress_bar("holding out measured pairs") as progress,
        training_bar(TrainConfig().ensemble, TrainConfig().epochs) as training,
    ):
        config = TrainConfig(device=device)
        result = evaluate_gi(prepare(screen), config, seed=seed, progress=progress, training=training)
    if json:
        print_json({"gi": result.to_json()})
        return
    for table in gi_evaluation_tables(result):
        out.print(table)


@app.command()
def train(
    data: DataOption = None,
    out_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            help="The directory to write the model bundle to: a new or empty one, or a bundle to replace (default: the default model location, used by every command).",
        ),
    ] = None,
    epochs: Annotated[
        int,
        typer.Option(
            "--epochs",
            min=1,
            help="Most epochs per member (early stopping on validation top-20-DE MSE may stop sooner).",
        ),
    ] = TrainConfig().epochs,
    ensemble: Annotated[
        int,
        typer.Option(
            "--ensemble",
            min=1,
            help="Members, each from its own seed; their disagreement is the uncertainty, with the spread of the base under unmeasured genes (suggest and report need 2 or more).",
        ),
    ] = TrainConfig().ensemble,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=MAX_SEED, help="Seeds the split, the control pairing and every member.")
    ] = 1,
    holdout: Annotated[
        str,
        typer.Option(
            "--holdout",
            help="none (learn from every perturbation; the confidence is calibrated on a twin trained on the simulation split), "
            "or perturbations to hold out and score: simulation (GEARS's seeded split), reference (the reference GEARS's split for --seed 1-5), or a GEARS split JSON file.",
        ),
    ] = "none",
    _split: Annotated[
        Optional[str], typer.Option("--split", hidden=True, callback=_renamed_split, expose_value=False)
    ] = None,
    modality: Annotated[
        Optional[ModalityChoice],
        typer.Option(
            "--modality",
            help="How the screen perturbs its targets: activation (CRISPRa), interference (CRISPRi) or knockout. "
            "Default: read from the perturbed genes that are measured (rising: activation), or the embedded screen's; "
            "one that contradicts them is refused. A perturbed gene that is measured is then predicted to change its way.",
            show_default=False,
        ),
    ] = None,
    condition_col: ConditionColOption = None,
    control: ControlOption = None,
    mudata_mod: MudataModOption = None,
    device: DeviceOption = DeviceChoice.auto,
    threads: ThreadsOption = None,
    max_memory: MaxMemoryOption = None,
    scheduler: SchedulerOption = None,
    genes: GenesOption = None,
    json: JsonOption = False,
) -> None:
    """Train a GEARS ensemble on a screen and save it as a bundle.

    By default (--holdout none) it learns from every perturbation: each member stops early on a
    seeded tenth of them, which then join the measured ones. A twin ensemble trained the same way
    on the simulation split calibrates its confidence. With --holdout simulation, reference or a
    split file it trains on the split's training perturbations and scores the held-out ones
    against the baselines.

    The bundle (safetensors weights and screen, JSON config and metadata, checksums) carries what
    predict, gimap, suggest and report need from the screen, so it works wherever it is copied.
    """
    from gearsplan.analysis.model_screen import members_trained
    from gearsplan.api import train as train_model
    from gearsplan.data.splits import check_holdout
    from gearsplan.interface.tables import evaluation_tables
    from gearsplan.model.bundle import check_bundle_target
    from gearsplan.paths import default_model_dir
    from gearsplan.wording import counted

    check_holdout(holdout)
    device_name = _compute(device, threads)
    target = check_bundle_target(out_dir or default_model_dir())  # before training, not after
    screen = _load(data, condition_col, control, mudata_mod, max_memory, scheduler, genes)
    with training_bar(members_trained(replace(TrainConfig(), ensemble=ensemble), holdout), epochs) as progress:
        trained = train_model(
            screen,
            ensemble=ensemble,
            epochs=epochs,
            seed=seed,
            holdout=holdout,
            modality=modality.value if modality else None,
            device=device_name,
            progress=progress,
        )
    trained = trained.save(target)
    _warn(trained.warnings)
    evaluation = None if trained.evaluation is None else trained.evaluation.to_json()
    if json:
        print_json(
            {
                "model": str(target),
                "seed": seed,
                "holdout": holdout,
                "split": holdout,
                "perturbations_learned": trained.perturbations_learned,
                "train_seconds": trained.bundle.metadata["train_seconds"],
                "evaluation": evaluation,
            }
        )
        return
    if trained.evaluation is not None:
        for table in evaluation_tables(trained.evaluation.summary(), holdout, (seed,)):
            out.print(table)
    else:
        out.print(
            f"learned from all {counted(trained.perturbations_learned, 'perturbation')}; nothing held out (score the procedure with gearsplan evaluate --model {target})"
        )
    out.print(
        f"trained {counted(ensemble, 'member')} in {trained.bundle.metadata['train_seconds']:.1f} s; model saved to [bold]{target}[/]"
    )


def _wrote(path: Path, what: str) -> None:
    """Say on stderr what was written where (stdout may be a --json document)."""
    err.print(f"wrote {what} to {path}", highlight=False, soft_wrap=True)


@app.command()
def predict(
    genes: Annotated[
        list[str],
        typer.Argument(
            help="One or more genes (symbols, aliases or Ensembl IDs), perturbed together; A+B names a set too.",
            show_default=False,
        ),
    ],
    model: ModelOption = None,
    data: ModelDataOption = None,
    condition_col: ConditionColOption = None,
    control: ControlOption = None,
    mudata_mod: MudataModOption = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows of the top-DE table.")] = 20,
    csv: Annotated[
        Optional[Path],
        typer.Option(
            "--csv", callback=_file_output, help="Also write the top-DE table to this CSV file.", show_default=False
        ),
    ] = None,
    out_h5ad: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            callback=_h5ad_output,
            help="Also write the set's predicted cells to this .h5ad file, as Arc Institute's cell-eval run reads them "
            "(obs column target_gene, control cells labelled non-targeting), to score against the measured cells.",
            show_default=False,
        ),
    ] = None,
    cells: Annotated[
        int,
        typer.Option(
            "--cells",
            min=1,
            help="Cells in --out for the set and for control: the screen's control cells (drawn by --seed), "
            "each moved by the predicted change.",
        ),
    ] = 100,
    seed: Annotated[
        int,
        typer.Option(
            "--seed",
            min=0,
            max=MAX_SEED,
            help="Seeds the Theil–Sen sampling of the GI scores and the control cells of --out.",
        ),
    ] = 0,
    json: JsonOption = False,
) -> None:
    """Predict what perturbing GENES together does: the top DE genes, the genetic interaction, and how far to trust it.

    Genes never perturbed in the data are predicted through the GO graph, and the tables
    say so. For two or more genes, every pair gets its GI scores and calls (Norman et al.
    2019 thresholds); pairs measured in the data show the measured scores beside the predicted.

    Confidence: how many times the predicted changes (mean |change| on the top-20 genes) stand out
    of the spread (the members' disagreement and, for unmeasured genes, the base's), once the spread
    is calibrated: on the model's held-out perturbations of the same kind (an unseen single, a pair
    with 0, 1 or 2 genes not measured alone) its ± 2 sd held a share c of the true values, so it is
    widened by 2 / Φ⁻¹((1 + c) / 2), what would make it hold 95%. High from 2×, medium from 1×, low
    below. A GI call marked ? is uncertain: fewer than 80% of the members make it, or their spread
    of its score straddles its threshold.

    With --out, the set's predicted cells go to an .h5ad file that Arc Institute's cell-eval scores:
    the screen's control cells, once as control and once moved by the predicted change (floored at 0).
    Score them with cell-eval run -ap pred.h5ad -ar real.h5ad, real.h5ad holding the measured cells
    of the set and of control under the same names (obs column target_gene, control non-targeting).

    Example: [bold]gearsplan predict FOSB CEBPB[/]
    """
    from gearsplan.api import check_gene_names

    if data is None:  # the genes are named against the screen the bundle carries, before torch is imported
        check_gene_names(genes, model)

    from gearsplan.analysis.gi_scores import GIThresholds
    from gearsplan.analysis.prediction import predict_perturbation
    from gearsplan.interface.tables import gi_table, perturbation_table, top_de_table
    from gearsplan.paths import atomic_path

    trained = _model(model, data, condition_col, control, mudata_mod)
    report = predict_perturbation(trained.bundle, trained.screen.bulk, genes, top, seed)
    if csv is not None:
        with atomic_path(csv) as temporary:
            report.top_de.to_csv(temporary, index=False)
        _wrote(csv, f"the top {len(report.top_de)} predicted changes")
    if out_h5ad is not None:
        adata = trained.predict_cells(report.key, cells=cells, seed=seed)
        with atomic_path(out_h5ad) as temporary:
            adata.write_h5ad(temporary)
        drawn = adata.uns["gearsplan"]["cells_per_set"]
        control_label = adata.uns["gearsplan"]["control_pert"]
        _wrote(out_h5ad, f"{drawn} predicted cells of {report.key} and {drawn} control cells ({control_label})")
    if json:
        print_json(report.to_json())
        return
    out.print(perturbation_table(report))
    out.print(top_de_table(report))
    if report.gi:
        out.print(gi_table(report, GIThresholds()))


@app.command()
def gimap(
    genes: Annotated[
        Optional[Path],
        typer.Option(
            "--genes", help="A text file of genes, one per line: score every pair of them.", show_default=False
        ),
    ] = None,
    measured: Annotated[
        bool,
        typer.Option(
            "--measured",
            help="Score every pair of the genes measured alone in the screen (the default without --genes).",
        ),
    ] = False,
    model: ModelOption = None,
    data: ModelDataOption = None,
    condition_col: ConditionColOption = None,
    control: ControlOption = None,
    mudata_mod: MudataModOption = None,
    out_csv: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            callback=_file_output,
            help="Write every pair's scores and calls to this CSV file.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=MAX_SEED, help="Seeds the Theil–Sen sampling of the GI scores.")
    ] = 0,
    json: JsonOption = False,
) -> None:
    """Score the genetic interaction of every pair of a gene set (the paper's map is 5,460 pairs of 105 genes).

    Each pair is predicted by the model (measured singles are used as they are); pairs
    measured in the screen also get a row scored from the measured means.
    """
    from gearsplan.analysis.gi_map import gi_map_json
    from gearsplan.api import gi_genes, gi_map
    from gearsplan.interface.tables import gi_map_tables
    from gearsplan.paths import atomic_path

    if genes is not None and measured:
        raise GearsplanError("--genes and --measured both given", "choose one gene set")
    trained = _model(model, data, condition_col, control, mudata_mod)
    chosen = gi_genes(trained, genes)
    with progress_bar(f"predicting and scoring {len(chosen) * (len(chosen) - 1) // 2:,} pairs") as progress:
        frame = gi_map(trained, chosen, seed=seed, progress=progress)
    if out_csv is not None:
        with atomic_path(out_csv) as temporary:
            frame.to_csv(temporary, index=False)
        _wrote(out_csv, f"{len(frame):,} rows of GI scores")
    if json:
        print_json(gi_map_json(frame))
        return
    for table in gi_map_tables(frame):
        out.print(table)


@data_app.command("info")
def data_info(
    path: Annotated[
        Optional[Path],
        typer.Argument(
            help="A screen (.h5ad, a .zarr store, or .h5mu), or an embedded one by name: norman, papalexi (unless a file of that name exists); default: norman.",
            show_default=False,
        ),
    ] = None,
    condition_col: ConditionColOption = None,
    control: ControlOption = None,
    mudata_mod: MudataModOption = None,
    max_memory: MaxMemoryOption = None,
    scheduler: SchedulerOption = None,
    genes: GenesOption = None,
    json: JsonOption = False,
) -> None:
    """Summarise a screen: cells, genes, perturbations, control cells, GO coverage, and how columns were detected."""
    from gearsplan.analysis.screen_summary import describe
    from gearsplan.interface.tables import perturbations_table, screen_table

    info = describe(_load(path, condition_col, control, mudata_mod, max_memory, scheduler, genes))
    if json:
        print_json(info)
        return
    out.print(screen_table(info))
    out.print(perturbations_table(info))


@model_app.command("info")
def model_info(model: ModelOption = None, json: JsonOption = False) -> None:
    """Where the model is, what it was trained on, and how it scored on its held-out perturbations."""
    import pandas as pd

    from gearsplan.interface.tables import evaluation_tables, model_table

    info = _model(model, None, None, None, None).info()
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


@app.command()
def suggest(
    budget: Annotated[int, typer.Option("--budget", help="How many experiments (singles + pairs) to choose.")] = 50,
    model: ModelOption = None,
    data: ModelDataOption = None,
    condition_col: ConditionColOption = None,
    control: ControlOption = None,
    mudata_mod: MudataModOption = None,
    singles: Annotated[
        Optional[int],
        typer.Option(
            "--singles", help="Exactly this many single genes (default: expected gain decides).", show_default=False
        ),
    ] = None,
    pairs: Annotated[
        Optional[int],
        typer.Option("--pairs", help="Exactly this many pairs (default: expected gain decides).", show_default=False),
    ] = None,
    candidates: CandidatesOption = None,
    exclude: Annotated[
        Optional[Path],
        typer.Option(
            "--exclude",
            help="Text file, one gene or A+B pair per line, never to suggest (a gene removes every pair holding it).",
            show_default=False,
        ),
    ] = None,
    expand: ExpandOption = 100,
    allow_unseen_pairs: Annotated[
        bool,
        typer.Option(
            "--allow-unseen-pairs",
            help="Also pair two genes of interest neither of which was measured alone (by default a pair holds one that was).",
        ),
    ] = False,
    out_csv: Annotated[
        Optional[Path],
        typer.Option(
            "--out", callback=_file_output, help="Also write the suggestions to this CSV file.", show_default=False
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, max=MAX_SEED, help="Seeds the GI scores' sampling.")] = 0,
    device: Annotated[
        DeviceChoice,
        typer.Option(
            "--device",
            help="Where the default model trains, should there be none: auto (a CUDA GPU where torch sees one, else the CPU), cpu or cuda. Scoring runs on the CPU.",
        ),
    ] = DeviceChoice.auto,
    threads: ThreadsOption = None,
    goal: GoalOption = "learn",
    json: JsonOption = False,
) -> None:
    """Choose the next BUDGET experiments that teach the model most, each with the reason it was chosen.

    Candidates are the untested singles and pairs of the genes of interest: the screen's perturbed
    genes, your --candidates library, and the --expand genes nearest to them in GO and STRING.

    With --goal learn (the default) the expected gain is the model uncertainty a measurement removes
    over the untested singles and pairs of the genes of interest: a single its own, its share of every
    pair holding it and its GO relatives'; a pair its interaction uncertainty, including the members'
    disagreement on its GI subtype. A greedy pick counts only what the picks before it left. With --goal
    discover, pairs are ranked by an upper bound on their interaction beyond the pair law.

    Example: [bold]gearsplan suggest --budget 50[/]
    """
    from gearsplan.api import suggestion_plan
    from gearsplan.design.gene_space import check_expand
    from gearsplan.design.suggestion import check_goal, quotas_for
    from gearsplan.interface.tables import suggestion_table

    check_expand(expand)  # before a default model is trained
    check_goal(goal, quotas_for(budget, singles, pairs))
    device_name = _compute(device, threads)
    trained = _model(model, data, condition_col, control, mudata_mod, device=device_name)
    with progress_bar("scoring candidates") as progress:
        plan = suggestion_plan(
            trained,
            budget,
            singles=singles,
            pairs=pairs,
            candidates=candidates,
            exclude=exclude or (),
            allow_unseen_pairs=allow_unseen_pairs,
            seed=seed,
            progress=progress,
            expand=expand,
            goal=goal,
        )
    if out_csv is not None:
        plan.write_csv(out_csv)
        _wrote(out_csv, f"{len(plan.suggestions)} suggestions")
    if json:
        print_json(plan.to_json())
        return
    out.print(suggestion_table(plan))


@app.command()
def replay(
    data: DataOption = None,
    strategies: Annotated[
        str, typer.Option("--strategies", help="Comma-separated: random, uncertainty, diversity, gearsplan.")
    ] = "random,uncertainty,diversity,gearsplan",
    initial: Annotated[
        int, typer.Option("--initial", help="Perturbations revealed before the first round (seeded).")
    ] = 8,
    rounds: Annotated[int, typer.Option("--rounds", help="Rounds of picking, revealing and retraining.")] = 4,
    batch: Annotated[int, typer.Option("--batch", help="Perturbations each strategy reveals per round.")] = 4,
    seeds: Annotated[
        int, typer.Option("--seeds", help="Replays per strategy (seeds 1..S): the intervals are over them.")
    ] = 10,
    out_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            callback=_directory_output,
            help="Directory for replay.json, curves.csv and learning_curves.png.",
            show_default=False,
        ),
    ] = None,
    condition_col: ConditionColOption = None,
    control: ControlOption = None,
    mudata_mod: MudataModOption = None,
    device: DeviceOption = DeviceChoice.auto,
    threads: ThreadsOption = None,
    json: JsonOption = False,
) -> None:
    """Prove a selection strategy: hide a screen, reveal it round by round as each strategy picks, and compare errors on a held-out quarter.

    A quarter of the screen is held out and never picked. Each round retrains a small fast ensemble
    (on one CPU thread unless --threads or a GPU) and measures top-20-DE MSE and Pearson of change on the held-out quarter (which
    judges the strategies) and on everything still hidden; the table gives the area under each error
    curve with a 95% bootstrap interval over seeds.
    """
    from dataclasses import replace as replace_config

    from gearsplan.data.prepared import prepare
    from gearsplan.design.replay import ReplayConfig
    from gearsplan.design.replay import replay as run_replay
    from gearsplan.interface.plots import learning_curves_png
    from gearsplan.interface.tables import replay_tables

    config = replace_config(
        ReplayConfig(),
        strategies=tuple(s.strip() for s in strategies.split(",") if s.strip()),
        initial=initial,
        rounds=rounds,
        batch=batch,
        seeds=tuple(range(1, seeds + 1)),
        training=replace_config(ReplayConfig().training, device=_compute(device, threads)),
    )
    if out_dir is not None:
        # Every output is checked before the replay, which takes minutes: one of the wrong kind fails first, with nothing written.
        for name in ("replay.json", "curves.csv", "learning_curves.png"):
            output_target(out_dir / name)
    screen = _load(data, condition_col, control, mudata_mod)
    with progress_bar("replaying (models trained)") as progress:
        result = run_replay(prepare(screen), config, progress=progress)
    document = result.to_json()
    if out_dir is not None:
        result.write(out_dir)
        learning_curves_png(result, out_dir / "learning_curves.png")
    if json:
        print_json(document)
        return
    for table in replay_tables(document):
        out.print(table)
    if out_dir is not None:
        out.print(f"wrote {out_dir / 'replay.json'}, {out_dir / 'curves.csv'} and {out_dir / 'learning_curves.png'}")


@app.command()
def report(
    out_file: Annotated[
        Path,
        typer.Option(
            "--out",
            callback=_file_output,
            help="The Markdown plan to write; its figures go to a folder beside it (plan.md → plan_files/).",
        ),
    ] = Path("plan.md"),
    model: ModelOption = None,
    data: ModelDataOption = None,
    condition_col: ConditionColOption = None,
    control: ControlOption = None,
    mudata_mod: MudataModOption = None,
    budget: Annotated[
        int, typer.Option("--budget", help="How many experiments (singles + pairs) the plan suggests.")
    ] = 50,
    pairs: Annotated[
        Optional[int],
        typer.Option(
            "--pairs",
            help="Exactly this many of them pairs, the rest singles (default: expected gain decides); the closer look reads the first three.",
            show_default=False,
        ),
    ] = None,
    candidates: CandidatesOption = None,
    expand: ExpandOption = 100,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=MAX_SEED, help="Seeds the suggestions and the GI scores' sampling.")
    ] = 0,
    goal: GoalOption = "learn",
    json: JsonOption = False,
) -> None:
    """Write a plan the lab can read and act on: what was analysed, how good the model is, what to do next, predicted interactions, a closer look, caveats.

    One Markdown file with relative links to PNG figures in a folder beside it (zip both to share);
    written atomically, so a failure leaves no half report.

    Example: [bold]gearsplan report --out plan.md[/], or with ten pairs among the fifty: [bold]gearsplan report --pairs 10[/]
    """
    import shlex

    from gearsplan.api import gene_list
    from gearsplan.design.gene_space import check_expand
    from gearsplan.design.suggestion import check_goal, quotas_for
    from gearsplan.interface.report import write_report

    check_expand(expand)  # before a default model is trained
    check_goal(goal, quotas_for(budget, None, pairs))
    trained = _model(model, data, condition_col, control, mudata_mod)
    bundle, screen, library = trained.bundle, trained.screen, gene_list(trained, candidates)
    with progress_bar("writing the report (data, uncertainty, suggestions, GI map, closer look, files)") as progress:
        written = write_report(
            bundle,
            screen,
            out_file,
            budget=budget,
            seed=seed,
            command="gearsplan " + shlex.join(sys.argv[1:]),
            progress=progress,
            pairs=pairs,
            library=library,
            expand=expand,
            goal=goal,
        )
    if json:
        print_json(written.to_json())
        return
    out.print(
        f"wrote [bold]{written.path}[/] with {len(written.figures)} figures in {written.path.with_name(written.path.stem + '_files')}",
        highlight=False,
    )


def _tidy_help(*groups: typer.Typer) -> None:
    """Make each paragraph of a command's docstring one line of help, and show flags with no value type.

    Rich markup mode keeps the docstring's source line breaks, so Rich's own wrapping left
    orphan words at any terminal width; a blank line still separates paragraphs.
    """
    for group in groups:
        for command in group.registered_commands:
            paragraphs = inspect.getdoc(command.callback).split("\n\n")
            command.help = "\n\n".join(" ".join(paragraph.splitlines()) for paragraph in paragraphs)
            command.cls = _Command


_tidy_help(app, data_app, model_app)


# Typer reports its own parsing errors (a bad --epochs, an unknown option or command) as click's
# ClickException in a boxed panel; newer Typer vendors click privately, so the class is found
# through the public BadParameter, one of its subclasses.
_ClickException = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "ClickException")


def _fail(message: str, hint: str) -> NoReturn:
    err.print(
        f"[bold red]error:[/] {escape(message)}" + (f" [dim](hint: {escape(hint)})[/]" if hint else ""),
        highlight=False,
        soft_wrap=True,
    )
    sys.exit(2)


def main() -> None:
    """Run the CLI; a user's mistake ends in one line on stderr and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except GearsplanError as error:
        _fail(error.message, error.hint)
    except _ClickException as error:
        if type(error).__name__ == "NoArgsIsHelpError":  # the help it carries is already printed
            sys.exit(2)
        context = getattr(error, "ctx", None)
        _fail(
            " ".join(error.format_message().split()), f"see {context.command_path if context else 'gearsplan'} --help"
        )
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
