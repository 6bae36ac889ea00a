"""A trained GEARS ensemble: members, the graphs they run on, and the measured perturbations they build on."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Iterator, Sequence

import numpy as np

from gearsplan.data.modality import Modality
from gearsplan.knowledge.gene_graph import GeneGraph
from gearsplan.model.composition import Composition
from gearsplan.model.effect_size import EffectSizeMap
from gearsplan.model.member_networks import MemberNetworks
from gearsplan.model.model_config import ModelConfig
from gearsplan.model.network import GearsNetwork, NetworkConfig
from gearsplan.model.prior import KnowledgePrior

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
    (:meth:`Composition.with_modality <gearsplan.model.composition.Composition.with_modality>`). In a set of two or more genes a measured single counts as
    :attr:`set_singles` has it: its change less what its sampling noise explains, by ``pair_law``
    (0: the plain sum). What a prediction does not know (:attr:`Prediction.total_sd`) is the
    members' disagreement and the spread of what it is built on (:attr:`prior`), times
    ``spread_scale``, the widening that made its ± 2 sd hold 95% of the truth on what training watched
    without measuring (:func:`~gearsplan.model.training.spread_scale`). A single gene never measured is
    shrunk by what its knowledge says of its effect's size (:attr:`effect_sizes`); the tuning values
    are ``config`` (:class:`~gearsplan.model.model_config.ModelConfig`).

    Two parts do the work, each with one job: :attr:`networks` builds and runs the members on sets
    (:class:`~gearsplan.model.member_networks.MemberNetworks`), :attr:`composition` turns their outputs
    and the measured perturbations into predictions (:class:`~gearsplan.model.composition.Composition`);
    the model predicts :attr:`chunk` sets at a time.
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
    def networks(self) -> MemberNetworks:
        """How its members are built and run on perturbation sets."""
        return MemberNetworks(self.network, self.go, self.coexpression, self.mean_change, self.interaction_weight)

    @cached_property
    def composition(self) -> Composition:
        """How the members' outputs and the measured perturbations make its predictions."""
        return Composition(
            self.genes,
            self.mean_change,
            self.consensus_change,
            self.median_change,
            self.measured,
            self.single_noise,
            self.pair_law,
            self.baseline_weight,
            self.modality,
            self.config,
        )

    @property
    def singles(self) -> dict[str, np.ndarray]:
        """The measured change of each single gene."""
        return self.composition.singles

    @property
    def set_singles(self) -> dict[str, np.ndarray]:
        """Each measured single's change as part of a larger set (:attr:`Composition.set_singles
        <gearsplan.model.composition.Composition.set_singles>`)."""
        return self.composition.set_singles

    @property
    def prior(self) -> KnowledgePrior:
        """What its sets with genes never measured are built on, and their spread."""
        return self.composition.prior

    @property
    def effect_sizes(self) -> EffectSizeMap:
        """The map from a gene's knowledge to the size of its effect, fitted to the measured singles."""
        return self.composition.effect_sizes

    def new_member(self) -> GearsNetwork:
        """An untrained network on this model's graphs and knowledge."""
        return self.networks.new_member()

    def additive(self, keys: Sequence[str]) -> np.ndarray:
        """The additive baseline: measured single changes, the mean change for unmeasured genes."""
        return self.composition.additive(keys)

    def network_predictions(
        self, keys: Sequence[str], members: Sequence[GearsNetwork] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each member's own change over control (members x keys x genes), before any measured-single correction, and head log-variance."""
        return self.networks.predictions(keys, self.members if members is None else members)

    def member_predictions(
        self, keys: Sequence[str], members: Sequence[GearsNetwork] | None = None, priors: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each member's corrected change over control (members x keys x genes) and head log-variance
        (:meth:`Composition.compose <gearsplan.model.composition.Composition.compose>`, ``priors`` as there)."""
        run = self.composition.network_sets(keys)
        changes, variances = self.network_predictions(run, members)
        return self.composition.compose(keys, run, changes, priors), variances[:, : len(keys)]

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

    def spread_reference(self, keys: Sequence[str], top: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """Per set of ``keys``, the networks' own spread (the members' sd) and mean head log-variance on its ``top``
        most changed genes, before the measured-single correction (which makes a measured single's spread exactly
        zero): what a prediction's are z-scored against, over the training perturbations.
        """
        parts = [(np.zeros(0), np.zeros(0))]
        for start in range(0, len(keys), self.chunk):
            changes, variances = self.network_predictions(list(keys[start : start + self.chunk]))
            mean = changes.mean(axis=0)
            parts.append(
                (on_top_genes(changes.std(axis=0), mean, top), on_top_genes(variances.mean(axis=0), mean, top))
            )
        spreads, heads = zip(*parts)
        return np.concatenate(spreads), np.concatenate(heads)

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
