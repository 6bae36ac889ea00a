"""The Python API: a screen in, a model, its predictions, GI maps, suggestions and evaluations out.

``import gearsplan as gp`` gives these names (``gp.__all__``); the command line calls the same functions, so
the two cannot drift. Every heavy import (torch, PyTorch Geometric, scanpy, anndata) happens inside the function
that needs it, so ``import gearsplan`` and ``gearsplan --help`` stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from gearsplan.errors import GearsplanError

if TYPE_CHECKING:
    import pandas as pd
    from anndata import AnnData

    from gearsplan.analysis.evaluation import Evaluation
    from gearsplan.analysis.model_screen import ModelScreen
    from gearsplan.data.screen import Screen
    from gearsplan.design.suggestion import SuggestionPlan
    from gearsplan.model.bundle import Bundle
    from gearsplan.model.train_config import TrainingProgress

#: The default of ``evaluate``'s ``models``: gearsplan's ensemble beside every baseline.
EVALUATED = ("gearsplan", "baselines")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Model:
    """A trained GEARS ensemble and the screen it composes with.

    Attributes
    ----------
    bundle
        The trained ensemble, its hyperparameters and metadata (:class:`~gearsplan.model.bundle.Bundle`).
    composed
        The screen :meth:`with_screen` read, if any (:attr:`screen` is the one it composes with).
    evaluation
        Its scores on the perturbations ``train`` held out (None when it learned from every perturbation).
    warnings
        What the user should know about its training or its screen.
    """

    bundle: Bundle
    composed: ModelScreen | None = None
    evaluation: Evaluation | None = None
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:  # the bundle's arrays and networks would fill a notebook cell
        members = len(self.bundle.model.members)
        return f"Model(path={self.path}, members={members}, perturbations_learned={self.perturbations_learned})"

    @property
    def screen(self) -> ModelScreen:
        """The measurements its predictions compose with: the screen :meth:`with_screen` read, else the one the
        bundle carries.

        Raises
        ------
        GearsplanError
            If there is neither (a bundle saved without its screen): name one with :meth:`with_screen`.
        """
        from gearsplan.analysis.model_screen import ModelScreen

        return self.composed or ModelScreen.of_bundle(self.bundle)

    @property
    def path(self) -> Path | None:
        """The bundle's directory; None until saved."""
        return self.bundle.source

    @property
    def perturbations_learned(self) -> int:
        """The measured perturbations the model learned from."""
        return len(self.bundle.model.measured)

    def info(self) -> dict:
        """The ``model info --json`` document: where the model is, what it learned from, how it scored."""
        from gearsplan.analysis.model_screen import describe_bundle

        return describe_bundle(self.bundle)

    def predict(self, sets: str | Sequence[str]) -> AnnData:
        """Predict perturbation sets (CLI: ``predict``, one set at a time, ``--json``).

        Parameters
        ----------
        sets
            Gene sets as labels: ``"KLF1"``, ``"CEBPB+FOSB"`` (symbols, aliases or Ensembl IDs); one or a list.

        Returns
        -------
        anndata.AnnData
            One row per set (``obs_names`` its canonical key), one column per gene: ``X`` the predicted change over
            control, ``layers["sd"]`` its spread, ``obs["uncertainty"]`` the spread on the set's top 20 genes,
            ``obs["confidence"]`` high, medium, low or unknown, ``obs["measured"]``; ``var["control_mean"]``
            (:func:`~gearsplan.analysis.export.predicted_changes`). For cells that Arc Institute's cell-eval scores,
            see :meth:`predict_cells`.

        Raises
        ------
        GearsplanError
            For an unknown gene (with "did you mean"), or one the model cannot reach.
        """
        from gearsplan.analysis.export import predicted_changes

        return predicted_changes(self.bundle, self.screen, [sets] if isinstance(sets, str) else list(sets))

    def predict_cells(self, sets: str | Sequence[str], *, cells: int = 100, seed: int = 0) -> AnnData:
        """Predicted cells of perturbation sets in the layout ``cell-eval run`` reads (CLI: ``predict --out``).

        The screen's control cells (``cells`` of them, drawn by ``seed``), once as control (``non-targeting``) and
        once per set moved by its predicted change (:meth:`predict`'s ``X``), floored at 0; ``obs["target_gene"]``
        names each row's set (:func:`~gearsplan.analysis.export.predicted_cells`). It needs the screen's cells: a
        model whose carried screen's file is gone needs ``load_model(..., data=...)``.
        """
        from gearsplan.analysis.export import predicted_cells
        from gearsplan.analysis.model_screen import screen_cells
        from gearsplan.analysis.prediction import resolve_genes, screen_model
        from gearsplan.data.conditions import perturbation_key

        bulk = self.screen.bulk
        model = screen_model(self.bundle, bulk)
        keys = [perturbation_key(resolve_genes([s], model, bulk)) for s in ([sets] if isinstance(sets, str) else sets)]
        cells_of = screen_cells(self.bundle, self.screen)
        return predicted_cells(self.bundle, cells_of, bulk, keys, cells=cells, seed=seed)

    def with_screen(
        self,
        data: str | Path | AnnData,
        condition_col: str | None = None,
        control: str | None = None,
        *,
        mudata_mod: str | None = None,
    ) -> Model:
        """This model composed with another screen (a grown one, say; CLI: ``--data``), read as :func:`~gearsplan.data.screen.read_screen`
        reads it; one that is not the model's own file is used with a warning, as the network never learned from it."""
        from gearsplan.analysis.model_screen import bundle_screen

        screen = bundle_screen(self.bundle, data, condition_col, control, mudata_mod)
        return replace(self, composed=screen, warnings=tuple(screen.warnings))

    def save(self, path: str | Path) -> Model:
        """Save the model as a bundle directory (CLI: ``train --out``): a new or empty one, or a bundle to replace.

        Returns
        -------
        Model
            This model, its :attr:`path` the saved bundle.
        """
        from gearsplan.model.bundle import check_bundle_target, save_bundle

        target = save_bundle(self.bundle, check_bundle_target(Path(path)))
        return replace(self, bundle=replace(self.bundle, source=target))


