"""One pass over the cells of a screen, chunk by chunk: everything gearsplan needs from single cells.

A screen larger than its memory budget is never loaded whole. Its ``.h5ad`` file is opened with
anndata's lazy reader (a Dask array of sparse row blocks), and each block is normalised on its own
(raw counts: scaled to the median total count found by a first, cheap pass over the cells' totals,
then log1p) and reduced to :class:`CellStatistics`: per perturbation the cell count and per-gene
sums and sums of squares (the means, the DE t-test and the sampling noise follow from them), and
the control cells themselves (the co-expression graph, the control pairing of the training loss
and exported cells draw on them). Blocks are summed one after the other in this process, or, given
a Dask scheduler address, on that cluster (a screen on shared storage summarised by many machines).
"""

from __future__ import annotations

import operator
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from gearsplan.data.normalise import check_log_expression, looks_like_counts, normalise_counts
from gearsplan.errors import GearsplanError

#: Fewest and most cells per block: fewer would make the pass all overhead; more would only hold
#: more of a file that fits its budget in memory at once.
MIN_BLOCK_CELLS, MAX_BLOCK_CELLS = 256, 50_000
#: A block's share of the file times this bounds what it takes in memory: the rows read, their
#: float32 copy, the normalised copy, the squares and the products. With a 963 MB budget the
#: 1,000,000-cell benchmark (``stream_pseudobulk_1m``, blocks of 31,250 cells) peaked at 1,627 MB,
#: its running sums included.
BLOCK_OVERHEAD = 8
#: Rows of an in-memory matrix squared at a time: memory stays at one chunk plus the sums.
IN_MEMORY_CHUNK = 8192
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30}


@dataclass(frozen=True)
class CellStatistics:
    """Per group of cells (a perturbation, or control): its cell count and per-gene sum and sum of squares.

    Attributes
    ----------
    counts
        Cells per group.
    sums, squares
        ``groups x genes`` sums of the cells' expression and of its squares, in float64.
    control
        The control cells' expression (cells x genes, CSR, float32), in file order.
    """

    counts: np.ndarray
    sums: np.ndarray
    squares: np.ndarray
    control: sp.csr_matrix

    def __add__(self, other: "CellStatistics") -> "CellStatistics":
        return CellStatistics(
            self.counts + other.counts,
            self.sums + other.sums,
            self.squares + other.squares,
            sp.vstack([self.control, other.control], format="csr"),
        )


@dataclass(frozen=True)
class Normalisation:
    """How a block of stored values becomes log-expression.

    Attributes
    ----------
    target_sum
        Raw counts are scaled to this total per cell, then log1p-transformed; None: stored as log-expression.
    genes
        The columns kept after normalising (a gene selection); None keeps every column.
    """

    target_sum: float | None
    genes: np.ndarray | None = None


def cell_statistics(X, groups: np.ndarray, n_groups: int, control: int) -> CellStatistics:
    """:class:`CellStatistics` of the rows of ``X`` by group code (0..n_groups-1; -1: left out).

    Parameters
    ----------
    X
        Cells x genes log-expression, sparse or dense.
    groups
        Each row's group code.
    n_groups
        How many groups.
    control
        The code of control cells.
    """
    keep = groups >= 0
    rows = np.flatnonzero(keep)
    indicator = sp.csr_matrix((np.ones(rows.size), (groups[rows], rows)), shape=(n_groups, groups.size))
    squared = X.power(2) if sp.issparse(X) else np.square(X)
    dense = lambda product: product.toarray() if sp.issparse(product) else np.asarray(product)  # noqa: E731
    return CellStatistics(
        np.bincount(groups[keep], minlength=n_groups),
        dense(indicator @ X),
        dense(indicator @ squared),
        sp.csr_matrix(X[groups == control], dtype=np.float32),
    )


def in_memory_statistics(X, groups: np.ndarray, n_groups: int, control: int) -> CellStatistics:
    """:func:`cell_statistics` of a matrix in memory, taken ``IN_MEMORY_CHUNK`` rows at a time (a dense one's squares too)."""
    return _summed(
        cell_statistics(X[start : start + IN_MEMORY_CHUNK], groups[start : start + IN_MEMORY_CHUNK], n_groups, control)
        for start in range(0, X.shape[0], IN_MEMORY_CHUNK)
    )


def normalised(block, normalisation: Normalisation) -> sp.csr_matrix:
    """A block of stored values as log-expression: checked, raw counts normalised, the selected genes kept."""
    X = sp.csr_matrix(block, dtype=np.float32)
    check_log_expression(X)
    if normalisation.target_sum is not None:
        X = normalise_counts(X, normalisation.target_sum)
    return X if normalisation.genes is None else X[:, normalisation.genes]


