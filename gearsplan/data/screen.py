"""Read a Perturb-seq screen (``.h5ad``, a ``.zarr`` store, or a modality of an ``.h5mu``) into a validated, canonical :class:`Screen`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

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
from gearsplan.data.normalise import ensure_log_normalised
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

    @property
    def genes(self) -> tuple[str, ...]:
        return tuple(self.adata.var_names)

    @property
    def in_memory(self) -> bool:
        """Whether it was given as an AnnData in memory, with no file behind it."""
        return self.source == IN_MEMORY

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

    Raises
    ------
    GearsplanError
        For anything in the file that gearsplan cannot use, with a hint.
    """
    adata, mudata_mod, name, source = _cells_of(path, mudata_mod)
    notes: list[str] = []
    notes.append(_use_symbols(adata))
    column, why = _detect_condition_column(adata, condition_col, control)
    adata, unlabelled = _without_missing_labels(
        adata, column
    )  # before normalising: counts are scaled to the kept cells' median
    notes.append(ensure_log_normalised(adata))
    notes.append(why)
    labels = adata.obs[column].astype(str)
    controls = _control_labels(labels, control, column)
    notes.append(
        f"control cells: label {' / '.join(repr(c) for c in controls)} ({(labels.isin(controls)).sum()} cells)"
    )
    keys, renamed, unknown = _canonical_keys(labels, controls, frozenset(adata.var_names))
    notes.extend(renamed)
    if (keys == CONTROL_KEY).sum() < 2:
        raise GearsplanError(
            f"{name} holds {(keys == CONTROL_KEY).sum()} control cell; gearsplan needs at least two",
            "every change is measured against the control cells: the DE t-test needs two or more",
        )
    adata, keys, single = _without_single_cells(adata, keys)
    adata.obs[KEY_COLUMN] = pd.Categorical(keys)
    screen = Screen(adata, source, column, controls, mudata_mod, [n for n in notes if n], unlabelled + unknown + single)
    if len(screen.perturbations) < 2:
        raise GearsplanError(
            f"{name} holds {counted(len(screen.perturbations), 'perturbation')}; gearsplan needs at least two",
            "check that --condition-col names the perturbation column",
        )
    return screen


def _cells_of(data: str | Path | AnnData | None, mudata_mod: str | None) -> tuple[AnnData, str | None, str, str]:
    """The cells of ``data`` (a copy of an AnnData in memory, else read from the file it names), the MuData modality
    they came from, the name errors call them by and the screen's ``source``."""
    from anndata import AnnData

    if not isinstance(data, AnnData):
        path = _embedded_or_path(data)
        adata, mudata_mod = _read_cells(path, mudata_mod)
        return adata, mudata_mod, path.name, str(path.resolve())
    if mudata_mod is not None:
        raise GearsplanError(
            "a MuData modality was named for an AnnData in memory", "pass the modality itself: mdata.mod['rna']"
        )
    return _checked("the AnnData", data.copy()), None, "the AnnData", IN_MEMORY


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


def _read_cells(path: Path, mudata_mod: str | None) -> tuple[AnnData, str | None]:
    """The cells of ``path``, read by what it is: a zarr store (a directory), an ``.h5mu`` file, else an ``.h5ad`` file.

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
        adata = _quietly(ad.read_h5ad, path, "an .h5ad file", "save the screen with AnnData.write_h5ad")
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


def _without_missing_labels(adata: AnnData, column: str) -> tuple[AnnData, list[str]]:
    """Leave out cells with no perturbation label (as strings, a missing value reads "nan", an alias of SCN11A)."""
    missing = adata.obs[column].isna().to_numpy()
    if not missing.any():
        return adata, []
    return adata[~missing].copy(), [f"{counted(int(missing.sum()), 'cell')} with no label in obs[{column!r}] left out"]


def _without_single_cells(adata: AnnData, keys: np.ndarray) -> tuple[AnnData, np.ndarray, list[str]]:
    """Leave out perturbations with a single cell: the DE t-test against control needs at least two cells each."""
    counts = pd.Series(keys).value_counts()
    single = sorted(k for k in counts.index[counts < 2] if k != CONTROL_KEY)
    if not single:
        return adata, keys, []
    kept = ~np.isin(keys, single)
    return (
        adata[kept].copy(),
        keys[kept],
        [
            f"{counted(len(single), 'perturbation')} with a single cell left out (the DE t-test needs at least two cells): {', '.join(single)}"
        ],
    )


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