def train(
    screen: Screen | AnnData | str | Path | None = None,
    *,
    ensemble: int = 5,
    epochs: int = 100,
    seed: int = 1,
    holdout: str | None = None,
    modality: str | None = None,
    device: str = "auto",
    progress: TrainingProgress | None = None,
) -> Model:
    """Train a GEARS ensemble on a screen (CLI: ``train``).

    Parameters
    ----------
    screen
        A screen from :func:`~gearsplan.data.screen.read_screen`, or anything it reads (an AnnData, a path, an embedded screen's name; None
        for the embedded Norman 2019 subset).
    ensemble
        Members, each from its own seed; their disagreement is the uncertainty (:func:`suggest` needs 2 or more).
    epochs
        Most epochs per member (early stopping may stop sooner).
    seed
        Seeds the split, the control pairing and every member.
    holdout
        None (learn from every perturbation; the confidence is calibrated on a twin trained on the ``simulation``
        split), or perturbations to hold out and score: ``simulation``, ``reference`` or a GEARS split JSON file.
    modality
        ``activation``, ``interference`` or ``knockout``; None reads it from the screen.
    device
        Where the members train: ``auto`` (CUDA where torch sees a GPU, else the CPU), ``cpu`` or ``cuda``;
        they predict on the CPU.
    progress
        Called after each epoch of each member with (member, epoch, epochs, loss, validation score).

    Returns
    -------
    Model
        The trained model composed with its screen, not yet saved (:meth:`Model.save`).

    Raises
    ------
    GearsplanError
        For a screen gearsplan cannot read, a ``holdout`` or ``device`` it does not know, or a split that does not fit.
    """
    from gearsplan.analysis.model_screen import DEFAULT_HOLDOUT
    from gearsplan.analysis.training_run import train_bundle
    from gearsplan.data.screen import Screen, read_screen
    from gearsplan.data.splits import check_holdout
    from gearsplan.model.device import resolve_device
    from gearsplan.model.train_config import TrainConfig

    resolve_device(device)  # refused before any work
    check_holdout(holdout or DEFAULT_HOLDOUT)  # before the screen is read
    if ensemble < 1 or epochs < 1:
        raise GearsplanError("ensemble and epochs must be at least 1", "e.g. ensemble=5, epochs=100")
    screen = screen if isinstance(screen, Screen) else read_screen(screen)
    config = replace(TrainConfig(), ensemble=ensemble, epochs=epochs, modality=modality)
    run = train_bundle(screen, holdout or DEFAULT_HOLDOUT, seed, config, progress, device=device)
    return Model(run.bundle, None, run.evaluation, run.warnings)


