"""The GEARS network (Roohani et al. 2023), run once per distinct perturbation set."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class NetworkConfig:
    """Sizes of a GEARS network (paper defaults: SGC, one GO layer, hidden 64).

    ``knowledge``: the columns of the perturbable genes' knowledge features
    (:func:`~gearsplan.knowledge.gene_knowledge.knowledge_features`) that a learned linear map adds to
    their embeddings (0: none). ``position_weight``: how much of a gene's state is its
    co-expression-smoothed position, beside its own embedding (GEARS's code: 0.2).
    """

    n_genes: int
    n_perturbable: int
    hidden: int = 64
    coexpression_layers: int = 1
    knowledge: int = 0
    position_weight: float = 0.2


class _LayerNormOnOneThread(torch.autograd.Function):
    """torch's layer norm, its backward on one intra-op thread (see :class:`LayerNorm`)."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor, shape: tuple[int, ...], eps: float) -> Tensor:
        out, mean, rstd = torch.native_layer_norm(x, shape, weight, bias, eps)
        ctx.save_for_backward(x, weight, bias, mean, rstd)
        ctx.shape = shape
        return out

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        x, weight, bias, mean, rstd = ctx.saved_tensors
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            grads = torch.ops.aten.native_layer_norm_backward(
                grad, x, ctx.shape, mean, rstd, weight, bias, list(ctx.needs_input_grad[:3])
            )
        finally:
            torch.set_num_threads(threads)
        return (*grads, None, None)


class LayerNorm(nn.LayerNorm):
    """``nn.LayerNorm`` (same parameters, same saved keys, same numbers on one thread) whose gradients do not
    depend on the thread count.

    torch's CPU backward sums the weight's and bias's gradients over rows in one partial sum per
    thread, so they changed in the last bits between one thread and two, and training diverged
    from there (``benchmarks/thread_determinism.py``). The backward runs on one thread instead: it
    is a small part of a step's work. (Scaling after an affine-free normalisation, whose
    gradients autograd sums alike on any number of threads, costs extra passes over a step's
    largest tensors, sets x genes x 128, on every step.)
    """

    def forward(self, x: Tensor) -> Tensor:
        return _LayerNormOnOneThread.apply(x, self.weight, self.bias, self.normalized_shape, self.eps)


def mlp(*sizes: int) -> nn.Sequential:
    """Linear layers with batch-free normalisation and ReLU between them."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += [LayerNorm(b), nn.ReLU()]
    return nn.Sequential(*layers)


def gcn_norm(edge_index: Tensor, edge_weight: Tensor, n_nodes: int) -> tuple[Tensor, Tensor]:
    """The GCN-normalised edges of a weighted graph with a self-loop at every node, as PyG's ``gcn_norm`` gives
    them to ``SGConv``: a node's own loop keeps its weight, a missing one weighs 1, each edge is divided by the
    square roots of its ends' degrees.

    The same operations in the same order as PyG's, so the same numbers (``tests/test_model.py`` compares), without
    importing PyG: its import, with the torch compiler it loads, was most of a prediction's start-up.
    """
    between = edge_index[0] != edge_index[1]
    loop_weight = edge_weight.new_full((n_nodes,), 1.0)
    loop_weight[edge_index[0][~between]] = edge_weight[~between]
    loops = torch.arange(n_nodes).view(1, -1).repeat(2, 1)
    index = torch.cat([edge_index[:, between], loops], dim=1)
    weight = torch.cat([edge_weight[between], loop_weight], dim=0)
    source, target = index
    inverse_root = weight.new_zeros(n_nodes).scatter_add_(0, target, weight).pow_(-0.5)
    inverse_root.masked_fill_(inverse_root == float("inf"), 0)
    return index, inverse_root[source] * weight * inverse_root[target]


class SGConv(nn.Module):
    """PyG's ``SGConv(K=1)`` over a whole graph: GCN-normalised propagation (:func:`gcn_norm`), then a linear layer.

    Its parameters are named, initialised (PyG's Kaiming-uniform bounds, drawn twice, as PyG's constructor does)
    and computed as PyG's are, so bundles and seeded training are unchanged; ``tests/test_model.py`` compares.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.lin = nn.Linear(channels, channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyG's ``Linear`` initialisation: weights uniform within sqrt(6 / ((1 + 5) fan_in)), biases within 1 / sqrt(fan_in)."""
        fan = self.lin.in_features
        self.lin.weight.data.uniform_(-math.sqrt(6 / ((1 + 5) * fan)), math.sqrt(6 / ((1 + 5) * fan)))
        self.lin.bias.data.uniform_(-1.0 / math.sqrt(fan), 1.0 / math.sqrt(fan))

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor) -> Tensor:
        index, weight = gcn_norm(edge_index, edge_weight, x.size(0))
        messages = weight.view(-1, 1) * x.index_select(0, index[0])
        summed = x.new_zeros(x.shape).scatter_add_(0, index[1].view(-1, 1).expand_as(messages), messages)
        return self.lin(summed)


def gcn_table(edge_index: Tensor, edge_weight: Tensor, n_nodes: int) -> tuple[Tensor, Tensor]:
    """The GCN-normalised adjacency (self-loops added, as SGConv does) as a padded table of each node's in-neighbours and weights."""
    index, weight = gcn_norm(edge_index, edge_weight.float(), n_nodes)
    source, target = index
    order = torch.argsort(target * n_nodes + source)
    source, target, weight = source[order], target[order], weight[order]
    counts = torch.bincount(target, minlength=n_nodes)
    slot = torch.arange(len(target)) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    width = int(counts.max())
    neighbours = torch.zeros(n_nodes, width, dtype=torch.long)
    weights = torch.zeros(n_nodes, width)
    neighbours[target, slot] = source
    weights[target, slot] = weight
    return neighbours, weights


class RowwiseSGConv(nn.Module):
    """:class:`SGConv` evaluated only at the requested nodes.

    The adjacency comes as :func:`gcn_table` (built once per graph and shared by the members of
    an ensemble), so a batch that needs a few genes of the 20k-gene GO graph pays for those rows
    alone, forward and backward.
    """

    def __init__(self, channels: int, table: tuple[Tensor, Tensor]) -> None:
        super().__init__()
        self.linear = nn.Linear(channels, channels)
        self.register_buffer("neighbours", table[0], persistent=False)
        self.register_buffer("weights", table[1], persistent=False)

    def forward(self, x: Tensor, rows: Tensor, smoothed_extra: Tensor | None = None) -> Tensor:
        """The convolution's output at ``rows`` (a 1-D index tensor); ``smoothed_extra`` (rows x channels), the
        already smoothed part of the input that is not in ``x``, is added before the linear layer."""
        gathered = (x[self.neighbours[rows]] * self.weights[rows].unsqueeze(-1)).sum(dim=1)
        return self.linear(gathered if smoothed_extra is None else gathered + smoothed_extra)


class GearsNetwork(nn.Module):
    """Predicts the change over control of every measured gene for a batch of perturbation sets.

    Gene embeddings are smoothed over the co-expression graph, perturbation embeddings over
    the GO graph (one row per perturbable gene, plus one shared row for perturbed genes that
    have no GO annotation). A perturbable gene's embedding is its own row plus a learned linear map of
    its knowledge features, so a gene never trained has one of its own. A set's perturbation embeddings are summed, passed through an
    MLP and added to every gene embedding; a gene-specific decoder, a cross-gene MLP and a
    second gene-specific layer give one change per gene. An uncertainty head gives a
    log-variance per gene.
    """

    def __init__(
        self,
        config: NetworkConfig,
        coexpression: tuple[Tensor, Tensor],
        go_table: tuple[Tensor, Tensor],
        knowledge: Tensor | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        G, P, H = config.n_genes, config.n_perturbable, config.hidden
        # Graphs are rebuilt from the bundle's data, not saved with the weights.
        self.register_buffer("coexpression_edges", coexpression[0], persistent=False)
        self.register_buffer("coexpression_weights", coexpression[1], persistent=False)
        self.gene_embedding = nn.Embedding(G, H)
        self.gene_position = nn.Embedding(G, H)
        self.coexpression_convs = nn.ModuleList(SGConv(H) for _ in range(config.coexpression_layers))
        self.gene_transform = mlp(H, H, H)
        self.perturbation_embedding = nn.Embedding(P + 1, H)
        self.go_conv = RowwiseSGConv(H, go_table)
        # The GO-smoothed knowledge features (P x knowledge): the convolution is linear, so smoothing the
        # features once equals smoothing their map at every step.
        self.register_buffer("knowledge_features", knowledge, persistent=False)
        self.knowledge_map = nn.Linear(config.knowledge, H, bias=False) if config.knowledge else None
        self.perturbation_fuse = mlp(H, H, H)
        self.recovery = mlp(H, 2 * H, H)
        self.gene_weight_1 = nn.Parameter(torch.empty(G, H))
        self.gene_bias_1 = nn.Parameter(torch.zeros(G))
        self.cross_gene = mlp(G, H, H)
        self.gene_weight_2 = nn.Parameter(torch.empty(G, H + 1))
        self.gene_bias_2 = nn.Parameter(torch.zeros(G))
        self.log_variance = mlp(H, H, 1)
        nn.init.xavier_normal_(self.gene_weight_1)
        # Start from "no change beyond the baseline", and give genes never trained no embedding of their own,
        # so an unseen gene is represented by its trained GO neighbours alone.
        nn.init.zeros_(self.gene_weight_2)
        nn.init.zeros_(self.perturbation_embedding.weight)

    def gene_states(self) -> Tensor:
        """Gene embeddings plus their co-expression-smoothed positions, G x H."""
        position = self.gene_position.weight
        for i, conv in enumerate(self.coexpression_convs):
            position = conv(position, self.coexpression_edges, self.coexpression_weights)
            position = position.relu() if i < len(self.coexpression_convs) - 1 else position
        return self.gene_transform(self.gene_embedding.weight + self.config.position_weight * position)

    def perturbation_states(self, rows: Tensor) -> Tensor:
        """GO-smoothed embeddings of the perturbable genes ``rows``; row P is the shared out-of-GO gene."""
        embedding = self.perturbation_embedding.weight
        outside = rows == self.config.n_perturbable
        inside = rows.clamp(max=self.config.n_perturbable - 1)
        known = None if self.knowledge_map is None else self.knowledge_map(self.knowledge_features[inside])
        smoothed = self.go_conv(embedding[:-1], inside, known)
        return torch.where(outside.unsqueeze(-1), embedding[-1], smoothed)

    def recover(self, genes: Tensor, perturbation: Tensor) -> Tensor:
        """``recovery(genes + perturbation)`` for every set: S x G x H from G x H gene and S x H set states.

        The first layer is linear, so it runs once on the genes and once on the sets; only the
        rest of the MLP runs on every (set, gene). At 5,000 genes this halves a step's work.
        """
        first, *rest = self.recovery
        hidden = first(genes).unsqueeze(0) + (perturbation @ first.weight.T).unsqueeze(1)
        for layer in rest:
            hidden = layer(hidden)
        return hidden

    def forward(self, sets: Tensor) -> tuple[Tensor, Tensor]:
        """Change over control and its log-variance for each set.

        Parameters
        ----------
        sets
            S x L perturbable-gene indices of each set, padded with -1.

        Returns
        -------
        change, log_variance
            Both S x G.
        """
        rows, slots = torch.unique(sets.clamp(min=0), return_inverse=True)
        present = (sets >= 0).unsqueeze(-1)
        summed = (self.perturbation_states(rows)[slots] * present).sum(dim=1)
        states = self.recover(self.gene_states(), self.perturbation_fuse(summed))
        per_gene = (states * self.gene_weight_1).sum(-1) + self.gene_bias_1
        cell_state = self.cross_gene(per_gene)
        # The second gene-specific layer over [per_gene, cell_state], without building S x G x (H + 1).
        change = per_gene * self.gene_weight_2[:, 0] + cell_state @ self.gene_weight_2[:, 1:].T + self.gene_bias_2
        # The uncertainty head reads the states but does not shape them.
        return change, self.log_variance(states.detach()).squeeze(-1)
