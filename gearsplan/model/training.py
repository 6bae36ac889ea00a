"""Train a GEARS ensemble on a split of a screen: seeded control pairing, set-grouped batches, early stopping."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Callable, Iterator

import numpy as np
import scipy.sparse as sp
import torch

from gearsplan.data.conditions import CONTROL_KEY, genes_of
from gearsplan.data.embedded import SCREEN_MODALITIES, screen_name
from gearsplan.data.modality import resolve_modality
from gearsplan.data.prepared import PreparedScreen
from gearsplan.data.splits import Split, with_validation
from gearsplan.errors import GearsplanError
from gearsplan.knowledge.coexpression import coexpression_graph
from gearsplan.knowledge.gene_graph import GeneGraph
from gearsplan.knowledge.gene_knowledge import KNOWLEDGE_WIDTH
from gearsplan.knowledge.go_graph import build_go_graph
from gearsplan.model.calibration import calibration_factor, coverage_2sd
from gearsplan.model.device import resolve_device
from gearsplan.model.ensemble import GearsModel, Prediction
from gearsplan.model.losses import ObservedSets, autofocus, direction, gaussian_uncertainty
from gearsplan.model.network import GearsNetwork, NetworkConfig
from gearsplan.model.pair_fit import interaction_coefficients, well_expressed
from gearsplan.model.threads import fast_cpu
from gearsplan.model.train_config import TrainConfig, TrainingProgress


@dataclass(frozen=True)
class TrainingCells:
    """Training cells grouped by perturbation set, and the control cells they are paired with."""

    keys: tuple[str, ...]
    cells: sp.csr_matrix
    cells_of: tuple[np.ndarray, ...]
    control: np.ndarray

    @classmethod
    def from_split(cls, data: PreparedScreen, split: Split) -> "TrainingCells":
        keys = data.screen.keys.to_numpy()
        train = tuple(split.train)
        control = data.screen.cell_statistics().control.toarray()
        if data.screen.streamed:  # its cells were summarised in one pass: each set's mean stands for its cells
            means = sp.csr_matrix(data.bulk.means[data.bulk.rows(train)], dtype=np.float32)
            return cls(train, means, tuple(np.array([i]) for i in range(len(train))), control)
        rows = np.flatnonzero(np.isin(keys, train))
        cells = sp.csr_matrix(data.screen.adata.X[rows], dtype=np.float32)
        cells_of = tuple(np.flatnonzero(keys[rows] == k) for k in train)
        return cls(train, cells, cells_of, control)

    def batches(
        self, rng: np.random.Generator, sets_per_batch: int, cells_per_set: int, device: torch.device
    ) -> Iterator[tuple[list[str], ObservedSets]]:
        """Batches of a few sets with a sample of their cells, each cell paired with a random control cell, on ``device``."""
        order = rng.permutation(len(self.keys))
        for start in range(0, len(order), sets_per_batch):
            chosen = order[start : start + sets_per_batch]
            picked = [
                rng.choice(self.cells_of[s], min(cells_per_set, len(self.cells_of[s])), replace=False) for s in chosen
            ]
            rows = np.concatenate(picked)
            position = np.repeat(np.arange(len(chosen)), [len(p) for p in picked])
            change = self.cells[rows].toarray() - self.control[rng.integers(0, len(self.control), len(rows))]
            observed = ObservedSets.of(torch.from_numpy(position).to(device), torch.from_numpy(change).to(device))
            yield [self.keys[s] for s in chosen], observed


def new_model(data: PreparedScreen, split: Split, config: TrainConfig, go: GeneGraph) -> GearsModel:
    """An untrained ensemble for ``split``: co-expression graph from its training cells, its measured singles."""
    # a streamed screen keeps only its control cells: they alone make its graph
    if data.screen.streamed:
        cells = data.screen.cell_statistics().control
    else:
        cells = data.screen.adata.X[np.isin(data.screen.keys.to_numpy(), [*split.train, CONTROL_KEY])]
    coexpression = coexpression_graph(cells, data.screen.genes, config.coexpression_k, config.coexpression_threshold)
    network = NetworkConfig(len(data.screen.genes), go.n_genes, config.hidden, knowledge=KNOWLEDGE_WIDTH)
    return GearsModel(
        network,
        data.screen.genes,
        go,
        coexpression,
        **measured_bases(data, split.train, config.modality),
        interaction_weight=config.interaction_weight,
        baseline_weight=config.baseline_weight,
    )


def measured_bases(data: PreparedScreen, keys: tuple[str, ...], modality: str | None) -> dict[str, object]:
    """What a model composes its predictions with, from the perturbations ``keys``: their mean,
    consensus and median changes, each one's change, and the screen's modality (``modality`` as named, or
    read from the screen: :func:`~gearsplan.data.modality.resolve_modality`) (fields of :class:`GearsModel`)."""
    bulk = data.bulk
    name = screen_name(data.screen.source)
    return {
        "mean_change": bulk.mean_change(keys),
        "consensus_change": bulk.consensus_change(keys),
        "median_change": bulk.median_change(keys),
        "measured": bulk.changes(keys),
        "single_noise": bulk.single_noise(keys),
        "modality": resolve_modality(bulk, keys, modality, SCREEN_MODALITIES.get(name)),
    }


def validation_mse(model: GearsModel, member: GearsNetwork, data: PreparedScreen, keys: tuple[str, ...]) -> float:
    """Top-20-DE MSE of one member's predictions on validation perturbations."""
    # a chunk of sets at a time: 1,000 validation sets x 5,000 genes at once took ~9 GB (train_10k_sets)
    predicted = np.concatenate(
        [model.member_predictions(keys[s : s + model.chunk], [member])[0][0] for s in range(0, len(keys), model.chunk)]
    )
    true = data.bulk.delta[data.bulk.rows(keys)]
    top = data.de.matrix(keys)
    return float(((np.take_along_axis(predicted, top, 1) - np.take_along_axis(true, top, 1)) ** 2).mean())