def load_model(
    path: str | Path | None = None,
    *,
    data: str | Path | AnnData | None = None,
    condition_col: str | None = None,
    control: str | None = None,
    mudata_mod: str | None = None,
    notify: Callable[[str], None] = lambda _: None,
    progress: TrainingProgress | None = None,
    device: str = "auto",
) -> Model:
    """A saved model (CLI: every command's ``--model`` and ``--data``).

    Parameters
    ----------
    path
        A bundle directory; None for the default model, trained first on the embedded data (every perturbation)
        where there is none.
    data
        The screen to compose with (a grown screen, say), read as :func:`~gearsplan.data.screen.read_screen` reads it; None for the screen
        the bundle carries.
    condition_col, control, mudata_mod
        As :func:`~gearsplan.data.screen.read_screen` takes them, for ``data``.
    notify
        Told in words when the default model is being trained, and why.
    progress, device
        As :func:`train` takes them, should the default model be trained.

    Raises
    ------
    GearsplanError
        For a bundle that is missing, altered or from another version, or a ``data`` that does not fit it.
    """
    from gearsplan.analysis.model_screen import ensure_model

    model = Model(ensure_model(path, notify, progress, device=device))
    return model if data is None else model.with_screen(data, condition_col, control, mudata_mod=mudata_mod)


def check_gene_names(names: Sequence[str], path: str | Path | None = None) -> None:
    """Refuse a gene name the bundle at ``path`` (None: the default model) would refuse, without loading it: each name
    resolved as :func:`~gearsplan.analysis.prediction.resolve_genes` resolves it with the screen the bundle carries
    (:func:`~gearsplan.model.bundle_names.carried_names`), so the error is the one loading would end in. Where there is
    no such bundle yet, nothing is checked.

    Raises
    ------
    GearsplanError
        For an unknown gene (with "did you mean"), an ambiguous alias, or a label naming the control cells.
    """
    from gearsplan.data.gene_names import gene_table
    from gearsplan.model.bundle_names import carried_names
    from gearsplan.paths import default_model_dir

    known = carried_names(path if path is not None else default_model_dir())
    if known is not None:
        for name in names:
            gene_table().resolve_set(name, known)


def _model(model: Model | str | Path | None) -> Model:
    """``model``, or the model :func:`load_model` loads from it."""
    return model if isinstance(model, Model) else load_model(model)


def suggestion_plan(model: Model | str | Path | None = None, budget: int = 50, **options) -> SuggestionPlan:
    """:func:`suggest`'s plan as a :class:`~gearsplan.design.suggestion.SuggestionPlan` (its summary in words,
    ``--json`` document and CSV), which the CLI prints; ``options`` are :func:`suggest`'s keyword arguments."""
    from gearsplan.design.gene_space import EXPAND, check_expand
    from gearsplan.design.suggestion import suggest as choose_next

    check_expand(options.get("expand", EXPAND))  # before a default model is trained
    model = _model(model)
    library = gene_list(model, options.pop("candidates", None))
    excluded = gene_list(model, options.pop("exclude", ())) or ()
    named = {"singles": "n_singles", "pairs": "n_pairs"}  # the design layer's names of the quotas
    options = {named.get(name, name): value for name, value in options.items()}
    return choose_next(model.bundle, model.screen.bulk, budget, library=library, exclude=excluded, **options)


