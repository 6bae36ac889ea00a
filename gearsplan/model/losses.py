"""GEARS's training loss: autofocus, a direction term with a gradient, and the uncertainty term.

The network predicts one change per perturbation set; the loss compares it with every cell of
the set (each cell's expression minus its paired control cell). Squared errors need only each
set's cell count, mean and spread (``ObservedSets``), so with ``gamma=0`` no cells x genes tensor
enters autograd: at 5,000 genes that made a training epoch 25% faster, with the same losses.

Every sum runs row by row, then over the rows (:func:`total`), so a loss is the same on any
number of threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class ObservedSets:
    """A batch's observed changes: each cell's change over its paired control, grouped by its set."""

    position: Tensor
    change: Tensor
    count: Tensor
    mean: Tensor
    spread: Tensor

    @classmethod
    def of(cls, position: Tensor, change: Tensor) -> "ObservedSets":
        """From each cell's set (0..S-1, every set present) and change (cells x genes)."""
        count = torch.bincount(position).to(change.dtype).unsqueeze(1)
        mean = change.new_zeros(len(count), change.shape[1]).index_add_(0, position, change) / count
        spread = torch.zeros_like(mean).index_add_(0, position, (change - mean[position]).pow(2))
        return cls(position, change, count, mean, spread)

    def squared_errors(self, predicted: Tensor) -> Tensor:
        """Sum over each set's cells of (predicted - observed)^2, S x genes: n (predicted - mean)^2 + spread."""
        return self.count * (predicted - self.mean).pow(2) + self.spread


def total(values: Tensor) -> Tensor:
    """The sum of a 2-D tensor, each row's first, then the rows': the same on any number of threads.

    torch sums over 32,768 elements into one number in a partial sum per thread, so a Norman-scale
    batch's loss (8 sets x 5,000 genes) changed with the thread count; a row's sum runs on one
    thread (``benchmarks/thread_determinism.py``).
    """
    return values.sum(dim=-1).sum()


def autofocus(predicted: Tensor, observed: ObservedSets, gamma: float = 2.0) -> Tensor:
    """Mean over cells and genes of |error|^(2+gamma): large errors on strongly changed genes dominate."""
    if gamma == 0:
        return total(observed.squared_errors(predicted)) / observed.change.numel()
    return total((predicted[observed.position] - observed.change).abs().pow(2 + gamma)) / observed.change.numel()


def direction(predicted_change: Tensor, observed_change: Tensor, sharpness: float = 10.0) -> Tensor:
    """Disagreement in direction of change, with tanh in place of GEARS's gradient-free sign().

    Each gene counts in proportion to how much it changed, so the signs of the many genes
    that barely move (noise) do not drown those of the genes that do.
    """
    weight = observed_change.abs() / (total(observed_change.abs()) / observed_change.numel()).clamp(min=1e-8)
    disagreement = (torch.tanh(sharpness * observed_change) - torch.tanh(sharpness * predicted_change)).pow(2)
    return total(weight * disagreement) / observed_change.numel()


def gaussian_uncertainty(log_variance: Tensor, predicted: Tensor, observed: ObservedSets) -> Tensor:
    """Gaussian negative log-likelihood of every cell's errors; the prediction gets no gradient from it."""
    squared = observed.squared_errors(predicted.detach())
    return total(observed.count * log_variance + squared * torch.exp(-log_variance)) / observed.change.numel()
