"""Paths to the real data shipped inside the package (provenance: ``resources/PROVENANCE.md``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

_RESOURCES = Path(str(files("gearsplan") / "resources"))

NORMAN2019 = _RESOURCES / "norman2019_subset.h5ad"
PAPALEXI2021 = _RESOURCES / "papalexi2021_thp1_subset.h5ad"
#: The embedded screens by the name ``--data`` takes (a file or folder of that name is read instead).
SCREENS = {"norman": NORMAN2019, "papalexi": PAPALEXI2021}
#: How each embedded screen perturbs its targets (its source's protocol: CRISPRa, CRISPR knockout).
SCREEN_MODALITIES = {"norman": "activation", "papalexi": "knockout"}
GENE2GO = _RESOURCES / "gene2go_human.tsv.gz"
GO_TERMS = _RESOURCES / "go_terms.tsv.gz"
HUMAN_GENES = _RESOURCES / "human_genes.tsv.gz"
GENE_TYPES = _RESOURCES / "gene_types_human.tsv.gz"
STRING_V12 = _RESOURCES / "string_v12_human.tsv.gz"
TRANSCRIPTION_FACTORS = _RESOURCES / "tf_human_lambert2018.txt"
REFERENCE_SPLITS = _RESOURCES / "gears_reference_splits"


def screen_name(path: str | Path) -> str | None:
    """The name of the embedded screen at ``path`` (``norman``, ``papalexi``), or None for any other file."""
    resolved = Path(path).resolve()
    return next((name for name, file in SCREENS.items() if file.resolve() == resolved), None)


def reference_split(seed: int) -> Path:
    """The GEARS "simulation" split the reference implementation drew with ``seed`` (1-5)."""
    return REFERENCE_SPLITS / f"seed{seed}.json"