def gene_list(model: Model, genes: Iterable[str] | str | Path | None) -> tuple[str, ...] | None:
    """Genes and ``A+B`` pairs as the model knows them, from a list or a text file of one per line; None for None."""
    from gearsplan.design.candidates import read_gene_file, resolve_gene_list

    if genes is None:
        return None
    known = frozenset(model.bundle.model.go.genes) | frozenset(model.bundle.model.genes)
    if isinstance(genes, (str, Path)):
        return read_gene_file(genes, known, pairs=True)
    return resolve_gene_list(genes, known, pairs=True)


def suggest(
    model: Model | str | Path | None = None,
    budget: int = 50,
    *,
    singles: int | None = None,
    pairs: int | None = None,
    candidates: Iterable[str] | str | Path | None = None,
    exclude: Iterable[str] | str | Path = (),
    expand: int = 100,
    allow_unseen_pairs: bool = False,
    goal: str = "learn",
    seed: int = 0,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The next ``budget`` experiments that teach the model most, each with its reason (CLI: ``suggest``).

    Parameters
    ----------
    model
        A :class:`Model`, a bundle directory, or None for the default model; it needs two or more members.
    budget
        How many experiments (singles and pairs) to choose.
    singles, pairs
        Exactly this many singles or pairs (default: expected gain decides).
    candidates
        A guide library: genes and ``A+B`` pairs, as a list or a text file of one per line. Its genes join the genes
        of interest whatever their type; its pairs are candidates as they are.
    exclude
        Genes or pairs never to suggest (a gene removes every pair holding it), as a list or a file.
    expand
        The protein-coding genes nearest to the screen's and the library's in GO and STRING added to the genes of
        interest (0: none).
    allow_unseen_pairs
        Also pair two genes of interest neither of which was measured alone.
    goal
        ``learn``: the experiments that remove the most of the model's uncertainty over the untested singles and
        pairs; ``discover``: the pairs most likely to interact strongly (an upper confidence bound on their predicted
        departure from the pair law).
    seed
        Seeds the GI scores' sampling (ties are broken by a fixed rule).
    progress
        Called with (done, total) as candidates are scored.

    Returns
    -------
    pandas.DataFrame
        One row per suggestion, best first: ``rank``, ``genes`` (``A+B`` for a pair), ``kind`` (single or pair),
        ``reason``, ``uncertainty``, ``reach``, ``gi_call``, ``expected_gain`` and the signals behind them.

    Raises
    ------
    GearsplanError
        For a one-member model, a budget or quota the candidates cannot fill, or an unknown gene in a list.
    """
    return suggestion_plan(
        model,
        budget,
        singles=singles,
        pairs=pairs,
        candidates=candidates,
        exclude=exclude,
        expand=expand,
        allow_unseen_pairs=allow_unseen_pairs,
        goal=goal,
        seed=seed,
        progress=progress,
    ).to_frame()


def gi_map(
    model: Model | str | Path | None = None,
    genes: Iterable[str] | str | Path | None = None,
    *,
    seed: int = 0,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The genetic interaction of every pair of a gene set (CLI: ``gimap``).

    Parameters
    ----------
    model
        A :class:`Model`, a bundle directory, or None for the default model.
    genes
        Genes to pair (a list, or a text file of one per line); None for the genes the screen measured alone.
    seed
        Seeds the Theil–Sen sampling of the GI scores.
    progress
        Called with (done, total) over the sets predicted.

    Returns
    -------
    pandas.DataFrame
        One row per pair predicted, and one more per pair the screen measured (``source``): ``gene_a``, ``gene_b``,
        ``magnitude``, ``model_fit``, ``similarity``, ``equality_of_contribution``, ``calls``, ``uncertain``
        (:func:`gearsplan.analysis.gi_map.gi_map`).

    Raises
    ------
    GearsplanError
        For fewer than two genes, or a gene the model cannot reach.
    """
    from gearsplan.analysis.gi_map import gi_map as build_map
    from gearsplan.analysis.prediction import screen_model

    model = _model(model)
    chosen = gi_genes(model, genes)
    return build_map(screen_model(model.bundle, model.screen.bulk), model.screen.bulk, chosen, seed, progress)


def gi_genes(model: Model, genes: Iterable[str] | str | Path | None = None) -> tuple[str, ...]:
    """The current symbols of the genes :func:`gi_map` pairs: ``genes`` (a list or a file of one per line), or the
    genes the screen measured alone.

    Raises
    ------
    GearsplanError
        For an unknown gene, one the model cannot reach, or fewer than two genes measured alone.
    """
    from gearsplan.analysis.gi_map import measured_genes
    from gearsplan.analysis.prediction import resolve_genes, screen_model
    from gearsplan.design.candidates import read_gene_file
    from gearsplan.wording import counted

    bulk = model.screen.bulk
    network = screen_model(model.bundle, bulk)
    if genes is None:
        names = measured_genes(bulk)
        if len(names) < 2:
            raise GearsplanError(
                f"the screen measures {counted(len(names), 'gene')} alone, and --measured pairs the genes measured alone",
                "give the genes to pair with --genes FILE",
            )
    else:
        names = read_gene_file(genes, frozenset(network.genes)) if isinstance(genes, (str, Path)) else tuple(genes)
    return resolve_genes(names, network, bulk)


def evaluation_run(
    screen: Screen | AnnData | str | Path | None = None,
    models: Sequence[str] = EVALUATED,
    split: str = "simulation",
    seeds: Sequence[int] = (1,),
    *,
    progress: Progress | None = None,
    training_progress: TrainingProgress | None = None,
    device: str = "auto",
) -> Evaluation:
    """:func:`evaluate` as an :class:`~gearsplan.analysis.evaluation.Evaluation` (its per-perturbation rows, summary
    and ``--json`` document); the parameters are :func:`evaluate`'s."""
    from gearsplan.analysis.evaluation import evaluate as run
    from gearsplan.data.screen import Screen, read_screen

    named = [m.strip() for m in models if m.strip()]
    named = named if "baselines" in named or not named else [*named, "baselines"]
    screen = screen if isinstance(screen, Screen) else read_screen(screen)
    return run(screen, named, split, tuple(seeds), progress, training_progress, device=device)


def evaluate(
    screen: Screen | AnnData | str | Path | None = None,
    models: Sequence[str] = EVALUATED,
    split: str = "simulation",
    seeds: Sequence[int] = (1,),
    *,
    progress: Progress | None = None,
    training_progress: TrainingProgress | None = None,
    device: str = "auto",
) -> pd.DataFrame:
    """Score models on held-out perturbations, per stratum, against the baselines (CLI: ``evaluate``).

    Parameters
    ----------
    screen
        A screen from :func:`~gearsplan.data.screen.read_screen`, or anything it reads.
    models
        ``baselines`` (no_change, mean, additive, scaled_additive, linear) or one of them, ``gearsplan`` (trained
        afresh on each split), or a bundle directory (retrained on each split with its hyperparameters); the
        baselines are always scored beside a GEARS model.
    split
        ``loo``, ``simulation``, ``reference`` or a GEARS split JSON file.
    seeds
        One evaluation each, summarised as mean and sd.
    progress
        Called with (splits done, splits in all).
    training_progress
        Called after each epoch of each member trained.
    device
        Where the members train, as :func:`train` takes it.

    Returns
    -------
    pandas.DataFrame
        The rows ``evaluate --json`` prints: per stratum and model ``n``, ``n_seeds`` and each metric's mean and sd;
        ``attrs`` holds ``split``, ``seeds`` and ``uncertainty_spearman``.

    Raises
    ------
    GearsplanError
        For an unknown model or split, or a split that does not fit the screen.
    """
    result = evaluation_run(
        screen, models, split, seeds, progress=progress, training_progress=training_progress, device=device
    )
    summary = result.summary()
    summary.attrs = {"split": split, "seeds": list(result.seeds), "uncertainty_spearman": result.uncertainty_spearman()}
    return summary
