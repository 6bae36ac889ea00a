"""Mean expression per perturbation and for control, sparse-aware and memory-bounded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gearsplan.data.conditions import CONTROL_KEY

if TYPE_CHECKING:  # the screen's module (pandas, the readers) is not needed to hold or read a bundle's statistics
    from gearsplan.data.screen import Screen


@dataclass(frozen=True)
class Pseudobulk:
    """Mean log-expression per perturbation key (rows) and for control cells.

    Attributes
    ----------
    keys
        Perturbation keys, control excluded, in row order.
    genes
        Measured genes, in column order.
    means
        ``len(keys) x len(genes)`` mean expression.
    control
        Mean expression of control cells.
    n_cells
        Cells behind each row.
    noise
        The sampling variance of each row's mean change over control (``len(keys) x len(genes)``):
        the cells' variance over their number, plus the control cells' likewise; None where not computed.
    """

    keys: tuple[str, ...]
    genes: tuple[str, ...]
    means: np.ndarray
    control: np.ndarray
    n_cells: np.ndarray
    noise: np.ndarray | None = None

    @property
    def delta(self) -> np.ndarray:
        """Mean change over control, one row per key."""
        return self.means - self.control

    def rows(self, keys) -> np.ndarray:
        """Row positions of ``keys``."""
        position = {k: i for i, k in enumerate(self.keys)}
        return np.array([position[k] for k in keys], dtype=np.int64)

    def mean_change(self, keys) -> np.ndarray:
        """Mean change over control of the cells of ``keys`` (each perturbation weighted by its cells)."""
        rows = self.rows(keys)
        weights = self.n_cells[rows].astype(np.float64)
        return weights @ self.delta[rows] / weights.sum()

    def consensus_change(self, keys) -> np.ndarray:
        """The direction the changes of ``keys`` share, at their typical size along it.

        The mean of the unit-length changes (each perturbation counts once, however strong),
        scaled to the mean projection of the changes onto it. The plain mean change follows
        the strongest perturbations (in Norman 2019, pairs); this follows the common response.
        """
        delta = self.delta[self.rows(keys)]
        norms = np.linalg.norm(delta, axis=1, keepdims=True)
        direction = (delta / np.where(norms > 0, norms, 1.0)).mean(axis=0)
        length = direction @ direction
        return direction * (delta @ direction).mean() / length if length > 0 else np.zeros(delta.shape[1])

    def median_change(self, keys) -> np.ndarray:
        """Gene by gene, the median of the changes of ``keys``: the typical perturbation's change, which a few strong ones do not pull."""
        return np.median(self.delta[self.rows(keys)], axis=0)

    def changes(self, keys) -> dict[str, np.ndarray]:
        """The measured change of each of ``keys``, in sorted order."""
        keys = sorted(keys)
        return dict(zip(keys, self.delta[self.rows(keys)]))

    def singles(self, keys) -> dict[str, np.ndarray]:
        """The measured change of each single-gene perturbation among ``keys``."""
        return self.changes(k for k in keys if "+" not in k)

    def single_noise(self, keys) -> dict[str, np.ndarray]:
        """The sampling variance (:attr:`noise`) of each single-gene perturbation's change among ``keys``, in sorted order."""
        singles = sorted(k for k in keys if "+" not in k)
        return dict(zip(singles, self.noise[self.rows(singles)]))


def pseudobulk(screen: Screen) -> Pseudobulk:
    """Mean expression of every perturbation and of control in ``screen``, and the sampling variance of each mean change."""
    categories = screen.keys.cat.categories
    statistics = screen.cell_statistics()
    counts = statistics.counts
    means = statistics.sums / np.maximum(counts, 1)[:, None]
    squares = statistics.squares / np.maximum(counts, 1)[:, None]
    # each group's sample variance of its cells, over their number: the variance of its mean
    spread = np.maximum(squares - means**2, 0.0) / np.maximum(counts - 1, 1)[:, None]
    control = categories.get_loc(CONTROL_KEY)
    rows = np.array([categories.get_loc(k) for k in screen.perturbations])
    return Pseudobulk(
        tuple(screen.perturbations),
        screen.genes,
        means[rows],
        means[control],
        counts[rows],
        spread[rows] + spread[control],
    )
