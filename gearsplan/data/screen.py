"""Read a Perturb-seq screen (``.h5ad``, a ``.zarr`` store, or a modality of an ``.h5mu``) into a validated, canonical :class:`Screen`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gearsplan.data.cell_pass import (
    CellStatistics,
    Normalisation,
    default_memory,
    first_block_counts,
    in_memory_statistics,
    lazy_matrix,
    pass_statistics,
    row_totals,
)
from gearsplan.data.conditions import (
    CONTROL_KEY,
    Perturbation,
    genes_of,
    is_control_label,
    parse_condition,
    perturbation_key,
)
from gearsplan.data.embedded import NORMAN2019, SCREENS
from gearsplan.data.gene_names import GeneTable, UnknownGene, gene_table, is_ensembl_id
from gearsplan.data.gene_selection import DEFAULT_GENES, GeneSelection, select_genes
from gearsplan.data.normalise import (
    COUNTS_NOTE,
    LOG_NOTE,
    check_log_expression,
    ensure_log_normalised,
    looks_like_counts,
    median_total,
)
from gearsplan.errors import GearsplanError
from gearsplan.wording import counted

if TYPE_CHECKING:  # anndata is imported where a screen is read, not with this module: a bundle's commands read none
    from anndata import AnnData

#: Column names searched, in this order, for the perturbation of each cell.
CONDITION_COLUMNS = (
    "condition",
    "perturbation",
    "perturbations",
    "gene",
    "genes",
    "target_gene",
    "target_genes",
    "guide_target",
    "perturbation_name",
    "target",
)
#: ``var`` columns searched for gene symbols when ``var_names`` are not symbols.
SYMBOL_COLUMNS = ("gene_name", "gene_symbols", "gene_symbol", "symbol", "feature_name")
#: The ``obs`` column that holds each cell's canonical perturbation key.
KEY_COLUMN = "gearsplan_key"
#: Fewest measured genes a screen may have: the metrics score each perturbation's top 20 DE genes.
MIN_GENES = 20
#: The MuData modality read from an ``.h5mu`` file unless another is named.
DEFAULT_MUDATA_MOD = "rna"
#: Files that mark a directory as a zarr store: version 3, version 2.
ZARR_MARKERS = ("zarr.json", ".zgroup")
#: The ``source`` of a screen given as an AnnData in memory: no file to name, hash or read again.
IN_MEMORY = "<AnnData in memory>"
#: Fewest and most cells a streamed screen's gene selection reads (a seeded sample): scanpy's highly
#: variable genes rank genes by their variance, which thousands of cells estimate well.
MIN_SELECTION_CELLS, SELECTION_CELLS = 5_000, 50_000


@dataclass(frozen=True)
class Reading:
    """How the cells of a screen are read.

    Attributes
    ----------
    max_memory
        Bytes an ``.h5ad`` file may take to be read whole; a larger one is streamed in blocks of cells
        (:mod:`~gearsplan.data.cell_pass`). None: a quarter of the machine's RAM.
    scheduler
        The address of a Dask scheduler to run the streamed pass on (streams whatever the file's size).
    genes
        Genes kept of a screen that measures more: the most variable, plus every measured perturbed gene.
    seed
        Seeds the sample of cells a streamed screen's genes are selected on.
    """

    max_memory: int | None = None
    scheduler: str | None = None
    genes: int = DEFAULT_GENES
    seed: int = 0

    @property
    def budget(self) -> int:
        return default_memory() if self.max_memory is None else self.max_memory


@dataclass
class Screen:
    """A perturbation screen: log-normalised cells, gene symbols, a canonical key per cell.

    Attributes
    ----------
    adata
        Cells x measured genes; ``var_names`` are gene symbols; ``obs[KEY_COLUMN]`` holds
        each cell's perturbation key (``"ctrl"`` for control, else ``"A"`` or ``"A+B"``).
    source
        Where it was read from, as an absolute path (a bundle names it, and is used from other folders);
        :data:`IN_MEMORY` for an AnnData given in memory.
    condition_col, control_labels
        The ``obs`` column and raw label(s) that were used.
    mudata_mod
        The MuData modality read from an ``.h5mu`` file; ``None`` for an AnnData file or store.
    notes
        Which detection and normalisation rules fired, in words.
    warnings
        What the user should know whatever the command (a perturbed gene no human gene table knows,
        cells left out: no label, or a perturbation's only cell).
    """

    adata: AnnData
    source: str
    condition_col: str
    control_labels: tuple[str, ...]
    mudata_mod: str | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    statistics: CellStatistics | None = field(default=None, repr=False)
    selection: GeneSelection | None = None

    @property
    def in_memory(self) -> bool:
        """Whether it was given as an AnnData in memory, with no file behind it."""
        return self.source == IN_MEMORY

    @property
    def streamed(self) -> bool:
        """Whether the cells were summarised in one pass (:class:`CellStatistics`) and are not in ``adata.X``."""
        return self.adata.X is None

    def cell_statistics(self) -> CellStatistics:
        """Per perturbation (in the order of ``keys.cat.categories``) cell counts, sums and sums of squares, and the control cells."""
        if self.statistics is None:
            categories = self.keys.cat.categories
            self.statistics = in_memory_statistics(
                self.adata.X, self.keys.cat.codes.to_numpy(), len(categories), categories.get_loc(CONTROL_KEY)
            )
        return self.statistics

    @property
    def genes(self) -> tuple[str, ...]:
        return tuple(self.adata.var_names)

    @property
    def keys(self) -> pd.Series:
        return self.adata.obs[KEY_COLUMN]

    @property
    def perturbations(self) -> list[str]:
        """Keys of every perturbation in the screen (control excluded), sorted."""
        return sorted(k for k in self.keys.cat.categories if k != CONTROL_KEY)

    def perturbed_genes(self) -> list[str]:
        """Every gene perturbed in some condition, sorted."""
        return sorted({g for k in self.perturbations for g in genes_of(k)})

    def single_genes(self) -> list[str]:
        """Genes perturbed on their own."""
        return sorted(k for k in self.perturbations if "+" not in k)


def read_screen(
    path: str | Path | AnnData | None = None,
    condition_col: str | None = None,
    control: str | None = None,
    mudata_mod: str | None = None,
    reading: Reading | None = None,
) -> Screen:
    """Read, validate and canonicalise a screen; the embedded Norman 2019 subset by default.

    Parameters
    ----------
    path
        Single cells: an ``.h5ad`` file, a zarr store (a directory, ``AnnData.write_zarr``) or an
        ``.h5mu`` file (``MuData.write``); the name of an embedded screen (``norman``, ``papalexi``),
        unless a file or folder of that name exists; ``None`` for the embedded Norman 2019 subset; or an
        AnnData in memory (copied: the screen's normalisation and keys never change the caller's object).
    condition_col
        The ``obs`` column naming each cell's perturbation; detected if ``None``.
    control
        The label of control cells in that column; detected if ``None``.
    mudata_mod
        The modality of an ``.h5mu`` file to read (``rna`` if ``None``); refused for any other input.
    reading
        Memory budget, Dask scheduler and gene selection (:class:`Reading`); defaults if None.

    Raises
    ------
    GearsplanError
        For anything in the file that gearsplan cannot use, with a hint.
    """
    reading = reading or Reading()
    adata, mudata_mod, name, source, streamed_from = _cells_of(path, mudata_mod, reading)
    notes = [_use_symbols(adata)]
    column, why = _detect_condition_column(adata, condition_col, control)
    labelled, unlabelled = _labelled(adata, column)
    labels = adata.obs[column][labelled].astype(str)
    controls = _control_labels(labels, control, column)
    keys, renamed, unknown = _canonical_keys(labels, controls, frozenset(adata.var_names))
    if (keys == CONTROL_KEY).sum() < 2:
        raise GearsplanError(
            f"{name} holds {(keys == CONTROL_KEY).sum()} control cell; gearsplan needs at least two",
            "every change is measured against the control cells: the DE t-test needs two or more",
        )
    kept, single = _without_single_cells(keys)
    cells = (
        _streamed_cells(streamed_from, adata, labelled, keys, kept, reading)
        if streamed_from
        else _cells(adata, labelled, keys, kept, reading)
    )
    notes += [cells.normalising, cells.selection.note if cells.selection else "", *cells.streaming, why]
    notes.append(
        f"control cells: label {' / '.join(repr(c) for c in controls)} ({(labels.isin(controls)).sum()} cells)"
    )
    notes.extend(renamed)
    screen = Screen(
        cells.adata,
        source,
        column,
        controls,
        mudata_mod,
        [n for n in notes if n],
        unlabelled + unknown + single,
        cells.statistics,
        cells.selection,
    )
    if len(screen.perturbations) < 2:
        raise GearsplanError(
            f"{name} holds {counted(len(screen.perturbations), 'perturbation')}; gearsplan needs at least two",
            "check that --condition-col names the perturbation column",
        )
    return screen


def _cells_of(
    data: str | Path | AnnData | None, mudata_mod: str | None, reading: Reading
) -> tuple[AnnData, str | None, str, str, Path | None]:
    """The cells of ``data`` (a copy of an AnnData in memory, else read from the file it names), the MuData modality
    they came from, the name errors call them by, the screen's ``source``, and the file to stream, if it streams (its
    ``obs`` and ``var`` only then, :func:`_streams`)."""
    from anndata import AnnData

    if not isinstance(data, AnnData):
        path = _embedded_or_path(data)
        streamed = _streams(path, mudata_mod, reading)
        adata, mudata_mod = _read_cells(path, mudata_mod, streamed)
        return adata, mudata_mod, path.name, str(path.resolve()), path if streamed else None
    if mudata_mod is not None:
        raise GearsplanError(
            "a MuData modality was named for an AnnData in memory", "pass the modality itself: mdata.mod['rna']"
        )
    return _checked("the AnnData", data.copy()), None, "the AnnData", IN_MEMORY, None


def _embedded_or_path(path: str | Path | None) -> Path:
    """The file ``path`` names: an embedded screen by its name, unless a file or folder of that name exists.

    Parameters
    ----------
    path
        A path, the name of an embedded screen (a key of ``embedded.SCREENS``), or ``None`` for Norman 2019.
    """
    if path is None:
        return NORMAN2019
    if not Path(path).exists() and str(path) in SCREENS:
        return SCREENS[str(path)]
    return Path(path)


def _streams(path: Path, mudata_mod: str | None, reading: Reading) -> bool:
    """Whether ``path`` is an ``.h5ad`` file to stream: a Dask scheduler is named, or the file exceeds the memory budget."""
    if mudata_mod is not None or not path.is_file() or path.suffix.lower() != ".h5ad":
        return False
    return reading.scheduler is not None or path.stat().st_size > reading.budget


def _read_cells(path: Path, mudata_mod: str | None, backed: bool = False) -> tuple[AnnData, str | None]:
    """The cells of ``path``, read by what it is: a zarr store (a directory), an ``.h5mu`` file, else an ``.h5ad`` file
    (``backed``: its ``obs`` and ``var`` only, the matrix left on disk).

    Returns
    -------
    The cells, and the MuData modality they were read from (``None`` for an AnnData file or store).
    """
    if not path.exists():
        raise GearsplanError(
            f"no such file: {path}",
            f"give the path of an .h5ad or .h5mu file or a .zarr store, an embedded screen's name ({' or '.join(SCREENS)}), or none, for the embedded Norman 2019 subset",
        )
    import anndata as ad

    is_mudata = not path.is_dir() and path.suffix.lower() == ".h5mu"
    if mudata_mod is not None and not is_mudata:
        raise GearsplanError(
            f"--mudata-mod {mudata_mod} names a modality of an .h5mu file, and {path.name} is none",
            "leave out --mudata-mod, or give the .h5mu file",
        )
    if path.is_dir():
        adata = _read_zarr(path)
    elif is_mudata:
        mudata_mod = mudata_mod or DEFAULT_MUDATA_MOD
        adata = _read_h5mu(path, mudata_mod)
    else:
        _check_hdf5(path, ".h5ad", "AnnData.write_h5ad")
        adata = _quietly(
            ad.read_h5ad, path, "an .h5ad file", "save the screen with AnnData.write_h5ad", *(("r",) if backed else ())
        )
    return _checked(path, adata), mudata_mod


def _read_zarr(path: Path) -> AnnData:
    """An AnnData zarr store: a directory holding zarr metadata."""
    import anndata as ad

    if not any((path / marker).is_file() for marker in ZARR_MARKERS):
        raise GearsplanError(
            f"cannot read {path}: a directory, but no zarr store (no {' or '.join(ZARR_MARKERS)} in it)",
            "give an .h5ad or .h5mu file, or a zarr store written by AnnData.write_zarr",
        )
    return _quietly(ad.read_zarr, path, "an AnnData zarr store", "write the screen with AnnData.write_zarr")


def _read_h5mu(path: Path, modality: str) -> AnnData:
    """One modality of a MuData ``.h5mu`` file; a modality it does not hold is refused, naming those it holds."""
    import h5py
    import mudata

    _check_hdf5(path, ".h5mu", "MuData.write")
    with h5py.File(path, "r") as handle:
        held = sorted(handle["mod"].keys()) if isinstance(handle.get("mod"), h5py.Group) else []
    if modality not in held:
        raise GearsplanError(
            f"{path.name} holds no modality {modality!r}; it holds: {', '.join(held) or 'none'}",
            "name the modality of gene expression with --mudata-mod" if held else "save the screen with MuData.write",
        )
    return _quietly(
        mudata.read_h5ad, path, f"modality {modality!r} of an .h5mu file", "save the screen with MuData.write", modality
    )


def _check_hdf5(path: Path, kind: str, writer: str) -> None:
    """Refuse an empty file, and one without the HDF5 signature (as every ``kind`` file has: at its start, or after
    a user block, as MuData writes).

    Parameters
    ----------
    path
        The file.
    kind
        What it should be, by its suffix: ``.h5ad`` or ``.h5mu``.
    writer
        The method that writes such a file, for the hint.
    """
    import h5py

    if path.stat().st_size == 0:
        raise GearsplanError(
            f"cannot read {path}: the file is empty", f"it was not written completely: write it again with {writer}"
        )
    if not h5py.is_hdf5(path):
        raise GearsplanError(
            f"cannot read {path}: it is no HDF5 file, as an {kind} file is (a CSV or other table is loaded into an AnnData first)",
            f"save the screen with {writer}",
        )


def _quietly(reader, path: Path, kind: str, hint: str, *args) -> AnnData:
    """``reader(path, *args)``, its warnings silenced and any failure one error naming what ``path`` should be."""
    try:
        with warnings.catch_warnings():  # anndata's notes (e.g. on duplicated names) would precede the one-line error
            warnings.simplefilter("ignore", UserWarning)
            return reader(path, *args)
    except Exception as error:  # anndata/h5py/zarr raise many types for a bad file
        raise GearsplanError(f"cannot read {path} as {kind} ({type(error).__name__})", hint) from None


def _checked(path: Path | str, adata: AnnData) -> AnnData:
    """``adata``, unless it holds no cells or fewer than ``MIN_GENES`` genes."""
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise GearsplanError(f"{path} holds no cells or no genes", "check that the file was written completely")
    if adata.n_vars < MIN_GENES:
        raise GearsplanError(
            f"{path} measures {counted(adata.n_vars, 'gene')}; gearsplan needs at least {MIN_GENES}, as its metrics score each perturbation's top {MIN_GENES} DE genes",
            "keep the measured transcriptome (or at least its highly variable genes), not only the genes of interest",
        )
    return adata


def _labelled(adata: AnnData, column: str) -> tuple[np.ndarray, list[str]]:
    """Which cells have a perturbation label (as strings, a missing value reads "nan", an alias of SCN11A); a warning if some have none."""
    labelled = adata.obs[column].notna().to_numpy()
    if labelled.all():
        return labelled, []
    return labelled, [f"{counted(int((~labelled).sum()), 'cell')} with no label in obs[{column!r}] left out"]


def _without_single_cells(keys: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Which cells to keep: perturbations with a single cell are left out, as the DE t-test against control needs at least two cells each."""
    counts = pd.Series(keys).value_counts()
    single = sorted(k for k in counts.index[counts < 2] if k != CONTROL_KEY)
    if not single:
        return np.ones(len(keys), dtype=bool), []
    return ~np.isin(keys, single), [
        f"{counted(len(single), 'perturbation')} with a single cell left out (the DE t-test needs at least two cells): {', '.join(single)}"
    ]


@dataclass(frozen=True)
class _Cells:
    """The kept cells and genes of a screen, and how they were read."""

    adata: AnnData
    normalising: str
    selection: GeneSelection | None
    statistics: CellStatistics | None = None
    streaming: tuple[str, ...] = ()


def _perturbed(keys: np.ndarray) -> set[str]:
    return {g for k in pd.unique(keys) for g in genes_of(k)}


def _cells(adata: AnnData, labelled: np.ndarray, keys: np.ndarray, kept: np.ndarray, reading: Reading) -> _Cells:
    """The labelled cells in memory, their genes selected and normalised (counts are scaled to the labelled cells' median), then
    the ``kept`` ones."""
    if not labelled.all():
        adata = adata[labelled].copy()
    check_log_expression(adata.X)
    selection = select_genes(
        adata.X, adata.var_names, _perturbed(keys[kept]), reading.genes, looks_like_counts(adata.X)
    )
    normalising = ensure_log_normalised(adata)  # on every gene: a cell's total count is over its whole transcriptome
    if selection is not None or not kept.all():
        adata = adata[kept][:, slice(None) if selection is None else selection.columns].copy()
    adata.obs[KEY_COLUMN] = pd.Categorical(keys[kept])
    return _Cells(adata, normalising, selection)


def _streamed_cells(
    path: Path, backed: AnnData, labelled: np.ndarray, keys: np.ndarray, kept: np.ndarray, reading: Reading
) -> _Cells:
    """The kept cells summarised in one pass over the file's blocks of cells (:mod:`~gearsplan.data.cell_pass`): an
    AnnData of their ``obs`` and ``var`` without ``X``, and their :class:`CellStatistics`."""
    from anndata import AnnData

    try:
        X = lazy_matrix(path, reading.budget)
        counts = first_block_counts(X)
        target = median_total(row_totals(X, reading.scheduler)[labelled]) if counts else None
        selection = _streamed_selection(path, X, backed.var_names, labelled, keys[kept], counts, reading)
        columns = None if selection is None else selection.columns
        rows = np.flatnonzero(labelled)[kept]
        categories = pd.Index(sorted(set(keys[kept])))
        codes = np.full(backed.n_obs, -1)
        codes[rows] = categories.get_indexer(keys[kept])
        statistics = pass_statistics(
            X,
            codes,
            len(categories),
            categories.get_loc(CONTROL_KEY),
            Normalisation(target, columns),
            reading.scheduler,
        )
    except GearsplanError:
        raise
    except Exception as error:  # h5py, anndata and Dask raise many types for a damaged file
        raise GearsplanError(
            f"cannot read {path} as an .h5ad file, block by block ({type(error).__name__})",
            "it may be damaged or still being written: write it again with AnnData.write_h5ad",
        ) from None
    obs = backed.obs.iloc[rows].copy()
    obs[KEY_COLUMN] = pd.Categorical(keys[kept], categories=categories)
    var = backed.var if columns is None else backed.var.iloc[columns]
    where = f"on the Dask cluster at {reading.scheduler}" if reading.scheduler else "here"
    streaming = (
        f"streamed: {_megabytes(path.stat().st_size)} on disk against a memory budget of {_megabytes(reading.budget)} (--max-memory); "
        f"one pass over {len(X.chunks[0])} blocks of up to {X.chunks[0][0]} cells, {where}",
    )
    normalising = COUNTS_NOTE if counts else LOG_NOTE
    return _Cells(AnnData(obs=obs, var=var.copy()), normalising, selection, statistics, streaming)


def _megabytes(size: int) -> str:
    return f"{size / 2**20:,.1f} MB" if size >= 2**20 else f"{size / 2**10:,.1f} KB"


def _streamed_selection(
    path: Path, X, genes: pd.Index, labelled: np.ndarray, keys: np.ndarray, counts: bool, reading: Reading
) -> GeneSelection | None:
    """:func:`~gearsplan.data.gene_selection.select_genes` on a seeded sample of the labelled cells of a streamed screen,
    as many as fit the memory budget (at least ``MIN_SELECTION_CELLS``, at most ``SELECTION_CELLS``)."""
    if len(genes) <= reading.genes:
        return None
    rows = np.flatnonzero(labelled)
    fitting = reading.budget * len(labelled) // (2 * path.stat().st_size)  # the sample and its copy fit the budget
    size = int(np.clip(fitting, MIN_SELECTION_CELLS, SELECTION_CELLS))
    if rows.size > size:
        rows = np.sort(np.random.default_rng(reading.seed).choice(rows, size, replace=False))
    sample = X[rows].compute(scheduler="synchronous")
    return select_genes(sample, genes, _perturbed(keys), reading.genes, counts)


def _use_symbols(adata: AnnData) -> str:
    """Make ``var_names`` gene symbols; refuse duplicates."""
    names = pd.Index(adata.var_names.astype(str))
    column = next((c for c in SYMBOL_COLUMNS if c in adata.var.columns), None)
    if column is not None:
        names, why = pd.Index(adata.var[column].astype(str)), f"gene symbols from var[{column!r}]"
    elif np.mean([is_ensembl_id(n) for n in names]) > 0.5:
        table = gene_table()
        mapped = [table.ensembl.get(n.upper().split(".")[0], n) for n in names]
        names, why = (
            _unique_or_original(mapped, list(names)),
            "var_names are Ensembl IDs: mapped to symbols with the NCBI gene table",
        )
    else:
        why = "var_names are gene symbols"
    duplicated = names[names.duplicated()].unique()
    if len(duplicated):
        raise GearsplanError(
            f"duplicate gene names in the data: {', '.join(map(str, duplicated[:5]))}",
            "make them unique (AnnData.var_names_make_unique) or aggregate duplicated genes",
        )
    adata.var_names = names
    return why


def _unique_or_original(mapped: list[str], original: list[str]) -> pd.Index:
    """Keep the original ID where two IDs map to the same symbol."""
    counts = pd.Series(mapped).value_counts()
    return pd.Index([m if counts[m] == 1 else o for m, o in zip(mapped, original)])


def _detect_condition_column(adata: AnnData, condition_col: str | None, control: str | None) -> tuple[str, str]:
    if condition_col is not None:
        if condition_col not in adata.obs.columns:
            raise GearsplanError(
                f"no column {condition_col!r} in obs", f"obs has: {', '.join(map(str, adata.obs.columns[:12]))}"
            )
        return condition_col, f"perturbation column {condition_col!r} (given with --condition-col)"
    by_lower = {str(c).lower(): c for c in adata.obs.columns}
    for name in CONDITION_COLUMNS:
        column = by_lower.get(name)
        if column is not None and _has_control(adata.obs[column], control):
            return (
                column,
                f"perturbation column {column!r}: the first of the known names ({', '.join(CONDITION_COLUMNS[:4])}, ...) that holds control cells",
            )
    raise GearsplanError(
        "no perturbation column with control cells found in obs",
        f"name it with --condition-col (obs has: {', '.join(map(str, adata.obs.columns[:12]))}) and the control label with --control",
    )


def _has_control(values: pd.Series, control: str | None) -> bool:
    labels = pd.Series(values.astype(str).unique())
    return bool(labels.map(lambda v: is_control_label(v, [control] if control else [])).any())


def _control_labels(labels: pd.Series, control: str | None, column: str) -> tuple[str, ...]:
    unique = labels.unique()
    if control is not None:
        if control not in set(unique):
            raise GearsplanError(
                f"no cells labelled {control!r} in obs[{column!r}]",
                f"labels include: {', '.join(map(str, unique[:8]))}",
            )
        return (control,)
    found = tuple(sorted(v for v in unique if is_control_label(v)))
    if not found:
        raise GearsplanError(
            f"no control cells in obs[{column!r}]",
            "name the control label with --control (e.g. --control non-targeting)",
        )
    return found


def _canonical_keys(
    labels: pd.Series, controls: tuple[str, ...], measured: frozenset[str]
) -> tuple[np.ndarray, list[str], list[str]]:
    """Each cell's perturbation key, with every gene resolved to a current symbol; notes on renamed genes, warnings on unknown ones."""
    table = gene_table()
    unique = labels.unique()
    notes, unknown = [], []
    key_of = {}
    for label in unique:
        genes: Perturbation = parse_condition(label, controls)
        resolved = tuple(_symbol_or_as_written(table, g, measured, unknown) for g in genes)
        notes += [f"perturbed gene {g!r} read as {r!r}" for g, r in zip(genes, resolved) if g != r]
        key_of[label] = perturbation_key(resolved) if genes else CONTROL_KEY
    return labels.map(key_of).to_numpy(), sorted(set(notes)), sorted(set(unknown))


def _symbol_or_as_written(table: GeneTable, gene: str, measured: frozenset[str], unknown: list[str]) -> str:
    """The current symbol of a perturbed gene; a name no human gene has is kept as written, with a warning
    (a symbol newer than the gene table must not make the whole screen unreadable; a typo must not pass unseen)."""
    try:
        return table.resolve(gene, measured)
    except UnknownGene as error:
        unknown.append(
            f"perturbed gene {gene!r} is no known human gene ({error.hint}): kept as written, learned from its own cells only (no GO terms)"
        )
        return gene
