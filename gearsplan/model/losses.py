"""GEARS's training loss: autofocus, a direction term with a gradient, and the uncertainty term."""

from __future__ import annotations

import torch
from torch import Tensor


def autofocus(predicted: Tensor, observed: Tensor, gamma: float = 2.0) -> Tensor:
    """Mean of |error|^(2+gamma): large errors on strongly changed genes dominate."""
    return (predicted - observed).abs().pow(2 + gamma).mean()


def direction(predicted_change: Tensor, observed_change: Tensor, sharpness: float = 10.0) -> Tensor:
    """Disagreement in direction of change, with tanh in place of GEARS's gradient-free sign().

    Each gene counts in proportion to how much it changed, so the signs of the many genes
    that barely move (noise) do not drown those of the genes that do.
    """
    weight = observed_change.abs() / observed_change.abs().mean().clamp(min=1e-8)
    return (weight * (torch.tanh(sharpness * observed_change) - torch.tanh(sharpness * predicted_change)).pow(2)).mean()


def gaussian_uncertainty(log_variance: Tensor, predicted: Tensor, observed: Tensor) -> Tensor:
    """Gaussian negative log-likelihood of the errors; the mean prediction gets no gradient from it."""
    squared = (predicted.detach() - observed).pow(2)
    return (log_variance + squared * torch.exp(-log_variance)).mean()
