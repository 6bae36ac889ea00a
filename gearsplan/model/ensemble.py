"""A trained GEARS ensemble: members, the graphs they run on, and the measured perturbations they build on."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from gearsplan.data.conditions import genes_of
from gearsplan.data.modality import Modality
from gearsplan.knowledge.gene_graph import GeneGraph
from gearsplan.knowledge.gene_knowledge import knowledge_features
from gearsplan.model.effect_size import EffectSizeMap, fit_effect_sizes
from gearsplan.model.model_config import ModelConfig
from gearsplan.model.network import GearsNetwork, NetworkConfig, gcn_table
from gearsplan.model.prior import KnowledgePrior
from gearsplan.model.threads import fast_cpu

#: (set, gene) pairs predicted at a time. The recovery MLP holds sets x genes x 128 activations;
#: in pieces of this size prediction ran fastest at 500 and at 5,000 genes (docs/model.md).
SET_GENES_PER_CHUNK = 1 << 16


@dataclass(frozen=True)
class Prediction:
    """Predicted change over control per set and gene: ensemble mean, members' sd, mean head log-variance,
    the spread of what the set is built on (:meth:`KnowledgePrior.base_variance <gearsplan.model.prior.KnowledgePrior.base_variance>`; 0 for a measured single),
    and the model's calibration of the two (:attr:`GearsModel.spread_scale`)."""

    mean: np.ndarray
    sd: np.ndarray
    log_variance: np.ndarray
    base_sd: np.ndarray
    scale: float = 1.0

    @property
    def total_sd(self) -> np.ndarray:
        """What the prediction does not know: the members' disagreement and the base's spread together, calibrated."""
        return self.scale * np.hypot(self.sd, self.base_sd)

    def take(self, rows: slice) -> "Prediction":
        """The prediction of the sets ``rows`` selects."""
        return Prediction(self.mean[rows], self.sd[rows], self.log_variance[rows], self.base_sd[rows], self.scale)


def graph_tensors(graph: GeneGraph) -> tuple[torch.Tensor, torch.Tensor]:
    """PyG ``edge_index`` and ``edge_weight`` of a graph."""
    return torch.from_numpy(graph.edge_index().copy()), torch.from_numpy(graph.weights.copy())


def signal_parts(
    singles: dict[str, np.ndarray], noise: dict[str, np.ndarray], strength: float
) -> dict[str, np.ndarray]:
    """Each single's change as part of a larger set: gene by gene, shrunk toward 0 by its sampling noise,
    ``Δ · max(1 − strength · noise / Δ², 0)`` (the plain change without a noise estimate or at ``strength`` 0).

    A measured single's change carries its cells' sampling noise, which a pair does not inherit:
    the pair's own cells are sampled afresh. Shrinking each single's changes as far as the noise
    explains them predicts the pair from its singles' signal, so pairs come out sub-additive where
    the singles' changes are small against their noise, and additive where they stand out.
    """
    shrunk = {}
    for gene, change in singles.items():
        spread = noise.get(gene)
        if spread is None or not strength:
            shrunk[gene] = change
            continue
        squared = change * change
        shrunk[gene] = change * np.maximum(1.0 - strength * spread / np.where(squared > 0, squared, 1.0), 0.0)
    return shrunk


