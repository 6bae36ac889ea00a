"""Each human gene symbol's NCBI gene type (``protein-coding``, ``ncRNA``, ``snoRNA``, ``pseudo``, ...), read once per process."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from gearsplan.data.embedded import GENE_TYPES

#: The gene type of genes that code for a protein.
PROTEIN_CODING = "protein-coding"


def gene_types(path: Path | str = GENE_TYPES) -> Mapping[str, str]:
    """Symbol → gene type, from a TSV with ``symbol`` and ``gene_type`` columns, read once per process (read-only).

    A symbol that names several NCBI genes (18 in the shipped file, e.g. HBD, MEMO1) is protein-coding
    if any of them is, else of the type of its first row.
    """
    return _cached_types(str(path))


@lru_cache(maxsize=2)
def _cached_types(path: str) -> Mapping[str, str]:
    import pandas as pd  # here: read once into a cache, and predict's start-up need not import pandas

    table = pd.read_csv(path, sep="\t", usecols=["symbol", "gene_type"], dtype=str).dropna()
    table = table.assign(coding=table["gene_type"] == PROTEIN_CODING).sort_values(
        "coding", ascending=False, kind="stable"
    )
    table = table.drop_duplicates("symbol")
    return MappingProxyType(dict(zip(table["symbol"], table["gene_type"])))
