"""How an ensemble's networks are built and run on perturbation sets: the graphs and knowledge they share,
the encoding of a set, and the composition of a set's change from its genes' outputs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np
import scipy.sparse as sp
import torch

from gearsplan.data.conditions import genes_of
from gearsplan.knowledge.gene_graph import GeneGraph
from gearsplan.knowledge.gene_knowledge import knowledge_features
from gearsplan.model.go_table_cache import go_table
from gearsplan.model.network import GearsNetwork, NetworkConfig
from gearsplan.model.threads import fast_cpu


def graph_tensors(graph: GeneGraph) -> tuple[torch.Tensor, torch.Tensor]:
    """PyG ``edge_index`` and ``edge_weight`` of a graph."""
    return torch.from_numpy(graph.edge_index().copy()), torch.from_numpy(graph.weights.copy())


@dataclass
class MemberNetworks:
    """The networks' side of a :class:`~gearsplan.model.ensemble.GearsModel`: new members on its graphs and
    knowledge, and a member's change for a set P: the training ``mean_change`` once per gene of P plus
    ``(1 - interaction_weight) * sum of its single-gene outputs + interaction_weight * its output on P``."""

    network: NetworkConfig
    go: GeneGraph
    coexpression: GeneGraph
    mean_change: np.ndarray
    interaction_weight: float

    def new_member(self) -> GearsNetwork:
        """An untrained network on these graphs and knowledge."""
        return GearsNetwork(self.network, graph_tensors(self.coexpression), self.go_table, self.knowledge_table)

    @cached_property
    def knowledge_table(self) -> torch.Tensor | None:
        """The perturbable genes' knowledge features (:func:`knowledge_features`), smoothed over the GO graph as its
        convolution smooths the embeddings (perturbable genes x features); None for a network without a knowledge map."""
        if not self.network.knowledge:
            return None
        neighbours, weights = self.go_table
        n, width = neighbours.shape
        # the table as a sparse matrix: gathering every gene's padded neighbour rows took ten times as long
        smoothing = sp.csr_matrix(
            (weights.numpy().ravel(), neighbours.numpy().ravel(), np.arange(0, n * width + 1, width))
        )
        features = knowledge_features(self.go.genes).astype(np.float32)
        return torch.from_numpy(np.asarray(smoothing @ features, dtype=np.float32))

    @cached_property
    def go_table(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The GO graph's normalised in-neighbour table, shared by every member: read from the user cache where it
        holds the table of this graph (:mod:`~gearsplan.model.go_table_cache`), else built and stored there."""
        return go_table(self.go)

    def encode(self, keys: Sequence[str]) -> torch.Tensor:
        """Perturbable-gene indices of each set, padded with -1; genes outside GO share the last row."""
        index = self.go.index
        outside = self.network.n_perturbable
        sets = [[index.get(g, outside) for g in genes_of(k)] for k in keys]
        width = max(map(len, sets), default=1)
        return torch.tensor([s + [-1] * (width - len(s)) for s in sets], dtype=torch.long)

    def change(self, member: GearsNetwork, keys: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
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

    @torch.no_grad()
    def predictions(self, keys: Sequence[str], members: Sequence[GearsNetwork]) -> tuple[np.ndarray, np.ndarray]:
        """Each member's own change over control (members x keys x genes) and head log-variance."""
        changes, variances = [], []
        with fast_cpu():
            for member in members:
                member.eval()
                change, log_variance = self.change(member, keys)
                changes.append(change.double().cpu().numpy())
                variances.append(log_variance.double().cpu().numpy())
        return np.stack(changes), np.stack(variances)