@dataclass
class GearsModel:
    """An ensemble of GEARS networks and everything needed to predict with it.

    A member's change for a set P is the training mean change once per gene of P plus
    ``(1 - interaction_weight) * sum of its single-gene outputs + interaction_weight * its output on P``:
    the sum of its genes' predictions plus ``interaction_weight`` times the network's departure
    from that sum on P (1 is GEARS's composition on a base of |P| mean changes; lower values an
    additivity prior that makes pairs teach the model about their genes). Predictions are then
    corrected by each member's known error on the set's measured single genes (a measured single
    is its measurement; a pair of measured genes is the additive prediction plus the learned
    interaction), and blended with the additive baseline by ``baseline_weight`` (0: the network
    alone). A set with a gene never measured is built on a better base than the training
    perturbations' mean change (a single on their ``consensus_change``, a larger set on their
    ``median_change``), pulled toward the ``measured`` perturbations whose GO profiles are like its
    unmeasured genes' (:attr:`prior`). A perturbed gene that is a measured gene changes
    in the direction of the screen's ``modality``, at least by its typical own change
    (:meth:`with_modality`). In a set of two or more genes a measured single counts as
    :attr:`set_singles` has it: its change less what its sampling noise explains, by ``pair_law``
    (0: the plain sum). What a prediction does not know (:attr:`Prediction.total_sd`) is the
    members' disagreement and the spread of what it is built on (:attr:`prior`), times
    ``spread_scale``, the widening that made its ± 2 sd hold 95% of the truth on what training watched
    without measuring (:func:`~gearsplan.model.training.spread_scale`). A single gene never measured is
    shrunk by what its knowledge says of its effect's size (:attr:`effect_sizes`); the tuning values
    are ``config`` (:class:`~gearsplan.model.model_config.ModelConfig`).
    """

    network: NetworkConfig
    genes: tuple[str, ...]
    go: GeneGraph
    coexpression: GeneGraph
    mean_change: np.ndarray
    consensus_change: np.ndarray
    median_change: np.ndarray
    measured: dict[str, np.ndarray]
    interaction_weight: float = 1.0
    baseline_weight: float = 0.0
    members: list[GearsNetwork] = field(default_factory=list)
    modality: Modality = Modality(None, 0, 0.0)
    spread_scale: float = 1.0
    single_noise: dict[str, np.ndarray] = field(default_factory=dict)
    pair_law: float = 0.0
    config: ModelConfig = ModelConfig()

    @cached_property
    def effect_sizes(self) -> EffectSizeMap:
        """The map from a gene's knowledge to the size of its effect, fitted to the measured singles."""
        return fit_effect_sizes(self.singles, self.single_noise, self.config.sizes)

    def sized(self, keys: Sequence[str], changes: np.ndarray) -> np.ndarray:
        """``changes`` (members x keys x genes) with each single gene never measured shrunk as far as its knowledge
        says it moves less than the best-known gene would (:meth:`EffectSizeMap.shrinkage`)."""
        rows = [row for row, key in enumerate(keys) if len(genes_of(key)) == 1 and key not in self.singles]
        if not rows:
            return changes
        changes = changes.copy()
        changes[:, rows] *= self.effect_sizes.shrinkage([keys[row] for row in rows])[:, None]
        return changes

    @cached_property
    def singles(self) -> dict[str, np.ndarray]:
        """The measured change of each single gene."""
        return {k: change for k, change in self.measured.items() if "+" not in k}

    @cached_property
    def prior(self) -> KnowledgePrior:
        """What its sets with genes never measured are built on, and their spread."""
        return KnowledgePrior(
            self.measured,
            frozenset(self.singles),
            self.set_singles,
            self.mean_change,
            self.consensus_change,
            self.median_change,
            self.config,
        )

    @cached_property
    def set_singles(self) -> dict[str, np.ndarray]:
        """Each measured single's change as part of a larger set, by the pair law (:func:`signal_parts`)."""
        return signal_parts(self.singles, self.single_noise, self.pair_law)

    def new_member(self) -> GearsNetwork:
        """An untrained network on this model's graphs and knowledge."""
        return GearsNetwork(self.network, graph_tensors(self.coexpression), self.go_table, self.knowledge_table)

    @cached_property
    def knowledge_table(self) -> torch.Tensor | None:
        """The perturbable genes' knowledge features (:func:`knowledge_features`), smoothed over the GO graph as its
        convolution smooths the embeddings (perturbable genes x features); None for a network without a knowledge map."""
        if not self.network.knowledge:
            return None
        neighbours, weights = self.go_table
        features = torch.from_numpy(knowledge_features(self.go.genes)).float()
        return (features[neighbours] * weights.unsqueeze(-1)).sum(dim=1)

    @cached_property
    def go_table(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The GO graph's normalised in-neighbour table, built once and shared by every member."""
        return gcn_table(*graph_tensors(self.go), self.go.n_genes)

    def encode(self, keys: Sequence[str]) -> torch.Tensor:
        """Perturbable-gene indices of each set, padded with -1; genes outside GO share the last row."""
        index = self.go.index
        outside = self.network.n_perturbable
        sets = [[index.get(g, outside) for g in genes_of(k)] for k in keys]
        width = max(map(len, sets), default=1)
        return torch.tensor([s + [-1] * (width - len(s)) for s in sets], dtype=torch.long)

    def network_change(self, member: GearsNetwork, keys: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """A member's change over control (sets x genes, differentiable) and head log-variance, on the member's device."""
        run = list(dict.fromkeys([*keys, *(g for k in keys for g in genes_of(k))]))
        position = {k: i for i, k in enumerate(run)}
        mix = torch.zeros(len(keys), len(run))
        sizes = torch.zeros(len(keys), 1)
        for row, key in enumerate(keys):
            genes = genes_of(key)
            sizes[row] = len(genes)
            mix[row, position[key]] += self.interaction_weight if len(genes) > 1 else 1.0
            for gene in genes if len(genes) > 1 else ():
                mix[row, position[gene]] += 1.0 - self.interaction_weight
        device = member.gene_bias_1.device
        change, log_variance = member(self.encode(run).to(device))
        # each gene brings the mean change, so that with nothing learned a set is the sum of its genes
        base = sizes.to(device) * torch.from_numpy(self.mean_change).float().to(device)
        return base + mix.to(device) @ change, log_variance[: len(keys)]

    def additive(self, keys: Sequence[str]) -> np.ndarray:
        """The additive baseline: measured single changes, the mean change for unmeasured genes."""
        return np.stack([sum(self.singles.get(g, self.mean_change) for g in genes_of(k)) for k in keys])

    @torch.no_grad()
    def network_predictions(
        self, keys: Sequence[str], members: Sequence[GearsNetwork] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each member's own change over control (members x keys x genes), before any measured-single correction, and head log-variance."""
        changes, variances = [], []
        with fast_cpu():
            for member in members if members is not None else self.members:
                member.eval()
                change, log_variance = self.network_change(member, keys)
                changes.append(change.double().cpu().numpy())
                variances.append(log_variance.double().cpu().numpy())
        return np.stack(changes), np.stack(variances)

    def member_predictions(
        self, keys: Sequence[str], members: Sequence[GearsNetwork] | None = None, priors: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each member's corrected change over control (members x keys x genes) and head log-variance.

        ``priors``: build each set with an unmeasured gene on its best base (:meth:`KnowledgePrior.prior_shifts <gearsplan.model.prior.KnowledgePrior.prior_shifts>`),
        for the best prediction. False builds every set on the mean change, as the composition
        does; GI scores need that, so that ΔAB - ΔA - ΔB is the learned interaction and not the
        difference of two priors.
        """
        measured = [[g for g in genes_of(k) if g in self.singles] for k in keys]
        run = list(dict.fromkeys([*keys, *(g for m in measured for g in m)]))
        position = {k: i for i, k in enumerate(run)}
        correct = np.zeros((len(keys), len(run)))
        known = np.zeros((len(keys), len(self.genes)))
        for row, (key, genes) in enumerate(zip(keys, measured)):
            correct[row, position[key]] += 1.0
            parts = self.singles if len(genes_of(key)) == 1 else self.set_singles
            for gene in genes:
                correct[row, position[gene]] -= 1.0
                known[row] += parts[gene]
        rows = [row for row, key in enumerate(keys) if self.prior.unmeasured(key)]
        if priors and rows:
            known[rows] += self.prior.prior_shifts([keys[row] for row in rows])
        changes, variances = self.network_predictions(run, members)
        corrected = np.einsum("kr,mrg->mkg", correct, changes) + known
        blended = (1 - self.baseline_weight) * corrected + self.baseline_weight * self.additive(keys)
        if priors:
            blended = self.sized(keys, blended)
        return self.with_modality(keys, blended), variances[:, : len(keys)]

    def with_modality(self, keys: Sequence[str], changes: np.ndarray) -> np.ndarray:
        """``changes`` (members x keys x genes) with each perturbed gene that is a measured gene moved in the
        modality's direction by at least the typical own change of the measured targets; a measured single
        keeps its measurement, and an unknown modality changes nothing."""
        sign = self.modality.sign
        column = {g: i for i, g in enumerate(self.genes)}
        targets = [
            (row, column[g])
            for row, key in enumerate(keys)
            if key not in self.singles
            for g in genes_of(key)
            if g in column
        ]
        if not sign or not targets:
            return changes
        rows, columns = map(list, zip(*targets))
        changes = changes.copy()
        changes[:, rows, columns] = sign * np.maximum(sign * changes[:, rows, columns], self.modality.self_change)
        return changes

    @property
    def chunk(self) -> int:
        """Sets to predict at a time: :data:`SET_GENES_PER_CHUNK` (set, gene) pairs."""
        return max(1, SET_GENES_PER_CHUNK // len(self.genes))

    def member_chunks(
        self, keys: Sequence[str], progress: Callable[[int, int], None] | None = None, priors: bool = True
    ) -> Iterator[tuple[list[str], np.ndarray, np.ndarray]]:
        """``keys`` :attr:`chunk` at a time, in order: each chunk's keys and their :meth:`member_predictions`."""
        for start in range(0, len(keys), self.chunk):
            chunk = list(keys[start : start + self.chunk])
            yield (chunk, *self.member_predictions(chunk, priors=priors))
            if progress:
                progress(min(start + self.chunk, len(keys)), len(keys))

    def predict(
        self, keys: Sequence[str], progress: Callable[[int, int], None] | None = None, priors: bool = True
    ) -> Prediction:
        """Ensemble prediction for perturbation keys such as ``"FOSB"`` or ``"CEBPB+FOSB"``.

        Keys are predicted :attr:`chunk` at a time; ``priors`` as in :meth:`member_predictions`, and
        without them there is no base spread.
        """
        parts = []
        for chunk, changes, variances in self.member_chunks(keys, progress, priors):
            base_sd = np.sqrt(self.prior.base_variance(chunk)) if priors else np.zeros((len(chunk), len(self.genes)))
            parts.append((changes.mean(axis=0), changes.std(axis=0), variances.mean(axis=0), base_sd))
        return Prediction(*(np.concatenate(column) for column in zip(*parts)), scale=self.spread_scale)


#: Genes an uncertainty is measured on: each set's most changed predicted genes (as GEARS's metrics take the top-20 DE genes).
TOP_GENES = 20


def ensemble_uncertainty(prediction: Prediction, top: int = TOP_GENES) -> np.ndarray:
    """Per set: what the prediction does not know (:attr:`Prediction.total_sd`) on its ``top`` most changed predicted genes."""
    return on_top_genes(prediction.total_sd, prediction.mean, top)


def on_top_genes(values: np.ndarray, change: np.ndarray, top: int) -> np.ndarray:
    """Per set (rows), the mean of ``values`` over its ``top`` genes by |``change``|."""
    strongest = np.argsort(-np.abs(change), axis=1)[:, :top]
    return np.take_along_axis(values, strongest, axis=1).mean(axis=1)