def train_member(
    model: GearsModel,
    cells: TrainingCells,
    config: TrainConfig,
    seed: int,
    validate: Callable[[GearsNetwork], float] | None,
    report: Callable[[int, float, float | None], None],
    device: torch.device,
) -> GearsNetwork:
    """Train one network on ``device``; keep the epoch with the best validation score (the last without
    validation). The network comes back on the CPU, where the model predicts."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    member = model.new_member().to(device)
    optimiser = torch.optim.Adam(
        member.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay, fused=True
    )
    best, best_state, stale = np.inf, None, 0
    for epoch in range(config.epochs):
        member.train()
        losses = []
        for keys, observed in cells.batches(rng, config.sets_per_batch, config.cells_per_set, device):
            change, log_variance = model.networks.change(member, keys)
            loss = autofocus(change, observed, config.gamma)
            loss = loss + config.direction_weight * direction(change, observed.mean)
            loss = loss + config.uncertainty_weight * gaussian_uncertainty(log_variance, change, observed)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        score = validate(member) if validate else None
        report(epoch, float(np.mean(losses)), score)
        if score is None:
            continue
        if score < best:
            best, best_state, stale = score, copy.deepcopy(member.state_dict()), 0
        elif (stale := stale + 1) >= config.patience:
            break
    if best_state is not None:
        member.load_state_dict(best_state)
    if device.type == "cpu":
        return member
    # A new CPU network shares the ensemble's GO table (member.cpu() would copy it for each member).
    trained = model.new_member()
    trained.load_state_dict(member.state_dict())
    return trained


def fit_gears(
    data: PreparedScreen,
    split: Split,
    seed: int,
    config: TrainConfig = TrainConfig(),
    go: GeneGraph | None = None,
    progress: TrainingProgress | None = None,
) -> GearsModel:
    """Train an ensemble of ``config.ensemble`` GEARS networks on the training part of ``split``.

    Members differ by seed (``seed * 1000 + member``); early stopping watches the top-20-DE
    MSE on the split's validation perturbations. A split without them lends a seeded tenth of
    its training perturbations (:func:`~gearsplan.data.splits.with_validation`). They are left
    out of gradient steps and validated as unseen, as the split's own validation perturbations
    would be; the trained model then composes with them as measured, like every training
    perturbation. The members train on ``config.device`` and predict on the CPU.

    Raises
    ------
    GearsplanError
        If the split has no training perturbations, or ``config.device`` is unknown or unavailable.
    """
    if not split.train:
        raise GearsplanError(
            "the split has no training perturbations", "choose a split that leaves some perturbations for training"
        )
    device = torch.device(resolve_device(config.device))
    go = go if go is not None else build_go_graph()
    with fast_cpu():
        return _fit(data, split, seed, config, go, progress, device)


def _fit(
    data: PreparedScreen,
    split: Split,
    seed: int,
    config: TrainConfig,
    go: GeneGraph,
    progress: TrainingProgress | None,
    device: torch.device,
) -> GearsModel:
    stopping = with_validation(split, seed)
    # Validation perturbations must be unmeasured while they score the members: a measured
    # single is predicted as its measurement, which would leave early stopping no error to watch.
    model = new_model(data, stopping, config, go)
    cells = TrainingCells.from_split(data, stopping)
    validate = (lambda member: validation_mse(model, member, data, stopping.val)) if stopping.val else None
    for index in range(config.ensemble):
        report = (
            (lambda epoch, loss, score, i=index: progress(i, epoch, config.epochs, loss, score))
            if progress
            else (lambda *_: None)
        )
        model.members.append(train_member(model, cells, config, seed * 1000 + index, validate, report, device))
    model = replace(model, pair_law=pair_law(model, data, stopping.train))
    model = replace(model, spread_scale=spread_scale(model, data, stopping.val))
    return model if stopping is split else replace(model, **measured_bases(data, split.train, config.modality))


#: The strengths :func:`pair_law` chooses from, in steps of 0.05 (0: the plain sum of the singles). On Norman's
#: five scorable pairs a pair's GI magnitude falls from √2 at 0 to about 0.7 at 0.5 and 0.3 at 1 (docs/model.md).
PAIR_LAWS = tuple(np.round(np.arange(0.0, 1.0001, 0.05), 2))


def law_pairs(model: GearsModel, keys: tuple[str, ...]) -> tuple[str, ...]:
    """The pairs among ``keys`` whose two singles the model measured: what its pair law is learned from."""
    return tuple(k for k in keys if len(genes_of(k)) == 2 and all(g in model.singles for g in genes_of(k)))


def pair_law(model: GearsModel, data: PreparedScreen, keys: tuple[str, ...]) -> float:
    """How far the measured singles are shrunk by their noise in a pair (:attr:`GearsModel.set_singles`): of
    :data:`PAIR_LAWS`, the one whose sums of singles give the :func:`law_pairs` among ``keys`` the GI magnitude
    they were measured with, as Norman et al.'s GI model reads them (:func:`interaction_coefficients`, on the
    well-expressed genes): least mean absolute error, the smallest of equals; 0 (additive) without such pairs.
    """
    pairs = law_pairs(model, keys)
    if not pairs:
        return 0.0
    scored = well_expressed(data.bulk.control)
    first, second = (np.stack([model.singles[genes_of(k)[i]][scored] for k in pairs]) for i in (0, 1))

    def magnitudes(pair_changes: np.ndarray) -> np.ndarray:
        return np.hypot(*interaction_coefficients(first, second, pair_changes)[0].T)

    measured = magnitudes(data.bulk.delta[data.bulk.rows(pairs)][:, scored])

    def error(strength: float) -> float:
        singles = replace(model, pair_law=strength).set_singles
        summed = np.stack([sum(singles[g][scored] for g in genes_of(k)) for k in pairs])
        return float(np.nanmean(np.abs(magnitudes(summed) - measured)))

    errors = [error(strength) for strength in PAIR_LAWS]
    return float(PAIR_LAWS[int(np.nanargmin(errors))])


#: The most measured singles :func:`spread_scale` predicts as if unmeasured. Each such prediction rebuilds the model's
#: composition over every measured perturbation: with all 1,800 singles of ``train_10k_sets`` the steps after its
#: epochs took 34 min, with 200 of them 15 min (``benchmarks/README.md``, 2026-12-08); 200 perturbations' top-20 genes
#: put a coverage near 95% within about 1.5% (binomial, one value a perturbation). The embedded screens measure fewer
#: singles, and use all of them.
CALIBRATION_SINGLES = 200


def spread_scale(model: GearsModel, data: PreparedScreen, keys: tuple[str, ...]) -> float:
    """The widening that makes the model's ± 2 sd hold 95% of the top-20-DE values of the perturbations it
    watched without measuring, were the errors normal (:func:`calibration_factor`): the validation perturbations
    ``keys``, and each measured single predicted as if it were not (:func:`held_out_single`; at most
    :data:`CALIBRATION_SINGLES` of them, evenly over their sorted names); 1 without any.

    Two or three validation perturbations (the embedded screens' simulation splits) set the factor anywhere
    from 0.9 to 2.1 from seed to seed; the measured singles add how far knowledge-alike measured
    perturbations depart from what an unmeasured gene is built on, a dozen or more perturbations more.
    """
    step = max(1, -(-len(model.singles) // CALIBRATION_SINGLES))  # evenly over the names: a fixed rule, no draw
    singles = sorted(model.singles)[::step]
    watched = [*(held_out_single(model, gene) for gene in singles), *([model.predict(keys)] if keys else [])]
    if not watched:
        return 1.0
    names = [*singles, *keys]
    top = data.de.matrix(names)
    on_top = lambda values: np.take_along_axis(np.vstack(values), top, axis=1)  # noqa: E731
    held = coverage_2sd(
        on_top([p.mean for p in watched]),
        on_top([data.bulk.delta[data.bulk.rows(names)]]),
        on_top([p.total_sd for p in watched]),
    )
    return calibration_factor(float(held.mean()))


def held_out_single(model: GearsModel, gene: str) -> Prediction:
    """A measured single predicted by the model as if it had not been measured: its own change left out of what
    the model composes with (the members, trained on it, kept)."""
    without = replace(
        model,
        measured={k: v for k, v in model.measured.items() if k != gene},
        single_noise={k: v for k, v in model.single_noise.items() if k != gene},
    )
    return without.predict([gene])