def block_statistics(
    block, groups: np.ndarray, n_groups: int, control: int, normalisation: Normalisation
) -> CellStatistics:
    """:func:`cell_statistics` of one block of stored values, normalised first (one task of the pass)."""
    return cell_statistics(normalised(block, normalisation), groups, n_groups, control)


def parse_memory(text: str) -> int:
    """Bytes from ``2GB``, ``500MB``, ``1.5g`` or a plain number of bytes.

    Raises
    ------
    GearsplanError
        For anything else.
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = match and _UNITS.get(match.group(2).lower())
    if not unit or float(match.group(1)) <= 0:
        raise GearsplanError(f"cannot read --max-memory {text!r}", "give a size such as 4GB, 500MB or 2.5G")
    return int(float(match.group(1)) * unit)


def default_memory() -> int:
    """A quarter of the machine's RAM: the rest stays for the model, the graphs and other programs."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4


def lazy_matrix(path: Path, budget: int):
    """The ``X`` of an ``.h5ad`` file as a Dask array of row blocks that fit ``budget`` (anndata's lazy reader)."""
    import h5py
    from anndata.experimental import read_elem_lazy

    handle = h5py.File(path, "r")
    stored = handle["X"]
    n_cells = stored.attrs["shape"][0] if isinstance(stored, h5py.Group) else stored.shape[0]  # sparse: a group
    per_cell = path.stat().st_size / max(n_cells, 1)
    rows = int(np.clip(budget / (BLOCK_OVERHEAD * per_cell), MIN_BLOCK_CELLS, MAX_BLOCK_CELLS))
    return read_elem_lazy(stored, chunks=(rows, -1))


def _blocks(X) -> list:
    """The delayed row blocks of a Dask array, in order."""
    return list(X.to_delayed()[:, 0])


def _compute(tasks: list, scheduler: str | None) -> list:
    """Results of delayed ``tasks``: one after the other here, or on the Dask cluster at ``scheduler``."""
    import dask

    if scheduler is None:
        return [dask.compute(task, scheduler="synchronous")[0] for task in tasks]
    with _client(scheduler) as client:
        return client.gather(client.compute(tasks))


def _client(address: str):
    from distributed import Client

    hint = "start one (dask scheduler) and give its address, e.g. tcp://10.0.0.5:8786"
    if ":" not in address:  # distributed would wait for a scheduler it cannot name, then fail noisily on exit
        raise GearsplanError(f"--scheduler {address!r} is no Dask scheduler address", hint)
    try:
        return Client(address, timeout="10s", set_as_default=False)
    except (OSError, ValueError) as error:  # no scheduler there (a timeout is an OSError), or a malformed address
        raise GearsplanError(f"cannot reach the Dask scheduler at {address} ({type(error).__name__})", hint) from None


def row_totals(X, scheduler: str | None) -> np.ndarray:
    """Every cell's total stored value (the first pass, for raw counts: the median total they are scaled to)."""
    import dask

    totals = dask.delayed(lambda block: np.asarray(block.sum(axis=1), dtype=np.float64).ravel())
    return np.concatenate(_compute([totals(block) for block in _blocks(X)], scheduler))


def first_block_counts(X) -> bool:
    """Whether the first block of ``X`` holds raw counts (:func:`~gearsplan.data.normalise.looks_like_counts`)."""
    return looks_like_counts(sp.csr_matrix(_compute(_blocks(X)[:1], None)[0]))


def pass_statistics(
    X, groups: np.ndarray, n_groups: int, control: int, normalisation: Normalisation, scheduler: str | None
) -> CellStatistics:
    """:class:`CellStatistics` of every block of the Dask array ``X``, summed.

    Without ``scheduler`` the blocks are read and summed one at a time in this process, so memory
    holds one block, the running sums and the control cells; with one, each block is a task on that
    Dask cluster and the blocks' statistics are added in a tree there, so only the total comes back.
    """
    import dask

    task = dask.delayed(block_statistics)
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])])
    tasks = [
        task(block, groups[starts[i] : starts[i + 1]], n_groups, control, normalisation)
        for i, block in enumerate(_blocks(X))
    ]
    if scheduler is None:
        return _summed(dask.compute(task, scheduler="synchronous")[0] for task in tasks)
    while len(tasks) > 1:
        tasks = [
            dask.delayed(operator.add)(*tasks[i : i + 2]) if i + 1 < len(tasks) else tasks[i]
            for i in range(0, len(tasks), 2)
        ]
    return _compute(tasks, scheduler)[0]


def _summed(parts) -> CellStatistics:
    """The sum of ``parts``, added in place as they come (the control cells stacked once, at the end)."""
    first = next(parts)
    counts, sums, squares, control = first.counts.copy(), first.sums.copy(), first.squares.copy(), [first.control]
    for part in parts:
        counts += part.counts
        sums += part.sums
        squares += part.squares
        control.append(part.control)
    return CellStatistics(counts, sums, squares, sp.vstack(control, format="csr"))
